import { createSocket, type Socket } from 'node:dgram';
import { decodeG711 } from '../codec/g711';
import { g711Payload } from '../codec/rtp';

/**
 * A receive-only RTP endpoint in onecc for an rtpengine fork (MediaCall.forkOffer): hands each G.711 packet's
 * decoded samples, with its arrival time, to `onAudio` (answering-machine detection listens to a callee this way).
 */
export class AudioTap {
  #packets = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {}

  static async open(host: string, onAudio: (samples: Int16Array, atMs: number) => void): Promise<AudioTap> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const tap = new AudioTap(socket, host);
    socket.on('message', (packet) => {
      const payload = g711Payload(packet);
      if (payload === undefined) return;
      tap.#packets++;
      onAudio(decodeG711(payload.data, payload.type === 0 ? 'mulaw' : 'alaw'), performance.now());
    });
    socket.on('error', () => undefined); // a late packet after close: nothing to do
    return tap;
  }

  get packets(): number {
    return this.#packets;
  }

  /** The answer to the fork's offer: receive-only G.711 on this tap's port. */
  sdp(): string {
    const family = this.host.includes(':') ? 'IP6' : 'IP4';
    const port = this.socket.address().port;
    return [
      'v=0', `o=onecc-tap ${port} 1 IN ${family} ${this.host}`, 's=onecc tap', `c=IN ${family} ${this.host}`, 't=0 0',
      `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=recvonly', '',
    ].join('\r\n');
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed already
    }
  }
}
