import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../lib/index';
import { decodeG711, encodeG711 } from '../codec/g711';
import { g711Payload } from '../codec/rtp';

/** 20 ms of 8 kHz audio: what the mixer sends each participant per tick. */
const FRAME_SAMPLES = 160;
const FRAME_MS = 20;
/** Audio buffered per participant beyond this (jitter, a burst) is dropped oldest first: latency stays bounded. */
const MAX_BUFFERED_SAMPLES = FRAME_SAMPLES * 6;
const PCMU = 0;

interface Participant {
  readonly id: string;
  readonly socket: Socket;
  readonly port: number;
  remote: { address: string; port: number } | undefined;
  /** Decoded samples received and not yet mixed. */
  buffered: Int16Array;
  /** This tick's frame (silence when nothing arrived). */
  frame: Int16Array;
  /** Whose audio this participant hears: every other participant, or only these. */
  hears: 'everyone' | ReadonlySet<string>;
  seq: number;
  timestamp: number;
  readonly ssrc: number;
  received: number;
  sent: number;
}

/**
 * A conference bridge in onecc itself: rtpengine 10.5 (Debian) relays and transcodes but cannot mix, so each
 * participant's rtpengine leg is answered by one UDP port here (PCMU; rtpengine transcodes), and every 20 ms each
 * participant is sent the sum of what the others said (or of those it is allowed to hear: a whisper). Meant for
 * a handful of people per call, on the host rtpengine reaches onecc at.
 */
export class AudioMixer {
  readonly #participants = new Map<string, Participant>();
  #timer: NodeJS.Timeout | undefined;
  #nextTickAt = 0;
  #closed = false;

  constructor(
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  get participants(): readonly string[] {
    return [...this.#participants.keys()];
  }

  /** A new participant's port; returns the SDP that answers (or offers) rtpengine's leg for it. */
  async add(id: string): Promise<string> {
    if (this.#closed) throw new Error('the conference is over');
    if (this.#participants.has(id)) throw new Error(`${id} is already in the conference`);
    const socket = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const participant: Participant = {
      id,
      socket,
      port: socket.address().port,
      remote: undefined,
      buffered: new Int16Array(0),
      frame: new Int16Array(FRAME_SAMPLES),
      hears: 'everyone',
      seq: randomBytes(2).readUInt16BE(0),
      timestamp: randomBytes(4).readUInt32BE(0),
      ssrc: randomBytes(4).readUInt32BE(0),
      received: 0,
      sent: 0,
    };
    socket.on('message', (packet, from) => this.#receive(participant, packet, from));
    socket.on('error', (err) => this.log.warn({ err, participant: id }, 'conference socket error'));
    this.#participants.set(id, participant);
    this.#start();
    return this.#sdp(participant);
  }

  /** Where to send `id`'s audio: rtpengine's side of its leg (the SDP it gave for this participant). */
  connect(id: string, rtpengineSdp: string): void {
    const participant = this.#participant(id);
    const address = /^c=IN IP[46] (\S+)/m.exec(rtpengineSdp)?.[1];
    const port = Number(/^m=audio (\d+)/m.exec(rtpengineSdp)?.[1]);
    if (address === undefined || !Number.isInteger(port) || port <= 0) throw new Error(`no audio address in the SDP for ${id}`);
    participant.remote = { address, port };
  }

  /** Who `id` hears: everyone else (the default), or only `sources` (a supervisor whispering is heard by the agent only). */
  setHears(id: string, sources: 'everyone' | readonly string[]): void {
    this.#participant(id).hears = sources === 'everyone' ? 'everyone' : new Set(sources);
  }

  remove(id: string): void {
    const participant = this.#participants.get(id);
    if (participant === undefined) return;
    this.#participants.delete(id);
    participant.socket.close();
    for (const other of this.#participants.values()) if (other.hears !== 'everyone' && other.hears.has(id)) other.hears = new Set([...other.hears].filter((s) => s !== id));
  }

  /** Packets received from and sent to each participant (for tests and logs). */
  counters(): Record<string, { received: number; sent: number }> {
    return Object.fromEntries([...this.#participants.values()].map((p) => [p.id, { received: p.received, sent: p.sent }]));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const id of [...this.#participants.keys()]) this.remove(id);
  }

  #participant(id: string): Participant {
    const participant = this.#participants.get(id);
    if (participant === undefined) throw new Error(`${id} is not in the conference`);
    return participant;
  }

  #receive(participant: Participant, packet: Buffer, from: { address: string; port: number }): void {
    const payload = g711Payload(packet);
    if (payload === undefined) return; // telephone-event, comfort noise: nothing to mix
    // rtpengine sends from the port it receives on: answer there even before its SDP said so.
    participant.remote ??= { address: from.address, port: from.port };
    participant.received++;
    const samples = decodeG711(payload.data, payload.type === 0 ? 'mulaw' : 'alaw');
    const merged = new Int16Array(Math.min(participant.buffered.length + samples.length, MAX_BUFFERED_SAMPLES));
    const keep = merged.length - samples.length;
    if (keep > 0) merged.set(participant.buffered.subarray(participant.buffered.length - keep), 0);
    merged.set(samples.subarray(Math.max(0, samples.length - merged.length)), Math.max(0, keep));
    participant.buffered = merged;
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#nextTickAt = performance.now();
    const tick = () => {
      // Catch up after a late timer (at most a few frames), so that everyone gets 50 packets a second.
      for (let due = 0; performance.now() >= this.#nextTickAt && due < 5; due++) {
        this.#mixOnce();
        this.#nextTickAt += FRAME_MS;
      }
      if (performance.now() > this.#nextTickAt) this.#nextTickAt = performance.now();
      if (!this.#closed) this.#timer = setTimeout(tick, Math.max(1, this.#nextTickAt - performance.now()));
    };
    tick();
  }

  #mixOnce(): void {
    const participants = [...this.#participants.values()];
    for (const p of participants) {
      const take = Math.min(FRAME_SAMPLES, p.buffered.length);
      p.frame.fill(0);
      p.frame.set(p.buffered.subarray(0, take));
      p.buffered = p.buffered.subarray(take);
    }
    const out = new Int32Array(FRAME_SAMPLES);
    for (const p of participants) {
      if (p.remote === undefined) continue;
      out.fill(0);
      for (const source of participants) {
        if (source === p || (p.hears !== 'everyone' && !p.hears.has(source.id))) continue;
        for (let i = 0; i < FRAME_SAMPLES; i++) out[i]! += source.frame[i]!;
      }
      const payload = encodeG711(out.map((s) => Math.max(-32768, Math.min(32767, s))), 'mulaw');
      const header = Buffer.alloc(12);
      header[0] = 0x80;
      header[1] = PCMU;
      header.writeUInt16BE(p.seq, 2);
      header.writeUInt32BE(p.timestamp >>> 0, 4);
      header.writeUInt32BE(p.ssrc, 8);
      p.seq = (p.seq + 1) & 0xffff;
      p.timestamp = (p.timestamp + FRAME_SAMPLES) >>> 0;
      p.socket.send(Buffer.concat([header, payload]), p.remote.port, p.remote.address);
      p.sent++;
    }
  }

  #sdp(p: Participant): string {
    const family = this.host.includes(':') ? 'IP6' : 'IP4';
    return [
      'v=0',
      `o=onecc-mixer ${p.ssrc} 1 IN ${family} ${this.host}`,
      's=onecc conference',
      `c=IN ${family} ${this.host}`,
      't=0 0',
      `m=audio ${p.port} RTP/AVP ${PCMU}`,
      `a=rtpmap:${PCMU} PCMU/8000`,
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }
}
