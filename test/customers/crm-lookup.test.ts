// The CRM lookup: a contact none of whose identities onecc knows is asked of the business's CRM (a real HTTP server
// on loopback stands in for it, speaking the documented webhook): its answer links the contact to the CRM's
// customer — two numbers the CRM knows as one person make one profile — and a CRM that does not know, fails or is
// slow never stops the contact.
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomerLinker } from '../../src/channels/customer-linker';
import type { InteractionRecord } from '../../src/channels/interaction-records';
import { CustomerStore } from '../../src/customers/index';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';

const asked: unknown[] = [];
const crm = createServer(async (req: IncomingMessage, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const { identities } = JSON.parse(body) as { identities: string[] };
  asked.push(identities);
  if (identities.includes('phone:+15559003')) return void setTimeout(() => res.end('{"crmId":"LATE"}'), 1000);
  if (identities.includes('phone:+15559004')) return void res.writeHead(500).end();
  const known: Record<string, object> = { 'phone:+15559001': { crmId: 'C-77', name: 'Zed Park', language: 'zh-TW' }, 'phone:+15559002': { crmId: 'C-77' } };
  const answer = identities.map((i) => known[i]).find(Boolean);
  res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'unknown' }));
});

let redis: RedisServer;
let store: CustomerStore;
let linker: CustomerLinker;

t.before(async () => {
  redis = new RedisServer();
  await redis.start();
  await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
  store = new CustomerStore({ host: '127.0.0.1', port: redis.port }, 'crm-test', { caseIdleHours: 72, logger: silentLogger() });
  linker = new CustomerLinker({ customers: store, crm: { url: `http://127.0.0.1:${(crm.address() as AddressInfo).port}/lookup`, timeoutMs: 300 }, logger: silentLogger() });
});
t.teardown(async () => {
  await store.close();
  crm.close();
  await redis.stop();
});

function call(id: string, caller: string): InteractionRecord {
  return { id, channel: 'voice', startedAt: new Date().toISOString(), trunk: 'carrier', caller, called: '7300', legs: [] };
}

t.test('two numbers the CRM knows as one person make one customer', async (t) => {
  const first = call('c-1', '+15559001');
  await linker.link(first);
  t.match(await store.get(first.customer!), { name: 'Zed Park', language: 'zh-TW', identities: ['crm:C-77', 'phone:+15559001'] }, 'the CRM\'s id, name and language');
  const second = call('c-2', '+15559002');
  await linker.link(second);
  t.equal(second.customer, first.customer, 'the other number, the same CRM customer: the same profile');
  t.equal(second.case, first.case);
  const again = call('c-3', '+15559001');
  await linker.link(again);
  t.same(asked, [['phone:+15559001'], ['phone:+15559002']], 'a known number is not asked again');
});

t.test('a CRM that does not know, fails or is slow never stops the contact', async (t) => {
  for (const [id, caller] of [['u-1', '+15559000'], ['u-2', '+15559004'], ['u-3', '+15559003']] as const) {
    const record = call(id, caller);
    const started = Date.now();
    await linker.link(record);
    t.ok(Date.now() - started < 900, `${caller}: linked within the lookup's timeout`);
    t.match(await store.get(record.customer!), { identities: [`phone:${caller}`] }, `${caller}: a customer of its own`);
  }
  const pbx = call('p-1', '2001');
  await linker.link(pbx);
  t.match(await store.get(pbx.customer!), { identities: ['sip:2001@carrier'] }, 'an extension is a sip identity with the trunk\'s name');
});
