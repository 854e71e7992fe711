import { SipParseError } from './errors';
import { headerKey } from './header-field';
import { findHeaderEnd, parseContentLength, readHeaderSection, type ParseLimits } from './parser';

export type FramerOutput =
  | { kind: 'message'; bytes: Buffer }
  /** RFC 5626 §3.5.1: a CRLFCRLF "ping" between messages, to be answered with a CRLF "pong". */
  | { kind: 'ping' }
  /** The stream cannot be framed past this point; always the last output, and the framer is done. */
  | { kind: 'error'; error: SipParseError };

/**
 * Cuts a TCP/TLS byte stream into whole SIP messages by the empty line and Content-Length (RFC 3261 §18.3).
 * Handles partial and pipelined messages. A framing error (no or bad Content-Length, a message over the size
 * limit) is unrecoverable on a stream: push() returns the messages cut before it, then the error, and the
 * caller closes the connection once it has answered them.
 */
export class StreamFramer {
  /**
   * Bytes received and not yet framed live in #storage between #start and #end. The storage grows by
   * doubling, so a message arriving one byte at a time costs linear, not quadratic, copying.
   */
  #storage: Buffer = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  /** How far (from #start) the search for the end of the header section has already looked. */
  #searched = 0;
  /** The length of the message being assembled, once its header section has been read. */
  #expected: number | undefined;
  /** When the first byte of the message now being assembled arrived; undefined when nothing is pending. */
  #partialSince: number | undefined;

  constructor(private readonly limits: ParseLimits) {}

  get partialSince(): number | undefined {
    return this.#partialSince;
  }

  push(chunk: Buffer): FramerOutput[] {
    this.#append(chunk);
    const out: FramerOutput[] = [];
    try {
      for (;;) {
        const pings = this.#skipKeepalives();
        for (let i = 0; i < pings; i++) out.push({ kind: 'ping' });
        const bytes = this.#nextMessage();
        if (!bytes) break;
        out.push({ kind: 'message', bytes });
      }
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      out.push({ kind: 'error', error: err });
      return out;
    }
    // A lone CRLF held back as half of a possible ping is not an unfinished message. Bytes left over by a chunk
    // that completed a message started arriving with that chunk, not with the message before.
    const pending = this.#end - this.#start;
    if (pending === 0 || this.#isLoneCrlf()) this.#partialSince = undefined;
    else if (out.length > 0 || this.#partialSince === undefined) this.#partialSince = Date.now();
    return out;
  }

  get #buffer(): Buffer {
    return this.#storage.subarray(this.#start, this.#end);
  }

  #append(chunk: Buffer): void {
    const pending = this.#end - this.#start;
    if (this.#end + chunk.length > this.#storage.length) {
      const storage = Buffer.allocUnsafe(Math.max(4096, (pending + chunk.length) * 2));
      this.#storage.copy(storage, 0, this.#start, this.#end);
      this.#storage = storage;
      this.#start = 0;
      this.#end = pending;
    }
    chunk.copy(this.#storage, this.#end);
    this.#end += chunk.length;
  }

  #consume(count: number): void {
    this.#start += count;
    this.#searched = 0;
    this.#expected = undefined;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #isLoneCrlf(): boolean {
    return this.#end - this.#start === 2 && this.#storage[this.#start] === 0x0d && this.#storage[this.#start + 1] === 0x0a;
  }

  /**
   * Leading CRLFs are keepalives; a double CRLF is a ping that wants a pong. A trailing lone CRLF is kept
   * until the next byte shows whether it was half of a ping split across two segments.
   */
  #skipKeepalives(): number {
    const buf = this.#buffer;
    let i = 0;
    let pings = 0;
    while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) {
      if (i + 3 < buf.length && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) {
        pings++;
        i += 4;
      } else if (i + 2 === buf.length) {
        break;
      } else {
        i += 2;
      }
    }
    if (i > 0) this.#consume(i);
    return pings;
  }

  #nextMessage(): Buffer | undefined {
    const buffer = this.#buffer;
    if (this.#isLoneCrlf()) return undefined;
    if (this.#expected !== undefined) return buffer.length < this.#expected ? undefined : this.#take(this.#expected);
    const end = findHeaderEnd(buffer, Math.max(0, this.#searched - 3));
    if (!end) {
      this.#searched = buffer.length;
      if (buffer.length > this.limits.maxMessageBytes) throw new SipParseError(513, 'Message Too Large (header section)');
      return undefined;
    }
    const head = buffer.toString('latin1', 0, end.headEnd);
    const values: string[] = [];
    const lines = head.split(/\r?\n/);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      // A continuation line (§7.3.1) belongs to the field above it, as in the parser: never a field of its own.
      if (colon <= 0 || line[0] === ' ' || line[0] === '\t' || headerKey(line.slice(0, colon).trim()) !== 'content-length') continue;
      let value = line.slice(colon + 1);
      while (i + 1 < lines.length && (lines[i + 1]![0] === ' ' || lines[i + 1]![0] === '\t')) value += ` ${lines[++i]}`;
      values.push(value.trim());
    }
    let length: number;
    try {
      if (values.length === 0) throw new SipParseError(400, 'Content-Length is required on stream transports');
      length = parseContentLength(values);
    } catch (err) {
      throw this.#withRawForm(err as SipParseError, end.headEnd);
    }
    const total = end.bodyStart + length;
    if (total > this.limits.maxMessageBytes) throw this.#withRawForm(new SipParseError(513, 'Message Too Large'), end.headEnd);
    this.#expected = total;
    return buffer.length < total ? undefined : this.#take(total);
  }

  #take(total: number): Buffer {
    // A copy: the storage is reused, and the parsed message (its body) outlives this call.
    const bytes = Buffer.from(this.#buffer.subarray(0, total));
    this.#consume(total);
    return bytes;
  }

  /** Adds the header fields to a framing error so that the 400 sent before closing can echo them. */
  #withRawForm(err: SipParseError, headEnd: number): SipParseError {
    try {
      return new SipParseError(err.status, err.reason, readHeaderSection(this.#buffer.toString('utf8', 0, headEnd)));
    } catch {
      return err;
    }
  }
}
