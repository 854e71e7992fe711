// Notifications with onecc as it runs: business events come in over HTTP (bearer token or signed webhook), gateways
// (a loopback HTTP server standing in for the SMS, chat and email providers, speaking the documented webhooks) get
// the messages signed, the customer's reply comes back through the gateway and the business hears the outcome.
// Also: 401 for unauthenticated events, 422 and the dead-letter list (replayed once the customer exists), a failing
// SMS gateway falling back to email, preferences, consent, de-duplication, and the report against /metrics.
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OneccServer } from '../../src/server';
import { signWebhook } from '../../src/lib/index';
import { startTestServer } from '../helpers/onecc-server';
import { delay } from '../helpers/wait';

const SECRET = 'notifications-secret-0123456789';
const TOKEN = 'bearer-token-0123456789abcdef';

interface Delivery { readonly path: string; readonly body: Record<string, any>; readonly signed: boolean }
const deliveries: Delivery[] = [];
/** What each gateway path answers; 200 unless set. */
const status = new Map<string, number>();
const gateway = createServer(async (req: IncomingMessage, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const signed = req.headers['x-onecc-signature'] === signWebhook(SECRET, String(req.headers['x-onecc-timestamp']), body);
  deliveries.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, any>, signed });
  res.writeHead(status.get(req.url ?? '') ?? 200).end();
});

let onecc: OneccServer;
let base: string;

t.before(async () => {
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const at = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  const rule = (id: string, event: string, channels: string, extra = '') =>
    `{id: ${id}, event: ${event}, audience: customer, payload: [flight, departs], channels: [${channels}], priority: 5, allChannels: false, contacts: customer, templates: {sms: {en: "Flight {{flight}} now leaves at {{departs}}. Reply YES or NO."}, chat: {en: "Hi {{customer.name}}: flight {{flight}} now leaves at {{departs}}. Keep your seat? YES or NO", zh-TW: "{{customer.name}} 您好：{{flight}} 改為 {{departs}} 起飛。保留座位請回 YES"}, email: {en: "Dear {{customer.name}}, flight {{flight}} leaves at {{departs}}."}}, dialplan: null, confirm: {waitMinutes: 30, yes: [yes, y], no: [no, n]}, expiresMinutes: 600, quietHours: null, dedupKey: "{{flight}}-{{departs}}", maxPerDay: 5, callReason: null, avoidanceHours: 48, callbackUrl: "${at}/business", followUp: null${extra}}`;
  const started = await startTestServer(t, {
    dialplans: {},
    rtpPorts: [36800, 36899],
    env: {
      ONECC_NOTIFICATIONS__SECRET: SECRET,
      ONECC_NOTIFICATIONS__API_TOKENS: `["${TOKEN}"]`,
      ONECC_NOTIFICATIONS__ATTEMPTS_PER_CHANNEL: '2',
      ONECC_NOTIFICATIONS__CHANNELS: `{sms: {url: "${at}/sms", perSecond: 0}, chat: {url: "${at}/chat", perSecond: 0}, email: {url: "${at}/email", perSecond: 0}, push: {url: null, perSecond: 0}}`,
      ONECC_NOTIFICATIONS__RULES: `[${rule('flight-change', 'flight.changed', 'sms, chat, email')}, {id: storm, event: storm.warning, audience: customer, payload: [area], channels: [sms, email],
        priority: 5, allChannels: true, contacts: all, templates: {sms: {en: "Storm warning for {{area}}, {{customer.name}}."}, email: {en: "Storm warning for {{area}}."}}, dialplan: null, confirm: null,
        expiresMinutes: 60, quietHours: null, dedupKey: null, maxPerDay: 0, callReason: null, avoidanceHours: 48, callbackUrl: null, followUp: null}]`,
    },
  });
  onecc = started.onecc;
  base = `http://127.0.0.1:${onecc.http.port}`;
});
t.teardown(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** A gateway's request, signed as every onecc webhook. */
function signed(body: unknown): { text: string; headers: Record<string, string> } {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { text, headers: { 'x-onecc-timestamp': timestamp, 'x-onecc-signature': signWebhook(SECRET, timestamp, text) } };
}

async function delivered(match: (d: Delivery) => boolean, ms = 5000): Promise<Delivery | undefined> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await delay(50)) {
    const found = deliveries.find(match);
    if (found) return found;
  }
  return undefined;
}

const flight = { flight: 'BR12', departs: '14:40' };

t.test('events are authenticated; a bad one goes to the dead-letter list and is replayed once it can be taken', async (t) => {
  t.equal((await post('/events', { type: 'flight.changed', customer: 'phone:+15558001', payload: flight }, {})).status, 401, 'no bearer token: 401');
  t.equal((await post('/events', { type: 'flight.changed' }, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status, 401);
  const forged = signed({ type: 'flight.changed', customer: 'phone:+15558001', payload: flight });
  t.equal((await post('/events/webhook', forged.text, { ...forged.headers, 'x-onecc-signature': 'sha256=00' })).status, 401, 'a bad signature: 401');
  t.equal((await post('/events/webhook', forged.text, { ...forged.headers, 'x-onecc-timestamp': '1000000000' })).status, 401, 'a stale signature: 401');

  const unknown = await post('/events', { type: 'flight.changed', customer: 'phone:+15558001', payload: flight });
  t.match(unknown, { status: 422, body: { error: /no customer phone:\+15558001/, deadLetter: /^dl-/ } }, 'an unknown customer: 422 with the reason');
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:+15558001', payload: { flight: 'BR12' } }), { status: 422, body: { error: /rule flight-change needs "departs"/ } }, 'a payload the rule cannot use');
  t.match(await post('/events', { type: 'parcel.arrived', customer: 'phone:+15558001' }), { status: 422, body: { error: /no customer rule answers event type "parcel.arrived"/ } });
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:555', payload: flight }), { status: 422, body: { error: /E\.164/ } });
  const letters = (await (await fetch(`${base}/events/dead-letters`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { id: string; reason: string }[];
  t.equal(letters.length, 4, 'all four kept');
  t.equal((await fetch(`${base}/events/dead-letters`)).status, 401, 'the list needs the token too');

  // The customer exists now: the first dead letter is taken.
  t.equal((await post('/customers', { identities: ['phone:+15558001'], name: 'Nora', by: 'test' }, {})).status, 201);
  const replayed = await post(`/events/dead-letters/${unknown.body.deadLetter}/replay`, {});
  t.match(replayed, { status: 202, body: { notifications: [{ rule: 'flight-change', id: /^nt-/ }] } }, 'replayed');
  const sms = await delivered((d) => d.path === '/sms' && d.body.notification === replayed.body.notifications[0].id);
  t.match(sms, { signed: true, body: { channel: 'sms', to: '+15558001', text: 'Flight BR12 now leaves at 14:40. Reply YES or NO.', confirm: true } }, 'the SMS gateway got it, signed');
  t.equal(((await (await fetch(`${base}/events/dead-letters`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as unknown[]).length, 3, 'and it left the list');
});

t.test('a customer who prefers chat gets it there in their language; their reply confirms and the business hears it', async (t) => {
  const made = await post('/customers', { identities: ['connector:line:U77', 'phone:+15558002'], name: '美玲', language: 'zh-TW', notifications: { 'flight.changed': ['chat', 'sms'] }, by: 'test' }, {});
  t.equal(made.status, 201);
  const accepted = await post('/events', { type: 'flight.changed', id: 'ev-1', customer: 'phone:+15558002', payload: flight });
  const id = accepted.body.notifications[0].id as string;
  const chat = await delivered((d) => d.path === '/chat' && d.body.notification === id);
  t.match(chat?.body, { channel: 'chat', to: 'line:U77', language: 'zh-TW', text: '美玲 您好：BR12 改為 14:40 起飛。保留座位請回 YES' }, 'on chat first, in her language');
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:+15558002', payload: flight }), { status: 202, body: { notifications: [], skipped: [{ reason: 'duplicate' }] } }, 'the same change again is not sent twice');

  const receipt = signed({ notification: id, status: 'delivered' });
  t.match(await post('/notifications/receipts', receipt.text, receipt.headers), { status: 200, body: { state: 'waiting' } });
  const unsigned = await post('/notifications/replies', { notification: id, text: 'yes' }, {});
  t.equal(unsigned.status, 401, 'an unsigned reply is refused');
  const reply = signed({ notification: id, text: 'Yes please' });
  t.match(await post('/notifications/replies', reply.text, reply.headers), { status: 200, body: { state: 'confirmed', understood: true } });
  const told = await delivered((d) => d.path === '/business' && d.body.notification === id);
  t.match(told, { signed: true, body: { outcome: 'confirmed', answer: 'Yes please', event: { id: 'ev-1', type: 'flight.changed' } } }, 'the business hears the confirmation');
  const again = signed({ notification: id, text: 'no' });
  t.match(await post('/notifications/replies', again.text, again.headers), { status: 409, body: { state: 'confirmed' } }, 'a confirmed notification stays confirmed');
  const record = (await (await fetch(`${base}/notifications/${id}`)).json()) as { state: string; attempts: { channel: string; deliveredAt?: string; answeredAt?: string }[] };
  t.match(record, { state: 'confirmed', attempts: [{ channel: 'chat', deliveredAt: /T/, answeredAt: /T/, outcome: 'confirmed' }] });

  // The notification is a contact: on her timeline, in her case, with her answer; erased with her.
  const cu = (await (await fetch(`${base}/customers?identity=${encodeURIComponent('phone:+15558002')}`)).json()) as { id: string };
  const timeline = (await (await fetch(`${base}/customers/${cu.id}/timeline`)).json()) as Record<string, any>[];
  t.match(timeline, [{ id, channel: 'notification', outcome: 'confirmed', customer: cu.id, case: /^case-/, notification: { rule: 'flight-change', answer: 'Yes please' } }], 'on her timeline, in her case');
  t.equal((await fetch(`${base}/customers/${cu.id}`, { method: 'DELETE', body: '{"by":"dpo"}' })).status, 200);
  t.equal((await fetch(`${base}/notifications/${id}`)).status, 404, 'erasing her erases the notification');
});

t.test('a failing SMS gateway falls back to email; preferences and consent are honoured; the report agrees with /metrics', async (t) => {
  status.set('/sms', 503);
  t.teardown(() => status.delete('/sms'));
  await post('/customers', { identities: ['phone:+15558003', 'email:omar@example.com'], name: 'Omar', notifications: { 'flight.changed': ['sms', 'email'] }, by: 'test' }, {});
  const accepted = await post('/events', { type: 'flight.changed', customer: 'email:omar@example.com', payload: { flight: 'CI5', departs: '09:10' } });
  const id = accepted.body.notifications[0].id as string;
  const email = await delivered((d) => d.path === '/email' && d.body.notification === id, 8000);
  t.match(email?.body, { channel: 'email', to: 'omar@example.com', text: 'Dear Omar, flight CI5 leaves at 09:10.', attempt: 2 }, 'after two tries on SMS, email');
  t.equal(deliveries.filter((d) => d.path === '/sms' && d.body.notification === id).length, 2, 'SMS was tried attemptsPerChannel times');
  const record = (await (await fetch(`${base}/notifications/${id}`)).json()) as { current: number; attempts: { channel: string; outcome?: string; detail?: string }[] };
  t.match(record.attempts, [{ channel: 'sms', outcome: 'failed', detail: /503/ }, { channel: 'email', outcome: 'sent' }]);

  await post('/customers', { identities: ['phone:+15558004'], notifications: { 'flight.changed': [] }, by: 'test' }, {});
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:+15558004', payload: flight }), { status: 202, body: { skipped: [{ reason: 'opted-out' }] } }, 'a customer who turned the event off');
  await post('/customers', { identities: ['phone:+15558005'], consent: { notifications: false }, by: 'test' }, {});
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:+15558005', payload: flight }), { status: 202, body: { skipped: [{ reason: 'no-consent' }] } }, 'consent withdrawn');
  await post('/customers', { identities: ['phone:+15558006'], doNotContact: true, by: 'test' }, {});
  t.match(await post('/events', { type: 'flight.changed', customer: 'phone:+15558006', payload: flight }), { status: 202, body: { skipped: [{ reason: 'do-not-contact' }] } });

  const report = (await (await fetch(`${base}/reports/notifications?from=${new Date().toISOString().slice(0, 10)}&interval=day`)).json()) as { rows: Record<string, any>[] };
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const counted = (outcome: string) => [...metrics.matchAll(new RegExp(`^onecc_notifications_total\\{rule="flight-change",channel="[a-z]+",outcome="${outcome}"\\} (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  t.match(report.rows[0], {
    rule: 'flight-change', created: counted('created'), sent: counted('sent'), delivered: counted('delivered'), confirmed: counted('final:confirmed'), fallbacks: counted('fallback'),
    skipped: { duplicate: 1, 'opted-out': 1, 'no-consent': 1, 'do-not-contact': 1 }, deliveryRatePercent: /./, optedOut: 1,
  }, 'the notifications report counts what Prometheus counts');
  t.equal(report.rows[0]!.created, 3);
  t.equal(report.rows[0]!.confirmed, 1);
});

t.test('a rule for every channel at once and every contact: the customer and their spouse', async (t) => {
  t.match(await post('/customers', { identities: ['phone:+15558010'], contacts: [{ name: 'Lee', phone: '555-1234' }], by: 'test' }, {}), { status: 400, body: { error: /contacts: \[0\]\.phone/ } }, 'a contact\'s phone is checked');
  t.equal((await post('/customers', { identities: ['phone:+15558010', 'email:kai@example.com'], name: 'Kai', contacts: [{ name: 'Lee', phone: '+15558011' }], by: 'test' }, {})).status, 201);
  const made = await post('/events', { type: 'storm.warning', customer: 'phone:+15558010', payload: { area: 'Keelung' } });
  t.equal(made.status, 202);
  for (let i = 0; i < 100 && deliveries.filter((d) => d.body.rule === 'storm').length < 3; i++) await delay(50);
  const storm = deliveries.filter((d) => d.body.rule === 'storm').map((d) => `${d.body.channel} ${d.body.to}: ${d.body.text}`).sort();
  t.same(storm, [
    'email kai@example.com: Storm warning for Keelung.',
    'sms +15558010: Storm warning for Keelung, Kai.',
    'sms +15558011: Storm warning for Keelung, Lee.',
  ], 'SMS and email to Kai at once, and an SMS to Lee (no email known for Lee)');
});
