// A WebRTC softphone in a real headless Chromium (Debian `chromium`, driven by playwright-core): one page per call,
// each with one RTCPeerConnection that sends Chrome's fake microphone and measures what it hears with WebAudio.
// Everything stays on loopback only when run inside browser-netns.ts's namespace (see there and rtpengine-notes.md,
// "Keeping browser tests on loopback").
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { within } from './wait';

const CHROMIUM = '/usr/bin/chromium';
/** Chromium start, ICE + DTLS, and any single page call are bounded by this. */
const LIMIT_MS = 15_000;

const FLAGS = [
  // Without it Chrome leaves loopback interfaces out of ICE, and loopback is all the test namespace has.
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the page reports from getStats(). */
export interface PhoneStats {
  readonly connectionState: string;
  readonly dtlsState?: string;
  readonly dtlsRole?: string;
  readonly srtpCipher?: string;
  /** Addresses of the selected ICE candidate pair. */
  readonly localAddress?: string;
  readonly remoteAddress?: string;
  readonly packetsSent: number;
  /** One entry per SSRC received (a prompt rtpengine plays arrives on an SSRC of its own). */
  readonly inbound: readonly { ssrc: number; packetsReceived: number; packetsLost: number; codec?: string }[];
  readonly sentCodec?: string;
}

/**
 * What WebAudio heard since the last call (getStats' audioLevel stays 0 in headless Chrome): the analyser is sampled
 * every 50 ms; `loud` windows are those with RMS > 0.02 (full scale 1), `dominantHz` the most frequent spectral peak
 * among them.
 */
export interface Heard {
  readonly windows: number;
  readonly loud: number;
  readonly meanLoudRms: number;
  readonly dominantHz: number;
}

// Plain browser JavaScript (the test's tsconfig has no DOM types). Page state is one call's peer connection.
const PAGE_SCRIPT = String.raw`
const audio = new AudioContext();
let pc, sender, analyser, acc = { windows: 0, loud: 0, rmsSum: 0, peaks: new Map() };
const limit = (promise, ms, what) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(what())), ms))]);

async function open() {
  pc = new RTCPeerConnection({ iceServers: [] });
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  sender = pc.addTrack(mic.getAudioTracks()[0], mic);
  pc.ontrack = (e) => hear(e.track);
}

function hear(track) {
  const stream = new MediaStream([track]);
  // Chrome feeds a remote WebRTC track into WebAudio only while a media element plays it.
  const element = new Audio();
  element.muted = true;
  element.srcObject = stream;
  element.play().catch(() => {});
  analyser = audio.createAnalyser();
  analyser.fftSize = 2048;
  audio.createMediaStreamSource(stream).connect(analyser);
  audio.resume();
  const wave = new Float32Array(analyser.fftSize);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  setInterval(() => {
    analyser.getFloatTimeDomainData(wave);
    const rms = Math.sqrt(wave.reduce((s, x) => s + x * x, 0) / wave.length);
    acc.windows++;
    if (rms <= 0.02) return;
    analyser.getFloatFrequencyData(spectrum);
    let peak = 1;
    for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[peak]) peak = i;
    const hz = Math.round((peak * audio.sampleRate) / analyser.fftSize);
    acc.loud++;
    acc.rmsSum += rms;
    acc.peaks.set(hz, (acc.peaks.get(hz) || 0) + 1);
  }, 50);
}

async function gathered() {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
  }
  return pc.localDescription.sdp;
}

window.phone = {
  async offer() {
    await open();
    await pc.setLocalDescription(await pc.createOffer());
    return gathered();
  },
  async answer(sdp) {
    await open();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    return gathered();
  },
  async accept(sdp) {
    await pc.setRemoteDescription({ type: 'answer', sdp });
  },
  // 'connected' needs both ICE and the DTLS handshake.
  connected(ms) {
    return limit(new Promise((resolve, reject) => {
      const check = () => {
        if (pc.connectionState === 'connected') resolve();
        if (pc.connectionState === 'failed') reject(new Error('peer connection failed (ice ' + pc.iceConnectionState + ')'));
      };
      pc.addEventListener('connectionstatechange', check);
      check();
    }), ms, () => 'not connected within ' + ms + ' ms: connection ' + pc.connectionState + ', ice ' + pc.iceConnectionState);
  },
  async stats() {
    const report = await pc.getStats();
    const byId = new Map([...report.values()].map((s) => [s.id, s]));
    const out = { connectionState: pc.connectionState, packetsSent: 0, inbound: [] };
    for (const s of report.values()) {
      if (s.type === 'transport') {
        Object.assign(out, { dtlsState: s.dtlsState, dtlsRole: s.dtlsRole, srtpCipher: s.srtpCipher });
        const pair = byId.get(s.selectedCandidatePairId);
        out.localAddress = pair && byId.get(pair.localCandidateId).address;
        out.remoteAddress = pair && byId.get(pair.remoteCandidateId).address;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') {
        out.packetsSent += s.packetsSent;
        out.sentCodec = byId.get(s.codecId)?.mimeType;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.inbound.push({ ssrc: s.ssrc, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, codec: byId.get(s.codecId)?.mimeType });
      }
    }
    return out;
  },
  heard() {
    const top = [...acc.peaks.entries()].sort((a, b) => b[1] - a[1])[0];
    const result = { windows: acc.windows, loud: acc.loud, meanLoudRms: acc.loud ? acc.rmsSum / acc.loud : 0, dominantHz: top ? top[0] : 0 };
    acc = { windows: 0, loud: 0, rmsSum: 0, peaks: new Map() };
    return result;
  },
  // RFC 4733 events; resolves when the last tone has been sent.
  dtmf(digits, ms) {
    return limit(new Promise((resolve) => {
      sender.dtmf.addEventListener('tonechange', (e) => e.tone === '' && resolve());
      sender.dtmf.insertDTMF(digits, 100, 70);
    }), ms, () => 'insertDTMF did not finish within ' + ms + ' ms');
  },
};
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>onecc test softphone</title><script>${PAGE_SCRIPT}</script>`;

/** One softphone call: a page with its peer connection. */
export class BrowserPhone {
  constructor(private readonly page: Page) {}

  /** Starts a call: the browser's offer, with its ICE candidates gathered. */
  offer(): Promise<string> {
    return this.#call('offer');
  }

  /** Answers `sdp`; returns the browser's answer with its candidates. */
  answer(sdp: string): Promise<string> {
    return this.#call('answer', sdp);
  }

  /** Applies the answer to the browser's offer. */
  accept(sdp: string): Promise<void> {
    return this.#call('accept', sdp);
  }

  /** Waits until ICE and DTLS are up; fails with the browser's states after LIMIT_MS. */
  connected(): Promise<void> {
    return this.#call('connected', LIMIT_MS);
  }

  stats(): Promise<PhoneStats> {
    return this.#call('stats');
  }

  /** What the browser heard since the previous call to heard(). */
  heard(): Promise<Heard> {
    return this.#call('heard');
  }

  /** Sends `digits` as RFC 4733 events (RTCDTMFSender: 100 ms tones, 70 ms gaps). */
  dtmf(digits: string): Promise<void> {
    return this.#call('dtmf', digits, LIMIT_MS);
  }

  close(): Promise<void> {
    return this.page.close();
  }

  #call<T>(method: string, ...args: unknown[]): Promise<T> {
    const expression = `phone.${method}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
    return within(this.page.evaluate(expression) as Promise<T>, LIMIT_MS + 1000, `browser phone.${method}()`);
  }
}

/** A headless Chromium with an empty profile and fake media devices (microphone, camera, permission prompts). */
export class Chromium {
  private constructor(
    readonly context: BrowserContext,
    private readonly profile: string,
  ) {}

  static async launch(): Promise<Chromium> {
    const profile = mkdtempSync(path.join(tmpdir(), 'onecc-chromium-'));
    try {
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: LIMIT_MS });
      return new Chromium(context, profile);
    } catch (err) {
      rmSync(profile, { recursive: true, force: true });
      throw new Error(`could not start ${CHROMIUM} (Debian package chromium; time limit ${LIMIT_MS} ms): ${(err as Error).message}`);
    }
  }

  /** A new page at `url`, loaded within LIMIT_MS. */
  async open(url: string): Promise<Page> {
    const page = await this.context.newPage();
    await page.goto(url, { timeout: LIMIT_MS });
    return page;
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** One headless Chromium serving the test softphone page from 127.0.0.1. */
export class HeadlessChromium {
  private constructor(
    private readonly browser: Chromium,
    private readonly server: Server,
    private readonly url: string,
  ) {}

  static async launch(): Promise<HeadlessChromium> {
    // A page from http://127.0.0.1 is a secure context (about:blank is not: no getUserMedia there).
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      return new HeadlessChromium(await Chromium.launch(), server, `http://127.0.0.1:${port}/`);
    } catch (err) {
      server.close();
      throw err;
    }
  }

  async phone(): Promise<BrowserPhone> {
    return new BrowserPhone(await this.browser.open(this.url));
  }

  async close(): Promise<void> {
    await this.browser.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * An init script for a page under test: keeps every RTCPeerConnection the page makes in `window.testPcs`, so that
 * the test can read their getStats() (pages keep them inside JsSIP).
 */
export const WRAP_PEER_CONNECTIONS = `{
  const Native = RTCPeerConnection;
  window.testPcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config) {
      super(config);
      window.testPcs.push(this);
    }
  };
}`;

