import { SipSyntaxError } from './errors';
import { Params } from './params';

// RFC 3261 §25.1 character classes, as lookup tables so validation is one pass per component.
function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') t[ch.charCodeAt(0)] = 1;
  for (const ch of chars) t[ch.charCodeAt(0)] = 1;
  return t;
}
const MARK = "-_.!~*'()";
const USER = table(`${MARK}&=+$,;?/`);
const PASSWORD = table(`${MARK}&=+$,`);
const PARAM = table(`${MARK}[]/:&+$`);
const HEADERS = table(`${MARK}[]/?:+$=&`);
const HOST = table('-._');

function checkChars(text: string, allowed: Uint8Array, what: string, whole: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (!/^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) throw new SipSyntaxError(`bad escape in URI ${what}`, whole);
      i += 2;
    } else if (c >= 128 || allowed[c] !== 1) {
      throw new SipSyntaxError(`character ${JSON.stringify(text[i])} not allowed in URI ${what}`, whole);
    }
  }
}

/** %HH → the character; the user part of two URIs is compared in this form (RFC 3261 §19.1.4). */
export function unescapeUriPart(text: string): string {
  return text.includes('%') ? text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))) : text;
}

/** A sip: or sips: URI (RFC 3261 §19.1). Components are kept in their escaped form, as written. */
export class SipUri {
  constructor(
    public scheme: 'sip' | 'sips',
    public host: string,
    public port?: number,
    public user?: string,
    public password?: string,
    public params: Params = new Params(),
    /** The `?hname=hvalue&...` part without its `?`; a Request-URI must not have one. */
    public headers?: string,
  ) {}

  get isSip(): true {
    return true;
  }

  /** Host without IPv6 brackets, ready for the socket API. */
  get hostAddress(): string {
    return this.host.startsWith('[') ? this.host.slice(1, -1) : this.host;
  }

  clone(): SipUri {
    return new SipUri(this.scheme, this.host, this.port, this.user, this.password, this.params.clone(), this.headers);
  }

  toString(): string {
    let out = `${this.scheme}:`;
    if (this.user !== undefined) out += this.password !== undefined ? `${this.user}:${this.password}@` : `${this.user}@`;
    out += this.host;
    if (this.port !== undefined) out += `:${this.port}`;
    out += this.params.toString();
    if (this.headers !== undefined) out += `?${this.headers}`;
    return out;
  }

  /** URI comparison of RFC 3261 §19.1.4, for the parameters that rule names; other parameters must agree when both have them. */
  equals(other: Uri): boolean {
    if (!(other instanceof SipUri) || other.scheme !== this.scheme) return false;
    if (unescapeUriPart(this.user ?? '') !== unescapeUriPart(other.user ?? '')) return false;
    if (unescapeUriPart(this.password ?? '') !== unescapeUriPart(other.password ?? '')) return false;
    if (this.host.toLowerCase() !== other.host.toLowerCase() || this.port !== other.port) return false;
    // Names are compared unescaped too: `;tr%61nsport=tcp` is the transport parameter (RFC 4475 §3.1.1.3).
    const mine = comparableParams(this.params);
    const theirs = comparableParams(other.params);
    for (const name of ['user', 'ttl', 'method', 'maddr', 'transport']) {
      if (mine.has(name) !== theirs.has(name)) return false;
    }
    for (const [name, value] of mine) {
      if (theirs.has(name) && theirs.get(name) !== value) return false;
    }
    return (this.headers ?? '') === (other.headers ?? '');
  }
}

/** Parameters as RFC 3261 §19.1.4 compares them: names and values unescaped and case-folded. */
function comparableParams(params: Params): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of params.entries()) out.set(unescapeUriPart(name).toLowerCase(), unescapeUriPart(value ?? '').toLowerCase());
  return out;
}

/** Any other absolute URI (tel:, urn:, isbn:, http: ...): kept intact, compared as text. */
export class AbsoluteUri {
  constructor(public scheme: string, public rest: string) {}

  get isSip(): false {
    return false;
  }

  clone(): AbsoluteUri {
    return new AbsoluteUri(this.scheme, this.rest);
  }

  toString(): string {
    return `${this.scheme}:${this.rest}`;
  }

  equals(other: Uri): boolean {
    return other instanceof AbsoluteUri && other.scheme.toLowerCase() === this.scheme.toLowerCase() && other.rest === this.rest;
  }
}

export type Uri = SipUri | AbsoluteUri;

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const FORBIDDEN_IN_URI = /[\s<>"]/;

export function parseUri(text: string): Uri {
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon) : '';
  if (!SCHEME.test(scheme)) throw new SipSyntaxError('URI has no valid scheme', text);
  if (FORBIDDEN_IN_URI.test(text)) throw new SipSyntaxError('URI contains white space, quotes or angle brackets', text);
  const lower = scheme.toLowerCase();
  if (lower !== 'sip' && lower !== 'sips') {
    if (colon === text.length - 1) throw new SipSyntaxError('URI is empty after its scheme', text);
    return new AbsoluteUri(scheme, text.slice(colon + 1));
  }
  return parseSipUri(lower, text.slice(colon + 1), text);
}

function parseSipUri(scheme: 'sip' | 'sips', rest: string, whole: string): SipUri {
  let user: string | undefined;
  let password: string | undefined;
  // '@' is legal only as the end of userinfo: user, params and headers must escape it.
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pw = userinfo.indexOf(':');
    user = pw >= 0 ? userinfo.slice(0, pw) : userinfo;
    if (pw >= 0) {
      password = userinfo.slice(pw + 1);
      checkChars(password, PASSWORD, 'password', whole);
    }
    if (user.length === 0) throw new SipSyntaxError('URI has an empty user part', whole);
    checkChars(user, USER, 'user part', whole);
  }

  let headers: string | undefined;
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
    if (headers.length === 0) throw new SipSyntaxError('URI has an empty header part', whole);
    checkChars(headers, HEADERS, 'headers', whole);
  }

  let hostport = rest;
  const params = new Params();
  const semi = rest.indexOf(';');
  if (semi >= 0) {
    hostport = rest.slice(0, semi);
    for (const p of rest.slice(semi + 1).split(';')) {
      const eq = p.indexOf('=');
      const name = eq >= 0 ? p.slice(0, eq) : p;
      const value = eq >= 0 ? p.slice(eq + 1) : null;
      if (name.length === 0) throw new SipSyntaxError('URI has an empty parameter', whole);
      checkChars(name, PARAM, 'parameter name', whole);
      if (value !== null) {
        if (value.length === 0) throw new SipSyntaxError(`URI parameter ${name} has an empty value`, whole);
        checkChars(value, PARAM, 'parameter value', whole);
      }
      params.set(name, value);
    }
  }

  const { host, port } = parseHostPort(hostport, whole);
  return new SipUri(scheme, host, port, user, password, params, headers);
}

/** `host[:port]` as a URI or Via writes it: an IPv6 address goes in brackets. */
export function formatHostPort(address: string, port?: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

/** host [":" port], host being a name, an IPv4 address or an IPv6 reference in brackets. */
export function parseHostPort(text: string, whole = text): { host: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new SipSyntaxError('unterminated IPv6 reference', whole);
    host = text.slice(0, close + 1);
    if (!/^\[[0-9a-fA-F:.]+\]$/.test(host) || !host.includes(':')) throw new SipSyntaxError('bad IPv6 reference', whole);
    const after = text.slice(close + 1);
    if (after.length > 0) {
      if (after[0] !== ':') throw new SipSyntaxError('junk after IPv6 reference', whole);
      portText = after.slice(1);
    }
  } else {
    const colon = text.indexOf(':');
    host = colon >= 0 ? text.slice(0, colon) : text;
    if (colon >= 0) portText = text.slice(colon + 1);
    if (host.length === 0) throw new SipSyntaxError('URI has no host', whole);
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c >= 128 || HOST[c] !== 1) throw new SipSyntaxError(`character ${JSON.stringify(host[i])} not allowed in host`, whole);
    }
  }
  if (portText === undefined) return { host };
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) throw new SipSyntaxError('bad port', whole);
  return { host, port: Number(portText) };
}
