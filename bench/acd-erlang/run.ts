/**
 * The ACD engine in simulated time against Erlang C and Erlang A (see bench/README.md).
 *
 *   npm run build && node dist/bench/acd-erlang/run.js [--store redis|memory] [--budget-seconds 540] [--cases c10-90]
 *
 * Each case: Poisson arrivals, exponential handle times (and patience), one queue, N agents, every routing decision
 * made by AcdEngine on a SimulatedClock. Prints the simulated service level, ASA and abandonment with their 95 %
 * confidence intervals (batch means) beside the formulas computed here.
 */
import { fork } from 'node:child_process';
import { erlangA, type ErlangResult } from '../../src/acd/estimate/index';
import { MemoryStore, RedisStore, type AcdStore } from '../../src/acd/index';
import { silentLogger } from '../../src/lib/index';
import { engineUnderTest } from './engine';
import { startRedis, type RedisServer } from './redis';
import { runCase, type Case, type RunResult } from './simulation';

const CASES: Case[] = [
  { name: 'c3-67', agents: 3, callsPerHour: 40, ahtSeconds: 180, patienceSeconds: Infinity, slSeconds: 20 },
  { name: 'c10-90', agents: 10, callsPerHour: 180, ahtSeconds: 180, patienceSeconds: Infinity, slSeconds: 20 },
  { name: 'c50-90', agents: 50, callsPerHour: 900, ahtSeconds: 180, patienceSeconds: Infinity, slSeconds: 20 },
  { name: 'c100-92', agents: 100, callsPerHour: 1840, ahtSeconds: 180, patienceSeconds: Infinity, slSeconds: 20 },
  { name: 'a10-95', agents: 10, callsPerHour: 190, ahtSeconds: 180, patienceSeconds: 120, slSeconds: 20 },
  { name: 'a20-90', agents: 20, callsPerHour: 360, ahtSeconds: 180, patienceSeconds: 60, slSeconds: 20 },
  { name: 'a50-105', agents: 50, callsPerHour: 1050, ahtSeconds: 180, patienceSeconds: 180, slSeconds: 20 },
  { name: 'a100-100', agents: 100, callsPerHour: 2000, ahtSeconds: 180, patienceSeconds: 300, slSeconds: 20 },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function numberArg(name: string, fallback: number): number {
  const text = arg(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0`);
  return value;
}

if (process.argv.includes('--help')) {
  console.log(`Options:
  --store S           redis (default): a redis-server started for the run, RedisStore as in production;
                      memory: MemoryStore, the same engine and routing without the Redis round trips
  --budget-seconds T  wall-clock time for the whole run (default 540; 0: no limit): each case gets its share and
                      stops at the end of it with the batches done so far, whatever the half-width
  --target-pp P       stop a case once every SL and abandonment 95 % half-width is below P points (default 0.5)
  --max-calls N       measured calls per case at most (default 8e6)
  --jobs J            cases run at once, one process each (default 2)
  --cases a,b,...     cases to run (default all): ${CASES.map((c) => c.name).join(', ')}
  --warmup N          calls simulated before measuring, from an empty queue (default 10000)
  --block N           calls per block; 20 batches of whole blocks make the interval (default 1000)
  --seed N            seed of the first case; case i uses seed + i (default 1)
  --redis-server P    redis-server binary (default: redis-server on the PATH)`);
  process.exit(0);
}

const STORE = arg('store') ?? 'redis';
if (STORE !== 'redis' && STORE !== 'memory') throw new Error('--store is redis or memory');
const TARGET_PP = numberArg('target-pp', 0.5);
const MAX_CALLS = Math.floor(numberArg('max-calls', 8e6));
const WARMUP = Math.floor(numberArg('warmup', 10_000));
const BLOCK = Math.floor(numberArg('block', 1000));
const SEED = Math.floor(numberArg('seed', 1));
const BUDGET_SECONDS = numberArg('budget-seconds', 540);
const JOBS = Math.max(1, Math.floor(numberArg('jobs', 2)));

const pct = (x: number): string => (100 * x).toFixed(2);
const signed = (x: number, digits = 2): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
const pad = (s: string | number, n: number): string => String(s).padStart(n);

function formula(c: Case): ErlangResult {
  return erlangA({
    arrivalRate: c.callsPerHour / 3600, meanHandleTime: c.ahtSeconds, agents: c.agents,
    meanPatience: c.patienceSeconds, slThreshold: c.slSeconds,
  });
}

/** A fresh store per case: its own key tag in the bench's Redis, so no state carries over. */
function storeFor(redisPort: number | undefined, c: Case): AcdStore {
  if (redisPort === undefined) return new MemoryStore(0);
  return new RedisStore({
    redis: { host: '127.0.0.1', port: redisPort },
    keyTag: `bench-${c.name}-${process.pid}`,
    // Nothing reads ended tasks or old changes here; keep Redis's memory flat over millions of calls.
    logLength: 10_000,
    endedTaskRetentionSeconds: 1,
    logger: silentLogger(),
  });
}

interface WorkerResult {
  result: RunResult;
  wallSeconds: number;
}

/** One case, in a process of its own (--worker NAME): runs it and sends the result to the parent. */
async function worker(name: string): Promise<void> {
  const c = CASES.find((k) => k.name === name)!;
  const portText = arg('redis-port');
  const acd = await engineUnderTest(c, storeFor(portText === undefined ? undefined : Number(portText), c));
  const t0 = Date.now();
  const seconds = numberArg('seconds', 0);
  const result = await runCase(acd, c, {
    seed: SEED, warmupCalls: WARMUP, blockCalls: BLOCK, minCalls: 40 * BLOCK, maxCalls: MAX_CALLS,
    targetHalfWidth: TARGET_PP / 100, deadline: seconds > 0 ? t0 + seconds * 1000 : Infinity,
    progress: (calls, hw) => process.stderr.write(`  ${c.name}: ${calls} calls, widest half-width ${pct(hw)} points; extending\n`),
  });
  await acd.close();
  const message: WorkerResult = { result, wallSeconds: (Date.now() - t0) / 1000 };
  await new Promise<void>((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));
}

function runWorker(c: Case, seed: number, redisPort: number | undefined, seconds: number): Promise<WorkerResult> {
  const args = [
    '--worker', c.name, '--seed', String(seed), '--seconds', String(seconds), '--target-pp', String(TARGET_PP),
    '--max-calls', String(MAX_CALLS), '--warmup', String(WARMUP), '--block', String(BLOCK),
    ...(redisPort === undefined ? [] : ['--redis-port', String(redisPort)]),
  ];
  return new Promise((resolve, reject) => {
    const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let message: WorkerResult | undefined;
    child.on('message', (m) => (message = m as WorkerResult));
    child.on('error', reject);
    child.on('exit', (code) => (message ? resolve(message) : reject(new Error(`case ${c.name}: worker exited with ${code}`))));
  });
}

interface Row {
  case: Case;
  erlang: ErlangResult;
  result: RunResult;
  wallSeconds: number;
  /** Largest |simulated − formula| among SL, SL of answered calls and abandonment, in points. */
  worstPp: number;
}

async function coordinator(): Promise<void> {
  const wanted = arg('cases')?.split(',');
  const unknown = wanted?.filter((name) => !CASES.some((c) => c.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown case(s) ${unknown.join(', ')}; known: ${CASES.map((c) => c.name).join(', ')}`);
  const selected = wanted ? CASES.filter((c) => wanted.includes(c.name)) : CASES;
  const redis: RedisServer | undefined = STORE === 'redis' ? await startRedis(arg('redis-server')) : undefined;
  try {
    await runAll(selected, redis);
  } finally {
    await redis?.stop();
  }
}

async function runAll(selected: Case[], redis: RedisServer | undefined): Promise<void> {
  // Each case's share of the budget: cases run JOBS at a time.
  const perCase = BUDGET_SECONDS > 0 ? (BUDGET_SECONDS * Math.min(JOBS, selected.length)) / selected.length : 0;
  console.log(`acd-erlang: AcdEngine (${redis ? 'RedisStore on a redis-server started for the run' : 'MemoryStore'}) on a SimulatedClock, ${JOBS} case(s) at a time.`);
  console.log(`95 % intervals by batch means: 20 batches of the calls after ${WARMUP} warm-up calls. A case stops once every SL`);
  console.log(`and abandonment half-width is under ${TARGET_PP} points, at ${MAX_CALLS} calls, or ${perCase > 0 ? `after ${perCase.toFixed(0)} s` : 'never on time'}.`);
  console.log('Formulas: Erlang C (patience ∞), Erlang A otherwise; SL threshold 20 s; SL = answered within 20 s / all calls.\n');

  const started = Date.now();
  const results = new Map<string, WorkerResult>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < selected.length) {
      const i = next++;
      const c = selected[i]!;
      results.set(c.name, await runWorker(c, SEED + CASES.indexOf(c), redis?.port, perCase));
    }
  };
  await Promise.all(Array.from({ length: JOBS }, lane));
  const totalSeconds = (Date.now() - started) / 1000;

  const rows: Row[] = selected.map((c) => {
    const { result, wallSeconds } = results.get(c.name)!;
    const erlang = formula(c);
    const f = result.figures;
    const worstPp = 100 * Math.max(
      Math.abs(f.serviceLevel.value - erlang.serviceLevel),
      Math.abs(f.serviceLevelAnswered.value - erlang.serviceLevelAnswered),
      Math.abs(f.pAbandon.value - erlang.pAbandon),
    );
    return { case: c, erlang, result, wallSeconds, worstPp };
  });

  console.log(
    `${'case'.padEnd(9)} ${pad('N', 3)} ${pad('calls/h', 7)} ${pad('AHT', 4)} ${pad('pat.', 4)} ${pad('load', 6)}` +
    ` ${pad('calls', 9)} | ${pad('SL sim ± 95%', 14)} ${pad('formula', 7)} ${pad('Δ', 6)}` +
    ` | ${pad('ASA sim ± 95%', 16)} ${pad('formula', 8)}` +
    ` | ${pad('aband. ± 95%', 13)} ${pad('formula', 7)} | ${pad('SL answ. ± 95%', 14)} ${pad('formula', 7)} | ${pad('wall s', 6)} stop`,
  );
  const withCi = (e: { value: number; halfWidth: number }) => `${pct(e.value)} ± ${pct(e.halfWidth)}`;
  for (const { case: c, erlang, result, wallSeconds } of rows) {
    const f = result.figures;
    const abandons = c.patienceSeconds < Infinity;
    console.log(
      `${c.name.padEnd(9)} ${pad(c.agents, 3)} ${pad(c.callsPerHour, 7)} ${pad(c.ahtSeconds, 4)} ${pad(abandons ? c.patienceSeconds : '∞', 4)}` +
      ` ${pad(erlang.load.toFixed(2), 6)} ${pad(f.calls, 9)} | ${pad(withCi(f.serviceLevel), 14)} ${pad(pct(erlang.serviceLevel), 7)}` +
      ` ${pad(signed(100 * (f.serviceLevel.value - erlang.serviceLevel)), 6)}` +
      ` | ${pad(`${f.asa.value.toFixed(2)} ± ${f.asa.halfWidth.toFixed(2)} s`, 16)} ${pad(`${erlang.asa.toFixed(2)} s`, 8)}` +
      ` | ${pad(abandons ? withCi(f.pAbandon) : '—', 13)} ${pad(abandons ? pct(erlang.pAbandon) : '—', 7)}` +
      ` | ${pad(abandons ? withCi(f.serviceLevelAnswered) : '(= SL)', 14)} ${pad(abandons ? pct(erlang.serviceLevelAnswered) : '', 7)}` +
      ` | ${pad(wallSeconds.toFixed(1), 6)} ${result.stoppedBy}`,
    );
  }

  const calls = rows.reduce((a, r) => a + r.result.figures.calls, 0);
  const events = rows.reduce((a, r) => a + r.result.events, 0);
  const caseSeconds = rows.reduce((a, r) => a + r.wallSeconds, 0);
  console.log(`\n${calls} measured calls, ${events} simulated events (warm-up included); ${totalSeconds.toFixed(1)} s in all, ${Math.round(events / caseSeconds)} events/s per process`);

  console.log('\nThe engine\'s wait estimate (Erlang A from live state, made at enqueue) against the actual wait of answered calls:');
  console.log(`${'case'.padEnd(9)} ${pad('answered', 9)} ${pad('|err| p50', 10)} ${pad('|err| p90', 10)} ${pad('median err', 10)} ${pad('mean err', 9)} ${pad('ASA', 7)}`);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  for (const { case: c, result } of rows) {
    const e = result.estimateError;
    console.log(
      `${c.name.padEnd(9)} ${pad(e.count, 9)} ${pad(s(e.absErrorP50Ms), 10)} ${pad(s(e.absErrorP90Ms), 10)} ${pad(s(e.errorP50Ms), 10)}` +
      ` ${pad(s(e.histogram.sumMs / e.histogram.count), 9)} ${pad(`${result.figures.asa.value.toFixed(1)} s`, 7)}`,
    );
  }

  const halfWidthPp = (r: Row) => 100 * Math.max(r.result.figures.serviceLevel.halfWidth, r.result.figures.serviceLevelAnswered.halfWidth, r.result.figures.pAbandon.halfWidth);
  const widest = rows.reduce((a, r) => (halfWidthPp(r) > halfWidthPp(a) ? r : a));
  const worst = rows.reduce((a, r) => (r.worstPp > a.worstPp ? r : a));
  // A difference beyond its own interval is a discrepancy the run can see; within it, the run cannot tell.
  const outside = rows.flatMap((r) => {
    const f = r.result.figures;
    const e = r.erlang;
    return ([['SL', f.serviceLevel, e.serviceLevel], ['SL answered', f.serviceLevelAnswered, e.serviceLevelAnswered], ['abandonment', f.pAbandon, e.pAbandon]] as const)
      .filter(([, sim, want]) => Math.abs(sim.value - want) > sim.halfWidth)
      .map(([what, sim, want]) => `${r.case.name} ${what} ${signed(100 * (sim.value - want))} ± ${pct(sim.halfWidth)}`);
  });
  console.log(`\nWithin 2 points of the formula (SL, SL of answered calls, abandonment), every case: ${worst.worstPp <= 2 ? 'yes' : 'NO'} (largest difference ${worst.worstPp.toFixed(2)} points, ${worst.case.name}).`);
  console.log(`95 % half-width under ${TARGET_PP} points, every case: ${halfWidthPp(widest) <= TARGET_PP ? 'yes' : 'NO'} (widest ${halfWidthPp(widest).toFixed(2)} points, ${widest.case.name}).`);
  console.log(`Differences larger than their 95 % half-width (expected about 1 in 20 by chance): ${outside.length === 0 ? 'none' : outside.join('; ')}.`);
  console.log(JSON.stringify({
    store: STORE, totalSeconds, calls, events,
    cases: rows.map((r) => ({
      name: r.case.name, agents: r.case.agents, callsPerHour: r.case.callsPerHour, ahtSeconds: r.case.ahtSeconds,
      patienceSeconds: r.case.patienceSeconds === Infinity ? null : r.case.patienceSeconds, slSeconds: r.case.slSeconds,
      calls: r.result.figures.calls, wallSeconds: r.wallSeconds, stoppedBy: r.result.stoppedBy, simulated: r.result.figures,
      formula: { serviceLevel: r.erlang.serviceLevel, serviceLevelAnswered: r.erlang.serviceLevelAnswered, asa: r.erlang.asa, pAbandon: r.erlang.pAbandon },
      estimateError: { count: r.result.estimateError.count, absP50Ms: r.result.estimateError.absErrorP50Ms, absP90Ms: r.result.estimateError.absErrorP90Ms, medianMs: r.result.estimateError.errorP50Ms },
    })),
  }));
}

const workerCase = arg('worker');
(workerCase === undefined ? coordinator() : worker(workerCase)).catch((err) => {
  console.error(err);
  process.exit(1);
});
