import { createSocket, type Socket } from 'node:dgram';

/** toServer: from the client (whoever sends to `port` first) to the server; toClient: back. */
export type Direction = 'toServer' | 'toClient';

/** One datagram the relay saw. `kind` is "INVITE" for a request, "200 INVITE" for a response (status + CSeq method). */
export interface RelayRecord {
  direction: Direction;
  kind: string;
  startLine: string;
  dropped: boolean;
  at: number;
}

interface DropRule {
  direction: Direction;
  kind: string;
  remaining: number;
}

/**
 * A UDP relay on 127.0.0.1 between one SIP client and one server, that drops the datagrams it is told to:
 * how the tests make packet loss happen on purpose. Datagrams sent to `port` go to the server from the
 * relay's second socket (`serverSidePort`); datagrams the server sends there go back to the last client
 * address seen (or the one `setClient` named before the client sent anything). Every datagram is recorded,
 * forwarded or dropped.
 *
 * To put it in both directions of a dialog, the client uses `port` as its outgoing proxy and advertises
 * `serverSidePort` as its Contact: the server's requests then come back through the relay too.
 */
export class UdpRelay {
  readonly records: RelayRecord[] = [];
  readonly #front: Socket;
  readonly #back: Socket;
  readonly #rules: DropRule[] = [];
  #client: { address: string; port: number } | undefined;
  #closed = false;

  private constructor(front: Socket, back: Socket, readonly server: { address: string; port: number }) {
    this.#front = front;
    this.#back = back;
    front.on('message', (bytes, rinfo) => {
      this.#client = { address: rinfo.address, port: rinfo.port };
      this.#pass('toServer', bytes, () => back.send(bytes, server.port, server.address));
    });
    back.on('message', (bytes) => {
      const client = this.#client;
      if (!client) return;
      this.#pass('toClient', bytes, () => front.send(bytes, client.port, client.address));
    });
  }

  /** Starts a relay to `server` and closes it in t.teardown. */
  static async start(t: { teardown(fn: () => unknown): void }, server: { address: string; port: number }): Promise<UdpRelay> {
    const bind = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve(socket);
        });
      });
    const relay = new UdpRelay(await bind(), await bind(), server);
    t.teardown(() => relay.close());
    return relay;
  }

  /** Where the client sends. */
  get port(): number {
    return this.#front.address().port;
  }

  /** Where the server's datagrams come from (and where it may send requests meant for the client). */
  get serverSidePort(): number {
    return this.#back.address().port;
  }

  /** Where datagrams from the server go, when the client has not sent first. */
  setClient(port: number, address = '127.0.0.1'): void {
    this.#client = { address, port };
  }

  /** Drops the next `count` datagrams of that kind ("INVITE", "200 INVITE", "200 BYE") going that way. */
  drop(direction: Direction, kind: string, count = 1): this {
    this.#rules.push({ direction, kind, remaining: count });
    return this;
  }

  /** The records of that kind going that way; `dropped` filters on fate when given. */
  seen(direction: Direction, kind: string, dropped?: boolean): RelayRecord[] {
    return this.records.filter((r) => r.direction === direction && r.kind === kind && (dropped === undefined || r.dropped === dropped));
  }

  /** How many datagrams of that kind went that way: all of them, or only the dropped or the passed ones. */
  count(direction: Direction, kind: string, which: 'all' | 'dropped' | 'passed' = 'all'): number {
    return this.seen(direction, kind, which === 'all' ? undefined : which === 'dropped').length;
  }

  /** Every datagram, in order, for failure messages. */
  describe(): string {
    const t0 = this.records[0]?.at ?? 0;
    return this.records.map((r) => `+${r.at - t0}ms ${r.direction} ${r.kind}${r.dropped ? ' DROPPED' : ''}`).join(', ');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#front.close();
    this.#back.close();
  }

  #pass(direction: Direction, bytes: Buffer, forward: () => void): void {
    const { kind, startLine } = classify(bytes);
    const rule = this.#rules.find((r) => r.direction === direction && r.kind === kind && r.remaining > 0);
    if (rule) rule.remaining--;
    this.records.push({ direction, kind, startLine, dropped: rule !== undefined, at: Date.now() });
    if (!rule && !this.#closed) forward();
  }
}

function classify(bytes: Buffer): { kind: string; startLine: string } {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n');
  const startLine = (end < 0 ? text : text.slice(0, end)).trim();
  const status = /^SIP\/2\.0\s+(\d{3})/.exec(startLine);
  if (!status) return { kind: startLine.split(' ')[0] ?? '', startLine };
  const cseq = /^cseq\s*:\s*\d+\s+(\S+)/im.exec(text);
  return { kind: `${status[1]} ${cseq?.[1] ?? '?'}`, startLine };
}
