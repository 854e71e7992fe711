/**
 * RTP load generator for the media bench (forked by run.ts; see bench/README.md). It owns a share of the calls'
 * legs: one UDP socket per leg on 127.0.0.1 (rtpengine learns each leg's address from its packets, so legs must not
 * share one), connected to rtpengine's port for that leg. One timer sends every leg the G.711 packets it is due
 * (20 ms each, 50/s, headers patched in place in a per-leg buffer); receivers count the peer's packets by sequence
 * number and keep RFC 3550 interarrival jitter from arrival time against RTP timestamp.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { encodeG711 } from '../../src/media/codec/g711';
import type { CallReport, GeneratorCommand, GeneratorMessage, GeneratorSetup, LegReport } from './protocol';

const PACKET_MS = 20;
const SAMPLES_PER_PACKET = 160;
const HEADER = 12;
/** Most packets a leg sends at once to catch up after a late timer (60 ms of audio). */
const MAX_BURST = 3;

function send(message: GeneratorMessage): void {
  process.send!(message);
}

class Leg {
  readonly ssrc = (Math.random() * 0x100000000) >>> 0;
  readonly seq0 = Math.floor(Math.random() * 0x10000);
  readonly ts0 = (Math.random() * 0x100000000) >>> 0;
  readonly packet: Buffer;
  peer: Leg | undefined;
  sending = false;
  t0 = 0;
  /** Packets sent so far; the next one has this index. */
  sent = 0;
  /** Packets not sent because the generator fell more than MAX_BURST packets behind its schedule. */
  skipped = 0;
  winStart = 0;
  winEnd = -1;
  // Receiver side: which of the peer's packets arrived (by index), RFC 3550 jitter in timestamp units.
  seen = new Uint8Array(4096);
  received = 0;
  playerPackets = 0;
  jitter = 0;
  lastTransit = NaN;
  maxDelta = 0;
  jitterAtEnd = 0;
  maxDeltaAtEnd = 0;

  constructor(readonly socket: Socket, payload: Buffer, pt: number) {
    this.packet = Buffer.alloc(HEADER + payload.length);
    this.packet[0] = 0x80;
    this.packet[1] = pt;
    this.packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(this.packet, HEADER);
  }

  sendDue(now: number): number {
    let due = Math.floor((now - this.t0) / PACKET_MS) + 1;
    if (due - this.sent > MAX_BURST) {
      // The generator was stalled (machine overloaded): a phone does not send the audio it missed in one burst, so
      // the schedule moves on and the gap is counted as the generator's, not as loss.
      const skip = due - this.sent - MAX_BURST;
      this.t0 += skip * PACKET_MS;
      this.skipped += skip;
      due -= skip;
    }
    let n = 0;
    const p = this.packet;
    while (this.sent < due) {
      const i = this.sent;
      p[1] = (i === 0 ? 0x80 : 0) | (p[1]! & 0x7f);
      p.writeUInt16BE((this.seq0 + i) & 0xffff, 2);
      p.writeUInt32BE((this.ts0 + i * SAMPLES_PER_PACKET) >>> 0, 4);
      this.socket.send(p);
      this.sent++;
      n++;
    }
    return n;
  }

  onPacket(msg: Buffer, now: number, windowOpen: boolean): void {
    const peer = this.peer;
    if (peer === undefined || msg.length < HEADER) return;
    // rtpengine rewrites the SSRC (one of its own per outgoing stream) but relays sequence numbers and timestamps
    // unchanged, so a packet of the peer's stream is one whose timestamp matches its sequence number; anything
    // else is rtpengine's media player (prompts, music on hold).
    // The peer's packet index: the one at or below what it has sent whose low 16 bits are this sequence number.
    const hi = peer.sent - 1;
    const index = hi - ((hi - ((msg.readUInt16BE(2) - peer.seq0) & 0xffff)) & 0xffff);
    const ts = msg.readUInt32BE(4);
    const rtpUnits = (ts - peer.ts0) >>> 0;
    if (index < 0 || rtpUnits !== ((index * SAMPLES_PER_PACKET) >>> 0)) {
      this.playerPackets++;
      return;
    }
    if (index >= this.seen.length) {
      const grown = new Uint8Array(Math.max(this.seen.length * 2, index + 1));
      grown.set(this.seen);
      this.seen = grown;
    }
    if (this.seen[index] === 0) {
      this.seen[index] = 1;
      this.received++;
    }
    // RFC 3550 §6.4.1 / A.8: transit = arrival − RTP timestamp (both in 8 kHz units), J += (|D| − J) / 16.
    const transit = now * 8 - rtpUnits;
    if (!Number.isNaN(this.lastTransit)) {
      const d = Math.abs(transit - this.lastTransit);
      this.jitter += (d - this.jitter) / 16;
      if (windowOpen && d > this.maxDelta) this.maxDelta = d;
    }
    this.lastTransit = transit;
  }

  /** What this leg heard of its peer inside the peer's window. */
  windowReport(): LegReport {
    const peer = this.peer!;
    const end = peer.winEnd < 0 ? peer.sent : peer.winEnd;
    let received = 0;
    for (let i = peer.winStart; i < end && i < this.seen.length; i++) received += this.seen[i]!;
    return { expected: Math.max(0, end - peer.winStart), received, jitterMs: this.jitterAtEnd / 8, maxTransitDeltaMs: this.maxDeltaAtEnd / 8 };
  }
}

let setup: GeneratorSetup | undefined;
const legs: Leg[] = [];
const calls: { call: number; a: Leg; b: Leg; excluded: boolean }[] = [];
const active: Leg[] = [];
let windowOpen = false;
let tickTimer: NodeJS.Timeout | undefined;
let nextTick = 0;
const tickLags: number[] = [];
let catchUpTicks = 0;
let sendErrors = 0;

function tick(): void {
  const now = performance.now();
  if (windowOpen) tickLags.push(now - nextTick);
  let catchUp = false;
  for (let i = 0; i < active.length; i++) {
    if (active[i]!.sendDue(now) > 1) catchUp = true;
  }
  if (catchUp && windowOpen) catchUpTicks++;
  const period = setup!.tickMs;
  nextTick += period;
  if (nextTick < now) nextTick = now + period - ((now - nextTick) % period);
  tickTimer = setTimeout(tick, Math.max(0, nextTick - performance.now()));
}

async function open(s: GeneratorSetup): Promise<void> {
  setup = s;
  const law = s.pt === 0 ? 'mulaw' : 'alaw';
  // 400 Hz fits 160 samples exactly (8 periods): one payload serves every packet.
  const samples = new Int16Array(SAMPLES_PER_PACKET);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * 400 * i) / 8000));
  const payload = encodeG711(samples, law);
  const ports: number[] = [];
  let recvBufferBytes = 0;
  let sendBufferBytes = 0;
  for (let i = 0; i < s.legs; i++) {
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    if (s.recvBufferBytes > 0) socket.setRecvBufferSize(s.recvBufferBytes);
    if (s.sendBufferBytes > 0) socket.setSendBufferSize(s.sendBufferBytes);
    recvBufferBytes = socket.getRecvBufferSize();
    sendBufferBytes = socket.getSendBufferSize();
    const leg = new Leg(socket, payload, s.pt);
    socket.on('message', (msg) => leg.onPacket(msg, performance.now(), windowOpen));
    socket.on('error', () => sendErrors++);
    legs.push(leg);
    ports.push(socket.address().port);
  }
  nextTick = performance.now() + s.tickMs;
  tickTimer = setTimeout(tick, s.tickMs);
  send({ type: 'ready', ports, recvBufferBytes, sendBufferBytes });
}

function connect(leg: Leg, port: number): Promise<void> {
  return new Promise((resolve, reject) => leg.socket.connect(port, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve())));
}

async function start(cmd: Extract<GeneratorCommand, { type: 'start' }>): Promise<void> {
  const a = legs[cmd.a]!;
  const b = legs[cmd.b]!;
  a.peer = b;
  b.peer = a;
  await Promise.all([connect(a, cmd.aRemotePort), connect(b, cmd.bRemotePort)]);
  const now = performance.now();
  for (const leg of [a, b]) {
    leg.t0 = now;
    leg.sending = true;
    active.push(leg);
  }
  calls.push({ call: cmd.call, a, b, excluded: cmd.excluded });
  send({ type: 'started', call: cmd.call });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function report(): void {
  const reports: CallReport[] = calls.map(({ call, a, b, excluded }) => ({
    call,
    excluded,
    aToB: b.windowReport(),
    bToA: a.windowReport(),
    sentA: a.sent,
    sentB: b.sent,
    lifeReceivedA: a.received,
    lifeReceivedB: b.received,
    playerPacketsA: a.playerPackets,
    playerPacketsB: b.playerPackets,
  }));
  const lags = [...tickLags].sort((x, y) => x - y);
  send({
    type: 'report',
    calls: reports,
    tickLagP50Ms: percentile(lags, 50),
    tickLagP99Ms: percentile(lags, 99),
    tickLagMaxMs: lags.at(-1) ?? 0,
    catchUpTicks,
    skippedPackets: legs.reduce((sum, leg) => sum + leg.skipped, 0),
    sendErrors,
  });
}

process.on('message', (cmd: GeneratorCommand) => {
  switch (cmd.type) {
    case 'setup':
      void open(cmd);
      break;
    case 'start':
      start(cmd).catch((err) => {
        console.error(`generator: call ${cmd.call}: ${(err as Error).message}`);
        process.exit(1);
      });
      break;
    case 'mark':
      for (const leg of active) {
        if (cmd.which === 'start') {
          leg.winStart = leg.sent;
          leg.maxDelta = 0;
        } else {
          leg.winEnd = leg.sent;
        }
      }
      if (cmd.which === 'end') {
        // Jitter and the largest |D| are the receivers' state at the end of the window.
        for (const leg of active) {
          leg.jitterAtEnd = leg.jitter;
          leg.maxDeltaAtEnd = leg.maxDelta;
        }
      }
      windowOpen = cmd.which === 'start';
      send({ type: 'marked', which: cmd.which });
      break;
    case 'stop':
      clearTimeout(tickTimer);
      active.length = 0;
      send({ type: 'stopped' });
      break;
    case 'report':
      report();
      break;
  }
});

process.on('disconnect', () => process.exit(0));
