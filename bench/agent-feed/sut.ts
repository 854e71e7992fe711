/**
 * The system under test of bench/agent-feed, forked by run.ts: an AcdEngine (MemoryStore, or RedisStore on a
 * throwaway redis-server with --store redis), the AgentFeed and the HTTP listener it is served on, a roster of
 * `agents` agents and a supervisor API key. On `go` it drives the ACD: Poisson arrivals of chat tasks at `rate`/s in
 * `queues` queues (agents accept offers over the feed), each completed after an exponential handle time, and
 * agents flipping not-ready/ready, so that every kind of event flows to agents and supervisors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AcdEngine, MemoryStore, RedisStore, systemClock, type AcdClock, type AcdSettings } from '../../src/acd/index';
import { AgentFeed, Credentials } from '../../src/agents/index';
import { loadConfig, type AgentsConfig } from '../../src/config/index';
import { HttpServer } from '../../src/http/index';
import { EmbeddedRedis, silentLogger } from '../../src/lib/index';
import { Metrics } from '../../src/metrics/index';
import { SUPERVISOR_KEY, type DriveOptions, type SutMessage, type SutReady } from './protocol';

const TOKEN_SECRET = 'bench-token-secret-0123456789';

/** Wall-clock ms with sub-millisecond precision: the events' `at`, compared with the client's arrival time. */
const preciseClock: AcdClock = { ...systemClock, now: () => performance.timeOrigin + performance.now() };

function send(message: SutMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const agents = Number(process.argv[2]);
  const queues = Number(process.argv[3]);
  const store = process.argv[4] === 'redis' ? 'redis' : 'memory';
  const defaults = loadConfig({ env: {} });
  const roster = Array.from({ length: agents }, (_, i) => ({ id: `a${i}`, name: `Agent ${i}`, skills: { general: 5 }, languages: ['en'], capacity: { voice: 1, video: 1, chat: 3, email: 5 } }));
  const config: AgentsConfig = {
    ...defaults.agents,
    tokenSecret: TOKEN_SECRET,
    apiKeys: [{ key: SUPERVISOR_KEY, role: 'supervisor', agent: null }],
    roster,
    // The bench clients read as fast as they can; a bound that they would hit would say so (4429).
    maxBufferedKiB: 4096,
    snapshotSeconds: Number(process.env.SNAP ?? 2),
  };
  const settings: AcdSettings = {
    ...defaults.acd,
    offerTimeoutSeconds: 30,
    wrapUpSeconds: { voice: 0, video: 0, chat: 0, email: 0 },
    queues: Array.from({ length: queues }, (_, i) => ({ name: `q${i}`, target: 'general', strategy: 'longest-idle' as const, serviceLevel: { percent: 80, seconds: 20 }, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: [] })),
  };
  let dir: string | undefined;
  let redis: EmbeddedRedis | undefined;
  let acdStore = new MemoryStore() as ConstructorParameters<typeof AcdEngine>[0]['store'];
  if (store === 'redis') {
    dir = mkdtempSync(path.join(tmpdir(), 'onecc-bench-feed-'));
    redis = new EmbeddedRedis({ host: '127.0.0.1', port: 0, binary: defaults.acd.redis.binary, dataDir: dir }, silentLogger());
    await redis.start();
    acdStore = new RedisStore({ redis: { host: '127.0.0.1', port: redis.port }, keyTag: 'bench', endedTaskRetentionSeconds: 60, logger: silentLogger() });
  }
  const acd = new AcdEngine({ settings, store: acdStore, clock: preciseClock, logger: silentLogger() });
  await acd.start();
  const credentials = new Credentials(config);
  const feed = new AgentFeed({ acd, config, credentials, logger: silentLogger() });
  const http = new HttpServer({ host: '127.0.0.1', port: 0, metrics: new Metrics(), readiness: () => ({}), logger: silentLogger(), upgrades: { '/agent': (req, socket, head) => feed.handleUpgrade(req, socket, head) } });
  await http.start();
  const tokens = roster.map((a) => credentials.issue('agent', a.id, 3600));

  let driving: NodeJS.Timeout[] = [];
  const close = async () => {
    for (const timer of driving) clearInterval(timer);
    await feed.close();
    await http.close();
    await acd.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  process.on('disconnect', () => void close().finally(() => process.exit(0)));

  process.on('message', (message: { type: string; options?: DriveOptions }) => {
    if (message.type === 'memory') {
      global.gc?.();
      const m = process.memoryUsage();
      send({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed, connections: feed.connections, cpu: process.cpuUsage() });
    } else if (message.type === 'go') {
      driving = drive(acd, agents, queues, message.options!);
    } else if (message.type === 'stop') {
      for (const timer of driving) clearInterval(timer);
      driving = [];
      send({ type: 'stopped' });
    }
  });
  const ready: SutReady = { type: 'ready', port: http.port, tokens };
  send(ready);
}

/** Poisson chat arrivals, completions after exponential handle times, and not-ready/ready flips, every 10 ms. */
function drive(acd: AcdEngine, agents: number, queues: number, options: DriveOptions): NodeJS.Timeout[] {
  const tickMs = 10;
  let carry = 0;
  let n = 0;
  const completions = new Map<string, number>();
  acd.on('task-accepted', (e) => completions.set(e.task.id, Date.now() + -Math.log(1 - Math.random()) * options.handleMs));
  const tick = setInterval(() => {
    carry += (options.rate * tickMs) / 1000;
    for (; carry >= 1; carry--) {
      void acd.enqueue({ id: `t${n}`, channel: 'chat', queue: `q${n % queues}`, attributes: { caller: `+1555${String(n % 10_000).padStart(4, '0')}` } }).catch(() => undefined);
      n++;
    }
    const now = Date.now();
    for (const [id, due] of completions) {
      if (due > now) continue;
      completions.delete(id);
      void acd.complete(id).catch(() => undefined);
    }
    for (let flips = (options.flipsPerSecond * tickMs) / 1000 + Math.random(); flips >= 1; flips--) {
      const agentId = `a${Math.floor(Math.random() * agents)}`;
      const state = acd.agentState(agentId);
      if (state === 'available') void acd.setNotReady(agentId, 'break').catch(() => undefined);
      else if (state === 'not-ready') void acd.setReady(agentId).catch(() => undefined);
    }
  }, tickMs);
  return [tick];
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-feed SUT failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
