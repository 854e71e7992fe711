/**
 * Agent feed fan-out (see bench/README.md): 2,000 agents and 50 supervisors connected to one onecc node's /agent;
 * the ACD in the system-under-test process (sut.ts) produces offers, assignments, completions and state changes;
 * every client stamps each event's arrival against the event's `at` (when it happened in the ACD).
 *
 *   npm run build && node dist/bench/agent-feed/run.js [--agents 2000] [--supervisors 50] [--rate 200]
 *                                                      [--seconds 30] [--handle-ms 20000] [--flips 50] [--store memory|redis]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

import { SUPERVISOR_KEY, type SutCommand, type SutMessage, type SutProbe, type SutReady, type SutSetup } from './protocol';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1] ?? '';
}
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
function positive(name: string, fallback: number): number {
  const value = Number(arg(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) fail(`--${name} needs a positive number`);
  return value;
}

if (process.argv.includes('--help')) {
  process.stdout.write('options: --agents 2000 --supervisors 50 --rate 200 (chat tasks/s) --seconds 30 --handle-ms 20000 --flips 50 (state flips/s) --store memory|redis\n');
  process.exit(0);
}
const AGENTS = Math.round(positive('agents', 2000));
const SUPERVISORS = Math.round(positive('supervisors', 50));
const RATE = positive('rate', 200);
const SECONDS = positive('seconds', 30);
const HANDLE_MS = positive('handle-ms', 20_000);
const FLIPS = positive('flips', 50);
const STORE = arg('store', 'memory');
if (STORE !== 'memory' && STORE !== 'redis') fail('--store is memory or redis');
const QUEUES = 20;
const CONNECT_BATCH = 100;
const WARMUP_MS = 3000;
const PROGRESS_MS = 5000;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Latencies in 10 µs buckets up to 5 s (and the rest in the last): inserting and reading quantiles cost nothing that
 * grows with the run, so the client's own bookkeeping never stalls the sockets it reads (sorting millions did).
 */
class LatencyHistogram {
  static readonly BUCKET_MS = 0.01;
  readonly counts = new Uint32Array(500_000);
  total = 0;
  max = 0;

  add(ms: number): void {
    this.counts[Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)))]!++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  /** The upper edge of the bucket holding the q-quantile over all the histograms given. */
  static quantile(q: number, ...histograms: LatencyHistogram[]): number {
    const total = histograms.reduce((n, h) => n + h.total, 0);
    if (total === 0) return NaN;
    const rank = q * total;
    let seen = 0;
    for (let i = 0; i < histograms[0]!.counts.length; i++) {
      for (const h of histograms) seen += h.counts[i]!;
      if (seen > rank) return Math.min((i + 1) * LatencyHistogram.BUCKET_MS, Math.max(...histograms.map((h) => h.max)));
    }
    return Math.max(...histograms.map((h) => h.max));
  }
}

/** Agents' events but offers; offers (their data is built by a lookup first, eventAfter); supervisors' events. */
const KINDS = ['agent', 'offer', 'supervisor'] as const;
type Kind = (typeof KINDS)[number];
/** A latency over the whole measured window, and since the last progress line. */
class Measure {
  readonly whole = new LatencyHistogram();
  readonly windowed = new LatencyHistogram();
  add(ms: number): void {
    this.whole.add(ms);
    this.windowed.add(ms);
  }
}
const byKind = () => ({ agent: new Measure(), offer: new Measure(), supervisor: new Measure() });
/** The engine emitting the event → the client reading it: the feed's fan-out. */
const fanOut = byKind();
/** The event's `at` (when the engine drafted the change) → the client reading it: the store's commit as well. */
const fromChange = byKind();
/** `at` → emitted, once per change: the commit (a promise turn on the MemoryStore, a round trip on Redis). */
const commit = new Measure();
let measuring = false;

/** Emit times by `at` as the frames spell it (kept 10 s), and arrivals still waiting for theirs (kind, time pairs). */
const emittedAt = new Map<string, number>();
const waitingForEmit = new Map<string, { since: number; arrivals: number[] }>();
let unmatched = 0;

function arrived(kind: Kind, at: string, arrival: number): void {
  if (!measuring) return;
  fromChange[kind].add(arrival - Number(at));
  const emitted = emittedAt.get(at);
  if (emitted !== undefined) return fanOut[kind].add(arrival - emitted);
  // The frame beat the SUT's 100 ms report of its emit time.
  let waiting = waitingForEmit.get(at);
  if (waiting === undefined) waitingForEmit.set(at, (waiting = { since: arrival, arrivals: [] }));
  waiting.arrivals.push(KINDS.indexOf(kind), arrival);
}

function onEmitted(pairs: readonly number[]): void {
  for (let i = 0; i < pairs.length; i += 2) {
    const at = String(pairs[i]);
    const emitted = pairs[i + 1]!;
    // One change's events share their `at`; the first is emitted first.
    if (emittedAt.has(at)) continue;
    emittedAt.set(at, emitted);
    if (measuring) commit.add(emitted - pairs[i]!);
    const waiting = waitingForEmit.get(at);
    if (waiting === undefined) continue;
    waitingForEmit.delete(at);
    for (let j = 0; j < waiting.arrivals.length; j += 2) fanOut[KINDS[waiting.arrivals[j]!]!].add(waiting.arrivals[j + 1]! - emitted);
  }
  const horizon = now() - 10_000;
  for (const [at, emitted] of emittedAt) {
    if (emitted > horizon) break;
    emittedAt.delete(at);
  }
  for (const [at, waiting] of waitingForEmit) {
    if (waiting.since > horizon) break;
    unmatched += waiting.arrivals.length / 2;
    waitingForEmit.delete(at);
  }
}

// ---- the SUT, and cleanup: it and its redis-server die with us, and the temporary directory goes ---------------

const dir = mkdtempSync(path.join(tmpdir(), 'onecc-bench-feed-'));
const sockets: WebSocket[] = [];
let stopping = false;
const setup: SutSetup = { agents: AGENTS, queues: QUEUES, store: STORE, dir };
const sut: ChildProcess = fork(path.join(__dirname, 'sut.js'), [JSON.stringify(setup)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
sut.on('exit', (code, signal) => {
  if (stopping) return;
  process.stderr.write(`bench/agent-feed: the SUT exited (${signal ?? code}) during the run\n`);
  process.exit(1);
});
sut.on('message', (m: SutMessage) => {
  if (m.type === 'emitted') onEmitted(m.pairs);
});

/** Last resort, synchronous: the SUT, any redis-server it left (found by its working directory, ours), the directory. */
function cleanupNow(): void {
  for (const ws of sockets) ws.terminate();
  if (sut.exitCode === null && sut.signalCode === null) sut.kill('SIGKILL');
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      // redis-server rewrites its command line, but runs in its --dir.
      if (readlinkSync(`/proc/${pid}/cwd`) === dir) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanupNow);

/** CPU seconds of the redis-server the SUT started (with --store redis; it runs in our directory). */
function redisCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`) !== dir) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return total;
}

/** Lets the SUT close the feed and stop redis-server itself (bounded), then exits; the exit handler does the rest. */
async function finish(code: number): Promise<never> {
  stopping = true;
  for (const ws of sockets) ws.terminate();
  if (sut.exitCode === null && sut.signalCode === null) {
    const exited = new Promise<void>((resolve) => sut.once('exit', () => resolve()));
    sut.kill('SIGTERM');
    await Promise.race([exited, sleep(8000)]);
  }
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(130));

function next<T extends SutMessage['type']>(type: T, ms = 60_000): Promise<Extract<SutMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: SutMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      sut.off('message', onMessage);
      resolve(m as Extract<SutMessage, { type: T }>);
    };
    const timer = setTimeout(() => {
      sut.off('message', onMessage);
      reject(new Error(`the SUT sent no ${type} within ${ms} ms`));
    }, ms);
    sut.on('message', onMessage);
  });
}
function ask<T extends SutMessage['type']>(command: SutCommand, reply: T): Promise<Extract<SutMessage, { type: T }>> {
  const answer = next(reply, 15_000);
  sut.send(command);
  return answer;
}

// ---- the clients ----------------------------------------------------------------------------------------------

let closedEarly = 0;
let rejectedAccepts = 0;

/** Opens a connection, authenticates, and (agents) logs in ready; from then on accepts offers and times every event. */
function connect(port: number, role: 'agent' | 'supervisor', credential: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`);
    sockets.push(ws);
    const timer = setTimeout(() => reject(new Error(`${role} connection: not ${role === 'agent' ? 'logged in' : 'authenticated'} within 30 s`)), 30_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, type: 'auth', ...(role === 'agent' ? { token: credential } : { apiKey: credential }) })));
    ws.on('message', (data) => {
      const arrival = now();
      const text = data.toString();
      // Events are most of the traffic (50,000/s and more): read `at` from the front of the frame without parsing it
      // all, so that the client keeps up and its own queueing does not count as the feed's latency. The frame's
      // fields come in the documented order (v, type, seq, event, at, data), so the first "at" is the event's.
      if (text.startsWith('{"v":1,"type":"event"') && !text.includes('"event":"offer"')) {
        if (!measuring || text.includes('"event":"queue-snapshot"')) return;
        const at = /"at":([0-9.]+)/.exec(text);
        if (at) arrived(role, at[1]!, arrival);
        return;
      }
      const frame = JSON.parse(text) as { type: string; event?: string; at?: number; id?: string; data?: { task?: { id: string } } };
      if (frame.type === 'welcome') {
        if (role === 'agent') ws.send(JSON.stringify({ v: 1, type: 'login', ready: true, id: 'login' }));
        else done();
      } else if (frame.id === 'login') {
        if (frame.type === 'result') done();
        else reject(new Error(`login refused: ${text}`));
      } else if (frame.type === 'error' && frame.id?.startsWith('accept')) {
        rejectedAccepts++;
      } else if (frame.event === 'offer') {
        arrived('offer', String(frame.at), arrival);
        ws.send(JSON.stringify({ v: 1, type: 'accept', taskId: frame.data!.task!.id, id: `accept ${frame.data!.task!.id}` }));
      }
    });
    ws.on('close', (code) => {
      if (!stopping && code !== 1000 && code !== 1001) closedEarly++;
      reject(new Error(`${role} connection closed (${code})`));
    });
    ws.on('error', reject);
  });
}

// ---- the run --------------------------------------------------------------------------------------------------

const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const cpuSeconds = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user + b.system - a.user - a.system) / 1e6;

async function main(): Promise<void> {
  const ready = (await next('ready')) as SutReady;
  const before = await ask({ type: 'probe', gc: true }, 'probe');
  process.stdout.write(`SUT up on 127.0.0.1:${ready.port} (${STORE} store, ${QUEUES} queues); connecting ${AGENTS} agents and ${SUPERVISORS} supervisors\n`);
  const connectStart = Date.now();
  for (let i = 0; i < AGENTS; i += CONNECT_BATCH) {
    await Promise.all(ready.tokens.slice(i, i + CONNECT_BATCH).map((token) => connect(ready.port, 'agent', token)));
  }
  await Promise.all(Array.from({ length: SUPERVISORS }, () => connect(ready.port, 'supervisor', SUPERVISOR_KEY)));
  const connected = await ask({ type: 'probe', gc: true }, 'probe');
  if (connected.connections !== AGENTS + SUPERVISORS) throw new Error(`the SUT holds ${connected.connections} connections, not ${AGENTS + SUPERVISORS}`);
  const rssPerConnection = (connected.rss - before.rss) / connected.connections;
  const heapPerConnection = (connected.heapUsed - before.heapUsed) / connected.connections;
  process.stdout.write(
    `${connected.connections} connections (all logged in) in ${((Date.now() - connectStart) / 1000).toFixed(1)} s: SUT RSS ${mb(before.rss)} → ${mb(connected.rss)} MB, heap ${mb(before.heapUsed)} → ${mb(connected.heapUsed)} MB after a full GC: ` +
      `${(rssPerConnection / 1024).toFixed(1)} KiB RSS and ${(heapPerConnection / 1024).toFixed(1)} KiB heap per connection\n`,
  );

  sut.send({ type: 'go', options: { rate: RATE, handleMs: HANDLE_MS, flipsPerSecond: FLIPS } } satisfies SutCommand);
  await sleep(WARMUP_MS); // offers and accepts reach a steady state
  const start = await ask({ type: 'probe', gc: false }, 'probe');
  const clientCpuStart = process.cpuUsage();
  const redisCpuStart = redisCpuSeconds();
  const clientLoop = monitorEventLoopDelay({ resolution: 1 });
  clientLoop.enable();
  measuring = true;
  const started = Date.now();
  let last: SutProbe = start;
  let lastAt = started;
  let sutLoopMaxMs = 0;
  const measures = () => [...KINDS.map((k) => fanOut[k]), ...KINDS.map((k) => fromChange[k]), commit];
  while (Date.now() - started < SECONDS * 1000 - 50) {
    await sleep(Math.min(PROGRESS_MS, SECONDS * 1000 - (Date.now() - started)));
    const probe = await ask({ type: 'probe', gc: false }, 'probe');
    const seconds = (Date.now() - lastAt) / 1000;
    sutLoopMaxMs = Math.max(sutLoopMaxMs, probe.loopMaxMs);
    const rates = KINDS.map((k) => `${k}s ${Math.round(fromChange[k].windowed.total / seconds)}`);
    const latencies = KINDS.map((k) => {
      const h = fanOut[k].windowed;
      return `${k}s ${ms(LatencyHistogram.quantile(0.5, h))}/${ms(LatencyHistogram.quantile(0.99, h))}/${ms(h.max)}`;
    });
    process.stdout.write(
      `  ${Math.round((Date.now() - started) / 1000)} s: delivered/s ${rates.join(', ')} | fan-out p50/p99/max ms ${latencies.join(', ')} | commit p99 ${ms(LatencyHistogram.quantile(0.99, commit.windowed))} ms | ` +
        `${probe.connections} connections, SUT ${(cpuSeconds(last.cpu, probe.cpu) / seconds).toFixed(2)} cores, RSS ${mb(probe.rss)} MB, loop max ${probe.loopMaxMs.toFixed(0)} ms | ${probe.enqueued - last.enqueued} tasks in, ${probe.waiting} not accepted\n`,
    );
    for (const m of measures()) m.windowed.reset();
    last = probe;
    lastAt = Date.now();
  }
  measuring = false;
  const seconds = (Date.now() - started) / 1000;
  const clientCpu = cpuSeconds(clientCpuStart, process.cpuUsage()) / seconds;
  const redisCpu = (redisCpuSeconds() - redisCpuStart) / seconds;
  clientLoop.disable();
  await ask({ type: 'stop' }, 'stopped');
  await sleep(300); // the emit times of the last frames
  unmatched += [...waitingForEmit.values()].reduce((n, w) => n + w.arrivals.length / 2, 0);
  const sutCpu = cpuSeconds(start.cpu, last.cpu) / ((lastAt - started) / 1000);

  const result: Record<string, unknown> = { agents: AGENTS, supervisors: SUPERVISORS, store: STORE, rate: RATE, handleMs: HANDLE_MS, flips: FLIPS, seconds: +seconds.toFixed(1), connections: connected.connections };
  const quantiles = (h: LatencyHistogram) => ({ p50Ms: +ms(LatencyHistogram.quantile(0.5, h)), p99Ms: +ms(LatencyHistogram.quantile(0.99, h)), p999Ms: +ms(LatencyHistogram.quantile(0.999, h)), maxMs: +ms(h.max) });
  const cells = (q: ReturnType<typeof quantiles>) => [q.p50Ms, q.p99Ms, q.p999Ms, q.maxMs].map((v) => ms(v).padStart(7)).join(' ');
  process.stdout.write(`\n              delivered/s   fan-out: emitted → read (ms)        from the change: at → read (ms)\n`);
  process.stdout.write(`                                p50     p99    p999     max       p50     p99    p999     max\n`);
  for (const kind of KINDS) {
    const row = { perSecond: Math.round(fromChange[kind].whole.total / seconds), fanOut: quantiles(fanOut[kind].whole), fromChange: quantiles(fromChange[kind].whole) };
    process.stdout.write(`${`${kind}s`.padEnd(13)} ${String(row.perSecond).padStart(11)}   ${cells(row.fanOut)}   ${cells(row.fromChange)}\n`);
    result[kind] = row;
  }
  const commitRow = quantiles(commit.whole);
  process.stdout.write(`${'commit'.padEnd(13)} ${String(Math.round(commit.whole.total / seconds)).padStart(11)}   ${' '.repeat(31)}   ${cells(commitRow)}  (changes: at → emitted)\n`);
  const worstP99 = Math.max(...KINDS.map((k) => LatencyHistogram.quantile(0.99, fanOut[k].whole)).filter((v) => !Number.isNaN(v)));
  const met = worstP99 < 10;
  Object.assign(result, {
    commit: { perSecond: Math.round(commit.whole.total / seconds), ...commitRow },
    worstFanOutP99Ms: +ms(worstP99),
    targetMet: met,
    sutCpuCores: +sutCpu.toFixed(2),
    redisCpuCores: +redisCpu.toFixed(2),
    clientCpuCores: +clientCpu.toFixed(2),
    sutLoopMaxMs: +sutLoopMaxMs.toFixed(1),
    clientLoopP99Ms: +(clientLoop.percentile(99) / 1e6).toFixed(1),
    clientLoopMaxMs: +(clientLoop.max / 1e6).toFixed(1),
    rssPerConnectionKiB: +(rssPerConnection / 1024).toFixed(1),
    heapPerConnectionKiB: +(heapPerConnection / 1024).toFixed(1),
    sutRssMB: mb(last.rss),
    tasksEnqueued: last.enqueued - start.enqueued,
    tasksCompleted: last.completed - start.completed,
    tasksNotAcceptedAtEnd: last.waiting,
    rejectedAccepts,
    unmatchedFrames: unmatched,
    connectionsClosedEarly: closedEarly,
  });
  process.stdout.write(
    `\nworst fan-out p99 ${ms(worstP99)} ms (target < 10 ms: ${met ? 'met' : 'NOT met'}); CPU (cores): SUT ${sutCpu.toFixed(2)}${STORE === 'redis' ? `, redis-server ${redisCpu.toFixed(2)}` : ''}, clients ${clientCpu.toFixed(2)}; ` +
      `event loop max: SUT ${sutLoopMaxMs.toFixed(0)} ms, clients ${result.clientLoopMaxMs} ms; SUT RSS ${result.sutRssMB} MB\n` +
      `${result.tasksEnqueued} tasks in, ${result.tasksCompleted} completed, ${last.waiting} not accepted at the end; ${rejectedAccepts} accepts refused; ${unmatched} frames without an emit time; ${closedEarly} connections closed early\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await finish(closedEarly > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent-feed failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void finish(1);
});
