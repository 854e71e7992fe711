// Redis failover under load: three ACD engines reach Redis through real redis-sentinel processes (a primary, two
// replicas, three Sentinels, all on 127.0.0.1). The primary is killed (SIGKILL) while tasks are routed, accepted and
// completed and agents flip between ready and not-ready; the Sentinels promote a replica, every engine follows it,
// and afterwards every task was accepted exactly once and completed, no agent holds a slot, no record left its
// capacity bounds. Changes count as committed once every online replica has them (waitReplicas 2), so whichever
// replica is promoted has every change a node acted on.
import t from 'tap';
import { SentinelGroup } from '../helpers/redis-sentinel';
import { race, until } from '../acd/race';

t.test('the Redis primary killed during load: Sentinel promotes a replica, no task lost or assigned twice', async (t) => {
  const group = new SentinelGroup({ replicas: 2, sentinels: 3 });
  t.teardown(() => group.stop());
  await group.start();
  let failover: { failoverMs: number; killedPort: number; newPort: number } | undefined;
  await race(t, group.target, {
    tasks: 1000,
    tag: 'sentinel',
    waitReplicas: 2,
    during: async (progress) => {
      await until('some progress before the failover', () => progress() > 100, 20_000);
      failover = await group.killPrimary();
    },
  });
  t.ok(failover && failover.newPort !== failover.killedPort, `primary ${failover?.killedPort} killed; ${failover?.newPort} promoted after ${failover?.failoverMs} ms`);
});
