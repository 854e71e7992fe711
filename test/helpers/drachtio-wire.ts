import { randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { Waiters, resolvesWithin } from './wait';

type Teardown = { teardown(fn: () => unknown): void };

/**
 * A hand-written drachtio wire-protocol client (no srf): sends frames, including malformed ones, and reads
 * the server's `<len>#<payload>` frames. Closed in t.teardown.
 */
export class WireClient {
  readonly messages: string[] = [];
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  readonly #waiters = new Waiters();
  #isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (;;) {
        const hash = this.#buffer.indexOf(0x23);
        if (hash < 0) break;
        const length = Number(this.#buffer.toString('latin1', 0, hash));
        if (this.#buffer.length < hash + 1 + length) break;
        this.messages.push(this.#buffer.toString('utf8', hash + 1, hash + 1 + length));
        this.#buffer = this.#buffer.subarray(hash + 1 + length);
      }
      this.#waiters.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        this.#waiters.wake();
        resolve();
      }),
    );
  }

  static async connect(t: Teardown, port: number): Promise<WireClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new WireClient(socket);
    t.teardown(() => socket.destroy());
    return client;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends `<len>#<id>|<rest>` and returns the id. */
  send(rest: string): string {
    const id = randomUUID();
    const payload = Buffer.from(`${id}|${rest}`, 'utf8');
    this.socket.write(Buffer.concat([Buffer.from(`${payload.length}#`), payload]));
    return id;
  }

  sendRaw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Authenticates with `secret` and returns the reply's fields after `response|<id>|`. */
  async authenticate(secret: string): Promise<string[]> {
    const id = this.send(`authenticate|${secret}|`);
    return (await this.reply(id)).split('\r\n')[0]!.split('|').slice(3);
  }

  /** The server's reply to message `id` (its whole payload). */
  reply(id: string, timeoutMs = 3000): Promise<string> {
    return this.waitFor((m) => m.split('|')[1] === 'response' && m.split('|')[2] === id, timeoutMs, `reply to ${id}`);
  }

  waitFor(match: (message: string) => boolean, timeoutMs = 3000, what = 'message'): Promise<string> {
    return this.#waiters.until(() => this.messages.find(match), {
      timeoutMs,
      timeout: () => new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`),
      failed: () => (this.#isClosed ? new Error(`connection closed before ${what}; got ${JSON.stringify(this.messages)}`) : undefined),
    });
  }

  /** Resolves true when the server closes the connection within `ms`, false otherwise. */
  closedWithin(ms: number): Promise<boolean> {
    return resolvesWithin(this.closed, ms);
  }
}

/** A bare UDP SIP endpoint on 127.0.0.1 for hand-written requests: records every datagram it receives. */
export class UdpSipPeer {
  readonly received: string[] = [];
  readonly #waiters = new Waiters();

  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (msg) => {
      this.received.push(msg.toString('utf8'));
      this.#waiters.wake();
    });
  }

  static async start(t: Teardown): Promise<UdpSipPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    t.teardown(() => socket.close());
    return new UdpSipPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text, 'utf8'), port, '127.0.0.1');
  }

  /** Datagrams received whose first line matches. */
  matching(startLine: RegExp): string[] {
    return this.received.filter((m) => startLine.test(m.split('\r\n')[0]!));
  }

  waitFor(startLine: RegExp, timeoutMs = 3000, count = 1): Promise<string[]> {
    return this.waitForMatch((m) => startLine.test(m.split('\r\n')[0]!), timeoutMs, count, String(startLine));
  }

  /** Waits until `count` received datagrams satisfy `match`. */
  waitForMatch(match: (message: string) => boolean, timeoutMs = 3000, count = 1, what = 'datagram'): Promise<string[]> {
    return this.#waiters.until(
      () => {
        const found = this.received.filter(match);
        return found.length >= count ? found : undefined;
      },
      {
        timeoutMs,
        timeout: () => new Error(`no ${count} × ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((m) => m.split('\r\n')[0]))}`),
      },
    );
  }
}

/** The value of header `name` in a SIP message text (first occurrence). */
export function header(message: string, name: string): string | undefined {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im');
  return re.exec(message.split('\r\n\r\n')[0]!)?.[1]?.trim();
}
