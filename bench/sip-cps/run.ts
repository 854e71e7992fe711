/**
 * Complete SIP calls per second against onecc and against Kamailio, on loopback (see bench/README.md).
 *
 *   npm run build && node dist/bench/sip-cps/run.js [--rate 500] [--seconds 60] [--saturation-seconds 10] [--skip-kamailio]
 *
 * For each target it starts the server, forks the load generator (generator.ts, one or more processes), and runs
 * two phases: open-loop at a fixed offered rate, then saturation (closed-loop: a fixed number of calls always in
 * progress, raised step by step until completed calls/s stop growing, then measured at the best step). A call is
 * INVITE → 100 → 200 → ACK, then BYE → 200. It prints one table row per target and phase, the CPU each side
 * used, the onecc/Kamailio ratios, and a final JSON line.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { freeUdpPort } from '../../src/lib';
import { cpuMs, machineCpuMs, peakRssMb, processTree, pssMb, udpDrops } from './proc-stats';
import type { SutCommand, SutMessage, WorkerCommand, WorkerMessage, WorkerReport, WorkerSetup } from './protocol';

type SutStats = Extract<SutMessage, { type: 'stats' }>;

// ---- options ---------------------------------------------------------------------------------------------------

const USAGE = `usage: node dist/bench/sip-cps/run.js [options]
  --rate N                 offered calls/s in the fixed-rate phase (default 500)
  --seconds N              measured length of the fixed-rate phase (default 60)
  --saturation-seconds N   measured length of the saturation phase (default 10)
  --warmup-seconds N       load before each measured window that is not counted (default 3)
  --probe-seconds N        measured length of each step of the saturation search (default 1.5)
  --max-concurrency N      highest number of calls in progress the saturation search tries (default 512)
  --workers N              generator processes (default 2)
  --timeout-ms N           a call with no 200 this long after its INVITE (or BYE) fails (default 5000)
  --hold-ms N              time between ACK and BYE (default 0)
  --app embedded|separate  the drachtio-srf UAS in onecc's process (default) or in a process of its own
  --skip-fixed             skip the fixed-rate phase
  --skip-saturation        skip the saturation phase
  --skip-kamailio          measure onecc only
  --kamailio-children N    Kamailio UDP worker processes (-n, default 2)
  --sut-cpu-prof DIR       run onecc's process(es) under node --cpu-prof, profiles written to DIR
  --sut-node-arg ARG       pass ARG to node for onecc's process(es), e.g. --trace-gc (repeatable)
  --log-level LEVEL        onecc's log level (default warn)
  --nice N                 run the servers and the generator at this nice value (e.g. -10: ahead of anything else on
                           a shared machine; negative needs root); default: unchanged
`;

interface Options {
  rate: number;
  seconds: number;
  saturationSeconds: number;
  warmupSeconds: number;
  probeSeconds: number;
  maxConcurrency: number;
  workers: number;
  timeoutMs: number;
  holdMs: number;
  app: 'embedded' | 'separate';
  skipFixed: boolean;
  skipSaturation: boolean;
  skipKamailio: boolean;
  kamailioChildren: number;
  sutCpuProf: string | undefined;
  sutNodeArgs: string[];
  nice: number | undefined;
  logLevel: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rate: 500, seconds: 60, saturationSeconds: 10, warmupSeconds: 3, probeSeconds: 1.5, maxConcurrency: 512, workers: 2,
    timeoutMs: 5000, holdMs: 0, app: 'embedded', skipFixed: false, skipSaturation: false, skipKamailio: false, kamailioChildren: 2,
    sutCpuProf: undefined, sutNodeArgs: [], nice: undefined, logLevel: 'warn',
  };
  const numeric: Record<string, keyof Options> = {
    '--rate': 'rate', '--seconds': 'seconds', '--saturation-seconds': 'saturationSeconds', '--warmup-seconds': 'warmupSeconds',
    '--probe-seconds': 'probeSeconds', '--max-concurrency': 'maxConcurrency', '--workers': 'workers', '--timeout-ms': 'timeoutMs',
    '--hold-ms': 'holdMs', '--kamailio-children': 'kamailioChildren',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = numeric[arg];
    if (key) {
      const value = Number(argv[++i]);
      const mayBeZero = key === 'holdMs' || key === 'warmupSeconds';
      if (!Number.isFinite(value) || value < 0 || (value === 0 && !mayBeZero)) fail(`${arg} needs a positive number`);
      (o as unknown as Record<string, number>)[key] = value;
    } else if (arg === '--app') {
      const value = argv[++i];
      if (value !== 'embedded' && value !== 'separate') fail('--app is embedded or separate');
      o.app = value;
    } else if (arg === '--skip-fixed') o.skipFixed = true;
    else if (arg === '--skip-saturation') o.skipSaturation = true;
    else if (arg === '--skip-kamailio') o.skipKamailio = true;
    else if (arg === '--sut-cpu-prof') o.sutCpuProf = path.resolve(argv[++i] ?? fail('--sut-cpu-prof needs a directory'));
    else if (arg === '--sut-node-arg') o.sutNodeArgs.push(argv[++i] ?? fail('--sut-node-arg needs an argument'));
    else if (arg === '--nice') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < -20 || value > 19) fail('--nice needs an integer from -20 to 19');
      o.nice = value;
    } else if (arg === '--log-level') o.logLevel = argv[++i] ?? fail('--log-level needs a level');
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else fail(`unknown argument: ${arg}`);
  }
  o.workers = Math.max(1, Math.floor(o.workers));
  return o;
}

function fail(message: string): never {
  process.stderr.write(`sip-cps: ${message}\n${USAGE}`);
  process.exit(2);
}

const options = parseOptions(process.argv.slice(2));
const CORES = availableParallelism();
const RUN_ID = Date.now().toString(36);

// ---- child processes: every one is killed when we exit, however we exit ----------------------------------------

const children = new Set<ChildProcess>();
/** Children started in a process group of their own (Kamailio and the processes it forks): killed as a group. */
const groups = new Set<ChildProcess>();

function track(child: ChildProcess, group = false): ChildProcess {
  children.add(child);
  if (group) groups.add(child);
  if (options.nice !== undefined && child.pid !== undefined) renice([child.pid]);
  child.once('exit', () => children.delete(child));
  return child;
}

function renice(pids: number[]): void {
  for (const pid of pids) {
    try {
      setPriority(pid, options.nice!);
    } catch (err) {
      // A process that has just exited is no reason to stop; no permission is.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') fail(`--nice ${options.nice}: ${(err as Error).message}`);
    }
  }
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (groups.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      // The group is gone already; fall through to the process itself.
    }
  }
  child.kill(signal);
}

function killAll(): void {
  for (const child of children) kill(child, 'SIGKILL');
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`sip-cps: ${signal}, stopping\n`);
    killAll();
    process.exit(130);
  });
}

/** Ends a child politely (so a CPU profile gets written), then by force. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => kill(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- targets ----------------------------------------------------------------------------------------------------

interface Target {
  name: 'onecc' | 'kamailio';
  description: string;
  port: number;
  /** The processes whose CPU and memory count as the target's. */
  pids(): number[];
  /** onecc only: the measured window starts; then what its processes say about themselves at the end of it. */
  mark?(): void;
  stats?(): Promise<SutStats[]>;
  close(): Promise<void>;
}

async function startOnecc(): Promise<Target> {
  const sutScript = path.join(__dirname, 'onecc-sut.js');
  const execArgv = [...(options.sutCpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.sutCpuProf] : []), ...options.sutNodeArgs];
  const forkSut = (args: string[]): ChildProcess => {
    const child = track(fork(sutScript, [...args, '--log-level', options.logLevel], { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
    child.stdout!.pipe(process.stderr);
    return child;
  };
  const firstMessage = (child: ChildProcess, type: SutMessage['type']): Promise<SutMessage> =>
    within(
      new Promise((resolve, reject) => {
        child.on('message', (m: SutMessage) => m.type === type && resolve(m));
        child.once('exit', (code) => reject(new Error(`onecc-sut exited with ${code} before it was ready`)));
      }),
      15_000,
      'onecc-sut start',
    );
  const engine = forkSut(options.app === 'embedded' ? ['engine', '--with-app'] : ['engine']);
  const ready = (await firstMessage(engine, 'ready')) as Extract<SutMessage, { type: 'ready' }>;
  const processes = [engine];
  if (options.app === 'separate') {
    const app = forkSut(['app', String(ready.drachtioPort), ready.secret]);
    processes.push(app);
    await firstMessage(app, 'app-ready');
  }
  return {
    name: 'onecc',
    description: `onecc startServer(): embedded engine, UDP 127.0.0.1:${ready.sipPort}, drachtio-srf UAS (createUAS) ${
      options.app === 'embedded' ? 'in the same process' : 'in a second process'
    }`,
    port: ready.sipPort,
    pids: () => processes.map((p) => p.pid!),
    mark: () => {
      for (const p of processes) p.send({ type: 'mark' } satisfies SutCommand);
    },
    stats: () =>
      within(
        Promise.all(
          processes.map(
            (p) =>
              new Promise<SutStats>((resolve) => {
                const onMessage = (m: SutMessage): void => {
                  if (m.type !== 'stats') return;
                  p.off('message', onMessage);
                  resolve(m);
                };
                p.on('message', onMessage);
                p.send({ type: 'stats' } satisfies SutCommand);
              }),
          ),
        ),
        5000,
        'onecc stats',
      ),
    close: async () => {
      for (const p of [...processes].reverse()) await stopChild(p);
    },
  };
}

/** Resolves once something answers an OPTIONS on 127.0.0.1:port. */
async function waitForSip(port: number, ms: number): Promise<void> {
  const s = createSocket('udp4');
  let timer: NodeJS.Timeout | undefined;
  try {
    await within(
      new Promise<void>((resolve) => {
        s.once('message', () => resolve());
        s.bind(0, '127.0.0.1', () => {
          const me = s.address().port;
          const probe = Buffer.from(
            `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK-probe;rport\r\nMax-Forwards: 70\r\n` +
              `From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: probe-${RUN_ID}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
          );
          const poke = (): void => s.send(probe, port, '127.0.0.1');
          poke();
          timer = setInterval(poke, 100);
        });
      }),
      ms,
      `SIP server on 127.0.0.1:${port}`,
    );
  } finally {
    clearInterval(timer);
    s.close();
  }
}

function findKamailio(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    const file = path.join(dir, 'kamailio');
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

async function startKamailio(binary: string): Promise<Target> {
  const cfg = path.resolve(__dirname, '../../../bench/sip-cps/kamailio.cfg');
  if (!existsSync(cfg)) throw new Error(`${cfg} not found (run from a checkout, after npm run build)`);
  const port = await freeUdpPort();
  const workdir = mkdtempSync(path.join(tmpdir(), 'sip-cps-kamailio-'));
  const args = ['-f', cfg, '-DD', '-E', '-n', String(options.kamailioChildren), '-m', '64', '-M', '8', '-l', `udp:127.0.0.1:${port}`, '-w', workdir, '-Y', workdir];
  const child = track(spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true }), true);
  const log: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => log.push(...chunk.split('\n').filter(Boolean).slice(-20)));
  try {
    await waitForSip(port, 10_000);
  } catch (err) {
    await stopChild(child);
    rmSync(workdir, { recursive: true, force: true });
    throw new Error(`kamailio did not come up: ${(err as Error).message}\n${log.slice(-20).join('\n')}`);
  }
  // Kamailio forks its timer and worker processes as it starts; count whatever it has when asked.
  const pids = (): number[] => processTree([child.pid!]);
  await sleep(500);
  if (options.nice !== undefined) renice(pids());
  return {
    name: 'kamailio',
    description: `Kamailio ${kamailioVersion(binary)} stateless (sl_send_reply), UDP 127.0.0.1:${port}, -n ${options.kamailioChildren} (${pids().length} processes)`,
    port,
    pids,
    close: async () => {
      await stopChild(child);
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

function kamailioVersion(binary: string): string {
  try {
    const out = execFileSync(binary, ['-v'], { encoding: 'utf8' });
    return /version:\s*kamailio\s+(\S+)/i.exec(out)?.[1] ?? '';
  } catch {
    return '';
  }
}

// ---- the generator ----------------------------------------------------------------------------------------------

class Generator {
  readonly #workers: ChildProcess[] = [];
  readonly #reports = new Map<number, (r: WorkerReport) => void>();

  private constructor() {}

  static async start(port: number): Promise<Generator> {
    const g = new Generator();
    const script = path.join(__dirname, 'generator.js');
    await Promise.all(
      Array.from({ length: options.workers }, (_, id) => {
        const setup: WorkerSetup = { id, runId: RUN_ID, host: '127.0.0.1', port, timeoutMs: options.timeoutMs, holdMs: options.holdMs };
        const worker = track(fork(script, [JSON.stringify(setup)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
        g.#workers.push(worker);
        return within(
          new Promise<void>((resolve, reject) => {
            worker.on('message', (m: WorkerMessage) => {
              if (m.type === 'ready') resolve();
              else if (m.type === 'report') g.#reports.get(m.report.id)?.(m.report);
            });
            worker.once('exit', (code) => reject(new Error(`generator ${id} exited with ${code}`)));
          }),
          10_000,
          `generator ${id} start`,
        );
      }),
    );
    return g;
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.pid!);
  }

  /** Splits calls/s or concurrency over the workers. */
  load(load: { rate: number } | { concurrency: number }): void {
    const n = this.#workers.length;
    this.#workers.forEach((w, i) => {
      const command: WorkerCommand =
        'rate' in load ? { type: 'load', rate: load.rate / n } : { type: 'load', concurrency: Math.floor(load.concurrency / n) + (i < load.concurrency % n ? 1 : 0) };
      w.send(command);
    });
  }

  mark(): void {
    for (const w of this.#workers) w.send({ type: 'mark' } satisfies WorkerCommand);
  }

  /** Stops the load; resolves with every worker's report once its calls have finished or failed. */
  stop(): Promise<WorkerReport[]> {
    const reports = this.#workers.map((_, id) => new Promise<WorkerReport>((resolve) => this.#reports.set(id, resolve)));
    for (const w of this.#workers) w.send({ type: 'stop' } satisfies WorkerCommand);
    return within(Promise.all(reports), 2 * options.timeoutMs + options.holdMs + 10_000, 'generator drain');
  }

  async close(): Promise<void> {
    for (const w of this.#workers) if (w.connected) w.send({ type: 'exit' } satisfies WorkerCommand);
    await Promise.all(this.#workers.map((w) => stopChild(w, 'SIGTERM', 2000)));
  }
}

// ---- one phase: load, warm up, measure, drain --------------------------------------------------------------------

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

interface PhaseResult {
  target: string;
  phase: 'fixed' | 'probe' | 'saturation';
  offeredRate?: number;
  concurrency?: number;
  windowS: number;
  started: number;
  completed: number;
  callsPerSec: number;
  failed: number;
  failures: Record<string, number>;
  /** ms */
  setup: Latency;
  teardown: Latency;
  retransmitted: { invite: number; bye: number; ok200Received: number };
  peerRequests: number;
  /** Datagrams the kernel dropped in the window because the SUT's socket receive buffer was full. */
  sutUdpDrops: number;
  maxLagMs: number;
  /** 100 = one core busy for the whole window. */
  generatorCpuPct: number;
  generatorCpuPctPerWorker: number[];
  sutCpuPct: number;
  /** SUT CPU time per completed call: what a call costs the server, whatever else the machine is doing. */
  sutCpuUsPerCall: number;
  /** Busy CPU of the whole machine in the window less the generator's and the SUT's: anything else running. */
  otherCpuPct: number;
  /** Of the machine's busy time: stolen by the hypervisor, and spent in softirq (packet delivery not charged to a process). */
  stealCpuPct: number;
  softirqCpuPct: number;
  sutRssPeakMb: number;
  sutPssPeakMb: number;
  /** onecc only: the worst event-loop delay of its process(es) in the window, and their own counts. */
  sutLoopDelayMs?: { p50: number; p99: number; max: number };
  sutHeapUsedMb?: number;
  sutArrayBuffersMb?: number;
}

function latency(samplesUs: number[]): Latency {
  if (samplesUs.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samplesUs).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! / 1000 };
}

async function runPhase(
  target: Target, generator: Generator, phase: PhaseResult['phase'], load: { rate: number } | { concurrency: number }, warmupS: number, windowS: number,
): Promise<PhaseResult> {
  const pids = target.pids();
  let pssPeak = pssMb(pids);
  const sampler = setInterval(() => (pssPeak = Math.max(pssPeak, pssMb(pids))), 250);
  try {
    generator.load(load);
    await sleep(warmupS * 1000);
    const cpu0 = cpuMs(pids);
    const machine0 = machineCpuMs();
    const drops0 = udpDrops(target.port);
    const t0 = performance.now();
    target.mark?.();
    generator.mark();
    await sleep(windowS * 1000);
    const reportsPromise = generator.stop();
    const cpu1 = cpuMs(pids);
    const machine1 = machineCpuMs();
    const drops1 = udpDrops(target.port);
    const elapsedMs = performance.now() - t0;
    const sutStats = await target.stats?.();
    const reports = await reportsPromise;
    const windowMs = Math.max(...reports.map((r) => r.windowMs));
    const failures: Record<string, number> = {};
    for (const r of reports) for (const [why, n] of Object.entries(r.failed)) failures[why] = (failures[why] ?? 0) + n;
    const sum = (f: (r: WorkerReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
    const completed = sum((r) => r.completed);
    const perWorkerCpu = reports.map((r) => ((r.cpuUserUs + r.cpuSystemUs) / 1000 / r.windowMs) * 100);
    const generatorCpuPct = perWorkerCpu.reduce((a, b) => a + b, 0);
    const sutCpuPct = ((cpu1 - cpu0) / elapsedMs) * 100;
    return {
      target: target.name,
      phase,
      offeredRate: 'rate' in load ? load.rate : undefined,
      concurrency: 'concurrency' in load ? load.concurrency : undefined,
      windowS: windowMs / 1000,
      started: sum((r) => r.started),
      completed,
      callsPerSec: completed / (windowMs / 1000),
      failed: Object.values(failures).reduce((a, b) => a + b, 0),
      failures,
      setup: latency(reports.flatMap((r) => r.setupUs)),
      teardown: latency(reports.flatMap((r) => r.teardownUs)),
      retransmitted: {
        invite: sum((r) => r.retransmitted.invite), bye: sum((r) => r.retransmitted.bye), ok200Received: sum((r) => r.retransmitted.ok200Received),
      },
      peerRequests: sum((r) => r.peerRequests),
      sutUdpDrops: drops1 - drops0,
      maxLagMs: Math.max(...reports.map((r) => r.maxLagMs)),
      generatorCpuPct,
      generatorCpuPctPerWorker: perWorkerCpu,
      sutCpuPct,
      sutCpuUsPerCall: completed > 0 ? ((cpu1 - cpu0) * 1000) / completed : NaN,
      otherCpuPct: Math.max(0, ((machine1.busy - machine0.busy) / elapsedMs) * 100 - generatorCpuPct - sutCpuPct),
      stealCpuPct: ((machine1.steal - machine0.steal) / elapsedMs) * 100,
      softirqCpuPct: ((machine1.softirq - machine0.softirq) / elapsedMs) * 100,
      sutRssPeakMb: peakRssMb(pids),
      sutPssPeakMb: Math.max(pssPeak, pssMb(pids)),
      sutLoopDelayMs: sutStats && {
        p50: Math.max(...sutStats.map((x) => x.loopDelayMs.p50)),
        p99: Math.max(...sutStats.map((x) => x.loopDelayMs.p99)),
        max: Math.max(...sutStats.map((x) => x.loopDelayMs.max)),
      },
      sutHeapUsedMb: sutStats && sutStats.reduce((sum, x) => sum + x.heapUsedMb, 0),
      sutArrayBuffersMb: sutStats && sutStats.reduce((sum, x) => sum + x.arrayBuffersMb, 0),
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Closed loop: keeps `c` calls in progress, doubling c from 4 while completed calls/s grow by more than 3 %
 * (two steps without growth end the search, as does a step with failed calls), then measures at the best c.
 */
async function saturate(target: Target, generator: Generator, print: (r: PhaseResult) => void): Promise<{ probes: PhaseResult[]; result: PhaseResult }> {
  const probes: PhaseResult[] = [];
  let best: PhaseResult | undefined;
  let flat = 0;
  for (let c = Math.max(4, options.workers); c <= options.maxConcurrency; c *= 2) {
    const probe = await runPhase(target, generator, 'probe', { concurrency: c }, 0.5, options.probeSeconds);
    probes.push(probe);
    print(probe);
    if (!best || probe.callsPerSec > best.callsPerSec * 1.03) {
      best = probe;
      flat = 0;
    } else if (++flat >= 2) break;
    if (probe.failed > 0) break;
  }
  const result = await runPhase(target, generator, 'saturation', { concurrency: best!.concurrency! }, 1, options.saturationSeconds);
  return { probes, result };
}

// ---- output -----------------------------------------------------------------------------------------------------

const COLUMNS: Array<{ head: string; width: number; cell: (r: PhaseResult) => string }> = [
  { head: 'target', width: 8, cell: (r) => r.target },
  { head: 'phase', width: 10, cell: (r) => r.phase },
  { head: 'load', width: 11, cell: (r) => (r.offeredRate !== undefined ? `${r.offeredRate}/s` : `c=${r.concurrency}`) },
  { head: 'secs', width: 5, cell: (r) => r.windowS.toFixed(1) },
  { head: 'calls', width: 7, cell: (r) => String(r.completed) },
  { head: 'calls/s', width: 8, cell: (r) => r.callsPerSec.toFixed(1) },
  { head: 'failed', width: 6, cell: (r) => String(r.failed) },
  { head: 'setup p50', width: 9, cell: (r) => ms(r.setup.p50) },
  { head: 'p99', width: 7, cell: (r) => ms(r.setup.p99) },
  { head: 'max', width: 7, cell: (r) => ms(r.setup.max) },
  { head: 'BYE p99', width: 7, cell: (r) => ms(r.teardown.p99) },
  { head: 'retx', width: 5, cell: (r) => String(r.retransmitted.invite + r.retransmitted.bye) },
  { head: 'drops', width: 5, cell: (r) => String(r.sutUdpDrops) },
  { head: 'gen CPU', width: 7, cell: (r) => `${r.generatorCpuPct.toFixed(0)}%` },
  { head: 'SUT CPU', width: 7, cell: (r) => `${r.sutCpuPct.toFixed(0)}%` },
  { head: 'µs/call', width: 7, cell: (r) => r.sutCpuUsPerCall.toFixed(0) },
  { head: 'other', width: 5, cell: (r) => `${r.otherCpuPct.toFixed(0)}%` },
  { head: 'loop max', width: 8, cell: (r) => (r.sutLoopDelayMs ? ms(r.sutLoopDelayMs.max) : '-') },
  { head: 'RSS MB', width: 6, cell: (r) => r.sutRssPeakMb.toFixed(0) },
  { head: 'PSS MB', width: 6, cell: (r) => r.sutPssPeakMb.toFixed(0) },
];

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function row(cells: string[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(COLUMNS[i]!.width) : c.padStart(COLUMNS[i]!.width))).join('  ');
}

function printRow(r: PhaseResult): void {
  console.log(row(COLUMNS.map((c) => c.cell(r))));
  if (r.failed > 0) console.log(`${''.padEnd(20)}failed: ${Object.entries(r.failures).map(([why, n]) => `${why} ×${n}`).join(', ')}`);
}

function round(n: number, digits = 2): number {
  return Number.isFinite(n) ? Number(n.toFixed(digits)) : n;
}

function compact(r: PhaseResult): object {
  return {
    phase: r.phase, offeredRate: r.offeredRate, concurrency: r.concurrency, windowS: round(r.windowS), started: r.started, completed: r.completed,
    callsPerSec: round(r.callsPerSec, 1), failed: r.failed, failures: r.failures,
    setupMs: { p50: round(r.setup.p50, 3), p99: round(r.setup.p99, 3), max: round(r.setup.max, 3) },
    teardownMs: { p50: round(r.teardown.p50, 3), p99: round(r.teardown.p99, 3), max: round(r.teardown.max, 3) },
    retransmitted: r.retransmitted, peerRequests: r.peerRequests, sutUdpDrops: r.sutUdpDrops, maxLagMs: round(r.maxLagMs, 1),
    generatorCpuPct: round(r.generatorCpuPct, 1), generatorCpuPctPerWorker: r.generatorCpuPctPerWorker.map((v) => round(v, 1)),
    sutCpuPct: round(r.sutCpuPct, 1), sutCpuUsPerCall: round(r.sutCpuUsPerCall, 0), otherCpuPct: round(r.otherCpuPct, 1),
    stealCpuPct: round(r.stealCpuPct, 1), softirqCpuPct: round(r.softirqCpuPct, 1), sutRssPeakMb: round(r.sutRssPeakMb, 1), sutPssPeakMb: round(r.sutPssPeakMb, 1),
    sutLoopDelayMs: r.sutLoopDelayMs && { p50: round(r.sutLoopDelayMs.p50), p99: round(r.sutLoopDelayMs.p99), max: round(r.sutLoopDelayMs.max) },
    sutHeapUsedMb: r.sutHeapUsedMb === undefined ? undefined : round(r.sutHeapUsedMb, 1),
    sutArrayBuffersMb: r.sutArrayBuffersMb === undefined ? undefined : round(r.sutArrayBuffersMb, 1),
  };
}

// ---- main -------------------------------------------------------------------------------------------------------

interface TargetResults {
  name: string;
  description: string;
  fixed?: PhaseResult;
  probes: PhaseResult[];
  saturation?: PhaseResult;
}

async function measure(start: () => Promise<Target>): Promise<TargetResults> {
  const target = await start();
  let generator: Generator | undefined;
  try {
    console.log(`\n${target.name}: ${target.description}`);
    generator = await Generator.start(target.port);
    console.log(row(COLUMNS.map((c) => c.head)));
    const results: TargetResults = { name: target.name, description: target.description, probes: [] };
    if (!options.skipFixed) {
      results.fixed = await runPhase(target, generator, 'fixed', { rate: options.rate }, options.warmupSeconds, options.seconds);
      printRow(results.fixed);
    }
    if (!options.skipSaturation) {
      const { probes, result } = await saturate(target, generator, printRow);
      results.probes = probes;
      results.saturation = result;
      printRow(result);
    }
    return results;
  } finally {
    await generator?.close();
    await target.close();
  }
}

async function main(): Promise<void> {
  const phasesS = (options.skipFixed ? 0 : options.warmupSeconds + options.seconds) + (options.skipSaturation ? 0 : 40 + options.saturationSeconds + 10 * (options.probeSeconds + 1));
  const budgetMs = ((options.skipKamailio ? 1 : 2) * (phasesS + 60) + 60) * 1000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`sip-cps: still running after ${Math.round(budgetMs / 1000)} s; giving up\n`);
    killAll();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  console.log(
    `sip-cps: complete calls (INVITE/100/200/ACK, BYE/200) over UDP on 127.0.0.1; Node ${process.version}, ${CORES} cores (${cpus()[0]?.model.trim() ?? '?'})`,
  );
  console.log(
    `generator: ${options.workers} process(es), call timeout ${options.timeoutMs} ms, hold ${options.holdMs} ms; ` +
      `fixed: ${options.rate} calls/s for ${options.seconds} s after ${options.warmupSeconds} s warm-up; ` +
      `saturation: closed loop, search steps of ${options.probeSeconds} s, then ${options.saturationSeconds} s at the best` +
      (options.nice === undefined ? '' : `; servers and generator at nice ${options.nice}`),
  );
  console.log('latencies in ms; CPU in % of one core over the measured window (the machine has ' + `${CORES * 100}%)`);

  const onecc = await measure(startOnecc);
  let kamailio: TargetResults | undefined;
  if (!options.skipKamailio) {
    const binary = findKamailio();
    if (binary) kamailio = await measure(() => startKamailio(binary));
    else console.log('\nkamailio: not installed (apt-get install -y kamailio); no reference figures');
  }

  console.log('');
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? a / b : undefined;
  const ratios = kamailio && {
    saturationCallsPerSec: ratio(onecc.saturation?.callsPerSec, kamailio.saturation?.callsPerSec),
    fixedSetupP50: ratio(onecc.fixed?.setup.p50, kamailio.fixed?.setup.p50),
    fixedSetupP99: ratio(onecc.fixed?.setup.p99, kamailio.fixed?.setup.p99),
    saturationSetupP50: ratio(onecc.saturation?.setup.p50, kamailio.saturation?.setup.p50),
    fixedCpuPerCall: ratio(onecc.fixed?.sutCpuUsPerCall, kamailio.fixed?.sutCpuUsPerCall),
    saturationCpuPerCall: ratio(onecc.saturation?.sutCpuUsPerCall, kamailio.saturation?.sutCpuUsPerCall),
  };
  if (ratios) {
    const show = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)}×`);
    console.log(
      `onecc/kamailio: saturation calls/s ${show(ratios.saturationCallsPerSec)}; ` +
        `setup latency at ${options.rate}/s p50 ${show(ratios.fixedSetupP50)}, p99 ${show(ratios.fixedSetupP99)}; at saturation p50 ${show(ratios.saturationSetupP50)}; ` +
        `server CPU per call at ${options.rate}/s ${show(ratios.fixedCpuPerCall)}, at saturation ${show(ratios.saturationCpuPerCall)}`,
    );
  }
  const targets = {
    saturationAtLeast1000: onecc.saturation ? onecc.saturation.callsPerSec >= 1000 : undefined,
    fixedNoFailures: onecc.fixed ? onecc.fixed.failed === 0 : undefined,
    fixedP99Under20ms: onecc.fixed ? onecc.fixed.setup.p99 < 20 : undefined,
  };
  const verdict = (v: boolean | undefined): string => (v === undefined ? 'not run' : v ? 'met' : 'MISSED');
  console.log(
    `onecc vs the issue's targets: ≥ 1,000 calls/s at saturation: ${verdict(targets.saturationAtLeast1000)}; ` +
      `at ${options.rate}/s for ${options.seconds} s zero failed: ${verdict(targets.fixedNoFailures)}, p99 setup < 20 ms: ${verdict(targets.fixedP99Under20ms)}` +
      (options.rate === 500 && options.seconds >= 60 ? '' : ' (the issue says 500/s for 60 s)'),
  );
  const summary = (t: TargetResults | undefined): object | undefined =>
    t && { description: t.description, fixed: t.fixed && compact(t.fixed), saturation: t.saturation && compact(t.saturation), probes: t.probes.map(compact) };
  console.log(
    JSON.stringify({
      bench: 'sip-cps', node: process.version, cores: CORES, nice: options.nice, app: options.app, workers: options.workers, rate: options.rate, seconds: options.seconds,
      saturationSeconds: options.saturationSeconds, warmupSeconds: options.warmupSeconds, timeoutMs: options.timeoutMs, holdMs: options.holdMs,
      onecc: summary(onecc), kamailio: summary(kamailio), ratios, targets,
    }),
  );
  if (options.sutCpuProf) console.log(`onecc CPU profile(s) in ${options.sutCpuProf}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`sip-cps: ${err instanceof Error ? err.stack : String(err)}\n`);
    killAll();
    process.exit(1);
  },
);
