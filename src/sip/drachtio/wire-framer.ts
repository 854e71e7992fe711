import { OneccError } from '../../lib/index';

export class WireProtocolError extends OneccError {
  constructor(message: string) {
    super('DRACHTIO_PROTOCOL', message);
  }
}

/**
 * drachtio's framing: each message is `<byte length>#<UTF-8 payload>`. Partial and several messages per
 * chunk are handled; anything but digits before `#`, or a length over the limit, is a protocol error and
 * the caller closes that connection.
 */
export class WireFramer {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): string[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: string[] = [];
    for (;;) {
      const hash = this.#buffer.indexOf(0x23 /* # */);
      if (hash < 0) {
        if (this.#buffer.length > 12) throw new WireProtocolError('no length prefix');
        if (!/^[0-9]*$/.test(this.#buffer.toString('latin1'))) throw new WireProtocolError('length prefix is not a number');
        break;
      }
      const prefix = this.#buffer.toString('latin1', 0, hash);
      if (!/^[0-9]{1,12}$/.test(prefix)) throw new WireProtocolError('length prefix is not a number');
      const length = Number(prefix);
      if (length > this.maxMessageBytes) throw new WireProtocolError(`message of ${length} bytes exceeds the limit`);
      if (this.#buffer.length < hash + 1 + length) break;
      out.push(this.#buffer.toString('utf8', hash + 1, hash + 1 + length));
      this.#buffer = this.#buffer.subarray(hash + 1 + length);
    }
    return out;
  }
}

export function frame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}#`, 'latin1'), body]);
}
