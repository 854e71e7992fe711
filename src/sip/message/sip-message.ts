import { SipSyntaxError } from './errors';
import { LIST_HEADERS, canonicalHeaderName, headerKey, type HeaderField } from './header-field';
import { NameAddr } from './name-addr';
import { splitList } from './scanner';
import { parseUri, type Uri } from './uri';
import { Via } from './via';

export interface CSeq {
  seq: number;
  method: string;
}

// RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31.
const CSEQ_LIMIT = 2 ** 31;

export function parseCSeq(value: string): CSeq {
  const m = /^\s*([0-9]{1,20})\s+([^\s]+)\s*$/.exec(value);
  if (!m) throw new SipSyntaxError('CSeq must be "number method"', value);
  const seq = Number(m[1]);
  if (seq >= CSEQ_LIMIT) throw new SipSyntaxError('CSeq number must be less than 2**31', value);
  return { seq, method: m[2]! };
}

/**
 * What requests and responses share: ordered header fields (names as written, values unfolded), a body,
 * and typed views of the headers every layer needs. The typed views are parsed on first use and cached;
 * every header change goes through one door (#changed) that drops the cache. The views are read-only in
 * effect: to change a header, clone the view, edit the clone and write it back (setHeader, setTopVia).
 */
export abstract class SipMessage {
  readonly headers: HeaderField[];
  body: Buffer;
  #cache = new Map<string, unknown>();
  #index: Map<string, number[]> | undefined;

  protected constructor(headers: HeaderField[] = [], body: Buffer = Buffer.alloc(0)) {
    this.headers = headers;
    this.body = body;
  }

  abstract get isRequest(): boolean;
  abstract startLine(): string;

  hasHeader(name: string): boolean {
    return this.#positions(headerKey(name)) !== undefined;
  }

  /** The first field's value. */
  getHeader(name: string): string | undefined {
    const at = this.#positions(headerKey(name));
    return at === undefined ? undefined : this.headers[at[0]!]!.value;
  }

  /** Every field's value, in order; list headers are split into their elements. */
  getHeaders(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const i of this.#positions(key) ?? []) {
      const value = this.headers[i]!.value;
      if (LIST_HEADERS.has(key)) out.push(...splitList(value));
      else out.push(value);
    }
    return out;
  }

  /** Where each header key stands in `headers`, built once per change: lookups are then O(1). */
  #positions(key: string): number[] | undefined {
    if (!this.#index) {
      this.#index = new Map();
      this.headers.forEach((h, i) => {
        const k = headerKey(h.name);
        const list = this.#index!.get(k);
        if (list) list.push(i);
        else this.#index!.set(k, [i]);
      });
    }
    return this.#index.get(key);
  }

  /** Replaces every field of that name with one field (or removes them all when value is undefined). */
  setHeader(name: string, value: string | undefined): this {
    const key = headerKey(name);
    const at = this.headers.findIndex((h) => headerKey(h.name) === key);
    this.#removeAll(key);
    if (value !== undefined) {
      this.headers.splice(at < 0 ? this.headers.length : at, 0, { name: at < 0 ? canonicalHeaderName(name) : name, value });
    }
    return this.#changed();
  }

  addHeader(name: string, value: string): this {
    this.headers.push({ name: canonicalHeaderName(name), value });
    return this.#changed();
  }

  /** Puts a field before every other field of the same name (a new top Via, Record-Route). */
  prependHeader(name: string, value: string): this {
    const key = headerKey(name);
    const at = this.headers.findIndex((h) => headerKey(h.name) === key);
    this.headers.splice(at < 0 ? this.headers.length : at, 0, { name: canonicalHeaderName(name), value });
    return this.#changed();
  }

  removeHeader(name: string): this {
    this.#removeAll(headerKey(name));
    return this.#changed();
  }

  /** Removes the first element of a list header (the top Via, the first Route). */
  shiftListHeader(name: string): string | undefined {
    const key = headerKey(name);
    const at = this.headers.findIndex((h) => headerKey(h.name) === key);
    if (at < 0) return undefined;
    const [first, ...rest] = splitList(this.headers[at]!.value);
    if (rest.length === 0) this.headers.splice(at, 1);
    else this.headers[at] = { name: this.headers[at]!.name, value: rest.join(', ') };
    this.#changed();
    return first;
  }

  /**
   * Drops the parsed views and the header index; they are rebuilt if read again. For messages kept only
   * to be retransmitted or matched, so that thousands of them in flight hold their text, not their parse.
   */
  releaseViews(): void {
    this.#changed();
  }

  get callId(): string {
    return this.#cached('call-id', () => {
      const value = this.getHeader('call-id');
      if (value === undefined) throw new SipSyntaxError('missing Call-ID', '');
      return value;
    });
  }

  get cseq(): CSeq {
    return this.#cached('cseq', () => parseCSeq(this.#required('cseq')));
  }

  get from(): NameAddr {
    return this.#cached('from', () => NameAddr.parse(this.#required('from')));
  }

  get to(): NameAddr {
    return this.#cached('to', () => NameAddr.parse(this.#required('to')));
  }

  get vias(): Via[] {
    return this.#cached('via', () => this.getHeaders('via').map((v) => Via.parse(v)));
  }

  get topVia(): Via {
    const via = this.vias[0];
    if (via === undefined) throw new SipSyntaxError('missing Via', '');
    return via;
  }

  /** Contact values; `'*'` stands for the wildcard of a REGISTER that removes all bindings. */
  get contacts(): Array<NameAddr | '*'> {
    return this.#cached('contact', () => this.getHeaders('contact').map((v) => (v.trim() === '*' ? '*' : NameAddr.parse(v))));
  }

  get routes(): NameAddr[] {
    return this.#cached('route', () => this.getHeaders('route').map((v) => NameAddr.parse(v)));
  }

  get recordRoutes(): NameAddr[] {
    return this.#cached('record-route', () => this.getHeaders('record-route').map((v) => NameAddr.parse(v)));
  }

  /** Rewrites the top Via, e.g. to add `received` and fill `rport` on arrival (RFC 3261 §18.2.1, RFC 3581). */
  setTopVia(via: Via): this {
    const at = this.headers.findIndex((h) => headerKey(h.name) === 'via');
    if (at < 0) throw new SipSyntaxError('missing Via', '');
    const [, ...rest] = splitList(this.headers[at]!.value);
    this.headers[at] = { name: this.headers[at]!.name, value: [via.toString(), ...rest].join(', ') };
    return this.#changed();
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  /** Serializes with a Content-Length that matches the body, whatever the field said before. */
  toBuffer(): Buffer {
    const head = this.#head();
    if (this.body.length === 0) return Buffer.from(head, 'utf8');
    return Buffer.concat([Buffer.from(head, 'utf8'), this.body]);
  }

  /**
   * The same bytes, not carved from Node's shared 8 KB pool: for bytes a transaction keeps for retransmission
   * for up to 64*T1, where a pooled slice would pin its whole slab that long.
   */
  toRetainedBuffer(): Buffer {
    const head = this.#head();
    const headLength = Buffer.byteLength(head, 'utf8');
    const bytes = Buffer.allocUnsafeSlow(headLength + this.body.length);
    bytes.write(head, 0, 'utf8');
    this.body.copy(bytes, headLength);
    return bytes;
  }

  #head(): string {
    let head = `${this.startLine()}\r\n`;
    let wroteLength = false;
    for (const h of this.headers) {
      if (headerKey(h.name) === 'content-length') {
        if (wroteLength) continue;
        wroteLength = true;
        head += `${h.name}: ${this.body.length}\r\n`;
      } else {
        head += `${h.name}: ${h.value}\r\n`;
      }
    }
    if (!wroteLength) head += `Content-Length: ${this.body.length}\r\n`;
    return `${head}\r\n`;
  }

  #required(key: string): string {
    const value = this.getHeader(key);
    if (value === undefined) throw new SipSyntaxError(`missing ${canonicalHeaderName(key)}`, '');
    return value;
  }

  #cached<T>(key: string, compute: () => T): T {
    if (this.#cache.has(key)) return this.#cache.get(key) as T;
    const value = compute();
    this.#cache.set(key, value);
    return value;
  }

  #removeAll(key: string): void {
    for (let i = this.headers.length - 1; i >= 0; i--) if (headerKey(this.headers[i]!.name) === key) this.headers.splice(i, 1);
  }

  #changed(): this {
    this.#cache.clear();
    this.#index = undefined;
    return this;
  }
}

export class SipRequest extends SipMessage {
  #uri: Uri | undefined;

  constructor(
    public method: string,
    public uriText: string,
    headers?: HeaderField[],
    body?: Buffer,
  ) {
    super(headers, body);
  }

  get isRequest(): true {
    return true;
  }

  /** The Request-URI, parsed on first use; assign `uri` to change it. */
  get uri(): Uri {
    this.#uri ??= parseUri(this.uriText);
    return this.#uri;
  }

  set uri(uri: Uri) {
    this.#uri = uri;
    this.uriText = uri.toString();
  }

  startLine(): string {
    return `${this.method} ${this.#uri ? this.#uri.toString() : this.uriText} SIP/2.0`;
  }
}

export class SipResponse extends SipMessage {
  constructor(
    public status: number,
    public reason: string,
    headers?: HeaderField[],
    body?: Buffer,
  ) {
    super(headers, body);
  }

  get isRequest(): false {
    return false;
  }

  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export type SipMessageAny = SipRequest | SipResponse;
