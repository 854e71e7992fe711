import t from 'tap';
import Redis from 'ioredis';
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

t.test('a node routing with other queues or skills refuses to join the live nodes, naming what differs', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  const first = node(redis, 'first', 'config', { nodeLeaseSeconds: 1 });
  await first.start();
  const queues = [QUEUES[0]!, { ...QUEUES[1]!, target: 'sales >= 2' }, QUEUES[2]!];
  const store = new RedisStore({ redis: { host: redis.host, port: redis.port }, keyTag: 'config', logger: silentLogger() });
  const other = new AcdEngine({ settings: settings(queues, { nodeLeaseSeconds: 1, skills: ['billing', 'sales', 'tech', 'legal'] }), store, nodeId: 'other' });
  await t.rejects(other.start(), {
    code: 'ACD_CONFIG_MISMATCH',
    message: 'node other routes with another configuration than live node first: acd.queues.sales, acd.skills differ; every node sharing this Redis needs the same acd settings',
  });
  await other.close();
  const sameButReordered = node(redis, 'second', 'config', { nodeLeaseSeconds: 1, skills: ['tech', 'sales', 'billing'] });
  await sameButReordered.start();
  t.pass('the same settings, skills listed in another order: joins');
  await Promise.all([first.close(), sameButReordered.close()]);
  // Once every live node is gone (leases run out), a new configuration may start: an operator's rolling change.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const changed = new AcdEngine({ settings: settings(queues, { nodeLeaseSeconds: 1 }), store: new RedisStore({ redis: { host: redis.host, port: redis.port }, keyTag: 'config', logger: silentLogger() }), nodeId: 'changed' });
  await changed.start();
  t.pass('a new configuration starts once no live node runs the old one');
  await changed.close();
});

t.test('one node id, two processes: the second is refused while the first renews; a clean restart takes the id at once; a node whose id was taken stops', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  const lease = { nodeLeaseSeconds: 1 };
  const running = node(redis, 'n1', 'ids', lease);
  await running.start();
  const duplicate = node(redis, 'n1', 'ids', lease);
  const refusedAfter = Date.now();
  await t.rejects(duplicate.start(), { code: 'ACD_NODE_ID_HELD', message: /^node id n1 is held by another running onecc \(its lease keeps being renewed, now until .*\); give each node its own acd.nodeId$/ });
  t.ok(Date.now() - refusedAfter >= 1900, 'refused only after waiting two leases for it to run out');
  await duplicate.close();

  await running.close(); // cleanly: the id is released (a crash would leave it held until its lease ran out)
  const restarted = node(redis, 'n1', 'ids', lease);
  const restartAt = Date.now();
  await restarted.start();
  t.ok(Date.now() - restartAt < 500, `the restarted node took its id at once (${Date.now() - restartAt} ms)`);

  // Another process takes the id (as after this one stalled past its lease): at its next renewal this one stops.
  const raw = new Redis({ host: redis.host, port: redis.port });
  await raw.hset('{ids}:acd:node-instances', 'n1', 'another-process');
  raw.disconnect();
  const closed = new Promise<void>((resolve) => restarted.once('close', () => resolve()));
  await t.resolves(Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still routing')), 2000))]), 'fenced: it closed itself');
  await t.rejects(restarted.enqueue({ channel: 'chat', queue: 'billing' }), { name: 'InvalidStateError' });
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
