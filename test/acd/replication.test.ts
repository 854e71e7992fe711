// How an ACD commit knows its change is on the replicas: the primary's online replicas counted (real redis-server
// replicas on 127.0.0.1), and one WAIT shared by the commits answered before it, which says 'lost' for a write whose
// connection closed before its WAIT went out; node leases meanwhile do not wait behind those WAITs.
import t from 'tap';
import Redis from 'ioredis';
import { AcdEngine, RedisStore } from '../../src/acd/index';
import { countOnline, OnlineReplicas } from '../../src/acd/online-replicas';
import { ReplicaWait } from '../../src/acd/replica-wait';
import { silentLogger } from '../../src/lib';
import { RedisServer } from '../helpers/redis-server';
import { queue, settings } from './fixtures';
import { until } from './race';

t.test('countOnline counts only replicas in state online', async (t) => {
  const info = [
    '# Replication', 'role:master', 'connected_slaves:3',
    'slave0:ip=127.0.0.1,port=7001,state=online,offset=120,lag=0',
    'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0',
    'slave2:ip=127.0.0.1,port=7003,state=online,offset=118,lag=1',
    'master_repl_offset:120',
  ].join('\r\n');
  t.equal(countOnline(info), 2);
  t.equal(countOnline('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n'), 0);
});

t.test('two replicas: counted online, a WAIT shared by concurrent writes, a replica stopped is no longer waited for', async (t) => {
  const primary = new RedisServer();
  await primary.start();
  const replicas = [new RedisServer({ replicaOf: primary }), new RedisServer({ replicaOf: primary })];
  for (const replica of replicas) await replica.start();
  const online = new OnlineReplicas(primary, silentLogger());
  const redis = new Redis({ host: primary.host, port: primary.port });
  t.teardown(async () => {
    online.close();
    redis.disconnect();
    for (const server of [...replicas, primary]) await server.stop();
  });
  await until('both replicas online', () => online.count === 2, 15_000);

  let waits = 0;
  const wait = new ReplicaWait(redis, () => Math.min(2, online.count ?? 2), 1000);
  const sent = redis.wait.bind(redis);
  redis.wait = ((...args: Parameters<typeof redis.wait>) => (waits++, sent(...args))) as typeof redis.wait;
  const counts = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    await redis.set(`k${i}`, 'v');
    return wait.after(wait.epoch);
  }));
  t.same(new Set(counts.map((c) => JSON.stringify(c))), new Set([JSON.stringify({ replicas: 2, wanted: 2 })]), 'every write on both replicas');
  t.ok(waits <= 3, `20 concurrent writes covered by ${waits} WAIT(s)`);
  for (const replica of replicas) {
    const reader = new Redis({ host: replica.host, port: replica.port });
    t.equal(await reader.get('k19').finally(() => reader.disconnect()), 'v', `replica ${replica.port} has the last write`);
  }

  await replicas[1]!.stop();
  await until('one replica online', () => online.count === 1, 15_000);
  await redis.set('after', 'v');
  const started = Date.now();
  t.same(await wait.after(wait.epoch), { replicas: 1, wanted: 1 }, 'the stopped replica is not waited for');
  t.ok(Date.now() - started < 900, 'without waiting out the timeout');
});

t.test('a write answered before its connection closed is lost, whatever a WAIT on the next connection says', async (t) => {
  const server = new RedisServer();
  await server.start();
  const redis = new Redis({ host: server.host, port: server.port });
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const wait = new ReplicaWait(redis, () => 0, 100);
  await redis.set('k', 'v');
  const epoch = wait.epoch;
  redis.disconnect(true);
  await until('reconnected', () => redis.status === 'ready', 5000);
  t.equal(await wait.after(epoch), 'lost');
  await redis.set('k', 'w');
  t.same(await wait.after(wait.epoch), { replicas: 0, wanted: 0 }, 'a write of the new connection is covered');
});

t.test('a lease renewal does not wait behind commits waiting for a replica that stopped acknowledging', async (t) => {
  const primary = new RedisServer();
  await primary.start();
  const replica = new RedisServer({ replicaOf: primary });
  await replica.start();
  const store = new RedisStore({ redis: primary, keyTag: 'lease-wait', waitReplicas: 1, waitTimeoutMs: 1000, logger: silentLogger() });
  const engine = new AcdEngine({ settings: settings([queue('sales', 'sales')]), store, nodeId: 'n1' });
  t.teardown(async () => {
    replica.pause(false);
    await engine.close();
    for (const server of [replica, primary]) await server.stop();
  });
  await engine.start();
  const online = new OnlineReplicas(primary, silentLogger());
  await until('the replica online', () => online.count === 1, 15_000).finally(() => online.close());
  await new Promise((resolve) => setTimeout(resolve, 600)); // the store's own count polls every 500 ms
  await engine.login('a1', { skills: { sales: 5 }, languages: ['en'] });
  replica.pause(true);
  // Still counted online (the link is up), so this commit waits WAIT round after WAIT round for it.
  const login = engine.login('a2', { skills: { sales: 5 }, languages: ['en'] });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  t.equal(await store.renewLease('n1', 'someone-else', Date.now() + 2000), false, 'the lease script answers');
  t.ok(Date.now() - started < 500, `renewed in ${Date.now() - started} ms, not after the commit's WAITs`);
  replica.pause(false);
  await login;
});
