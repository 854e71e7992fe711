import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** toEngine: datagrams from the peer side to the engine; toPeer: the other way. */
export type Direction = 'toEngine' | 'toPeer';

/** One datagram the relay saw: `kind` is "INVITE" for a request, "200 INVITE" for a response (status + CSeq method). */
export interface RelayRecord {
  direction: Direction;
  kind: string;
  dropped: boolean;
  at: number;
}

/**
 * A UDP relay on 127.0.0.1 between a SIP peer and the engine that loses chosen datagrams on purpose.
 * The peer sends to `peerSidePort` (its outgoing proxy); the relay forwards from `engineSidePort`, which is
 * also the address the peer advertises as Contact, so the engine's requests and responses come back through
 * the relay too. Every datagram is recorded, forwarded or dropped.
 */
export class UdpRelay {
  readonly records: RelayRecord[] = [];
  readonly #peerSide: Socket;
  readonly #engineSide: Socket;
  readonly #drops: Array<{ direction: Direction; kind: string; remaining: number }> = [];
  #peer: { address: string; port: number } | undefined;

  private constructor(peerSide: Socket, engineSide: Socket, readonly engine: { address: string; port: number }) {
    this.#peerSide = peerSide;
    this.#engineSide = engineSide;
    peerSide.on('message', (bytes, rinfo: RemoteInfo) => {
      this.#peer ??= { address: rinfo.address, port: rinfo.port };
      this.#pass('toEngine', bytes, () => engineSide.send(bytes, engine.port, engine.address));
    });
    engineSide.on('message', (bytes) => {
      const peer = this.#peer;
      if (peer) this.#pass('toPeer', bytes, () => peerSide.send(bytes, peer.port, peer.address));
    });
  }

  static async start(t: { teardown(fn: () => unknown): void }, engine: { address: string; port: number }): Promise<UdpRelay> {
    const bind = async (): Promise<Socket> => {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      return socket;
    };
    const relay = new UdpRelay(await bind(), await bind(), engine);
    t.teardown(() => relay.close());
    return relay;
  }

  get peerSidePort(): number {
    return this.#peerSide.address().port;
  }

  get engineSidePort(): number {
    return this.#engineSide.address().port;
  }

  /** Where datagrams from the engine go, when the peer has not sent first. */
  setPeer(port: number, address = '127.0.0.1'): void {
    this.#peer = { address, port };
  }

  /** Drops the next `count` datagrams of that kind going that way. */
  drop(direction: Direction, kind: string, count = 1): this {
    this.#drops.push({ direction, kind, remaining: count });
    return this;
  }

  /** How many datagrams of that kind went that way (dropped ones included, or only those). */
  count(direction: Direction, kind: string, which: 'all' | 'dropped' | 'passed' = 'all'): number {
    return this.records.filter(
      (r) => r.direction === direction && r.kind === kind && (which === 'all' || (which === 'dropped') === r.dropped),
    ).length;
  }

  /** Every record as "toEngine INVITE (dropped)" lines, for failure messages. */
  describe(): string {
    return this.records.map((r) => `${r.direction} ${r.kind}${r.dropped ? ' (dropped)' : ''}`).join(', ');
  }

  close(): void {
    for (const socket of [this.#peerSide, this.#engineSide]) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }

  #pass(direction: Direction, bytes: Buffer, forward: () => void): void {
    const kind = kindOf(bytes.toString('latin1'));
    const rule = this.#drops.find((d) => d.direction === direction && d.kind === kind && d.remaining > 0);
    if (rule) rule.remaining--;
    this.records.push({ direction, kind, dropped: Boolean(rule), at: Date.now() });
    if (!rule) forward();
  }
}

function kindOf(text: string): string {
  const first = text.slice(0, text.indexOf('\r\n'));
  const cseq = /^cseq\s*:\s*\d+\s+(\S+)/im.exec(text)?.[1] ?? '?';
  const status = /^SIP\/2\.0 (\d{3})/.exec(first);
  return status ? `${status[1]} ${cseq}` : first.split(' ')[0]!;
}
