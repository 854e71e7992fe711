// A real RTP endpoint for media tests: a UDP socket on loopback that sends G.711 audio and RFC 4733 events at
// real-time pace and records what it receives, with the measurements the tests assert on (packets per payload
// type, decoded energy, DTMF events, sequence gaps).
import { createSocket, type Socket } from 'node:dgram';
import { decodeG711, encodeG711 } from '../../../src/media/codec/g711';

export interface ReceivedPacket {
  readonly pt: number;
  readonly seq: number;
  readonly ts: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly payload: Buffer;
  readonly at: number;
}

export interface RtpEndpointOptions {
  /** Payload type of the audio this endpoint offers and sends: 0 PCMU or 8 PCMA. */
  readonly audioPt?: 0 | 8;
  /** telephone-event payload type; undefined offers none. */
  readonly telephoneEventPt?: number;
}

const DTMF_EVENTS = '0123456789*#ABCD';

export class RtpEndpoint {
  readonly received: ReceivedPacket[] = [];
  readonly audioPt: 0 | 8;
  readonly telephoneEventPt: number | undefined;
  #remote: { host: string; port: number } | undefined;
  #seq = Math.floor(Math.random() * 30000);
  #ts = Math.floor(Math.random() * 1e6);
  readonly #ssrc = Math.floor(Math.random() * 0xffffffff) >>> 0;
  #sender: NodeJS.Timeout | undefined;
  #sent = 0;

  private constructor(private readonly socket: Socket, opts: RtpEndpointOptions) {
    this.audioPt = opts.audioPt ?? 0;
    this.telephoneEventPt = 'telephoneEventPt' in opts ? opts.telephoneEventPt : 101;
    socket.on('message', (msg) => {
      if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
      const cc = msg[0]! & 0x0f;
      this.received.push({
        pt: msg[1]! & 0x7f,
        marker: (msg[1]! & 0x80) !== 0,
        seq: msg.readUInt16BE(2),
        ts: msg.readUInt32BE(4),
        ssrc: msg.readUInt32BE(8),
        payload: msg.subarray(12 + cc * 4),
        at: Date.now(),
      });
    });
  }

  static async open(opts: RtpEndpointOptions = {}): Promise<RtpEndpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpEndpoint(socket, opts);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get sent(): number {
    return this.#sent;
  }

  /** An SDP offer/answer describing this endpoint. */
  sdp(direction: 'sendrecv' | 'recvonly' | 'sendonly' = 'sendrecv'): string {
    const te = this.telephoneEventPt;
    const codec = this.audioPt === 0 ? 'PCMU' : 'PCMA';
    return [
      'v=0',
      `o=test ${this.port} 1 IN IP4 127.0.0.1`,
      's=test',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.port} RTP/AVP ${this.audioPt}${te === undefined ? '' : ` ${te}`}`,
      `a=rtpmap:${this.audioPt} ${codec}/8000`,
      ...(te === undefined ? [] : [`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} 0-16`]),
      'a=ptime:20',
      `a=${direction}`,
      '',
    ].join('\r\n');
  }

  /** Sends to the address of the first audio section of `sdp` (the SDP rtpengine gave for this endpoint). */
  useRemote(sdp: string): void {
    const host = /^c=IN IP[46] (\S+)/m.exec(sdp)?.[1];
    const port = /^m=audio (\d+)/m.exec(sdp)?.[1];
    if (!host || !port) throw new Error(`no audio address in SDP:\n${sdp}`);
    this.#remote = { host, port: Number(port) };
  }

  /** Streams a sine tone at 50 packets/s (20 ms of G.711 each) until stopSending(). */
  startTone(frequencyHz = 440, amplitude = 8000): void {
    let phase = 0;
    this.#stream(() => {
      const samples = new Int16Array(160);
      for (let i = 0; i < 160; i++) samples[i] = Math.round(amplitude * Math.sin(2 * Math.PI * frequencyHz * ((phase + i) / 8000)));
      phase += 160;
      return samples;
    });
  }

  /** Streams `samples` (8 kHz, a greeting) at 50 packets/s, then silence, until stopSending(). */
  play(samples: Int16Array): void {
    let offset = 0;
    this.#stream(() => {
      const frame = new Int16Array(160);
      frame.set(samples.subarray(offset, offset + 160));
      offset += 160;
      return frame;
    });
  }

  #stream(nextFrame: () => Int16Array): void {
    this.stopSending();
    const law = this.audioPt === 0 ? 'mulaw' : 'alaw';
    const started = Date.now();
    let packets = 0;
    const tick = () => {
      // Catch up on whatever the timer was late for, so the rate stays 50/s under load.
      const due = Math.floor((Date.now() - started) / 20) + 1;
      while (packets < due) {
        this.#send(this.audioPt, encodeG711(nextFrame(), law), packets === 0, 160);
        packets++;
      }
      this.#sender = setTimeout(tick, 20 - ((Date.now() - started) % 20));
    };
    tick();
  }

  stopSending(): void {
    clearTimeout(this.#sender);
    this.#sender = undefined;
  }

  /** Sends one RFC 4733 event: updates every 20 ms for `durationMs`, then the end packet three times. */
  async sendDigit(digit: string, durationMs = 100): Promise<void> {
    const pt = this.telephoneEventPt;
    if (pt === undefined) throw new Error('this endpoint offered no telephone-event');
    const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF digit: ${digit}`);
    const ts = this.#ts;
    const packet = (duration: number, end: boolean) => {
      const payload = Buffer.alloc(4);
      payload[0] = event;
      payload[1] = (end ? 0x80 : 0) | 10;
      payload.writeUInt16BE(duration, 2);
      return payload;
    };
    const steps = Math.max(1, Math.round(durationMs / 20));
    for (let i = 1; i <= steps; i++) {
      this.#send(pt, packet(i * 160, false), i === 1, 0, ts);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (let i = 0; i < 3; i++) this.#send(pt, packet(steps * 160, true), false, 0, ts);
    this.#ts += steps * 160;
  }

  /** Sends `digits` as in-band DTMF tones (dual sine in the audio, no RFC 4733), `toneMs` each, `gapMs` apart. */
  async sendInbandDigits(digits: string, toneMs = 200, gapMs = 200): Promise<void> {
    this.stopSending();
    const rows = [697, 770, 852, 941];
    const cols = [1209, 1336, 1477, 1633];
    const keypad = ['123A', '456B', '789C', '*0#D'];
    const law = this.audioPt === 0 ? 'mulaw' : 'alaw';
    let n = 0;
    for (const digit of digits) {
      const row = keypad.findIndex((r) => r.includes(digit));
      if (row < 0) throw new Error(`not a DTMF digit: ${digit}`);
      const [f1, f2] = [rows[row]!, cols[keypad[row]!.indexOf(digit)]!];
      for (const [ms, on] of [[toneMs, true], [gapMs, false]] as const) {
        for (let p = 0; p < ms / 20; p++, n++) {
          const samples = new Int16Array(160);
          for (let i = 0; i < 160 && on; i++) {
            const t = (n * 160 + i) / 8000;
            samples[i] = Math.round(7000 * (Math.sin(2 * Math.PI * f1 * t) + Math.sin(2 * Math.PI * f2 * t)));
          }
          this.#send(this.audioPt, encodeG711(samples, law), false, 160);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
  }

  /** Received packets of one payload type. */
  packets(pt: number): ReceivedPacket[] {
    return this.received.filter((p) => p.pt === pt);
  }

  /** RMS of the decoded G.711 audio of payload type `pt` (0 or 8) received so far. */
  rms(pt: 0 | 8, from = 0): number {
    const law = pt === 0 ? 'mulaw' : 'alaw';
    let sum = 0;
    let n = 0;
    for (const p of this.packets(pt).slice(from)) {
      for (const s of decodeG711(p.payload, law)) {
        sum += s * s;
        n++;
      }
    }
    return n === 0 ? 0 : Math.sqrt(sum / n);
  }

  /** The RFC 4733 events received, one per event (end packets and retransmissions folded), in order. */
  digits(pt = this.telephoneEventPt ?? 101): string {
    const seen = new Set<string>();
    let out = '';
    for (const p of this.packets(pt)) {
      const key = `${p.ssrc}:${p.ts}`;
      if (seen.has(key) || p.payload.length < 4) continue;
      seen.add(key);
      out += DTMF_EVENTS[p.payload[0]!] ?? '?';
    }
    return out;
  }

  clear(): void {
    this.received.length = 0;
  }

  close(): void {
    this.stopSending();
    this.socket.close();
  }

  #send(pt: number, payload: Buffer, marker: boolean, advance: number, ts = this.#ts): void {
    const remote = this.#remote;
    if (remote === undefined) throw new Error('useRemote(sdp) first');
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (marker ? 0x80 : 0) | pt;
    header.writeUInt16BE(this.#seq, 2);
    header.writeUInt32BE(ts >>> 0, 4);
    header.writeUInt32BE(this.#ssrc, 8);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + advance) >>> 0;
    this.#sent++;
    this.socket.send(Buffer.concat([header, payload]), remote.port, remote.host);
  }
}
