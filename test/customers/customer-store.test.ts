// The customer store on a real redis-server: identities checked, never guessed; a contact attached to the customer
// its identities name (or a new one), atomically across racing nodes; cases that follow the customer across
// contacts; merge and split with their audit trail and their refusals; erasure that leaves nothing behind.
import t, { type Test } from 'tap';
import Redis from 'ioredis';
import { CustomerStore, parseIdentity, IdentityError } from '../../src/customers/index';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';

let redis: RedisServer;
let raw: Redis;
let tag = 0;

t.before(async () => {
  redis = new RedisServer();
  await redis.start();
  raw = new Redis({ host: '127.0.0.1', port: redis.port });
});
t.teardown(async () => {
  raw.disconnect();
  await redis.stop();
});

function store(t: Pick<Test, 'teardown'>, caseIdleHours = 72): CustomerStore {
  const s = new CustomerStore({ host: '127.0.0.1', port: redis.port }, `cx-test-${++tag}`, { caseIdleHours, logger: silentLogger() });
  t.teardown(() => s.close());
  return s;
}

const phone = (n: string) => parseIdentity(`phone:${n}`);

t.test('identities: one stored form, malformed ones refused with the reason, never normalised', async (t) => {
  t.equal(parseIdentity('phone:+15551234567'), 'phone:+15551234567');
  t.equal(parseIdentity('EMAIL:Ann.Lee@Example.COM'), 'email:Ann.Lee@example.com', 'the domain without case, the local part as written');
  t.equal(parseIdentity('connector:line:U123'), 'connector:line:U123');
  for (const [bad, reason] of [
    ['phone:5551234', /E\.164/], ['phone:+1 555 1234', /E\.164/], ['phone:+0123', /E\.164/], ['email:ann', /name@example\.com/],
    ['fax:123', /kind must be one of/], ['nothing', /kind must be one of/], ['crm:a b', /letters, digits/],
  ] as const) {
    t.throws(() => parseIdentity(bad), { name: 'IdentityError', message: reason }, `${bad} refused`);
  }
  t.type(new IdentityError('x'), Error);
});

t.test('a contact is attached to the customer its identities name; new identities are linked; cases follow the customer', async (t) => {
  const s = store(t);
  const first = await s.attach({ interaction: 'call-1', startedAt: 1000, identities: [phone('+15557001')], name: 'Ann Lee', language: 'en' });
  t.match(first, { how: 'created', conflicts: [] });
  t.same(await s.attach({ interaction: 'call-1', startedAt: 1000, identities: [phone('+15557001')] }), { ...first, how: 'known' }, 'attaching again changes nothing');
  const chat = await s.attach({ interaction: 'chat-1', startedAt: 2000, identities: [parseIdentity('email:ann@example.com'), phone('+15557001')] });
  t.match(chat, { customer: first.customer, case: first.case, how: 'matched' }, 'the phone names her: same customer, same open case');
  const byEmail = await s.attach({ interaction: 'email-1', startedAt: 3000, identities: [parseIdentity('email:ann@example.com')] });
  t.equal(byEmail.customer, first.customer, 'the email was linked to her by the chat');
  t.match(await s.get(first.customer), { name: 'Ann Lee', language: 'en', doNotContact: false, identities: ['email:ann@example.com', 'phone:+15557001'] });
  t.same(await s.timeline(first.customer, 10), ['email-1', 'chat-1', 'call-1'], 'the timeline, newest first');
  t.same(await s.timeline(first.customer, 10, 'email-1'), ['chat-1', 'call-1'], 'without the current contact');
  t.match(await s.cases(first.customer), [{ id: first.case, interactions: ['call-1', 'chat-1', 'email-1'], closedAt: null }]);

  await s.closeCase(first.customer, first.case, 'supervisor-1');
  const later = await s.attach({ interaction: 'call-2', startedAt: 4000, identities: [phone('+15557001')] });
  t.not(later.case, first.case, 'after the case was closed, the next contact opens a new one');
  t.equal((await s.cases(first.customer)).length, 2);

  const anonymous = await s.attach({ interaction: 'video-1', startedAt: 5000, identities: [] });
  t.not(anonymous.customer, first.customer, 'a contact with no identity is a customer of its own');
});

t.test('an idle case is not reopened', async (t) => {
  const s = store(t, 0.0001); // 0.36 s
  const a = await s.attach({ interaction: 'a', startedAt: 1, identities: [phone('+15557002')] });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const b = await s.attach({ interaction: 'b', startedAt: 2, identities: [phone('+15557002')] });
  t.equal(b.customer, a.customer);
  t.not(b.case, a.case, 'a contact after the idle time opens a new case');
});

t.test('contacts racing from one new number on two nodes make one customer', async (t) => {
  const keyTag = `cx-race-${++tag}`;
  const nodes = [0, 1].map(() => new CustomerStore({ host: '127.0.0.1', port: redis.port }, keyTag, { caseIdleHours: 72, logger: silentLogger() }));
  t.teardown(() => Promise.all(nodes.map((n) => n.close())));
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => nodes[i % 2]!.attach({ interaction: `ix-${i}`, startedAt: i, identities: [phone(`+1555800${i % 10}`)] })));
  const customers = new Set(results.map((r) => r.customer));
  t.equal(customers.size, 10, '10 numbers, 10 customers, whatever the order');
  for (const id of customers) t.equal((await nodes[0]!.cases(id)).length, 1, 'each with one case');
});

t.test('merge: identities, timeline, cases and audit move; conflicting merges are refused with the reason', async (t) => {
  const s = store(t);
  const a = await s.attach({ interaction: 'a-1', startedAt: 1, identities: [phone('+15557101')], name: 'Bo' });
  const b = await s.attach({ interaction: 'b-1', startedAt: 2, identities: [parseIdentity('email:bo@example.com')] });
  await s.update(b.customer, { doNotContact: true, consent: { marketing: false } }, 'supervisor-1');
  await s.update(a.customer, { consent: { marketing: true, notifications: true } }, 'supervisor-1');
  const merged = await s.merge(b.customer, a.customer, 'supervisor-1', 'same person (called and emailed)');
  t.match(merged, { id: a.customer, name: 'Bo', doNotContact: true, consent: { marketing: false, notifications: true }, identities: ['email:bo@example.com', 'phone:+15557101'] },
    'the stricter do-not-contact and the withdrawn consent win');
  t.equal((await s.get(b.customer))?.id, a.customer, 'the merged-away id leads to the customer');
  t.equal(await s.customerOf(parseIdentity('email:bo@example.com')), a.customer);
  t.same(await s.timeline(a.customer, 10), ['b-1', 'a-1']);
  t.equal((await s.cases(a.customer)).length, 2);
  t.match((await s.audit(a.customer)).map((e) => e.action), ['created', 'updated', 'created', 'updated', 'merged']);
  t.match((await s.audit(a.customer)).at(-1), { action: 'merged', by: 'supervisor-1', reason: /same person/, from: b.customer });

  await t.rejects(s.merge(a.customer, a.customer, 'x', 'y'), { code: 'CONFLICT', message: /itself/ });
  await t.rejects(s.merge(b.customer, a.customer, 'x', 'y'), { code: 'CONFLICT', message: /merged into/ });
  await t.rejects(s.merge('cu-nobody', a.customer, 'x', 'y'), { code: 'NOT_FOUND' });
  const c = await s.attach({ interaction: 'c-1', startedAt: 3, identities: [phone('+15557102')] });
  await s.update(c.customer, { crmId: 'CRM-2' }, 'crm');
  await s.update(a.customer, { crmId: 'CRM-1' }, 'crm');
  await t.rejects(s.merge(c.customer, a.customer, 'x', 'y'), { code: 'CONFLICT', message: /different CRM ids \(CRM-2, CRM-1\)/ }, 'two CRM records are two people until the CRM says otherwise');
  await t.rejects(s.link(c.customer, phone('+15557101'), 'x'), { code: 'CONFLICT', message: /belongs to customer/ });
});

t.test('split: identities and the interactions they brought go to a new customer, audited on both', async (t) => {
  const s = store(t);
  const a = await s.attach({ interaction: 'home-1', startedAt: 1, identities: [phone('+15557201')] });
  const mail = await s.attach({ interaction: 'mail-1', startedAt: 2, identities: [parseIdentity('email:cy@example.com')] });
  await s.merge(mail.customer, a.customer, 'supervisor-1', 'looked like one');
  await s.attach({ interaction: 'mail-2', startedAt: 3, identities: [parseIdentity('email:cy@example.com')] });
  const { customer, movedInteractions } = await s.split(a.customer, [parseIdentity('email:cy@example.com')], [], 'supervisor-1', 'the email is her son\'s');
  t.same(customer.identities, ['email:cy@example.com']);
  t.same(movedInteractions.sort(), ['mail-1', 'mail-2'], 'the interactions that came in through the email move');
  t.same(await s.timeline(a.customer, 10), ['home-1']);
  t.match(await s.cases(customer.id), [{ interactions: ['mail-1', 'mail-2'] }], 'in a case of the new customer');
  t.match(await s.cases(a.customer), [{ interactions: ['home-1'] }], 'her case keeps her call; the emptied one is gone');
  t.match((await s.audit(a.customer)).at(-1), { action: 'split', to: customer.id, reason: /son/ });
  t.match((await s.audit(customer.id))[0], { action: 'split-from', from: a.customer });
  await t.rejects(s.split(a.customer, [phone('+15557201')], [], 'x', 'y'), { code: 'CONFLICT', message: /at least one identity/ });
  await t.rejects(s.split(a.customer, [phone('+15559999')], [], 'x', 'y'), { code: 'CONFLICT', message: /not an identity/ });
});

t.test('erase leaves no key of the customer, only an anonymous line in the erasure log', async (t) => {
  const keyTag = `cx-erase-${++tag}`;
  const s = new CustomerStore({ host: '127.0.0.1', port: redis.port }, keyTag, { caseIdleHours: 72, logger: silentLogger() });
  t.teardown(() => s.close());
  const a = await s.attach({ interaction: 'e-1', startedAt: 1, identities: [phone('+15557301')], name: 'Dee' });
  const b = await s.attach({ interaction: 'e-2', startedAt: 2, identities: [parseIdentity('email:dee@example.com')] });
  await s.merge(b.customer, a.customer, 'supervisor-1', 'same');
  const other = await s.attach({ interaction: 'o-1', startedAt: 3, identities: [phone('+15557302')] });
  t.same((await s.erase(a.customer, 'dpo')).interactions.sort(), ['e-1', 'e-2']);
  const left: string[] = [];
  for (const key of await raw.keys(`{${keyTag}}:*`)) {
    const type = await raw.type(key);
    const dump = type === 'string' ? await raw.get(key) : type === 'hash' ? JSON.stringify(await raw.hgetall(key)) : type === 'list' ? JSON.stringify(await raw.lrange(key, 0, -1)) : type === 'set' ? JSON.stringify(await raw.smembers(key)) : JSON.stringify(await raw.zrange(key, '0', '-1'));
    // (Interaction ids as whole tokens: a random case or customer id may contain "e-1", as in "case-1Yb...".)
    if (/7301|dee@|Dee|(?<![\w-])e-[12](?![\w-])/.test(`${key} ${dump}`) || key.includes(a.customer) || key.includes(b.customer)) left.push(key);
  }
  t.same(left, [], 'nothing of her is left');
  t.equal(await s.get(a.customer), undefined);
  t.ok(await s.get(other.customer), 'the other customer is untouched');
  t.match(await s.erasures(), [{ customer: a.customer, by: 'dpo', interactions: 2 }]);
});
