// A one-to-many notification with onecc as it runs: one event for the segment "city = Taipei" of 10,000 profiles
// (among 10,500) reaches each of them exactly once through the SMS webhook (a loopback sink), though onecc is
// restarted in the middle of the send; the same event posted again sends nothing more.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomerStore } from '../../src/customers/index';
import { silentLogger } from '../../src/lib/index';
import type { OneccServer } from '../../src/server';
import { startTestServer, type TestServer } from '../helpers/onecc-server';
import { delay } from '../helpers/wait';

const TOKEN = 'segment-token-0123456789abcdef';
const IN_SEGMENT = 10_000;
const OUTSIDE = 500;

const received = new Map<string, number>();
const sink = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const { to } = JSON.parse(body) as { to: string };
  received.set(to, (received.get(to) ?? 0) + 1);
  res.writeHead(200).end();
});

let server: TestServer;
let onecc: OneccServer;

t.before(async () => {
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const at = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  server = await startTestServer(t, {
    dialplans: {},
    rtpPorts: [37000, 37099],
    env: {
      ONECC_NOTIFICATIONS__API_TOKENS: `["${TOKEN}"]`,
      ONECC_NOTIFICATIONS__CHANNELS: `{sms: {url: "${at}/sms", perSecond: 0}, chat: {url: null, perSecond: 0}, email: {url: null, perSecond: 0}, push: {url: null, perSecond: 0}}`,
      ONECC_NOTIFICATIONS__RULES: `[{id: outage, event: outage.planned, audience: segment, payload: [when], channels: [sms], priority: 5, allChannels: false, contacts: customer, dialplan: null,
        templates: {sms: {en: "Planned maintenance in your area at {{when}}."}}, confirm: null, expiresMinutes: 600, quietHours: null,
        dedupKey: null, maxPerDay: 0, callReason: null, avoidanceHours: 48, callbackUrl: null, followUp: null}]`,
    },
  });
  onecc = server.onecc;
});
t.teardown(() => new Promise<void>((resolve) => sink.close(() => resolve())));

const phone = (i: number) => `+1556${String(i).padStart(7, '0')}`;

async function post(body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

t.test('10,000 customers of a segment notified exactly once across a restart of onecc', async (t) => {
  const customers = new CustomerStore(onecc.redis, server.config.acd.redis.keyTag, { caseIdleHours: 72, logger: silentLogger() });
  for (let next = 0; next < IN_SEGMENT + OUTSIDE; next += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, k) => next + k).map((i) => customers.create([`phone:${phone(i)}`], { attributes: { city: i < IN_SEGMENT ? 'Taipei' : 'Tainan' } }, 'test')));
  }
  await customers.close();

  t.match(await post({ type: 'outage.planned', segment: { attributes: { city: 'Taipei' } }, payload: { when: '02:00' } }), { status: 422, body: { error: /needs its own id/ } }, 'a one-to-many event needs an id');
  t.match(await post({ type: 'outage.planned', id: 'o1', segment: { city: 'Taipei' }, payload: { when: '02:00' } }), { status: 422, body: { error: /segment: \{language\?, attributes\?/ } });
  const started = await post({ type: 'outage.planned', id: 'o1', segment: { attributes: { city: 'Taipei' } }, payload: { when: '02:00' } });
  t.match(started, { status: 202, body: { job: 'job-outage.planned-o1', created: true } });

  // Restart onecc once part of the segment has its message.
  for (const deadline = Date.now() + 30_000; received.size < 2000 && Date.now() < deadline; ) await delay(20);
  t.ok(received.size >= 2000 && received.size < IN_SEGMENT, `restarting with ${received.size} sent`);
  onecc = await server.restart();

  for (const deadline = Date.now() + 90_000; received.size < IN_SEGMENT && Date.now() < deadline; ) await delay(100);
  await delay(500);
  t.equal(received.size, IN_SEGMENT, 'every customer of the segment got it');
  t.same([...received.values()].filter((n) => n !== 1), [], 'each exactly once');
  t.equal([...received.keys()].filter((to) => Number(to.slice(-7)) >= IN_SEGMENT).length, 0, 'nobody outside the segment');
  const job = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/events/jobs/job-outage.planned-o1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Record<string, unknown>;
  t.match(job, { state: 'done', scanned: IN_SEGMENT + OUTSIDE, matched: IN_SEGMENT, made: IN_SEGMENT }, 'the job walked every profile once');

  t.match(await post({ type: 'outage.planned', id: 'o1', segment: { attributes: { city: 'Taipei' } }, payload: { when: '02:00' } }), { status: 202, body: { created: false } }, 'the same event again');
  await delay(1000);
  t.equal([...received.values()].reduce((a, b) => a + b, 0), IN_SEGMENT, 'sends nothing more');
});
