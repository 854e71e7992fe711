import { mkdirSync } from 'node:fs';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../lib';
import { decodeG711 } from '../codec/g711';
import { MediaError } from '../errors';
import { readPcapUdp, type CapturedDatagram } from './pcap';
import { encodeWav } from './wav';

export interface RecordingResult {
  readonly file: string;
  readonly durationMs: number;
  /** RTP packets placed in the left (recorded leg) and right (the other legs) channels. */
  readonly packets: { readonly left: number; readonly right: number };
  /** Packets whose codec onecc cannot decode (only G.711 is), left out of the WAV. */
  readonly undecodable: number;
}

const RATE = 8000;
/** A timestamp that strays this far from the capture clock is a new stream, not a continuation. */
const RESYNC_SAMPLES = RATE / 5;

/**
 * A call being recorded. rtpengine (pcap method: the only one that works without its kernel module) captures the
 * RTP each party sends; when the recording stops, the capture becomes a stereo WAV here and the capture is removed.
 * Each party's packets are placed by RTP timestamp, anchored to the capture clock, so silences and DTX gaps keep
 * their length. Prompts and music that rtpengine itself played are not in rtpengine's capture, so not in the WAV.
 */
export class CallRecording {
  #startedMs = 0;

  constructor(
    private readonly callId: string,
    private readonly name: string,
    private readonly recordingDir: string,
    private readonly rtpengineDir: string,
    private readonly logger: Logger,
  ) {}

  markStarted(): void {
    this.#startedMs = Date.now();
  }

  async finish(ports: { legPort: number; peerPorts: readonly number[] }): Promise<RecordingResult> {
    const capture = await this.#findCapture();
    let datagrams: CapturedDatagram[];
    try {
      datagrams = readPcapUdp(await readFile(capture.pcap));
    } catch (err) {
      throw new MediaError('RECORDING_FAILED', `call ${this.callId}: cannot read rtpengine's capture ${capture.pcap}: ${(err as Error).message}`, {}, { cause: err });
    }
    const left = datagrams.filter((d) => d.dstPort === ports.legPort);
    const right = datagrams.filter((d) => ports.peerPorts.includes(d.dstPort));
    const startMs = Math.min(...[...left, ...right].map((d) => d.timeMs), Date.now());
    const l = placeRtp(left, startMs);
    const r = placeRtp(right, startMs);
    const frames = Math.max(l.samples.length, r.samples.length);
    const file = path.resolve(this.recordingDir, `${this.name}.wav`);
    mkdirSync(path.dirname(file), { recursive: true });
    await writeFile(file, encodeWav([padTo(l.samples, frames), padTo(r.samples, frames)], RATE));
    await Promise.all([rm(capture.pcap, { force: true }), capture.metadata ? rm(capture.metadata, { force: true }) : undefined]);
    const undecodable = l.undecodable + r.undecodable;
    if (undecodable > 0) this.logger.warn({ callId: this.callId, undecodable }, 'recording: packets in a codec other than G.711 were left out');
    return { file, durationMs: Math.round((frames / RATE) * 1000), packets: { left: l.packets, right: r.packets }, undecodable };
  }

  /**
   * Keeps rtpengine's capture itself as `<recordingDir>/<name>.pcap` (every stream of the call, video included:
   * what rtpengine records in userspace), for calls whose media onecc does not turn into WAV.
   */
  async keepCapture(): Promise<{ file: string; bytes: number }> {
    const capture = await this.#findCapture();
    const file = path.resolve(this.recordingDir, `${this.name}.pcap`);
    mkdirSync(path.dirname(file), { recursive: true });
    await copyFile(capture.pcap, file);
    await Promise.all([rm(capture.pcap, { force: true }), capture.metadata ? rm(capture.metadata, { force: true }) : undefined]);
    return { file, bytes: (await stat(file)).size };
  }

  /** rtpengine names its capture `<call-id>-<random>.pcap`; a restarted recording makes a new one, so take the newest. */
  async #findCapture(): Promise<{ pcap: string; metadata: string | undefined }> {
    const pcaps = path.join(this.rtpengineDir, 'pcaps');
    const prefix = `${this.callId}-`;
    const names = (await readdir(pcaps).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && n.endsWith('.pcap'));
    const candidates = await Promise.all(names.map(async (n) => ({ n, mtime: (await stat(path.join(pcaps, n))).mtimeMs })));
    const newest = candidates.filter((c) => c.mtime >= this.#startedMs - 1000).sort((a, b) => b.mtime - a.mtime)[0];
    if (newest === undefined) {
      throw new MediaError('RECORDING_FAILED', `call ${this.callId}: rtpengine wrote no capture under ${pcaps} (is its --recording-dir this directory?)`);
    }
    const suffix = newest.n.slice(prefix.length, -'.pcap'.length);
    return { pcap: path.join(pcaps, newest.n), metadata: path.join(this.rtpengineDir, 'metadata', `rtpengine-meta-${this.callId}-${suffix}.txt`) };
  }
}

/** Decodes G.711 RTP onto one timeline starting at `startMs`; several senders mix by addition. */
function placeRtp(datagrams: readonly CapturedDatagram[], startMs: number): { samples: Int16Array; packets: number; undecodable: number } {
  let mixed = new Int32Array(RATE * 10);
  let length = 0;
  const anchors = new Map<number, { ts: number; at: number }>();
  let packets = 0;
  let undecodable = 0;
  for (const d of datagrams) {
    const rtp = d.payload;
    if (rtp.length < 12 || rtp[0]! >> 6 !== 2) continue;
    const pt = rtp[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) continue; // RTCP on a muxed port
    const law = pt === 0 ? 'mulaw' : pt === 8 ? 'alaw' : undefined;
    if (law === undefined) {
      if (pt < 96 || pt > 127) undecodable++; // dynamic types here are telephone-event and comfort noise
      continue;
    }
    const ssrc = rtp.readUInt32BE(8);
    const ts = rtp.readUInt32BE(4);
    const byClock = Math.max(0, Math.round(((d.timeMs - startMs) / 1000) * RATE));
    let anchor = anchors.get(ssrc);
    let at = anchor === undefined ? byClock : anchor.at + ((ts - anchor.ts) | 0);
    if (anchor === undefined || Math.abs(at - byClock) > RESYNC_SAMPLES || at < 0) {
      anchor = { ts, at: byClock };
      anchors.set(ssrc, anchor);
      at = byClock;
    }
    const cc = rtp[0]! & 0x0f;
    const samples = decodeG711(rtp.subarray(12 + cc * 4), law);
    if (at + samples.length > mixed.length) {
      const grown = new Int32Array(Math.max(mixed.length * 2, at + samples.length));
      grown.set(mixed);
      mixed = grown;
    }
    for (let i = 0; i < samples.length; i++) mixed[at + i] = mixed[at + i]! + samples[i]!;
    length = Math.max(length, at + samples.length);
    packets++;
  }
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.max(-32768, Math.min(32767, mixed[i]!));
  return { samples: out, packets, undecodable };
}

function padTo(samples: Int16Array, frames: number): Int16Array {
  if (samples.length === frames) return samples;
  const out = new Int16Array(frames);
  out.set(samples);
  return out;
}
