import t, { type Test } from 'tap';
import { AcdEngine, RedisStore, agentState, channels, type AcdEvent, type AgentRecord, type AcdSettings } from '../../src/acd/index';
import { capacityViolation } from '../../src/acd/capacity';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';
import { queue, settings } from './fixtures';

const QUEUES = [queue('billing', 'billing >= 3'), queue('sales', 'sales'), queue('both', 'billing >= 5 and sales >= 5', { escalation: [{ afterSeconds: 1, action: 'relax', value: 'billing or sales' }] })];

function node(redis: RedisServer, nodeId: string, tag: string, extra: Partial<AcdSettings> = {}): AcdEngine {
  const store = new RedisStore({ redis: { host: redis.host, port: redis.port }, keyTag: tag, logger: silentLogger() });
  return new AcdEngine({ settings: settings(QUEUES, extra), store, nodeId });
}

async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const random = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

/**
 * Three engines on one Redis route the same tasks to the same agents while agents flip between ready and not-ready
 * and some offers are rejected. Each node accepts the offers it made; every agent record any node ever sees must be
 * within capacity, and every task must be accepted exactly once and completed.
 */
async function race(t: Test, redis: RedisServer, options: { tasks: number; tag: string; during?: (progress: () => number) => Promise<void> }): Promise<void> {
  const engines = ['n1', 'n2', 'n3'].map((id) => node(redis, id, options.tag));
  await Promise.all(engines.map((e) => e.start()));
  const accepted = new Map<string, number>();
  const completed = new Set<string>();
  const violations: string[] = [];
  const failures: string[] = [];
  const rand = random(7);
  const check = (agent: AgentRecord) => {
    const why = capacityViolation(agent);
    if (why) violations.push(`${agent.id} v${agent.v}: ${why}`);
  };
  for (const engine of engines) {
    engine.on('event', (e: AcdEvent) => {
      if ('agent' in e) check(e.agent);
    });
    engine.on('task-offered', (e) => {
      if (e.node !== engine.nodeId) return;
      const reject = rand() < 0.1;
      setTimeout(() => {
        const answer = reject ? engine.reject(e.task.id, e.agent.id) : engine.accept(e.task.id, e.agent.id);
        answer
          .then(() => {
            if (reject) return;
            accepted.set(e.task.id, (accepted.get(e.task.id) ?? 0) + 1);
            setTimeout(() => {
              engine.complete(e.task.id).then(
                () => completed.add(e.task.id),
                (err: Error) => failures.push(`complete ${e.task.id}: ${err.message}`),
              );
            }, 5 + rand() * 20);
          })
          .catch((err: { code?: string; message: string }) => {
            // An offer withdrawn meanwhile (the agent logged out, or a lease ran out) is a normal outcome.
            if (err.code !== 'ACD_WRONG_STATE' && err.code !== 'ACD_UNKNOWN_TASK') failures.push(`${reject ? 'reject' : 'accept'} ${e.task.id}: ${err.message}`);
          });
      }, rand() * 5);
    });
  }
  const agents = 40;
  for (let i = 0; i < agents; i++) {
    const profile = { skills: { billing: 1 + (i % 10), sales: 1 + ((i * 3) % 10) }, languages: ['en'] };
    await engines[i % 3]!.login(`a${i}`, profile);
  }
  let flipCount = 0;
  const flip = (): Promise<unknown> => {
    const engine = engines[flipCount++ % 3]!;
    const agent = `a${Math.floor(rand() * agents)}`;
    return (agentState(engine.agent(agent), Date.now()) === 'not-ready' ? engine.setReady(agent) : engine.setNotReady(agent, 'break')).catch(() => undefined);
  };
  // Flips while tasks arrive (one per ten tasks, whatever the machine's speed), and more while they are handled.
  let flipping = true;
  const flips = (async () => {
    while (flipping) {
      await flip();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const kinds = ['billing', 'sales', 'both'];
  const enqueues: Promise<unknown>[] = [];
  for (let i = 0; i < options.tasks; i++) {
    enqueues.push(engines[i % 3]!.enqueue({ id: `t${i}`, channel: channels[i % 4]!, queue: kinds[i % 3]! }));
    if (i % 10 === 0) enqueues.push(flip());
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(enqueues);
  if (options.during) await options.during(() => completed.size);
  await until('most tasks completed while agents flip', () => completed.size >= options.tasks * 0.8 || failures.length > 0, 40_000);
  flipping = false;
  await flips;
  // Agents come back from breaks and from RONA (an offer can time out while Redis is away): nothing else may stall.
  const comeBack = setInterval(() => {
    for (let i = 0; i < agents; i++) if (agentState(engines[0]!.agent(`a${i}`), Date.now()) === 'not-ready') void engines[0]!.setReady(`a${i}`).catch(() => undefined);
  }, 200);
  await until(`all ${options.tasks} tasks completed (${completed.size} so far)`, () => completed.size === options.tasks || failures.length > 0, 40_000).finally(() => clearInterval(comeBack));
  t.same(failures, [], 'no command failed');
  await Promise.all(engines.map((e) => e.settled()));
  t.same([...accepted.values()].filter((n) => n !== 1), [], 'no task accepted twice');
  t.equal(accepted.size, options.tasks, 'every task accepted');
  t.same(violations, [], 'no agent record out of capacity bounds, on any node');
  t.ok(flipCount >= options.tasks / 10, `${flipCount} agent state flips during the run`);
  // Each node's replica follows the others' commits through the log: on a loaded machine it may trail by a moment.
  await until('every replica caught up (no live task)', () => engines.every((e) => [...e.tasks()].length === 0), 10_000).catch(() => undefined);
  for (const engine of engines) {
    t.same([...engine.tasks()].map((task) => `${task.id} ${task.state} v${task.v} owner ${task.owner}`), [], `${engine.nodeId}: no live task left`);
    t.same([...engine.agents()].filter((a) => channels.some((c) => a.reserved[c] + a.busy[c] !== 0)).map((a) => a.id), [], `${engine.nodeId}: every slot free`);
  }
  await Promise.all(engines.map((e) => e.close()));
}

t.test('three nodes on one Redis: every task handled exactly once, capacity never exceeded', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  await race(t, redis, { tasks: 2000, tag: 'race' });
});

t.test('Redis killed and restarted during load (AOF, fsync always): no task lost or doubled', async (t) => {
  const redis = new RedisServer({ appendOnly: true });
  await redis.start();
  t.teardown(() => redis.stop());
  await race(t, redis, {
    tasks: 1000,
    tag: 'restart',
    during: async (progress) => {
      await until('some progress before the crash', () => progress() > 100, 20_000);
      await redis.stop({ keepData: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await redis.start();
    },
  });
});

t.test('a dead node\'s offers are withdrawn after its lease and its tasks adopted in their places', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  const lease = { nodeLeaseSeconds: 1 };
  const dying = node(redis, 'dying', 'lease', lease);
  await dying.start();
  await dying.login('a', { skills: { billing: 5 }, languages: [] });
  for (const id of ['first', 'second', 'third']) await dying.enqueue({ id, channel: 'voice', queue: 'billing' });
  await dying.settled();
  t.equal(dying.task('first').state, 'offered');
  await dying.close(); // stops renewing its lease without touching its offers: as good as dead
  // Its last renewal (every third of the lease) was at most a third of a lease ago: the lease runs out after this.
  const leaseEndsNoEarlierThan = Date.now() + 1000 - 1000 / 3 - 50;

  const survivor = node(redis, 'survivor', 'lease', lease);
  const offered: string[] = [];
  let firstOfferAt = 0;
  survivor.on('task-offered', (e) => {
    firstOfferAt ||= Date.now();
    offered.push(e.task.id);
  });
  await survivor.start();
  await until('the dead node\'s offer withdrawn and re-offered', () => offered.length > 0, 5000);
  t.ok(firstOfferAt >= leaseEndsNoEarlierThan, 'taken over only once the lease ran out');
  t.same(offered, ['first'], 'the oldest task first');
  t.match(survivor.task('first'), { owner: 'survivor', declinedBy: [] });
  t.same([...survivor.tasks()].map((x) => x.owner), ['survivor', 'survivor', 'survivor']);
  await survivor.accept('first', 'a');
  await survivor.complete('first');
  await until('next in order', () => offered.length === 2, 2000);
  t.same(offered, ['first', 'second']);
  t.match(await survivor.explain('first'), { agentId: 'a' }, 'an ended task still explains itself');
  await survivor.close();
});

t.test('records survive an onecc restart: a new engine on the same Redis sees the same queue and agents', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  const first = node(redis, 'same', 'restart-node');
  await first.start();
  await first.enqueue({ id: 'chat', channel: 'chat', queue: 'billing', priority: 2 });
  await first.continueAs('chat', { channel: 'voice', attributes: { callback: '+15550100' } });
  const before = first.task('chat');
  await first.close();
  const second = node(redis, 'same', 'restart-node');
  await second.start();
  t.same(second.task('chat'), before, 'the task keeps its entry (enqueue time, priority, step) across the restart');
  await second.login('a', { skills: { billing: 5 }, languages: [] });
  await second.settled();
  t.equal(second.task('chat').state, 'offered');
  await second.close();
});

t.test('an engine whose Redis does not answer fails to start with a coded error naming it', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  const port = redis.port;
  await redis.stop();
  const store = new RedisStore({ redis: { host: '127.0.0.1', port }, keyTag: 'absent', logger: silentLogger(), loadTimeoutMs: 300 });
  const engine = new AcdEngine({ settings: settings(QUEUES), store });
  await t.rejects(engine.start(), { code: 'ACD_STORE', message: `Redis at 127.0.0.1:${port} did not answer within 300 ms` });
  await engine.close();
});
