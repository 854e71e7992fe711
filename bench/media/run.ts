/**
 * N concurrent bridged G.711 calls through rtpengine via onecc's media API (see bench/README.md).
 *
 *   npm run build && node dist/bench/media/run.js [--calls 100,250,500] [--duration 20] [--ramp 50]
 *
 * This process is onecc's control plane: a MediaService with an embedded rtpengine on loopback, and per call the
 * B2BUA's offer (caller leg) and answer (callee leg). The RTP load (50 packets/s each way per call, 20 ms G.711)
 * comes from forked generator processes (generator.ts), so that onecc's CPU here is the media API's own. After the
 * ramp and a settling pause it measures a window: loss and jitter at the receiving endpoints, CPU and memory of
 * rtpengine, onecc and the generators, NG round-trip times per operation. Then it deletes every call and checks
 * that rtpengine lists none.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger, freeUdpPort, silentLogger } from '../../src/lib';
import { MediaService, type MediaCall, type MediaServiceOptions, type NgCommand } from '../../src/media';
import { encodeWav } from '../../src/media/recording/wav';
import { cpuMs, machineCpuMs } from '../sip-cps/proc-stats';
import type { CallReport, GeneratorCommand, GeneratorMessage } from './protocol';

// ---- options ---------------------------------------------------------------------------------------------------

const USAGE = `usage: node dist/bench/media/run.js [options]
  --calls N[,N...]        concurrent bridged calls; several values run one after the other, each with a fresh
                          rtpengine, to show the curve (default 500)
  --duration S            measured window, seconds (default 20)
  --ramp R                calls set up per second (default 50); teardown runs at the same rate
  --settle S              pause between the end of the ramp and the window (default 2)
  --workers N             RTP generator processes (default 2)
  --tick-ms N             generator send-timer period (default 10; each tick sends every leg what it is due)
  --codec PCMU|PCMA       audio codec of both legs (default PCMU)
  --play-share F          share of calls that cycle prompts and hold/music on hold during the run (default 0.1);
                          they are left out of the loss and jitter figures (rtpengine adds or blocks media on them)
  --query-rate N          query (call stats) commands per second on random calls during the window (default 10)
  --recv-buffer BYTES     SO_RCVBUF asked for each generator socket (default 262144; capped at net.core.rmem_max)
  --port-min N            first port of rtpengine's range (default 12000; the range is 8 ports per call, >= 1000)
  --control MODE          how calls are set up: api (default: onecc's MediaCall offer/answer, as the voice layer
                          will) or, for comparison, NG commands sent straight to rtpengine: plain (offer/answer
                          with only RTP/AVP and ICE remove), plain+transcode (plus MediaCall's codec transcode
                          PCMU,PCMA), plain+inject-dtmf (plus MediaCall's inject-DTMF flag); plain modes play no prompts
  --rtpengine-log-level N rtpengine --log-level (default 5, as config/default.yaml)
  --log-level LEVEL       onecc's log level on stderr (default silent)
  --json                  also print one JSON line per run and one for the whole set
`;

interface Options {
  calls: number[];
  duration: number;
  ramp: number;
  settle: number;
  workers: number;
  tickMs: number;
  codec: 'PCMU' | 'PCMA';
  playShare: number;
  queryRate: number;
  recvBuffer: number;
  portMin: number;
  control: 'api' | 'plain' | 'plain+transcode' | 'plain+inject-dtmf';
  rtpengineLogLevel: number;
  logLevel: string;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    calls: [500], duration: 20, ramp: 50, settle: 2, workers: 2, tickMs: 10, codec: 'PCMU', playShare: 0.1,
    queryRate: 10, recvBuffer: 262144, portMin: 12000, control: 'api', rtpengineLogLevel: 5, logLevel: 'silent', json: false,
  };
  const num = (name: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`--${name} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--calls': o.calls = (v ?? '').split(',').map((s) => Math.floor(num('calls', s, 1))); i++; break;
      case '--duration': o.duration = num('duration', v, 1); i++; break;
      case '--ramp': o.ramp = num('ramp', v, 1); i++; break;
      case '--settle': o.settle = num('settle', v); i++; break;
      case '--workers': o.workers = Math.floor(num('workers', v, 1)); i++; break;
      case '--tick-ms': o.tickMs = num('tick-ms', v, 1); i++; break;
      case '--codec':
        if (v !== 'PCMU' && v !== 'PCMA') throw new Error('--codec is PCMU or PCMA');
        o.codec = v; i++; break;
      case '--play-share': o.playShare = num('play-share', v); i++; break;
      case '--query-rate': o.queryRate = num('query-rate', v); i++; break;
      case '--recv-buffer': o.recvBuffer = Math.floor(num('recv-buffer', v)); i++; break;
      case '--port-min': o.portMin = Math.floor(num('port-min', v, 1024)); i++; break;
      case '--control':
        if (v !== 'api' && v !== 'plain' && v !== 'plain+transcode' && v !== 'plain+inject-dtmf') throw new Error('--control is api, plain, plain+transcode or plain+inject-dtmf');
        o.control = v; i++; break;
      case '--rtpengine-log-level': o.rtpengineLogLevel = Math.floor(num('rtpengine-log-level', v)); i++; break;
      case '--log-level': o.logLevel = v ?? 'silent'; i++; break;
      case '--json': o.json = true; break;
      case '--help': case '-h': process.stdout.write(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.playShare > 1) throw new Error('--play-share is a fraction between 0 and 1');
  if (o.control !== 'api') o.playShare = 0;
  return o;
}

// ---- helpers ---------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function sdpFor(port: number, codec: 'PCMU' | 'PCMA'): string {
  const pt = codec === 'PCMU' ? 0 : 8;
  return [
    'v=0', `o=bench ${port} 1 IN IP4 127.0.0.1`, 's=bench', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP ${pt} 101`, `a=rtpmap:${pt} ${codec}/8000`, 'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', '',
  ].join('\r\n');
}

function audioPort(sdp: string): number {
  const port = /^m=audio (\d+)/m.exec(sdp)?.[1];
  if (port === undefined) throw new Error(`no m=audio in rtpengine's SDP:\n${sdp}`);
  return Number(port);
}

function toneWav(file: string, ms: number, hz: number): string {
  const samples = new Int16Array((8000 * ms) / 1000);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  writeFileSync(file, encodeWav([samples], 8000));
  return file;
}

function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Drops (receive buffer full) summed over the UDP sockets on these 127.0.0.1 ports, from /proc/net/udp. */
function udpDrops(ports: (port: number) => boolean): number {
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'latin1').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (local === undefined || !local.startsWith('0100007F:')) continue;
    if (ports(parseInt(local.slice(9), 16))) drops += Number(fields[12] ?? 0);
  }
  return drops;
}

/** One forked generator process and its request/answer plumbing. */
class Generator {
  readonly child: ChildProcess;
  ports: number[] = [];
  recvBufferBytes = 0;
  sendBufferBytes = 0;
  readonly #waiters = new Map<string, ((m: GeneratorMessage) => void)[]>();
  readonly #started = new Map<number, () => void>();

  constructor(script: string) {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: GeneratorMessage) => {
      if (m.type === 'started') {
        this.#started.get(m.call)?.();
        this.#started.delete(m.call);
        return;
      }
      const list = this.#waiters.get(m.type);
      const waiter = list?.shift();
      waiter?.(m);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  request<T extends GeneratorMessage['type']>(cmd: GeneratorCommand, answer: T): Promise<Extract<GeneratorMessage, { type: T }>> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(answer) ?? [];
      list.push(resolve as (m: GeneratorMessage) => void);
      this.#waiters.set(answer, list);
      this.child.send(cmd);
    });
  }

  start(cmd: Extract<GeneratorCommand, { type: 'start' }>): Promise<void> {
    return new Promise((resolve) => {
      this.#started.set(cmd.call, resolve);
      this.child.send(cmd);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}

// ---- one run -----------------------------------------------------------------------------------------------------

interface NgStats {
  op: string;
  count: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  max: number;
}

interface RunResult {
  calls: number;
  up: number;
  failedSetups: number;
  setupErrors: string[];
  rampSeconds: number;
  windowSeconds: number;
  bridged: number;
  loss: { aToB: { expected: number; lost: number }; bToA: { expected: number; lost: number }; total: { expected: number; lost: number } };
  lifeLoss: { sent: number; lost: number };
  jitterMs: { aToB: { p50: number; p99: number; max: number }; bToA: { p50: number; p99: number; max: number } };
  maxTransitDeltaMs: number;
  worstLegLossPercent: number;
  playCalls: number;
  playerPackets: number;
  playOps: number;
  playErrors: string[];
  cpu: { rtpengine: number; onecc: number; generators: number[]; other: number; machine: number; cores: number };
  rssMb: { rtpengine: number; rtpenginePeak: number; onecc: number; onecceHeap: number; generators: number[] };
  udpDrops: { rtpengine: number; generators: number };
  tickLag: { p50: number; p99: number; max: number; catchUpTicks: number; skippedPackets: number };
  sendErrors: number;
  loopDelayMs: { p99: number; max: number };
  rtpenginePacketRate: number;
  ng: NgStats[];
  sessionsAfter: number;
  worstLegs: string[];
  deleted: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  rcvbuf: number;
  sndbuf: number;
}

async function runOnce(o: Options, calls: number, run: number, scratch: string): Promise<RunResult> {
  const rtts = new Map<string, { ok: number[]; errors: number; timeouts: number }>();
  const observe = (command: NgCommand, seconds: number, outcome: 'ok' | 'error' | 'timeout') => {
    let e = rtts.get(command);
    if (e === undefined) rtts.set(command, (e = { ok: [], errors: 0, timeouts: 0 }));
    if (outcome === 'ok') e.ok.push(seconds * 1000);
    else if (outcome === 'error') e.errors++;
    else e.timeouts++;
  };
  const portSpan = Math.max(1000, calls * 8);
  const options: MediaServiceOptions = {
    engine: 'embedded',
    selection: 'least-loaded',
    commandTimeoutMs: 2000,
    rtpengines: [{ host: '127.0.0.1', ngPort: await freeUdpPort(), interface: '127.0.0.1', portMin: o.portMin, portMax: o.portMin + portSpan - 1 }],
    dtmf: { host: '127.0.0.1', port: 0 },
    embedded: { binary: '/usr/bin/rtpengine', rtpTimeoutSeconds: 60, logLevel: o.rtpengineLogLevel, restartDelayMs: 1000 },
    recordingDir: path.join(scratch, `recordings-${run}`),
    healthIntervalMs: 2000,
    observeCommand: observe,
  };
  const logger = o.logLevel === 'silent' ? silentLogger() : createLogger(o.logLevel as 'warn');
  const media = await MediaService.start(options, logger);
  const engine = media.pool.engines[0]!;
  const rtpenginePid = engine.process!.pid!;
  const isRtpenginePort = (p: number) => p >= o.portMin && p < o.portMin + portSpan;
  const prompt = toneWav(path.join(scratch, 'prompt.wav'), 2000, 600);
  const moh = toneWav(path.join(scratch, 'moh.wav'), 3000, 300);

  const workers = Math.min(o.workers, calls);
  const perWorker = Math.ceil(calls / workers);
  const script = path.join(__dirname, 'generator.js');
  const generators = Array.from({ length: workers }, () => new Generator(script));
  await Promise.all(generators.map(async (g) => {
    const ready = await g.request({ type: 'setup', legs: 2 * perWorker, recvBufferBytes: o.recvBuffer, sendBufferBytes: 0, tickMs: o.tickMs, pt: o.codec === 'PCMU' ? 0 : 8 }, 'ready');
    g.ports = ready.ports;
    g.recvBufferBytes = ready.recvBufferBytes;
    g.sendBufferBytes = ready.sendBufferBytes;
  }));
  const generatorPorts = new Set(generators.flatMap((g) => g.ports));

  // ---- ramp: open-loop, one call every 1/ramp s, each an offer (caller leg a) then an answer (callee leg b) ----
  const playEvery = o.playShare > 0 ? Math.max(1, Math.round(1 / o.playShare)) : Infinity;
  const isPlayCall = (i: number) => Number.isFinite(playEvery) && i % playEvery === playEvery - 1;
  const open: ({ close(): Promise<void>; stats(): Promise<unknown> } | undefined)[] = new Array(calls);
  const setupErrors: string[] = [];
  let up = 0;
  let stopPlay = false;
  const playErrors: string[] = [];
  let playOps = 0;
  const playLoops: Promise<void>[] = [];

  const playLoop = async (call: MediaCall): Promise<void> => {
    await sleep(Math.random() * 3000);
    while (!stopPlay) {
      try {
        // IVR-style prompt to the caller while the bridge runs (rtpengine adds it to the callee's audio)...
        const playback = call.play('a', [prompt]);
        await playback.started;
        playOps++;
        await Promise.race([playback.done, sleep(2500)]);
        if (stopPlay) break;
        // ...then hold: music on hold to the caller, both directions blocked, and back.
        await call.hold('a', moh);
        playOps++;
        await sleep(2000);
        await call.unhold('a');
        playOps++;
        await sleep(1000);
      } catch (err) {
        if (playErrors.length < 5) playErrors.push((err as Error).message);
        if (stopPlay) break;
        await sleep(1000);
      }
    }
  };

  const setup = async (i: number): Promise<void> => {
    const g = generators[i % workers]!;
    const k = Math.floor(i / workers);
    const a = 2 * k;
    const b = 2 * k + 1;
    const id = `bench-${run}-${i}`;
    if (o.control !== 'api') {
      // The comparison modes: the same offer/answer as NG commands of our own, without MediaCall's flags (or with one).
      const base = { 'call-id': id, ICE: 'remove', 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'] };
      const extra = o.control === 'plain+transcode' ? { codec: { transcode: ['PCMU', 'PCMA'] } } : o.control === 'plain+inject-dtmf' ? { flags: ['inject-DTMF'] } : {};
      const handle = {
        close: async () => void (await engine.ng.command('delete', { 'call-id': id }).catch(() => undefined)),
        stats: () => engine.ng.command('query', { 'call-id': id }),
      };
      try {
        const toB = String((await engine.ng.command('offer', { ...base, 'from-tag': 'a', sdp: sdpFor(g.ports[a]!, o.codec), ...extra })).sdp);
        const toA = String((await engine.ng.command('answer', { ...base, 'from-tag': 'a', 'to-tag': 'b', sdp: sdpFor(g.ports[b]!, o.codec), ...(o.control === 'plain+inject-dtmf' ? extra : {}) })).sdp);
        await g.start({ type: 'start', call: i, a, b, aRemotePort: audioPort(toA), bRemotePort: audioPort(toB), excluded: false });
        open[i] = handle;
        up++;
      } catch (err) {
        if (setupErrors.length < 5) setupErrors.push(`call ${i}: ${(err as Error).message}`);
        await handle.close();
      }
      return;
    }
    const call = media.openCall(id);
    try {
      const toB = await call.offer('a', sdpFor(g.ports[a]!, o.codec), 'rtp');
      const toA = await call.answer('a', 'b', sdpFor(g.ports[b]!, o.codec));
      await g.start({ type: 'start', call: i, a, b, aRemotePort: audioPort(toA), bRemotePort: audioPort(toB), excluded: isPlayCall(i) });
      open[i] = call;
      up++;
      if (isPlayCall(i)) playLoops.push(playLoop(call));
    } catch (err) {
      if (setupErrors.length < 5) setupErrors.push(`call ${i}: ${(err as Error).message}`);
      await call.close();
    }
  };

  const loadavgBefore = loadavg();
  process.stdout.write(`\n== ${calls} calls: ramp at ${o.ramp}/s, ${workers} generator(s), rtpengine pid ${rtpenginePid}, ports ${o.portMin}-${o.portMin + portSpan - 1}; loadavg ${loadavgBefore.map((l) => l.toFixed(2)).join(' ')}\n`);
  const rampStart = Date.now();
  const setups: Promise<void>[] = [];
  const progress = setInterval(() => {
    const offer = rtts.get('offer')?.ok ?? [];
    const sorted = [...offer].sort((x, y) => x - y);
    process.stdout.write(`  ramp ${((Date.now() - rampStart) / 1000).toFixed(0).padStart(3)} s: ${up}/${calls} calls up, ${setupErrors.length > 0 ? `${setupErrors.length}+ failed, ` : ''}offer p99 ${f(percentile(sorted, 99), 2)} ms, rtpengine CPU so far ${f(cpuMs([rtpenginePid]) / 1000, 1)} s\n`);
  }, 1000);
  for (let i = 0; i < calls; i++) {
    const due = rampStart + (i * 1000) / o.ramp;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    setups.push(setup(i));
  }
  await Promise.all(setups);
  clearInterval(progress);
  const rampSeconds = (Date.now() - rampStart) / 1000;
  process.stdout.write(`  ramp done: ${up}/${calls} calls up in ${rampSeconds.toFixed(1)} s; settling ${o.settle} s, then measuring ${o.duration} s\n`);
  await sleep(o.settle * 1000);

  // ---- the measured window ----
  const loop = monitorEventLoopDelay({ resolution: 1 });
  await Promise.all(generators.map((g) => g.request({ type: 'mark', which: 'start' }, 'marked')));
  loop.enable();
  const t0 = process.hrtime.bigint();
  const cpu0 = { rtpengine: cpuMs([rtpenginePid]), onecc: process.cpuUsage(), gens: generators.map((g) => cpuMs([g.pid])), machine: machineCpuMs() };
  const drops0 = { rtpengine: udpDrops(isRtpenginePort), generators: udpDrops((p) => generatorPorts.has(p)) };
  let queryTimer: NodeJS.Timeout | undefined;
  if (o.queryRate > 0) {
    const live = open.filter((c) => c !== undefined);
    queryTimer = setInterval(() => {
      const call = live[Math.floor(Math.random() * live.length)];
      if (call !== undefined) call.stats().catch(() => undefined);
    }, 1000 / o.queryRate);
  }
  const windowTicker = setInterval(() => {
    process.stdout.write(`  window ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0).padStart(3)} s: rtpengine ${f(((cpuMs([rtpenginePid]) - cpu0.rtpengine) / (Number(process.hrtime.bigint() - t0) / 1e6)) * 100, 0)} % CPU, loadavg ${loadavg()[0]!.toFixed(2)}\n`);
  }, 5000);
  await sleep(o.duration * 1000);
  clearInterval(windowTicker);
  clearInterval(queryTimer);
  const windowMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const onecc = process.cpuUsage(cpu0.onecc);
  const cpu1 = { rtpengine: cpuMs([rtpenginePid]), gens: generators.map((g) => cpuMs([g.pid])), machine: machineCpuMs() };
  const drops1 = { rtpengine: udpDrops(isRtpenginePort), generators: udpDrops((p) => generatorPorts.has(p)) };
  await Promise.all(generators.map((g) => g.request({ type: 'mark', which: 'end' }, 'marked')));
  loop.disable();
  let rtpenginePacketRate = NaN;
  try {
    const stats = await engine.ng.command('statistics');
    rtpenginePacketRate = Number((stats.statistics as { currentstatistics?: { packetrate?: unknown } })?.currentstatistics?.packetrate ?? NaN);
  } catch {
    // reported as '-'
  }
  const rss = {
    rtpengine: statusMb(rtpenginePid, 'VmRSS'),
    rtpenginePeak: statusMb(rtpenginePid, 'VmHWM'),
    onecc: process.memoryUsage().rss / 2 ** 20,
    onecceHeap: process.memoryUsage().heapUsed / 2 ** 20,
    generators: generators.map((g) => statusMb(g.pid, 'VmRSS')),
  };
  const loadavgAfter = loadavg();

  // ---- stop, drain, collect ----
  stopPlay = true;
  await Promise.all(playLoops);
  await Promise.all(generators.map((g) => g.request({ type: 'stop' }, 'stopped')));
  await sleep(500);
  const reports = await Promise.all(generators.map((g) => g.request({ type: 'report' }, 'report')));

  // ---- the legs that lost most, with what rtpengine counted for their call (before it is deleted) ----
  const worstLegs: string[] = [];
  const ranked = reports.flatMap((r) => r.calls).filter((c) => !c.excluded)
    .flatMap((c) => [{ c, dir: 'a→b', l: c.aToB }, { c, dir: 'b→a', l: c.bToA }])
    .filter((x) => x.l.expected > 0 && x.l.received < x.l.expected * 0.99)
    .sort((x, y) => x.l.received / x.l.expected - y.l.received / y.l.expected);
  for (const { c, dir, l } of ranked.slice(0, 3)) {
    let seen = '';
    try {
      const reply = await engine.ng.command('query', { 'call-id': `bench-${run}-${c.call}` });
      const tags = (reply.tags ?? {}) as Record<string, { medias?: { streams?: { flags?: string[]; stats?: { packets?: number; errors?: number } }[] }[] }>;
      seen = Object.entries(tags).map(([tag, t]) => {
        const rtp = (t.medias ?? []).flatMap((m) => m.streams ?? []).filter((st) => (st.flags ?? []).includes('RTP'));
        return `${tag}: in ${rtp.map((st) => st.stats?.packets ?? 0).join('+')} err ${rtp.map((st) => st.stats?.errors ?? 0).join('+')}`;
      }).join(', ');
    } catch (err) {
      seen = (err as Error).message;
    }
    worstLegs.push(`call ${c.call} ${dir}: ${l.received}/${l.expected} in window; sent a ${c.sentA} b ${c.sentB}, heard a ${c.lifeReceivedA} b ${c.lifeReceivedB}; rtpengine query: ${seen}`);
  }

  // ---- teardown at the ramp rate, then rtpengine must list nothing ----
  const closes: Promise<void>[] = [];
  const teardownStart = Date.now();
  let deleted = 0;
  for (let i = 0; i < calls; i++) {
    const call = open[i];
    if (call === undefined) continue;
    const due = teardownStart + (deleted * 1000) / o.ramp;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    deleted++;
    closes.push(call.close());
  }
  await Promise.all(closes);
  const listed = await engine.ng.command('list', { limit: 1_000_000 });
  const sessionsAfter = ((listed.calls as string[] | undefined) ?? []).length;
  generators.forEach((g) => g.kill());
  await media.close();

  // ---- figures ----
  const all: CallReport[] = reports.flatMap((r) => r.calls);
  const bridged = all.filter((c) => !c.excluded);
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const dir = (pick: (c: CallReport) => { expected: number; received: number }) => {
    const expected = sum(bridged.map((c) => pick(c).expected));
    return { expected, lost: expected - sum(bridged.map((c) => pick(c).received)) };
  };
  const aToB = dir((c) => c.aToB);
  const bToA = dir((c) => c.bToA);
  const jit = (pick: (c: CallReport) => number) => {
    const sorted = bridged.map(pick).sort((x, y) => x - y);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
  };
  const lifeSent = sum(bridged.map((c) => c.sentA + c.sentB));
  const lifeReceived = sum(bridged.map((c) => c.lifeReceivedA + c.lifeReceivedB));
  const worstLeg = Math.max(0, ...bridged.flatMap((c) => [c.aToB, c.bToA]).map((l) => (l.expected > 0 ? ((l.expected - l.received) / l.expected) * 100 : 0)));
  const lags = reports.map((r) => r.tickLagP99Ms);
  const ng: NgStats[] = [...rtts.entries()].map(([op, e]) => {
    const sorted = [...e.ok].sort((x, y) => x - y);
    return { op, count: e.ok.length, errors: e.errors, timeouts: e.timeouts, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
  });
  const cores = availableParallelism();
  const pct = (ms: number) => (ms / windowMs) * 100;
  const rtpengineCpu = pct(cpu1.rtpengine - cpu0.rtpengine);
  const oneccCpu = pct((onecc.user + onecc.system) / 1000);
  const genCpu = cpu1.gens.map((c, i) => pct(c - cpu0.gens[i]!));
  const machine = pct(cpu1.machine.busy - cpu0.machine.busy);
  return {
    calls,
    up,
    failedSetups: calls - up,
    setupErrors,
    rampSeconds,
    windowSeconds: windowMs / 1000,
    bridged: bridged.length,
    loss: { aToB, bToA, total: { expected: aToB.expected + bToA.expected, lost: aToB.lost + bToA.lost } },
    lifeLoss: { sent: lifeSent, lost: lifeSent - lifeReceived },
    jitterMs: { aToB: jit((c) => c.aToB.jitterMs), bToA: jit((c) => c.bToA.jitterMs) },
    maxTransitDeltaMs: Math.max(0, ...bridged.flatMap((c) => [c.aToB.maxTransitDeltaMs, c.bToA.maxTransitDeltaMs])),
    worstLegLossPercent: worstLeg,
    playCalls: all.length - bridged.length,
    playerPackets: sum(all.filter((c) => c.excluded).map((c) => c.playerPacketsA + c.playerPacketsB)),
    playOps,
    playErrors,
    cpu: { rtpengine: rtpengineCpu, onecc: oneccCpu, generators: genCpu, other: machine - rtpengineCpu - oneccCpu - sum(genCpu), machine, cores },
    rssMb: rss,
    udpDrops: { rtpengine: drops1.rtpengine - drops0.rtpengine, generators: drops1.generators - drops0.generators },
    tickLag: { p50: Math.max(...reports.map((r) => r.tickLagP50Ms)), p99: Math.max(...lags), max: Math.max(...reports.map((r) => r.tickLagMaxMs)), catchUpTicks: sum(reports.map((r) => r.catchUpTicks)), skippedPackets: sum(reports.map((r) => r.skippedPackets)) },
    sendErrors: sum(reports.map((r) => r.sendErrors)),
    loopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    rtpenginePacketRate,
    ng,
    sessionsAfter,
    worstLegs,
    deleted,
    loadavgBefore,
    loadavgAfter,
    rcvbuf: generators[0]!.recvBufferBytes,
    sndbuf: generators[0]!.sendBufferBytes,
  };
}

// ---- printing ------------------------------------------------------------------------------------------------------

const pctOf = (lost: number, expected: number) => (expected > 0 ? (lost / expected) * 100 : NaN);

function printRun(r: RunResult, o: Options): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  const loss = (x: { expected: number; lost: number }) => `${f(pctOf(x.lost, x.expected), 3)} % (${x.lost} of ${x.expected})`;
  w(`\n-- ${r.calls} calls: results --`);
  w(`setup       ${r.up}/${r.calls} calls up in ${f(r.rampSeconds)} s${r.failedSetups > 0 ? `, ${r.failedSetups} failed: ${r.setupErrors.join(' | ')}` : ''}`);
  w(`window      ${f(r.windowSeconds)} s over ${r.bridged} bridged calls (${r.playCalls} prompt/hold calls left out of loss and jitter)`);
  w(`loss        a→b ${loss(r.loss.aToB)}   b→a ${loss(r.loss.bToA)}   total ${loss(r.loss.total)}   worst leg ${f(r.worstLegLossPercent, 2)} %`);
  w(`            whole call life (ramp + window + stop, incl. first packets): ${loss({ expected: r.lifeLoss.sent, lost: r.lifeLoss.lost })}`);
  w(`jitter ms   RFC 3550 at the receiving endpoints, per leg at window end:  a→b p50 ${f(r.jitterMs.aToB.p50, 2)} p99 ${f(r.jitterMs.aToB.p99, 2)} max ${f(r.jitterMs.aToB.max, 2)}   b→a p50 ${f(r.jitterMs.bToA.p50, 2)} p99 ${f(r.jitterMs.bToA.p99, 2)} max ${f(r.jitterMs.bToA.max, 2)};  largest |D| ${f(r.maxTransitDeltaMs, 1)} ms`);
  w(`CPU         % of one core over the window (machine has ${r.cpu.cores * 100} %): rtpengine ${f(r.cpu.rtpengine)}   onecc ${f(r.cpu.onecc)}   generators ${f(r.cpu.generators.reduce((s, x) => s + x, 0))} (${r.cpu.generators.map((c) => f(c)).join(' + ')})   other ${f(r.cpu.other)}   machine ${f(r.cpu.machine)}`);
  w(`RSS MB      rtpengine ${f(r.rssMb.rtpengine)} (peak ${f(r.rssMb.rtpenginePeak)})   onecc ${f(r.rssMb.onecc)} (heap ${f(r.rssMb.onecceHeap)})   generators ${r.rssMb.generators.map((m) => f(m)).join(' + ')}`);
  w(`rtpengine   packet rate ${f(r.rtpenginePacketRate, 0)}/s (its own figure, expected ~${r.up * 100}/s);  UDP drops in window: rtpengine sockets ${r.udpDrops.rtpengine}, generator sockets ${r.udpDrops.generators}`);
  w(`generator   send-timer lag p50 ${f(r.tickLag.p50, 2)} p99 ${f(r.tickLag.p99, 2)} max ${f(r.tickLag.max, 1)} ms, catch-up ticks ${r.tickLag.catchUpTicks}, packets skipped after stalls > 60 ms ${r.tickLag.skippedPackets}, send errors ${r.sendErrors}; SO_RCVBUF ${r.rcvbuf} SO_SNDBUF ${r.sndbuf} bytes`);
  w(`onecc loop  event-loop delay p99 ${f(r.loopDelayMs.p99, 2)} max ${f(r.loopDelayMs.max, 1)} ms (window)`);
  w(`prompts     ${r.playCalls} calls, ${r.playOps} play/hold/unhold operations, ${r.playerPackets} packets from rtpengine's player received${r.playErrors.length > 0 ? `; errors: ${r.playErrors.join(' | ')}` : ''}`);
  for (const leg of r.worstLegs) w(`worst leg   ${leg}`);
  w(`teardown    ${r.deleted} calls deleted at ${o.ramp}/s; rtpengine lists ${r.sessionsAfter} session(s) afterwards${r.sessionsAfter === 0 ? ' (ok)' : ' (LEAK)'}`);
  w(`loadavg     before ${r.loadavgBefore.map((l) => l.toFixed(2)).join(' ')}, at window end ${r.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}`);
  w('');
  w('NG round trip (ms, whole run)   count  errors  p50     p99     max');
  const order = ['offer', 'answer', 'playMedia', 'stopMedia', 'blockMedia', 'unblockMedia', 'query', 'delete', 'list', 'statistics', 'ping'];
  const rows = [...r.ng].sort((x, y) => (order.indexOf(x.op) + 100 * Number(!order.includes(x.op))) - (order.indexOf(y.op) + 100 * Number(!order.includes(y.op))));
  for (const n of rows) {
    w(`  ${n.op.padEnd(30)}${String(n.count).padStart(6)}  ${String(n.errors + n.timeouts).padStart(6)}  ${f(n.p50, 2).padStart(6)}  ${f(n.p99, 2).padStart(6)}  ${f(n.max, 1).padStart(6)}`);
  }
}

function printSummary(results: RunResult[]): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  w('\n== summary (targets: 500 calls, loss < 0.1 %, media API p99 < 5 ms) ==');
  w('calls   up  loss %  worst leg %  jitter p99 ms  rtpengine CPU %  onecc CPU %  gen CPU %  other %  NG p99 ms (worst op)   drops rtpe/gen  leak');
  for (const r of results) {
    const worst = r.ng.filter((n) => n.op !== 'list' && n.op !== 'statistics' && n.count > 0).sort((x, y) => y.p99 - x.p99)[0];
    w(
      `${String(r.calls).padStart(5)} ${String(r.up).padStart(4)}  ${f(pctOf(r.loss.total.lost, r.loss.total.expected), 3).padStart(6)}  ${f(r.worstLegLossPercent, 2).padStart(11)}  ` +
        `${f(Math.max(r.jitterMs.aToB.p99, r.jitterMs.bToA.p99), 2).padStart(13)}  ${f(r.cpu.rtpengine).padStart(15)}  ${f(r.cpu.onecc).padStart(11)}  ` +
        `${f(r.cpu.generators.reduce((s, x) => s + x, 0)).padStart(9)}  ${f(r.cpu.other).padStart(7)}  ${`${f(worst?.p99 ?? NaN, 2)} (${worst?.op ?? '-'})`.padStart(20)}   ` +
        `${`${r.udpDrops.rtpengine}/${r.udpDrops.generators}`.padStart(14)}  ${r.sessionsAfter === 0 ? 'none' : r.sessionsAfter}`,
    );
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  process.stdout.write(
    `media bench: calls ${o.calls.join(', ')} | window ${o.duration} s after a ramp at ${o.ramp} calls/s and ${o.settle} s settling | ` +
      `${o.codec} 20 ms, 50 pkt/s each way per call | ${o.workers} generator process(es), tick ${o.tickMs} ms, SO_RCVBUF asked ${o.recvBuffer} | ` +
      `prompt/hold share ${o.playShare} | ${o.queryRate} query/s | control ${o.control} | rtpengine log level ${o.rtpengineLogLevel} | ${availableParallelism()} cores, node ${process.version}\n`,
  );
  const scratch = mkdtempSync(path.join(tmpdir(), 'onecc-bench-media-'));
  const results: RunResult[] = [];
  try {
    for (const [run, calls] of o.calls.entries()) {
      const r = await runOnce(o, calls, run, scratch);
      printRun(r, o);
      if (o.json) process.stdout.write(`${JSON.stringify({ bench: 'media', ...r })}\n`);
      results.push(r);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  printSummary(results);
  if (o.json) process.stdout.write(`${JSON.stringify({ bench: 'media', options: o, results })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
