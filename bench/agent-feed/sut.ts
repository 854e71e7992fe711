/**
 * The system under test of bench/agent-feed, forked by run.ts: an AcdEngine (MemoryStore, or RedisStore on a
 * throwaway redis-server with --store redis), the AgentFeed and the HTTP listener it is served on, a roster of
 * `agents` agents and a supervisor API key. On `go` it drives the ACD: Poisson arrivals of chat tasks at `rate`/s in
 * `queues` queues (agents accept offers over the feed), each completed after an exponential handle time, and
 * agents flipping not-ready/ready, so that every kind of event flows to agents and supervisors.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { AcdEngine, MemoryStore, RedisStore, systemClock, type AcdClock, type AcdSettings, type AcdStore } from '../../src/acd/index';
import { AgentFeed, Credentials } from '../../src/agents/index';
import { loadConfig, type AgentsConfig } from '../../src/config/index';
import { HttpServer } from '../../src/http/index';
import { EmbeddedRedis, silentLogger } from '../../src/lib/index';
import { Metrics } from '../../src/metrics/index';
import { SUPERVISOR_KEY, type DriveOptions, type SutCommand, type SutMessage, type SutSetup } from './protocol';

const TOKEN_SECRET = 'bench-token-secret-0123456789';

/** Wall-clock ms with sub-millisecond precision: the events' `at`, compared with the client's arrival time. */
const preciseClock: AcdClock = { ...systemClock, now: () => performance.timeOrigin + performance.now() };

function send(message: SutMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const { agents, queues, store, dir } = JSON.parse(process.argv[2]!) as SutSetup;
  const defaults = loadConfig({ env: {} });
  const roster = Array.from({ length: agents }, (_, i) => ({ id: `a${i}`, name: `Agent ${i}`, skills: { general: 5 }, languages: ['en'], capacity: { voice: 1, video: 1, chat: 3, email: 5 } }));
  const config: AgentsConfig = {
    ...defaults.agents,
    tokenSecret: TOKEN_SECRET,
    apiKeys: [{ key: SUPERVISOR_KEY, role: 'supervisor', agent: null }],
    roster,
    // The bench clients read as fast as they can; a bound that they would hit would say so (4429).
    maxBufferedKiB: 4096,
  };
  const settings: AcdSettings = {
    ...defaults.acd,
    offerTimeoutSeconds: 30,
    wrapUpSeconds: { voice: 0, video: 0, chat: 0, email: 0 },
    queues: Array.from({ length: queues }, (_, i) => ({ name: `q${i}`, target: 'general', strategy: 'longest-idle' as const, serviceLevel: { percent: 80, seconds: 20 }, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: [] })),
  };

  let redis: EmbeddedRedis | undefined;
  let acdStore: AcdStore = new MemoryStore();
  if (store === 'redis') {
    redis = new EmbeddedRedis({ host: '127.0.0.1', port: 0, binary: defaults.acd.redis.binary, dataDir: dir }, silentLogger());
    await redis.start();
    acdStore = new RedisStore({ redis: { host: '127.0.0.1', port: redis.port }, keyTag: 'bench', endedTaskRetentionSeconds: 60, logger: silentLogger() });
  }
  const acd = new AcdEngine({ settings, store: acdStore, clock: preciseClock, logger: silentLogger() });
  // Registered before the feed's listener: the time the engine emits an event, before any fan-out work.
  let emitted: number[] = [];
  acd.on('event', (event) => emitted.push(event.at, preciseClock.now()));
  const emittedTimer = setInterval(() => {
    if (emitted.length === 0) return;
    send({ type: 'emitted', pairs: emitted });
    emitted = [];
  }, 100);
  const credentials = new Credentials(config);
  const feed = new AgentFeed({ acd, config, credentials, logger: silentLogger() });
  const http = new HttpServer({ host: '127.0.0.1', port: 0, metrics: new Metrics(), readiness: () => ({}), logger: silentLogger(), upgrades: { '/agent': (req, socket, head) => feed.handleUpgrade(req, socket, head) } });
  let driver: Driver | undefined;
  let closing = false;
  const close = (code: number) => {
    if (closing) return;
    closing = true;
    driver?.stop();
    clearInterval(emittedTimer);
    // Bounded: a close that hangs must not keep redis-server (or this process) alive.
    setTimeout(() => process.exit(code), 5000).unref();
    void (async () => {
      await feed.close();
      await http.close();
      await acd.close();
      await redis?.stop();
    })().catch(() => undefined).finally(() => process.exit(code));
  };
  process.on('disconnect', () => close(0));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => close(0));

  await acd.start();
  await http.start();
  const tokens = roster.map((a) => credentials.issue('agent', a.id, 3600));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();

  process.on('message', (message: SutCommand) => {
    if (message.type === 'probe') {
      if (message.gc) global.gc?.();
      const m = process.memoryUsage();
      let waiting = 0;
      for (const task of acd.tasks()) if (task.state === 'waiting' || task.state === 'offered') waiting++;
      send({ type: 'probe', rss: m.rss, heapUsed: m.heapUsed, connections: feed.connections, cpu: process.cpuUsage(), enqueued: driver?.enqueued ?? 0, completed: driver?.completed ?? 0, waiting, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 });
      loop.reset();
    } else if (message.type === 'go') {
      driver = new Driver(acd, agents, queues, message.options);
    } else if (message.type === 'stop') {
      driver?.stop();
      send({ type: 'stopped' });
    }
  });
  send({ type: 'ready', port: http.port, tokens });
}

/**
 * Poisson chat arrivals, completions after exponential handle times, and Poisson not-ready/ready flips, each action
 * in a timer callback of its own, as requests arriving on their own sockets would be: batching them in one callback
 * would hold every event's fan-out behind the ones before it in the batch and measure the driver's batching.
 */
class Driver {
  enqueued = 0;
  completed = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  readonly #onAccepted = (e: { task: { id: string } }) => {
    this.#at(-Math.log(1 - Math.random()) * this.options.handleMs, () => {
      void this.acd.complete(e.task.id).then(() => this.completed++, () => undefined);
    });
  };

  constructor(private readonly acd: AcdEngine, agents: number, queues: number, private readonly options: DriveOptions) {
    acd.on('task-accepted', this.#onAccepted);
    this.#poisson(options.rate, () => {
      const n = this.enqueued++;
      void acd.enqueue({ id: `t${n}`, channel: 'chat', queue: `q${n % queues}`, attributes: { caller: `+1555${String(n % 10_000).padStart(4, '0')}` } }).catch(() => undefined);
    });
    this.#poisson(options.flipsPerSecond, () => {
      const agentId = `a${Math.floor(Math.random() * agents)}`;
      const state = acd.agentState(agentId);
      if (state === 'available') void acd.setNotReady(agentId, 'break').catch(() => undefined);
      else if (state === 'not-ready') void acd.setReady(agentId).catch(() => undefined);
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.acd.off('task-accepted', this.#onAccepted);
  }

  /** Runs `action` at exponential intervals of mean 1/rate s, against a schedule so that timer lateness does not lower the rate. */
  #poisson(rate: number, action: () => void): void {
    let due = performance.now();
    const step = () => {
      // Every arrival that is due runs in a callback of its own; a late timer catches up without skipping any.
      action();
      due += (-Math.log(1 - Math.random()) / rate) * 1000;
      this.#at(due - performance.now(), step);
    };
    this.#at(0, step);
  }

  #at(delayMs: number, fn: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, Math.max(0, delayMs));
    this.#timers.add(timer);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-feed SUT failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
