/**
 * Inbound voice load test (see bench/README.md, "inbound"): simulated trunk and agents' phones (generator.ts, in this
 * process) drive calls through IVR → queue → agent on onecc as it runs (sut.ts, a forked process).
 *
 *   npm run build && node dist/bench/inbound/run.js [--rate 20] [--seconds 300] [--agents 230] ...
 *
 * Prints a progress line every 10 s, then the figures and a final JSON line; exits 1 if any call was lost or
 * anything was left open on onecc's side.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { cpuMs, machineCpuMs, processTree } from '../sip-cps/proc-stats';
import { LoadGenerator, now, type CallRecord } from './generator';
import type { SutCommand, SutCounters, SutMessage, SutSetup } from './protocol';

const USAGE = `usage: node dist/bench/inbound/run.js [options]
  --rate N              new calls per second from the trunk (default 20)
  --seconds N           how long calls are placed (default 300); then every call is let finish
  --agents N            simulated agents, each with one registered phone (default 230)
  --talk-min S          talk time, uniform between these, seconds (default 4 .. 10)
  --talk-max S
  --answer-min S        a phone rings this long (180 at once) before its 200, uniform (default 0.5 .. 2)
  --answer-max S
  --agent-hangup N      share of calls the agent ends, the caller ends the rest (default 0.5)
  --wrap-up S           ACD wrap-up after each call, whole seconds (default 1)
  --ring-timeout S      onecc's voice.ringTimeoutSeconds before RONA (default 8)
  --max-wait S          a caller with no agent this long after onecc answered hangs up: lost (default 60)
  --no-rtp              send no RTP (default: PCMU every 20 ms from every answered caller and phone)
  --rtp-ports MIN-MAX   rtpengine's port range (default 40000-43999: 4 ports per bridged call)
  --log-level LEVEL     onecc's log level (default warn)
`;

interface Options {
  rate: number;
  seconds: number;
  agents: number;
  talkMin: number;
  talkMax: number;
  answerMin: number;
  answerMax: number;
  agentHangup: number;
  wrapUp: number;
  ringTimeout: number;
  maxWait: number;
  rtp: boolean;
  rtpPortMin: number;
  rtpPortMax: number;
  logLevel: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rate: 20, seconds: 300, agents: 230, talkMin: 4, talkMax: 10, answerMin: 0.5, answerMax: 2, agentHangup: 0.5, wrapUp: 1,
    ringTimeout: 8, maxWait: 60, rtp: true, rtpPortMin: 40000, rtpPortMax: 43999, logLevel: 'warn',
  };
  const numeric: Record<string, keyof Options> = {
    '--rate': 'rate', '--seconds': 'seconds', '--agents': 'agents', '--talk-min': 'talkMin', '--talk-max': 'talkMax',
    '--answer-min': 'answerMin', '--answer-max': 'answerMax', '--agent-hangup': 'agentHangup', '--wrap-up': 'wrapUp',
    '--ring-timeout': 'ringTimeout', '--max-wait': 'maxWait',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = numeric[arg];
    if (key) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) fail(`${arg} needs a number ≥ 0`);
      (o as unknown as Record<string, number>)[key] = value;
    } else if (arg === '--rtp-ports') {
      const m = /^(\d+)-(\d+)$/.exec(argv[++i] ?? '');
      if (!m) fail('--rtp-ports needs MIN-MAX');
      o.rtpPortMin = Number(m[1]);
      o.rtpPortMax = Number(m[2]);
    } else if (arg === '--no-rtp') o.rtp = false;
    else if (arg === '--log-level') o.logLevel = argv[++i] ?? fail('--log-level needs a level');
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else fail(`unknown argument: ${arg}`);
  }
  if (o.rate <= 0 || o.seconds <= 0 || o.agents < 1) fail('--rate, --seconds and --agents must be positive');
  if (o.talkMin > o.talkMax || o.answerMin > o.answerMax) fail('a -min is above its -max');
  if (o.answerMax >= o.ringTimeout) fail('--answer-max must be below --ring-timeout (or every call would RONA)');
  o.agents = Math.floor(o.agents);
  o.wrapUp = Math.round(o.wrapUp);
  return o;
}

function fail(message: string): never {
  process.stderr.write(`inbound: ${message}\n${USAGE}`);
  process.exit(2);
}

const options = parseOptions(process.argv.slice(2));
const DID = '7000';
const PROGRESS_MS = 10_000;

// ---- cleanup: the SUT and everything it started die with us, and the temporary directory goes -----------------

const dir = mkdtempSync(path.join(tmpdir(), 'onecc-bench-inbound-'));
let sut: ChildProcess | undefined;
/** Every process of the SUT's tree seen so far (rtpengine and redis-server run in process groups of their own). */
const sutProcesses = new Map<number, { comm: string; cpuMs: number; peakRssMb: number }>();
let generator: LoadGenerator | undefined;
/** Set once we end the SUT ourselves; before that its exit is a failure of the run. */
let stopping = false;

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

function cleanupNow(): void {
  generator?.close();
  generator = undefined;
  if (sut && sut.exitCode === null && sut.signalCode === null) sut.kill('SIGKILL');
  for (const [pid, { comm }] of sutProcesses) {
    // Only a process that still is what we saw (not a reused pid).
    if (commOf(pid) === comm) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

process.on('exit', cleanupNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`inbound: ${signal}, stopping\n`);
    stopping = true;
    sampleSutProcesses();
    // A clean stop closes rtpengine and redis-server; the exit handler kills whatever is left.
    void stopSut().finally(() => process.exit(130));
  });
}

/** Stops the SUT cleanly (it closes rtpengine and redis-server), then by force. */
async function stopSut(): Promise<void> {
  const child = sut;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the SUT ----------------------------------------------------------------------------------------------------

function startSut(setup: SutSetup): Promise<{ sipPort: number; httpPort: number }> {
  // The SUT's log goes to our stderr, so that stdout holds only the figures.
  // --expose-gc only for the heap figures before and after the run; onecc itself never calls gc().
  const child = fork(path.join(__dirname, 'sut.js'), [JSON.stringify(setup)], { stdio: ['ignore', 2, 2, 'ipc'], execArgv: ['--expose-gc'] });
  sut = child;
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`inbound: onecc exited (${signal ?? code}) during the run\n`);
      process.exit(1);
    }
  });
  return within(nextMessage('ready'), 60_000, 'onecc start').then((ready) => {
    sampleSutProcesses();
    return ready;
  });
}

function nextMessage<T extends SutMessage['type']>(type: T): Promise<Extract<SutMessage, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (message: SutMessage): void => {
      if (message.type !== type) return;
      sut?.off('message', listener);
      resolve(message as Extract<SutMessage, { type: T }>);
    };
    sut?.on('message', listener);
  });
}

function ask<T extends SutMessage['type']>(command: SutCommand, reply: T): Promise<Extract<SutMessage, { type: T }>> {
  const answer = nextMessage(reply);
  sut?.send(command);
  return within(answer, 15_000, `onecc's answer to ${command.type}`);
}

/** Samples the CPU and peak RSS of every process in the SUT's tree. */
function sampleSutProcesses(): void {
  if (sut?.pid === undefined) return;
  for (const pid of processTree([sut.pid])) {
    const comm = commOf(pid);
    if (comm === undefined) continue;
    const seen = sutProcesses.get(pid) ?? { comm, cpuMs: 0, peakRssMb: 0 };
    seen.cpuMs = cpuMs([pid]);
    try {
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (hwm) seen.peakRssMb = Math.max(seen.peakRssMb, Number(hwm[1]) / 1024);
    } catch {
      // Gone meanwhile: its last figures stay.
    }
    sutProcesses.set(pid, seen);
  }
}

type Group = 'onecc' | 'rtpengine' | 'redis' | 'other';

function groupOf(pid: number, comm: string): Group {
  if (pid === sut?.pid) return 'onecc';
  if (comm.startsWith('rtpengine')) return 'rtpengine';
  if (comm.startsWith('redis')) return 'redis';
  return 'other';
}

function byGroup(): Record<Group | 'generator', { cpuMs: number; peakRssMb: number }> {
  const out = { onecc: { cpuMs: 0, peakRssMb: 0 }, rtpengine: { cpuMs: 0, peakRssMb: 0 }, redis: { cpuMs: 0, peakRssMb: 0 }, other: { cpuMs: 0, peakRssMb: 0 } };
  for (const [pid, p] of sutProcesses) {
    const g = out[groupOf(pid, p.comm)];
    g.cpuMs += p.cpuMs;
    g.peakRssMb += p.peakRssMb;
  }
  const self = process.cpuUsage();
  return { ...out, generator: { cpuMs: (self.user + self.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 } };
}

// ---- figures ----------------------------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: r(percentile(sorted, 50)), p99: r(percentile(sorted, 99)), max: r(sorted.at(-1) ?? Number.NaN) };
}

const fmt = (s: { p50: number; p99: number; max: number }, unit = 'ms'): string => `p50 ${s.p50} ${unit}, p99 ${s.p99} ${unit}, max ${s.max} ${unit}`;

async function main(): Promise<void> {
  const runId = Date.now().toString(36);
  const agents = Array.from({ length: options.agents }, (_, i) => `agent${i + 1}`);
  process.stderr.write(`inbound: starting onecc (temp dir ${dir})\n`);
  const { sipPort } = await startSut({
    dir, did: DID, agents, ringTimeoutSeconds: options.ringTimeout, wrapUpSeconds: options.wrapUp,
    rtpPortMin: options.rtpPortMin, rtpPortMax: options.rtpPortMax, logLevel: options.logLevel,
  });
  const gen = new LoadGenerator({
    sipPort, did: DID, agents, runId,
    answerMinMs: options.answerMin * 1000, answerMaxMs: options.answerMax * 1000,
    talkMinMs: options.talkMin * 1000, talkMaxMs: options.talkMax * 1000,
    maxWaitMs: options.maxWait * 1000, agentHangupShare: options.agentHangup, rtp: options.rtp,
  });
  generator = gen;
  await gen.start();
  await gen.register(30_000);
  const login = await ask({ type: 'login' }, 'logged-in');
  if (login.missing.length > 0) throw new Error(`onecc has no registered phone for ${login.missing.length} agents: ${login.missing.slice(0, 5).join(', ')}`);
  process.stderr.write(`inbound: ${login.agents} agents registered and ready; ${options.rate} calls/s for ${options.seconds} s\n`);

  // ---- the SUT's view, once a second: counters and the ACD task timestamps -------------------------------------
  const taskCreated = new Map<string, number>();
  const taskOffered = new Map<string, number>();
  let last: SutCounters | undefined;
  const sutPeak = { activeCalls: 0, openMediaCalls: 0, waiting: 0, loopDelayMaxMs: 0, loopDelayP99Ms: 0, heapUsedMb: 0 };
  const pollSut = async (): Promise<void> => {
    const stats = await ask({ type: 'stats' }, 'stats');
    for (const e of stats.tasks) {
      if (e.kind === 'created') taskCreated.set(e.taskId, e.at);
      else if (!taskOffered.has(e.taskId)) taskOffered.set(e.taskId, e.at);
    }
    const c = stats.counters;
    last = c;
    sutPeak.activeCalls = Math.max(sutPeak.activeCalls, c.activeCalls);
    sutPeak.openMediaCalls = Math.max(sutPeak.openMediaCalls, c.openMediaCalls);
    sutPeak.waiting = Math.max(sutPeak.waiting, c.waiting);
    sutPeak.loopDelayMaxMs = Math.max(sutPeak.loopDelayMaxMs, c.loopDelayMs.max);
    sutPeak.loopDelayP99Ms = Math.max(sutPeak.loopDelayP99Ms, c.loopDelayMs.p99);
    sutPeak.heapUsedMb = Math.max(sutPeak.heapUsedMb, c.heapUsedMb);
    sampleSutProcesses();
  };
  let polling = false;
  const poller = setInterval(() => {
    if (polling) return;
    polling = true;
    pollSut().catch((err: unknown) => process.stderr.write(`inbound: ${(err as Error).message}\n`)).finally(() => (polling = false));
  }, 1000);

  // ---- placing calls at a fixed rate, sampling concurrency ------------------------------------------------------
  sampleSutProcesses();
  const cpuAtStart = byGroup();
  const machineAtStart = machineCpuMs();
  const start = now();
  const warmupMs = Math.min(30_000, (options.seconds * 1000) / 3);
  const concurrency: number[] = [];
  let maxActive = 0;
  let placed = 0;
  const total = Math.round(options.rate * options.seconds);
  const pacer = setInterval(() => {
    const due = Math.min(total, Math.floor(((now() - start) * options.rate) / 1000));
    while (placed < due) {
      gen.placeCall();
      placed++;
    }
  }, 5);
  const sampler = setInterval(() => {
    maxActive = Math.max(maxActive, gen.activeCalls);
    const t = now() - start;
    if (t >= warmupMs && t <= options.seconds * 1000) concurrency.push(gen.activeCalls);
  }, 100);
  let lastProgress = { at: start, cpu: cpuAtStart };
  const progress = (): void => {
    const at = now();
    const cpu = byGroup();
    const pct = (g: keyof typeof cpu): string => `${Math.round(((cpu[g].cpuMs - lastProgress.cpu[g].cpuMs) / (at - lastProgress.at)) * 100)}%`;
    const c = gen.counters;
    process.stderr.write(
      `[${((at - start) / 1000).toFixed(0).padStart(4)} s] offered ${c.offered}, active ${gen.activeCalls}, completed ${c.completed}, failures ${c.failed}` +
        ` | onecc: calls ${last?.activeCalls ?? '?'}, media ${last?.openMediaCalls ?? '?'}, queued ${last?.waiting ?? '?'}, rona ${last?.rona ?? '?'}, heap ${last ? Math.round(last.heapUsedMb) : '?'} MB` +
        ` | cpu onecc ${pct('onecc')}, rtpengine ${pct('rtpengine')}, redis ${pct('redis')}, generator ${pct('generator')}\n`,
    );
    lastProgress = { at, cpu };
  };
  const progressTimer = setInterval(progress, PROGRESS_MS);

  await sleep(options.seconds * 1000 - (now() - start));
  clearInterval(pacer);
  while (placed < total) {
    gen.placeCall();
    placed++;
  }
  const offeringEnded = now();
  const cpuAtEnd = byGroup();
  const machineAtEnd = machineCpuMs();

  // ---- drain: every call must end by itself; what does not in time is stuck ---------------------------------------
  const drainDeadline = now() + (options.maxWait + options.talkMax + options.ringTimeout * 2 + 30) * 1000;
  while ((gen.activeCalls > 0 || gen.activeLegs > 0) && now() < drainDeadline) await sleep(200);
  clearInterval(sampler);
  clearInterval(progressTimer);
  progress();
  const stuckCalls = gen.openCalls();
  gen.abandonAll('still open at the end of the drain');
  clearInterval(poller);
  while (polling) await sleep(50);
  await pollSut();
  // onecc writes its records and releases media a moment after the last BYE.
  let final = await ask({ type: 'final' }, 'final');
  for (let i = 0; i < 50 && (final.counters.activeCalls > 0 || final.counters.openMediaCalls > 0 || final.waitingTasks > 0); i++) {
    await sleep(200);
    final = await ask({ type: 'final' }, 'final');
  }
  // A transaction answered 2xx stays (RFC 6026's Accepted state) 64 × T1 = 32 s after the call ended: only after that
  // does onecc's heap say whether calls leave anything behind.
  const lastEnd = gen.records.reduce((latest, r) => Math.max(latest, r.endedAt), start);
  const settleMs = lastEnd + 35_000 - now();
  if (settleMs > 0) process.stderr.write(`inbound: ${Math.ceil(settleMs / 1000)} s for onecc's last SIP transactions to expire, then its heap\n`);
  await sleep(settleMs);
  const settled = await ask({ type: 'final' }, 'final');
  sampleSutProcesses();

  // ---- figures ----------------------------------------------------------------------------------------------------
  const records: CallRecord[] = gen.records;
  const completed = records.filter((r) => r.failure === undefined);
  const lost = records.filter((r) => r.failure !== undefined);
  const lostByReason: Record<string, number> = {};
  for (const r of lost) lostByReason[r.failure!] = (lostByReason[r.failure!] ?? 0) + 1;
  const windowStart = start + warmupMs;
  const windowMs = offeringEnded - windowStart;
  const completedInWindow = completed.filter((r) => r.endedAt >= windowStart && r.endedAt <= offeringEnded).length;
  const answered = records.filter((r) => r.answeredAt !== undefined);
  const created = (r: CallRecord): number => (r.taskId === undefined ? Number.NaN : taskCreated.get(r.taskId) ?? Number.NaN);
  const offered = (r: CallRecord): number => (r.taskId === undefined ? Number.NaN : taskOffered.get(r.taskId) ?? Number.NaN);
  const rung = records.filter((r) => r.ringAt !== undefined);
  const offeringSeconds = (offeringEnded - start) / 1000;
  const cpuPct = (g: keyof typeof cpuAtEnd): number => Math.round(((cpuAtEnd[g].cpuMs - cpuAtStart[g].cpuMs) / (offeringEnded - start)) * 1000) / 10;
  const groups = byGroup();
  const sutLeft = {
    activeCalls: final.counters.activeCalls, openMediaCalls: final.counters.openMediaCalls, waitingTasks: final.waitingTasks,
    agentsBusyOrReserved: (final.agentStates.busy ?? 0) + (final.agentStates.reserved ?? 0),
  };
  const sutClean = Object.values(sutLeft).every((v) => v === 0);
  const c = gen.counters;
  const figures = {
    rate: options.rate, seconds: options.seconds, agents: options.agents,
    rtpSent: options.rtp, talkSeconds: [options.talkMin, options.talkMax], answerSeconds: [options.answerMin, options.answerMax], wrapUpSeconds: options.wrapUp,
    offered: records.length, completed: completed.length, lost: lost.length, lostByReason,
    completedPerSecond: Math.round((completedInWindow / (windowMs / 1000)) * 100) / 100,
    completedPerSecondWindow: [Math.round(warmupMs / 1000), Math.round(offeringSeconds)],
    concurrentCalls: { max: maxActive, mean: Math.round(concurrency.reduce((a, b) => a + b, 0) / Math.max(1, concurrency.length)), oneccMax: sutPeak.activeCalls },
    postDialDelayMs: summary(answered.map((r) => r.answeredAt! - r.inviteAt)),
    ivrMs: summary(records.map((r) => created(r) - (r.answeredAt ?? Number.NaN))),
    ivrExitToRingMs: summary(rung.map((r) => r.ringAt! - created(r))),
    acdDecisionMs: summary(rung.map((r) => offered(r) - created(r))),
    offerToRingMs: summary(rung.map((r) => r.ringAt! - offered(r))),
    queueWaitMs: summary(completed.map((r) => r.connectedAt! - created(r))),
    ringsCancelled: c.ringsCancelled, rona: final.counters.rona, offeredWhileBusy: c.offeredWhileBusy, unmatchedRings: c.unmatchedRings,
    endedBy: { agent: completed.filter((r) => r.endedBy === 'agent').length, caller: completed.filter((r) => r.endedBy === 'caller').length },
    retransmissions: c.retransmissions, retransmissionsReceived: c.retransmissionsReceived, rtp: { sent: c.rtpPacketsSent, received: c.rtpPackets, callsWithAudioBothWays: completed.filter((r) => r.audioBothWays).length }, parseErrors: c.parseErrors,
    cpuPercentOfOneCore: { onecc: cpuPct('onecc'), rtpengine: cpuPct('rtpengine'), redis: cpuPct('redis'), generator: cpuPct('generator'), machineBusyCores: Math.round(((machineAtEnd.busy - machineAtStart.busy) / (offeringEnded - start)) * 100) / 100, cores: availableParallelism() },
    peakRssMb: { onecc: Math.round(groups.onecc.peakRssMb), rtpengine: Math.round(groups.rtpengine.peakRssMb), redis: Math.round(groups.redis.peakRssMb), generator: Math.round(groups.generator.peakRssMb) },
    oneccLoopDelayMs: { maxP99: Math.round(sutPeak.loopDelayP99Ms * 10) / 10, max: Math.round(sutPeak.loopDelayMaxMs) },
    oneccPeak: { queued: sutPeak.waiting, openMediaCalls: sutPeak.openMediaCalls, heapUsedMb: Math.round(sutPeak.heapUsedMb) },
    oneccHeapAfterGcMb: { before: Math.round(login.heapAfterGcMb * 10) / 10, after: Math.round(settled.heapAfterGcMb * 10) / 10, perCallKb: Math.round(((settled.heapAfterGcMb - login.heapAfterGcMb) * 1024 * 10) / Math.max(1, records.length)) / 10 },
    oneccLeftOpen: sutLeft, agentStatesAtEnd: final.agentStates,
    stuckAtEnd: stuckCalls.length,
  };

  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  out(`inbound: ${figures.offered} calls offered at ${options.rate}/s for ${options.seconds} s to ${options.agents} agents`);
  out(`  completed         ${figures.completed}, lost ${figures.lost}${figures.lost ? ` ${JSON.stringify(lostByReason)}` : ''}`);
  out(`  completed/s       ${figures.completedPerSecond} (calls ended as handled between ${figures.completedPerSecondWindow[0]} s and ${figures.completedPerSecondWindow[1]} s)`);
  out(`  concurrent calls  max ${figures.concurrentCalls.max}, mean ${figures.concurrentCalls.mean} (after ${figures.completedPerSecondWindow[0]} s); onecc's own count max ${sutPeak.activeCalls}`);
  out(`  post-dial delay   ${fmt(figures.postDialDelayMs)}  (INVITE sent → 200 OK)`);
  out(`  IVR               ${fmt(figures.ivrMs)}  (200 OK → ACD task created: welcome prompt)`);
  out(`  IVR exit → ring   ${fmt(figures.ivrExitToRingMs)}  (ACD task created → agent's INVITE at the phone)`);
  out(`    of which ACD    ${fmt(figures.acdDecisionMs)}  (task created → task offered: queue wait for a free agent + decision)`);
  out(`    then onecc      ${fmt(figures.offerToRingMs)}  (task offered → INVITE at the phone: phone lookup, rtpengine offer, SIP)`);
  out(`  queue → talking   ${fmt(figures.queueWaitMs)}  (task created → agent's 200 ACKed; includes the ${options.answerMin}-${options.answerMax} s ring)`);
  out(`  rings cancelled   ${c.ringsCancelled}, RONA ${figures.rona}, offers to a busy phone ${c.offeredWhileBusy}, unmatched rings ${c.unmatchedRings}`);
  out(`  retransmissions   sent INVITE ${c.retransmissions.invite}, BYE ${c.retransmissions.bye}, 200 ${c.retransmissions.ok}; received ${c.retransmissionsReceived}`);
  out(`  cpu (% of a core) onecc ${figures.cpuPercentOfOneCore.onecc}, rtpengine ${figures.cpuPercentOfOneCore.rtpengine}, redis ${figures.cpuPercentOfOneCore.redis}, generator ${figures.cpuPercentOfOneCore.generator}; machine busy ${figures.cpuPercentOfOneCore.machineBusyCores} of ${figures.cpuPercentOfOneCore.cores} cores`);
  out(`  RTP packets       sent ${c.rtpPacketsSent}, received ${c.rtpPackets} (prompts, music${options.rtp ? `, the other leg); audio both ways in ${figures.rtp.callsWithAudioBothWays} of ${completed.length} calls` : ')'}`);
  out(`  peak RSS (MB)     onecc ${figures.peakRssMb.onecc}, rtpengine ${figures.peakRssMb.rtpengine}, redis ${figures.peakRssMb.redis}, generator ${figures.peakRssMb.generator}`);
  out(`  onecc loop delay  worst 1 s p99 ${figures.oneccLoopDelayMs.maxP99} ms, max ${figures.oneccLoopDelayMs.max} ms`);
  const heap = figures.oneccHeapAfterGcMb;
  out(`  onecc heap        peak ${figures.oneccPeak.heapUsedMb} MB; after a full GC ${heap.before} MB before the first call, ${heap.after} MB 35 s after the last (${heap.perCallKb} KB per call offered)`);
  out(`  onecc at the end  ${JSON.stringify(sutLeft)}, agents ${JSON.stringify(final.agentStates)}`);
  for (const r of lost.slice(0, 20)) out(`  LOST call ${r.n} ${r.callId}: ${r.failure}`);
  if (lost.length > 20) out(`  ... and ${lost.length - 20} more lost calls`);
  for (const s of stuckCalls.slice(0, 20)) out(`  STUCK call ${s.n} ${s.callId}: caller ${s.state}, agent ${s.leg}`);
  out(JSON.stringify(figures));

  stopping = true;
  gen.close();
  generator = undefined;
  await stopSut();
  process.exit(lost.length > 0 || !sutClean ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`inbound: ${err instanceof Error ? err.stack : String(err)}\n`);
  stopping = true;
  sampleSutProcesses();
  void stopSut().finally(() => process.exit(1));
});
