// Voice notifications with onecc as it runs: an event makes onecc call the customer through a trunk (a real SIP PBX
// peer answers for them), the dialplan says the message and the customer presses 1 (RFC 4733 DTMF over RTP): the
// notification is confirmed, the business webhook hears it and a follow-up SMS goes out. Pressing 0 hands the
// customer to an agent whose phone rings with the notification and the event's payload. A busy line falls back to SMS.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OneccServer } from '../../src/server';
import { startTestServer } from '../helpers/onecc-server';
import { destroy } from '../helpers/drachtio-harness';
import { startPbx, startPhone, type CallTaker } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const TOKEN = 'voice-notify-token-0123456789';
const DIALPLAN = `
id: notify
language: en
languages: [en]
start: message
onError: bye
nodes:
  message:
    type: menu
    prompt: { text: { en: "\${message}" } }
    choices: { 1: accepted, 2: declined, 0: agent }
    timeout: 6
    retries: 1
    onInvalid: bye
    onNoInput: bye
  accepted: { type: set, variables: { answer: "yes" }, next: bye }
  declined: { type: set, variables: { answer: "no" }, next: bye }
  agent: { type: queue, queue: general, maxWait: 30, onTimeout: bye }
  bye: { type: hangup, prompt: goodbye }
`;

const received: { path: string; body: Record<string, any> }[] = [];
const sink = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  received.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, any> });
  res.writeHead(200).end();
});

let onecc: OneccServer;
let pbx: CallTaker & { uri(user: string): string };

t.before(async () => {
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const at = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  pbx = await startPbx(t);
  const pbxHostPort = pbx.uri('x').replace(/^sip:x@/, '');
  ({ onecc } = await startTestServer(t, {
    dialplans: { 'notify.yaml': DIALPLAN },
    rtpPorts: [36900, 36999],
    env: {
      ONECC_VOICE__TRUNKS: `[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}, {name: carrier, addresses: [], username: carrier, password: pw-c, outboundUri: "sip:{number}@${pbxHostPort}"}]`,
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}]',
      ONECC_NOTIFICATIONS__SECRET: 'voice-notify-secret-0123456789',
      ONECC_NOTIFICATIONS__API_TOKENS: `["${TOKEN}"]`,
      ONECC_NOTIFICATIONS__VOICE: '{trunk: carrier, callerId: "+15550100", ringTimeoutSeconds: 10, attempts: 1, retryMinutes: 1, callsPerSecond: 0}',
      ONECC_NOTIFICATIONS__CHANNELS: `{sms: {url: "${at}/sms", perSecond: 0}, chat: {url: null, perSecond: 0}, email: {url: null, perSecond: 0}, push: {url: null, perSecond: 0}}`,
      ONECC_NOTIFICATIONS__RULES: `[{id: appointment, event: appointment.tomorrow, audience: customer, payload: [time], channels: [voice, sms], priority: 5, allChannels: false, contacts: customer, dialplan: notify,
        templates: {voice: {en: "Your appointment is tomorrow at {{time}}. Press 1 to confirm, 2 to cancel."}, sms: {en: "Appointment tomorrow at {{time}}. Reply YES or NO."}},
        confirm: {waitMinutes: 30, yes: [yes], no: [no]}, expiresMinutes: 600, quietHours: null, dedupKey: null, maxPerDay: 0, callReason: null, avoidanceHours: 48, callbackUrl: "${at}/business",
        followUp: {on: [confirmed], channel: sms, templates: {en: "Confirmed ({{answer}}): see you tomorrow at {{time}}."}}}]`,
    },
  }));
});
t.teardown(() => new Promise<void>((resolve) => sink.close(() => resolve())));

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function notification(id: string): Promise<Record<string, any>> {
  return (await fetch(`http://127.0.0.1:${onecc.http.port}/notifications/${id}`)).json() as Promise<Record<string, any>>;
}

t.test('the customer answers the call, hears the message and presses 1: confirmed, and the business hears it', async (t) => {
  await fetch(`http://127.0.0.1:${onecc.http.port}/customers`, { method: 'POST', body: JSON.stringify({ identities: ['phone:+15558101'], name: 'Vic', by: 'test' }) });
  pbx.answering = [{ answer: true, toneHz: 440 }];
  const made = await post('/events', { type: 'appointment.tomorrow', customer: 'phone:+15558101', payload: { time: '10:30' } });
  t.equal(made.status, 202);
  const id = made.body.notifications[0].id as string;
  t.ok(await waitFor(() => pbx.answered.length === 1, 8000), 'onecc called the customer through the trunk');
  t.match(pbx.rings[0], { uri: /^sip:\+15558101@/, headers: { from: /\+15550100/ } }, 'their number, from the caller id');
  const customer = pbx.answered[0]!.rtp;
  customer.useRemote(pbx.answered[0]!.dialog.remote.sdp);
  t.ok(await waitFor(() => customer.packets(0).length >= 50, 8000), 'they hear the message');
  t.ok(customer.rms(0) > 300, `spoken (RMS ${customer.rms(0).toFixed(0)})`);
  await customer.sendDigit('1');
  let state = '';
  for (const deadline = Date.now() + 10_000; state !== 'confirmed' && Date.now() < deadline; await delay(100)) state = (await notification(id)).state as string;
  t.equal(state, 'confirmed', 'pressing 1 confirmed it');
  t.match(await notification(id), { answer: 'yes', attempts: [{ channel: 'voice', to: '+15558101', outcome: 'confirmed', answeredAt: /T/ }] });
  for (let i = 0; i < 40 && !received.some((r) => r.path === '/business'); i++) await delay(50);
  t.match(received.find((r) => r.path === '/business')?.body, { notification: id, outcome: 'confirmed', answer: 'yes' }, 'the business hears the confirmation');
  t.equal(received.filter((r) => r.path === '/sms' && r.body.notification === id).length, 0, 'no SMS was needed');
  for (let i = 0; i < 40 && !received.some((r) => r.body.notification === `${id}-follow-up`); i++) await delay(50);
  t.match(received.find((r) => r.body.notification === `${id}-follow-up`)?.body, { channel: 'sms', to: '+15558101', text: 'Confirmed (yes): see you tomorrow at 10:30.', confirm: false }, 'the follow-up message went out once it was confirmed');
  const cu = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/customers?identity=${encodeURIComponent('phone:+15558101')}`)).json()) as { id: string };
  const timeline = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/customers/${cu.id}/timeline`)).json()) as { id: string; channel: string; dialplan?: string; outcome?: string }[];
  t.match(timeline.find((r) => r.channel === 'voice'), { direction: 'outbound', dialplan: 'notify', outcome: 'yes' }, 'the call is on the customer\'s timeline');
  t.match(timeline.filter((r) => r.channel === 'notification').map((r) => `${r.id} ${r.outcome}`).sort(), [`${id} confirmed`, `${id}-follow-up sent`], 'and so are the notification and its follow-up');
});

t.test('a busy line falls back to SMS', async (t) => {
  await fetch(`http://127.0.0.1:${onecc.http.port}/customers`, { method: 'POST', body: JSON.stringify({ identities: ['phone:+15558102'], by: 'test' }) });
  pbx.answering = [{ status: 486 }];
  const made = await post('/events', { type: 'appointment.tomorrow', customer: 'phone:+15558102', payload: { time: '16:00' } });
  const id = made.body.notifications[0].id as string;
  for (let i = 0; i < 200 && !received.some((r) => r.path === '/sms' && r.body.notification === id); i++) await delay(50);
  t.match(received.find((r) => r.path === '/sms' && r.body.notification === id)?.body, { channel: 'sms', to: '+15558102', text: 'Appointment tomorrow at 16:00. Reply YES or NO.' }, 'busy: the SMS went out');
  t.match(await notification(id), { state: 'waiting', attempts: [{ channel: 'voice', outcome: 'failed', detail: 'busy' }, { channel: 'sms', outcome: 'sent' }] });
});

t.test('pressing 0 hands the customer to an agent, whose phone rings with the notification and the payload', async (t) => {
  await fetch(`http://127.0.0.1:${onecc.http.port}/customers`, { method: 'POST', body: JSON.stringify({ identities: ['phone:+15558103'], by: 'test' }) });
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await onecc.acd!.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => onecc.acd!.logout('alice').catch(() => undefined));
  pbx.answering = [{ answer: true, toneHz: 440 }];
  const answeredBefore = pbx.answered.length;
  const made = await post('/events', { type: 'appointment.tomorrow', customer: 'phone:+15558103', payload: { time: '09:00' } });
  const id = made.body.notifications[0].id as string;
  t.ok(await waitFor(() => pbx.answered.length === answeredBefore + 1, 8000), 'the customer answered');
  const call = pbx.answered.at(-1)!;
  call.rtp.useRemote(call.dialog.remote.sdp);
  t.ok(await waitFor(() => call.rtp.packets(0).length >= 30, 8000), 'they hear the message');
  await call.rtp.sendDigit('0');
  t.ok(await waitFor(() => phone.answered.length === 1, 10_000), 'the agent\'s phone rang and answered');
  t.match(phone.rings[0]!.headers, { 'x-onecc-queue': 'general', 'x-onecc-var-notification': id, 'x-onecc-var-time': '09:00', 'x-onecc-var-message': /tomorrow at 09:00/ }, 'with the notification, its payload and its message');
  await delay(500);
  await destroy(call.dialog);
  let state = '';
  for (const deadline = Date.now() + 10_000; state !== 'handed-off' && Date.now() < deadline; await delay(100)) state = (await notification(id)).state as string;
  t.equal(state, 'handed-off');
  t.match(await notification(id), { attempts: [{ channel: 'voice', outcome: 'handed-off' }] });
});
