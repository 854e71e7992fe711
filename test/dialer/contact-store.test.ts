// A campaign's contacts on a real redis-server: a customer's erasure forgets their number in the list, the schedule
// and the attempt records, and keeps everyone else's and the abandoned-call audit.
import t from 'tap';
import { ContactStore } from '../../src/dialer/contact-store';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';

t.test('forgetNumbers removes a number from contacts, schedule and attempts, and nothing else', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  const store = new ContactStore({ host: '127.0.0.1', port: redis.port }, 'cs', silentLogger());
  t.teardown(async () => {
    store.close();
    await redis.stop();
  });
  const contact = (number: string) => ({ id: number, number, timezone: 'UTC', attributes: {} });
  t.equal(await store.import('renewals', [contact('+15550001'), contact('+15550002')], 0), 2);
  const [first] = await store.claim('renewals', 1, 1);
  t.equal(first!.number, '+15550001');
  await store.finish(first!, { campaign: 'renewals', contact: first!.id, number: first!.number, attempt: 1, at: new Date().toISOString(), outcome: 'busy' }, 10_000);
  await store.audit('renewals', { contact: '+15550001', at: 1 });

  t.equal(await store.forgetNumbers('renewals', ['+15550001']), 1, 'one contact removed');
  t.equal(await store.contact('renewals', '+15550001'), undefined, 'the number is gone from the list');
  t.same(await store.attempts('renewals', 10), [], 'and from the attempt records');
  t.same(await store.counts('renewals'), { contacts: 1, scheduled: 1 }, 'its retry is off the schedule; the other contact is still due');
  t.match(await store.claim('renewals', 5, 20_000), [{ number: '+15550002' }], 'only the other number is ever claimed again');
  t.equal((await store.abandons('renewals', 10)).length, 1, 'the abandoned-call audit record is kept');
});
