import { SipParseError } from './errors';
import { headerKey } from './header-field';
import { findHeaderEnd, parseContentLength, readHeaderSection, type ParseLimits } from './parser';

export type FramerOutput =
  | { kind: 'message'; bytes: Buffer }
  /** RFC 5626 §3.5.1: a CRLFCRLF "ping" between messages, to be answered with a CRLF "pong". */
  | { kind: 'ping' };

/**
 * Cuts a TCP/TLS byte stream into whole SIP messages by the empty line and Content-Length (RFC 3261 §18.3).
 * Handles partial and pipelined messages. A framing error (no or bad Content-Length, a message over the size
 * limit) is unrecoverable on a stream: push() throws SipParseError and the caller closes the connection.
 */
export class StreamFramer {
  #buffer: Buffer = Buffer.alloc(0);
  /** When the first byte of the message now being assembled arrived; undefined when nothing is pending. */
  #partialSince: number | undefined;

  constructor(private readonly limits: ParseLimits) {}

  get partialSince(): number | undefined {
    return this.#partialSince;
  }

  push(chunk: Buffer): FramerOutput[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: FramerOutput[] = [];
    for (;;) {
      const pings = this.#skipKeepalives();
      for (let i = 0; i < pings; i++) out.push({ kind: 'ping' });
      const bytes = this.#nextMessage();
      if (!bytes) break;
      out.push({ kind: 'message', bytes });
    }
    this.#partialSince = this.#buffer.length === 0 ? undefined : (this.#partialSince ?? Date.now());
    return out;
  }

  /** Leading CRLFs are keepalives; a double CRLF is a ping that wants a pong. */
  #skipKeepalives(): number {
    let i = 0;
    let pings = 0;
    while (i + 1 < this.#buffer.length && this.#buffer[i] === 0x0d && this.#buffer[i + 1] === 0x0a) {
      if (i + 3 < this.#buffer.length && this.#buffer[i + 2] === 0x0d && this.#buffer[i + 3] === 0x0a) {
        pings++;
        i += 4;
      } else {
        i += 2;
      }
    }
    if (i > 0) this.#buffer = this.#buffer.subarray(i);
    return pings;
  }

  #nextMessage(): Buffer | undefined {
    const end = findHeaderEnd(this.#buffer);
    if (!end) {
      if (this.#buffer.length > this.limits.maxMessageBytes) throw new SipParseError(513, 'Message Too Large (header section)');
      return undefined;
    }
    const head = this.#buffer.toString('latin1', 0, end.headEnd);
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
    if (total > this.limits.maxMessageBytes) throw new SipParseError(513, 'Message Too Large');
    if (this.#buffer.length < total) return undefined;
    const bytes = this.#buffer.subarray(0, total);
    this.#buffer = this.#buffer.subarray(total);
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
