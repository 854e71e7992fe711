import t from 'tap';
import { AcdEngine, RedisStore } from '../../src/acd/index';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';
import { settings } from './fixtures';
import { node, QUEUES, race, until } from './race';

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
