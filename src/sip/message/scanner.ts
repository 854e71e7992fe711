import { SipSyntaxError } from './errors';

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[ch.charCodeAt(0)] = 1;

// Parameter values are token / host / quoted-string; a host may be an IPv6 reference or (received=) a bare IPv6.
const PARAM_VALUE = TOKEN.slice();
for (const ch of '[]:') PARAM_VALUE[ch.charCodeAt(0)] = 1;

export function isTokenChar(code: number): boolean {
  return code < 128 && TOKEN[code] === 1;
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

/**
 * A cursor over one unfolded header value. Every method advances in one pass without backtracking, so
 * parsing time is linear in the input whatever the input is.
 */
export class Scanner {
  pos = 0;

  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  fail(reason: string): never {
    throw new SipSyntaxError(`${reason} at offset ${this.pos}`, this.text);
  }

  skipWs(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09) break;
      this.pos++;
    }
  }

  /** Skips white space; if the next character is `ch`, consumes it (and following white space). */
  eat(ch: string): boolean {
    this.skipWs();
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    this.skipWs();
    return true;
  }

  expect(ch: string, what: string): void {
    if (!this.eat(ch)) this.fail(`expected ${what}`);
  }

  token(what: string): string {
    return this.#run(TOKEN, what);
  }

  paramValue(what: string): string {
    if (this.peek() === '"') return this.quotedRaw();
    return this.#run(PARAM_VALUE, what);
  }

  /** Reads a quoted-string and returns it as written, quotes and backslashes included. */
  quotedRaw(): string {
    const start = this.pos;
    if (this.text[this.pos] !== '"') this.fail('expected quoted string');
    this.pos++;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos];
      if (ch === '\\') {
        if (this.pos + 1 >= this.text.length) break;
        const next = this.text.charCodeAt(this.pos + 1);
        if (next === 0x0a || next === 0x0d || next > 0x7f) this.fail('invalid quoted-pair');
        this.pos += 2;
        continue;
      }
      this.pos++;
      if (ch === '"') return this.text.slice(start, this.pos);
    }
    return this.fail('unterminated quoted string');
  }

  #run(table: Uint8Array, what: string): string {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c >= 128 || table[c] !== 1) break;
      this.pos++;
    }
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.text.slice(start, this.pos);
  }
}

/** "a \"b\"" → a "b" : removes the quotes and resolves quoted-pairs. */
export function unquote(quoted: string): string {
  if (quoted.length < 2 || quoted[0] !== '"') return quoted;
  return quoted.slice(1, -1).replace(/\\(.)/gs, '$1');
}

export function quote(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * Splits a list header value at the commas that separate its elements (RFC 3261 §7.3.1), ignoring commas
 * inside quoted strings and <...>. Empty elements are kept so that callers can reject them.
 */
export function splitList(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuotes) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') inQuotes = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if (ch === ',' && !inAngle) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts;
}
