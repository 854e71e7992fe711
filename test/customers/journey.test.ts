// One customer across channels, with onecc as it runs: Ann calls from her phone (a real SIP trunk peer), then chats
// on the chat page giving her phone and email, then alice calls her back (manual dial through a trunk to a PBX
// peer): one profile, one timeline, one case, and the chat's offer shows her call. Then the HTTP API: bad identities
// and conflicting merges refused with reasons, her data exported, then erased with nothing of her left in Redis.
import t from 'tap';
import Redis from 'ioredis';
import type Srf from 'drachtio-srf';
import type { OneccServer } from '../../src/server';
import { Credentials } from '../../src/agents/index';
import { startTestServer } from '../helpers/onecc-server';
import { destroy } from '../helpers/drachtio-harness';
import { FeedClient } from '../helpers/feed-client';
import { ChatCustomer } from '../helpers/chat-customer';
import { latestRecord, startPbx, startPhone, startTrunk, type CallTaker } from '../helpers/voice-peers';
import { waitFor } from '../helpers/wait';

const DIALPLAN = `
id: journey
numbers: ["7300"]
language: en
languages: [en]
start: queue
onError: goodbye
nodes:
  queue: { type: queue, queue: general, maxWait: 60, onTimeout: goodbye }
  goodbye: { type: hangup, prompt: goodbye }
`;
const SECRET = 'journey-secret-0123456789abcdef';
const ANN = '+15557001';

let onecc: OneccServer;
let credentials: Credentials;
let pbx: CallTaker & { uri(user: string): string };
let redisPort: number;

t.before(async () => {
  pbx = await startPbx(t);
  const pbxHostPort = pbx.uri('x').replace(/^sip:x@/, '');
  const started = await startTestServer(t, {
    dialplans: { 'journey.yaml': DIALPLAN },
    rtpPorts: [36600, 36799],
    env: {
      ONECC_VOICE__TRUNKS: `[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}, {name: carrier, addresses: [], username: carrier, password: pw-c, outboundUri: "sip:{number}@${pbxHostPort}"}]`,
      ONECC_VOICE__MANUAL_DIAL__TRUNK: 'carrier',
      ONECC_VOICE__MANUAL_DIAL__CALLING_NUMBER: '+15550100',
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}]',
      ONECC_AGENTS__TOKEN_SECRET: SECRET,
      ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {general: 5}, languages: [en], capacity: null}]',
      ONECC_CHAT__ENABLED: 'true',
      ONECC_CHAT__QUEUE: 'general',
    },
  });
  onecc = started.onecc;
  credentials = new Credentials(started.config.agents);
  redisPort = onecc.redis.port;
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

t.test('a call, a chat and a call back: one customer, one timeline, one case', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const alice = await FeedClient.authenticated(t, onecc.http.port, credentials.issue('agent', 'alice', 600));
  await alice.call({ type: 'login', ready: true });
  t.teardown(async () => {
    await onecc.acd!.setReady('alice').catch(() => undefined);
    await onecc.acd!.logout('alice').catch(() => undefined);
  });

  // 1. Ann calls.
  const trunk = await startTrunk(t, onecc);
  const { rtp, dialog: pending } = await trunk.call('7300', ANN);
  const dialog = await pending;
  rtp.useRemote(dialog.remote.sdp);
  const callOffer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'voice', 10_000);
  t.match(callOffer.data.context.customer, { id: /^cu-/, identities: [`phone:${ANN}`], case: /^case-/ }, 'her first call\'s offer names her customer record');
  t.same(callOffer.data.context.previousInteractions, [], 'with nothing before');
  await alice.next((f) => f.event === 'task-assigned', 10_000);
  t.ok(await waitFor(() => alicePhone.answered.length === 1, 5000), 'alice took the call');
  await destroy(dialog);
  const call = await latestRecord<{ outcome?: string; agentId?: string }>(onecc, (r) => r.outcome !== undefined, 8000);
  t.match(call, { outcome: 'handled', agentId: 'alice' }, 'hanging up on alice mid-conversation: a handled call, not an abandoned one');
  await onecc.acd!.setReady('alice').catch(() => undefined);

  // 2. Ann chats, giving her phone and email; a malformed phone is refused, not guessed.
  const wrong = await ChatCustomer.open(t, onecc.http.port);
  wrong.send({ type: 'start', name: 'Ann Lee', phone: '555-7001' });
  t.match(await wrong.next((f) => f.type === 'error'), { code: 'bad-message', message: /phone.*E\.164/ }, 'a phone that is not E.164 is refused with the reason');
  const chat = await ChatCustomer.open(t, onecc.http.port);
  chat.send({ type: 'start', name: 'Ann Lee', phone: ANN, email: 'Ann.Lee@Example.com', topic: 'my bill' });
  await chat.next((f) => f.type === 'started');
  const chatOffer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'chat', 10_000);
  t.equal(chatOffer.data.context.customer.id, callOffer.data.context.customer.id, 'the chat is hers');
  t.equal(chatOffer.data.context.customer.case, callOffer.data.context.customer.case, 'in the same case');
  t.match(chatOffer.data.context.previousInteractions, [{ channel: 'voice', caller: ANN }], 'the offer shows her call');
  await alice.call({ type: 'accept', taskId: chatOffer.data.task.id });
  chat.send({ type: 'message', text: 'Please call me back about my bill' });
  await alice.next((f) => f.event === 'chat-message', 5000);
  t.match(await alice.call({ type: 'wrap-up', taskId: chatOffer.data.task.id, disposition: 'follow-up', ready: true }), { type: 'result' }, 'alice closes the chat');

  // 3. alice calls her back.
  pbx.answering = [{ answer: true, toneHz: 550 }];
  t.match(await alice.call({ type: 'dial', number: ANN }), { type: 'result', data: { interaction: /^out-/ } }, 'the call back connected');
  await destroy(pbx.answered.at(-1)!.dialog as Srf.Dialog);
  await latestRecord(onecc, (r: { direction?: string; outcome?: string }) => r.direction === 'outbound' && r.outcome !== undefined, 8000);

  const found = await api('GET', `/customers?identity=${encodeURIComponent(`phone:${ANN}`)}`);
  t.match(found, { status: 200, body: { id: callOffer.data.context.customer.id, name: 'Ann Lee', identities: ['email:Ann.Lee@example.com', `phone:${ANN}`] } }, 'one profile: her phone and her email');
  const id = found.body.id as string;
  const timeline = (await api('GET', `/customers/${id}/timeline`)).body as { channel: string; direction?: string; customer: string; case: string }[];
  t.same(timeline.map((r) => `${r.channel}${r.direction === 'outbound' ? ' out' : ''}`), ['voice out', 'chat', 'voice'], 'one timeline, newest first');
  t.ok(timeline.every((r) => r.customer === id && r.case === callOffer.data.context.customer.case), 'every record names her and the one case');
  t.match((await api('GET', `/customers/${id}/cases`)).body, [{ id: callOffer.data.context.customer.case, interactions: { length: 3 }, closedAt: null }], 'one case with the three contacts');
});

t.test('the API refuses bad input with the reason', async (t) => {
  t.match(await api('GET', '/customers?identity=phone:5551234'), { status: 400, body: { error: /E\.164/ } });
  const a = await api('POST', '/customers', { identities: ['phone:+15557501'], crmId: 'CRM-1', name: 'Bea' });
  const b = await api('POST', '/customers', { identities: ['email:bea@example.com'], crmId: 'CRM-2' });
  t.equal(a.status, 201);
  t.match(await api('POST', '/customers', { identities: ['phone:+15557501'] }), { status: 409, body: { error: /belongs to customer/ } }, 'an identity has one customer');
  t.match(await api('POST', '/customers/merge', { from: b.body.id, into: a.body.id }), { status: 400, body: { error: /reason/ } }, 'a merge says why');
  t.match(await api('POST', '/customers/merge', { from: b.body.id, into: a.body.id, reason: 'same', by: 'sup' }), { status: 409, body: { error: /different CRM ids/ } }, 'conflicting merges are refused');
  t.match(await api('PATCH', `/customers/${a.body.id}`, { preferredChannel: 'pigeon' }), { status: 400, body: { error: /preferredChannel/ } });
  t.match(await api('PATCH', `/customers/${a.body.id}`, { doNotContact: true, by: 'sup' }), { status: 200, body: { doNotContact: true } });
  t.match(await api('GET', `/customers/${a.body.id}/audit`), { status: 200, body: [{ action: 'created' }, { action: 'identity-linked' }, { action: 'updated' }, { action: 'updated', by: 'sup' }] });
  t.match(await api('GET', '/customers/cu-nobody'), { status: 404 });
  t.match(await api('DELETE', '/customers/cu-nobody'), { status: 404 });
});

t.test('her data exported, then erased: nothing of her is left in Redis', async (t) => {
  const id = (await api('GET', `/customers?identity=${encodeURIComponent(`phone:${ANN}`)}`)).body.id as string;
  const exported = await api('GET', `/customers/${id}/export`);
  t.equal(exported.status, 200);
  t.match(exported.body, { profile: { id, name: 'Ann Lee' }, cases: { length: 1 }, interactions: { length: 3 }, audit: [{ action: 'created' }] });
  const chatId = (exported.body.interactions as { id: string; channel: string }[]).find((r) => r.channel === 'chat')!.id;
  t.match(exported.body.transcripts[chatId], [{ from: 'customer', text: 'Please call me back about my bill' }], 'with the chat transcript');

  t.match(await api('DELETE', `/customers/${id}`, { by: 'dpo' }), { status: 200, body: { erased: id, interactions: 3 } });
  t.match(await api('GET', `/customers/${id}`), { status: 404 });
  const redis = new Redis({ host: '127.0.0.1', port: redisPort });
  t.teardown(() => redis.disconnect());
  const left: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value = type === 'string' ? await redis.get(key) : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
        : type === 'list' ? JSON.stringify(await redis.lrange(key, 0, -1)) : type === 'set' ? JSON.stringify(await redis.smembers(key))
        : type === 'zset' ? JSON.stringify(await redis.zrange(key, '0', '-1')) : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+')) : '';
      if (/5557001|Ann\.Lee|Ann Lee|my bill/i.test(`${key} ${value}`)) left.push(`${key} (${type})`);
    }
  } while (cursor !== '0');
  t.same(left, [], 'no key and no value mentions her');
});
