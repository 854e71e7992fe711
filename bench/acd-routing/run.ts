/**
 * ACD routing decisions on Redis with 1 and 2 onecc nodes (see bench/README.md).
 *
 *   npm run build && node dist/bench/acd-routing/run.js [--nodes 1,2] [--rate 2000] [--seconds 10] [--agents 10000]
 *                                                        [--queues 200] [--skills 50] [--handle-ms 30000]
 *
 * Each node is a process of its own running an AcdEngine on a RedisStore; all share one throwaway redis-server. The
 * agents are split between the nodes (each logs in its share); every node sends Poisson arrivals at --rate per
 * second over all queues and channels, accepts every offer it made at once and completes it after an exponential
 * handle time, so both triggers occur: a task becoming routable and an agent slot coming free.
 *
 *   node dist/bench/acd-routing/run.js --store memory [--rate 2000] [--seconds 10] [--handle-ms 3000] ...
 *
 * The engine alone: one AcdEngine on a MemoryStore in simulated time, same queues, agents and arrivals, no Redis and
 * no real waits; prints the CPU per decision and a digest of every offer and its explanation (same digest: same
 * decisions, for comparing two builds).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { AcdEngine, MemoryStore, RedisStore, SimulatedClock, channels, type AcdSettings, type Channel, type QueueDefinition, type RoutingStrategy } from '../../src/acd/index';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../../test/helpers/redis-server';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
function positive(name: string, fallback: number): number {
  const value = Number(arg(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const NODES = arg('nodes', '1,2').split(',').map(Number);
const RATE = positive('rate', 2000);
const SECONDS = positive('seconds', 10);
const AGENTS = positive('agents', 10_000);
const QUEUES = positive('queues', 200);
const SKILLS = positive('skills', 50);
const HANDLE_MS = positive('handle-ms', 30_000);
const STORE = arg('store', 'redis');
const WARMUP_MS = 2000;
const LANGUAGES = ['en', 'zh-TW', 'zh-CN'];
const STRATEGIES: RoutingStrategy[] = ['longest-idle', 'most-skilled', 'round-robin', 'least-occupied'];
// Mixed channels: mostly calls, then chats, emails, a few videos.
const CHANNEL_MIX: [Channel, number][] = [['voice', 0.5], ['chat', 0.3], ['email', 0.15], ['video', 0.05]];

/** Deterministic, so that every node builds the same queues and agents. */
function rng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function buildSettings(): AcdSettings {
  const random = rng(42);
  const skills = Array.from({ length: SKILLS }, (_, i) => `skill${i}`);
  const queues: QueueDefinition[] = Array.from({ length: QUEUES }, (_, i) => {
    const level = 1 + Math.floor(random() * 5);
    let target = `${skills[Math.floor(random() * SKILLS)]} >= ${level}`;
    if (random() < 0.2) target += ` and lang:${LANGUAGES[Math.floor(random() * LANGUAGES.length)]}`;
    return {
      name: `q${i}`, target, strategy: STRATEGIES[i % STRATEGIES.length]!, serviceLevel: { percent: 80, seconds: 20 },
      maxWaitSeconds: 0, maxSize: 0, fallback: null,
      // Half the queues relax after a minute: a second index per queue, as in a real configuration.
      escalation: i % 2 === 0 ? [{ afterSeconds: 60, action: 'relax' as const, value: target.replace(/>= \d+/, '>= 1') }] : [],
    };
  });
  return {
    skills, languages: LANGUAGES, queues,
    defaultCapacity: { voice: 1, video: 1, chat: 3, email: 5 },
    crossChannel: [{ whileOn: ['voice', 'video'], limits: { voice: 0, video: 0, chat: 2, email: 0 } }],
    wrapUpSeconds: { voice: 0, video: 0, chat: 0, email: 0 },
    offerTimeoutSeconds: 30, ronaReason: 'rona', nodeLeaseSeconds: 30,
  };
}

function agentProfile(i: number): { skills: Record<string, number>; languages: string[] } {
  const random = rng(1000 + i);
  const skills: Record<string, number> = {};
  const count = 4 + Math.floor(random() * 3);
  while (Object.keys(skills).length < count) skills[`skill${Math.floor(random() * SKILLS)}`] = 1 + Math.floor(random() * 10);
  const languages = LANGUAGES.filter(() => random() < 0.5);
  return { skills, languages: languages.length > 0 ? languages : ['en'] };
}

// ---- one node (a child process) ---------------------------------------------------------------------------------

interface NodeReport {
  node: string;
  decisions: number;
  byTrigger: Record<string, number>;
  latenciesMs: number[];
  /** From the enqueue() or complete() call that started it, both commits included. */
  callLatenciesMs: number[];
  enqueued: number;
  refused: number;
  rssMb: number;
  heapMb: number;
  /** CPU time (user + system) the node spent in the window. */
  cpuMs: number;
}

async function runNode(index: number, nodes: number, port: number): Promise<void> {
  const send = (message: unknown) => process.send!(message);
  const settings = buildSettings();
  const store = new RedisStore({ redis: { host: '127.0.0.1', port }, keyTag: 'bench', logger: silentLogger() });
  const nodeId = `node${index}`;
  const engine = new AcdEngine({ settings, store, nodeId });
  await engine.start();
  for (let i = index; i < AGENTS; i += nodes) await engine.login(`agent${i}`, agentProfile(i));
  while ([...engine.agents()].length < AGENTS) await new Promise((resolve) => setTimeout(resolve, 50));
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  const random = rng(7 + index);
  const exp = (mean: number) => -Math.log(1 - random()) * mean;
  const routableAt = new Map<string, number>();
  const freedAt = new Map<string, number>();
  const calledAt = new Map<string, number>();
  const latencies: number[] = [];
  const callLatencies: number[] = [];
  const byTrigger: Record<string, number> = {};
  let measuring = false;
  let decisions = 0;
  let enqueued = 0;
  let refused = 0;
  engine.on('task-created', (e) => {
    if (e.node === nodeId) routableAt.set(e.task.id, performance.now());
  });
  engine.on('task-completed', (e) => {
    if (e.node === nodeId) freedAt.set(e.agent.id, performance.now());
  });
  engine.on('task-offered', (e) => {
    if (e.node !== nodeId) return;
    const now = performance.now();
    const trigger = e.task.decision!.trigger;
    const from = trigger === 'task-routable' ? routableAt.get(e.task.id) : freedAt.get(e.agent.id);
    const called = calledAt.get(trigger === 'task-routable' ? e.task.id : e.agent.id);
    routableAt.delete(e.task.id);
    calledAt.delete(e.task.id);
    if (measuring) {
      decisions++;
      byTrigger[trigger] = (byTrigger[trigger] ?? 0) + 1;
      if (from !== undefined) latencies.push(now - from);
      if (called !== undefined) callLatencies.push(now - called);
    }
    void engine.accept(e.task.id, e.agent.id).then(
      () =>
        setTimeout(() => {
          calledAt.set(e.agent.id, performance.now());
          engine.complete(e.task.id).catch(() => undefined);
        }, exp(HANDLE_MS)),
      () => undefined,
    );
  });

  const pickChannel = (): Channel => {
    let r = random();
    for (const [channel, share] of CHANNEL_MIX) if ((r -= share) < 0) return channel;
    return channels[0];
  };
  const started = performance.now();
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let nextArrival = started;
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      measuring = now - started >= WARMUP_MS;
      if (measuring && cpuAtStart === undefined) cpuAtStart = process.cpuUsage();
      if (now - started >= WARMUP_MS + SECONDS * 1000) {
        clearInterval(tick);
        resolve();
        return;
      }
      while (nextArrival <= now) {
        nextArrival += exp(1000 / RATE);
        enqueued++;
        calledAt.set(`${nodeId}-${seq}`, performance.now());
        engine.enqueue({ id: `${nodeId}-${seq++}`, channel: pickChannel(), queue: `q${Math.floor(random() * QUEUES)}` }).catch(() => refused++);
      }
    }, 1);
  });
  measuring = false;
  const cpu = process.cpuUsage(cpuAtStart);
  const memory = process.memoryUsage();
  const report: NodeReport = {
    node: nodeId, decisions, byTrigger, latenciesMs: latencies, callLatenciesMs: callLatencies, enqueued, refused,
    rssMb: memory.rss / 2 ** 20, heapMb: memory.heapUsed / 2 ** 20, cpuMs: (cpu.user + cpu.system) / 1000,
  };
  // The report is large (every latency): exiting before the IPC channel has written it loses it, and the driver waits.
  await new Promise<void>((resolve, reject) => process.send!({ type: 'report', report }, undefined, {}, (err) => (err ? reject(err) : resolve())));
  await engine.close();
  process.exit(0);
}

// ---- the driver ---------------------------------------------------------------------------------------------------

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function redisInfo(redis: Redis, field: string, section: string): Promise<number> {
  const info = await redis.info(section);
  return Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? NaN);
}

/** Calls per command so far (INFO commandstats), and the microseconds Redis spent in them. Commands run inside scripts count too. */
async function commandCalls(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redis.info('commandstats');
  return new Map([...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/g)].map((m) => [m[1]!, { calls: Number(m[2]), usec: Number(m[3]) }]));
}

// What the nodes send; everything else in commandstats runs inside the commitChange script.
const CLIENT_COMMANDS = ['evalsha', 'eval', 'script|load', 'xread', 'zadd', 'zrangebyscore', 'zrem', 'multi', 'exec', 'hvals', 'xrevrange'];

async function runCase(nodes: number): Promise<Record<string, unknown>> {
  const server = new RedisServer();
  await server.start();
  const admin = new Redis({ host: server.host, port: server.port });
  const children: ChildProcess[] = [];
  try {
    const ready: Promise<void>[] = [];
    const reports: Promise<NodeReport>[] = [];
    for (let i = 0; i < nodes; i++) {
      const child = fork(__filename, ['--worker', String(i), '--worker-nodes', String(nodes), '--port', String(server.port), ...process.argv.slice(2)], { execArgv: process.env.ACD_BENCH_NODE_ARGS?.split(' ') ?? [] });
      children.push(child);
      ready.push(new Promise((resolve) => child.once('message', () => resolve())));
      reports.push(new Promise((resolve, reject) => {
        child.on('message', (m: { type: string; report?: NodeReport }) => m.type === 'report' && resolve(m.report!));
        child.once('exit', (code) => code !== 0 && reject(new Error(`node ${i} exited with ${code}`)));
      }));
    }
    await Promise.all(ready);
    for (const child of children) child.send('go');
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const before = await commandCalls(admin);
    const done = await Promise.all(reports);
    const after = await commandCalls(admin);
    const delta = (names: string[] | null, field: 'calls' | 'usec' = 'calls') =>
      [...after].filter(([name]) => names === null || names.includes(name)).reduce((n, [name, stats]) => n + stats[field] - (before.get(name)?.[field] ?? 0), 0);
    const redisMb = (await redisInfo(admin, 'used_memory', 'memory')) / 2 ** 20;
    const latencies = done.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    const callLatencies = done.flatMap((r) => r.callLatenciesMs).sort((a, b) => a - b);
    const decisions = done.reduce((n, r) => n + r.decisions, 0);
    return {
      nodes,
      ratePerNode: RATE,
      decisionsPerSecond: decisions / SECONDS,
      decisionsPerSecondPerNode: decisions / SECONDS / nodes,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      p999Ms: quantile(latencies, 0.999),
      fromCallP50Ms: quantile(callLatencies, 0.5),
      fromCallP99Ms: quantile(callLatencies, 0.99),
      fromCallP999Ms: quantile(callLatencies, 0.999),
      byTrigger: done.reduce<Record<string, number>>((acc, r) => {
        for (const [k, v] of Object.entries(r.byTrigger)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
      // The window spans the nodes' whole measured run, both triggers, and the accept and complete of each offer.
      redisRequestsPerDecision: delta(CLIENT_COMMANDS) / decisions,
      scriptsPerDecision: delta(['evalsha', 'eval']) / decisions,
      redisCommandsPerDecision: delta(null) / decisions,
      // Redis's own time in commands (scripts include the commands they run), per decision and per script call.
      redisUsPerDecision: delta(CLIENT_COMMANDS, 'usec') / decisions,
      redisUsPerScript: delta(['evalsha', 'eval'], 'usec') / delta(['evalsha', 'eval']),
      // CPU per decision, and the share of a core each node used: what carries over to an unloaded machine.
      nodeCpuMsPerDecision: done.map((r) => r.cpuMs / Math.max(1, r.decisions)),
      nodeCpuPercent: done.map((r) => (100 * r.cpuMs) / (SECONDS * 1000)),
      enqueued: done.reduce((n, r) => n + r.enqueued, 0),
      refused: done.reduce((n, r) => n + r.refused, 0),
      nodeRssMb: done.map((r) => Math.round(r.rssMb)),
      nodeHeapMb: done.map((r) => Math.round(r.heapMb)),
      redisUsedMb: Math.round(redisMb),
    };
  } finally {
    // Let the nodes exit on their own (a profiler writes its file then), but not for long.
    await Promise.all(children.map((child) => child.exitCode !== null || new Promise((resolve) => {
      child.once('exit', resolve);
      setTimeout(resolve, 5000);
    })));
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    admin.disconnect();
    await server.stop();
  }
}

/**
 * The reference for the Redis figures: what a lean atomic change costs in this Redis, measured on a fresh server. The
 * script takes an agent's channel slot if its counter is under capacity, moves a task on from the state it was based
 * on and logs a 200-byte entry: the checks and writes of an offer, on flat fields where commitChange decodes and
 * encodes JSON records.
 */
const LEAN_CHANGE_LUA = `
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if held >= tonumber(ARGV[2]) then return 0 end
if (redis.call('HGET', KEYS[2], ARGV[3]) or '') ~= ARGV[4] then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 's', redis.call('INCR', KEYS[4]), 'p', ARGV[6])
return 1`;

async function leanChangeUs(): Promise<number> {
  const server = new RedisServer();
  await server.start();
  const redis = new Redis({ host: server.host, port: server.port, enableAutoPipelining: true });
  try {
    const sha = (await redis.script('LOAD', LEAN_CHANGE_LUA)) as string;
    const entry = 'x'.repeat(200);
    const send = (i: number) => redis.evalsha(sha, 4, '{b}:agents', '{b}:tasks', '{b}:log', '{b}:seq', `agent${i % AGENTS}:voice`, 1e9, `t${i}`, '', `r${i}`, entry);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => send(i)));
    await redis.config('RESETSTAT');
    for (let i = 1000; i < 51_000; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => send(i + j)));
    const stats = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'))!;
    return Number(stats[2]) / Number(stats[1]);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`acd-routing: ${AGENTS} agents, ${QUEUES} queues, ${SKILLS} skills, Poisson arrivals ${RATE}/s per node (voice 50 %, chat 30 %, email 15 %, video 5 %), handle time exp(${HANDLE_MS} ms), ${SECONDS} s measured after ${WARMUP_MS / 1000} s, Node ${process.version}`);
  const fmt = (n: unknown, digits = 3) => (typeof n === 'number' ? n.toFixed(digits) : String(n));
  const results = [];
  for (const nodes of NODES) {
    const r = await runCase(nodes);
    results.push(r);
    console.log(
      `nodes ${nodes}: decisions/s ${fmt(r.decisionsPerSecond, 0)} (${fmt(r.decisionsPerSecondPerNode, 0)}/node)  latency p50/p99/p999 ${fmt(r.p50Ms)}/${fmt(r.p99Ms)}/${fmt(r.p999Ms)} ms ` +
        `(from the call: ${fmt(r.fromCallP50Ms)}/${fmt(r.fromCallP99Ms)}/${fmt(r.fromCallP999Ms)} ms)  ` +
        `node CPU ${(r.nodeCpuMsPerDecision as number[]).map((x) => fmt(x, 3)).join('/')} ms/decision (${(r.nodeCpuPercent as number[]).map((x) => fmt(x, 0)).join('/')} % of a core)  ` +
        `Redis per decision: ${fmt(r.redisRequestsPerDecision, 2)} requests (${fmt(r.scriptsPerDecision, 2)} scripts), ${fmt(r.redisCommandsPerDecision, 1)} commands incl. inside scripts, ${fmt(r.redisUsPerDecision, 1)} us of Redis time (${fmt(r.redisUsPerScript, 1)} us a script)  node RSS ${(r.nodeRssMb as number[]).join('/')} MB (heap ${(r.nodeHeapMb as number[]).join('/')})  Redis ${r.redisUsedMb} MB  triggers ${JSON.stringify(r.byTrigger)}`,
    );
  }
  const leanUs = await leanChangeUs();
  console.log(
    `reference: a lean atomic change (counter check, slot, task state, 200-byte log entry) costs ${fmt(leanUs, 1)} us of Redis time; ` +
      `four of them (enqueue, offer, accept, complete) ${fmt(4 * leanUs, 1)} us, against ${results.map((r) => `${fmt(r.redisUsPerDecision, 1)} us (${fmt((r.redisUsPerDecision as number) / (4 * leanUs), 1)}x) with ${r.nodes} node(s)`).join(', ')}`,
  );
  console.log(JSON.stringify({ bench: 'acd-routing', agents: AGENTS, queues: QUEUES, skills: SKILLS, seconds: SECONDS, handleMs: HANDLE_MS, leanChangeRedisUs: leanUs, results }));
}

// ---- the engine alone, in simulated time ----------------------------------------------------------------------

async function engineAlone(): Promise<void> {
  const clock = new SimulatedClock(0);
  const engine = new AcdEngine({ settings: buildSettings(), clock, store: new MemoryStore(), nodeId: 'node0' });
  await engine.start();
  for (let i = 0; i < AGENTS; i++) await engine.login(`agent${i}`, agentProfile(i));
  const random = rng(7);
  const exp = (mean: number) => -Math.log(1 - random()) * mean;
  const digest = createHash('sha1');
  let measuring = false;
  let decisions = 0;
  engine.on('task-offered', (e) => {
    if (measuring) {
      decisions++;
      digest.update(`${e.task.id} ${e.agent.id} ${JSON.stringify(e.task.decision)}\n`);
    }
    void engine.accept(e.task.id, e.agent.id).then(() => clock.setTimer(clock.now() + exp(HANDLE_MS), () => void engine.complete(e.task.id).catch(() => undefined)));
  });
  const pickChannel = (): Channel => {
    let r = random();
    for (const [channel, share] of CHANNEL_MIX) if ((r -= share) < 0) return channel;
    return channels[0];
  };
  let seq = 0;
  const arrive = (): void => {
    engine.enqueue({ id: `t${seq++}`, channel: pickChannel(), queue: `q${Math.floor(random() * QUEUES)}` }).catch(() => undefined);
    clock.setTimer(clock.now() + exp(1000 / RATE), arrive);
  };
  clock.setTimer(1, arrive);
  // A longer warm-up than on Redis: simulated seconds are cheap, and the queues should be in their steady state.
  const warmupMs = 5 * WARMUP_MS;
  await engine.advanceTo(warmupMs);
  measuring = true;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await engine.advanceTo(warmupMs + SECONDS * 1000);
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const memory = process.memoryUsage();
  const result = {
    decisions, wallUsPerDecision: (1000 * wallMs) / decisions, cpuUsPerDecision: (user + system) / decisions,
    decisionsPerCpuSecond: decisions / ((user + system) / 1e6), digest: digest.digest('hex').slice(0, 12),
    rssMb: Math.round(memory.rss / 2 ** 20), heapMb: Math.round(memory.heapUsed / 2 ** 20),
  };
  console.log(
    `engine alone (MemoryStore, simulated time): ${AGENTS} agents, ${QUEUES} queues, ${RATE} arrivals/s, handle exp(${HANDLE_MS} ms), ${SECONDS} simulated s: ` +
      `${decisions} decisions, ${result.cpuUsPerDecision.toFixed(1)} us CPU (${result.wallUsPerDecision.toFixed(1)} us wall) per decision, ` +
      `${result.decisionsPerCpuSecond.toFixed(0)} decisions per CPU second, digest ${result.digest}, RSS ${result.rssMb} MB (heap ${result.heapMb})`,
  );
  console.log(JSON.stringify({ bench: 'acd-routing', store: 'memory', agents: AGENTS, queues: QUEUES, rate: RATE, seconds: SECONDS, handleMs: HANDLE_MS, result }));
  await engine.close();
}

const worker = process.argv.indexOf('--worker');
if (STORE === 'memory') {
  engineAlone().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (worker >= 0) {
  void runNode(Number(process.argv[worker + 1]), Number(arg('worker-nodes', '1')), Number(arg('port', '0'))).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
