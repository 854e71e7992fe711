// Chat end to end with onecc as it runs: customers on the chat socket (/chat/ws) and on a gateway (the signed
// connector API, and a real local HTTP server as the outbound webhook), agents on the agent feed. Messages both
// ways with delivered/read receipts and typing; an oversized or malformed message refused while nothing else is lost;
// a transfer to a queue with the transcript; the end with the CSAT question and answer in the interaction record;
// email threads as tasks; a restart of onecc in the middle of a conversation; capacity (a chat while on a call).
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Credentials } from '../../../src/agents/index';
import { signWebhook as sign } from '../../../src/lib/index';
import type { OneccServer } from '../../../src/server';
import { ChatCustomer } from '../../helpers/chat-customer';
import { FeedClient } from '../../helpers/feed-client';
import { startTestServer, type TestServer } from '../../helpers/onecc-server';
import { delay } from '../../helpers/wait';

const SECRET = 'chat-test-feed-secret-0123456789';
const CONNECTOR_SECRET = 'connector-secret-abcdef';
let server: TestServer;
let onecc: OneccServer;
let credentials: Credentials;
const webhook: { body: any; headers: IncomingMessage['headers'] }[] = [];

t.before(async () => {
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      webhook.push({ body: JSON.parse(body), headers: req.headers });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => hook.close(() => resolve())));
  server = await startTestServer(t, {
    dialplans: {},
    rtpPorts: [36000, 36199],
    env: {
      ONECC_AGENTS__TOKEN_SECRET: SECRET,
      ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {general: 5}, languages: [en], capacity: null}, {id: bob, name: Bob, skills: {general: 5}, languages: [en], capacity: null}]',
      ONECC_ACD__WRAP_UP_SECONDS: '{voice: 1, video: 1, chat: 0, email: 0}',
      ONECC_CHAT__MAX_MESSAGE_BYTES: '200',
      ONECC_CHAT__CONNECTOR__SECRET: CONNECTOR_SECRET,
      ONECC_CHAT__CONNECTOR__OUTBOUND_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/out`,
      ONECC_SURVEYS__PUBLIC_URL: 'https://cc.example.com',
      ONECC_SURVEYS__SECRET: 'chat-survey-links-0123456789',
    },
  });
  onecc = server.onecc;
  credentials = new Credentials(server.config.agents);
});

async function agent(t: Parameters<typeof FeedClient.open>[0], id: string, ready = true): Promise<FeedClient> {
  const client = await FeedClient.open(t, onecc.http.port);
  await client.call({ type: 'auth', token: credentials.issue('agent', id, 600) });
  await client.call({ type: 'login', ready });
  return client;
}

/** Logs the agents out once their tasks are done, so that the next test starts clean. */
function signOff(t: Parameters<typeof FeedClient.open>[0], ...ids: string[]): void {
  t.teardown(async () => {
    for (const id of ids) {
      for (const task of [...onecc.acd!.tasks()]) if (task.agentId === id) await onecc.acd!.complete(task.id).catch(() => undefined);
      await onecc.acd!.setReady(id).catch(() => undefined);
      await onecc.acd!.logout(id).catch(() => undefined);
    }
  });
}

async function connector(path: string, body: unknown, opts: { secret?: string; timestamp?: string } = {}): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body);
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-onecc-timestamp': timestamp };
  if (opts.secret !== '') headers['x-onecc-signature'] = sign(opts.secret ?? CONNECTOR_SECRET, timestamp, text);
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}/chat/connector/${path}`, { method: 'POST', headers, body: text });
  return { status: res.status, body: await res.json() };
}

t.test('a web chat: messages both ways, receipts, typing; bad messages refused and nothing lost; transfer; the end with CSAT', async (t) => {
  const alice = await agent(t, 'alice');
  const bob = await agent(t, 'bob', false);
  signOff(t, 'alice', 'bob');
  const customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'message', text: 'too early' });
  t.match(await customer.next((f) => f.type === 'error'), { code: 'not-started' }, 'a message before start is refused');
  customer.send({ type: 'start', name: 'Carol', topic: 'billing question' });
  const started = await customer.next((f) => f.type === 'started');
  customer.send({ type: 'message', text: 'Hello, I was charged twice.', clientId: 'm1' });
  t.match(await customer.next((f) => f.type === 'ack' && f.clientId === 'm1'), { message: { from: 'customer', text: 'Hello, I was charged twice.' } });

  const offer = await alice.next((f) => f.event === 'offer', 5000);
  t.match(offer.data, { task: { channel: 'chat', attributes: { caller: 'Carol', topic: 'billing question', conversation: started.conversation } } }, 'the offer carries the customer\'s context');
  const taskId = offer.data.task.id as string;
  t.match(await alice.call({ type: 'chat-history', taskId }), { type: 'result', data: { messages: [{ from: 'customer', text: 'Hello, I was charged twice.' }] } }, 'the offered agent reads the transcript');
  t.match(await alice.call({ type: 'accept', taskId }), { type: 'result' });
  await customer.next((f) => f.type === 'agent-joined', 5000);

  const sent = await alice.call({ type: 'chat-send', taskId, text: 'Sorry about that, let me check.', attachments: [{ url: 'https://example.com/refund-policy.pdf', name: 'Refund policy' }] });
  t.match(sent, { type: 'result', data: { from: 'agent', agentId: 'alice' } });
  t.match(await customer.next((f) => f.type === 'message' && f.message.from === 'agent'), { message: { text: 'Sorry about that, let me check.', attachments: [{ url: 'https://example.com/refund-policy.pdf' }] } }, 'the customer gets it');
  t.match(await alice.next((f) => f.event === 'chat-receipt' && f.data.receipt === 'delivered'), { data: { taskId, upTo: sent.data.id } }, 'delivered to the customer\'s page');
  customer.send({ type: 'read', upTo: sent.data.id });
  await alice.next((f) => f.event === 'chat-receipt' && f.data.receipt === 'read', 3000);
  customer.send({ type: 'typing' });
  await alice.next((f) => f.event === 'chat-typing', 3000);
  await alice.call({ type: 'chat-typing', taskId });
  await customer.next((f) => f.type === 'typing' && f.from === 'agent');
  customer.send({ type: 'message', text: 'Thanks!' });
  t.match(await alice.next((f) => f.event === 'chat-message' && f.data.message.text === 'Thanks!'), { data: { taskId } }, 'the agent gets the customer\'s messages live');

  // Bad input: each refused with a reason; the conversation goes on.
  const before = customer.frames.length;
  customer.send({ type: 'message', text: 'x'.repeat(201), clientId: 'big' });
  t.match(await customer.next((f) => f.type === 'error' && f.clientId === 'big', 3000, before), { code: 'bad-message', message: /at most 200 bytes/ });
  customer.send({ type: 'message', text: 'see', attachments: [{ url: 'javascript:alert(1)' }] });
  t.match(await customer.next((f) => f.type === 'error' && /url/.test(f.message), 3000, before), { code: 'bad-message' });
  customer.send('{not json');
  t.match(await customer.next((f) => f.type === 'error' && f.code === 'bad-frame', 3000, before), {});
  t.match(await alice.call({ type: 'chat-send', taskId, text: 'x', attachments: [{ url: 'ftp://x' }] }), { type: 'error', code: 'bad-frame' });
  customer.send({ type: 'message', text: 'Still there?' });
  await alice.next((f) => f.event === 'chat-message' && f.data.message.text === 'Still there?');
  const history = await alice.call({ type: 'chat-history', taskId });
  t.same(history.data.messages.map((m: { text: string }) => m.text), ['Hello, I was charged twice.', 'Sorry about that, let me check.', 'Thanks!', 'Still there?'], 'every good message, in order; nothing of the bad ones');
  t.match(await bob.call({ type: 'chat-send', taskId, text: 'hi' }), { type: 'error', code: 'forbidden' }, 'another agent cannot write into it');

  // Transfer to the queue: bob takes it with the transcript.
  await bob.call({ type: 'ready' });
  await onecc.acd!.setNotReady('alice', 'break').catch(() => undefined);
  t.match(await alice.call({ type: 'transfer', taskId, to: { queue: 'general' } }), { type: 'result' });
  const offered = await bob.next((f) => f.event === 'offer', 5000);
  t.match(offered.data.task.attributes, { conversation: started.conversation, transferredBy: 'alice' });
  await bob.call({ type: 'accept', taskId: offered.data.task.id });
  const bobHistory = await bob.call({ type: 'chat-history', taskId: offered.data.task.id });
  t.ok(bobHistory.data.messages.length >= 5, `bob sees the whole transcript (${bobHistory.data.messages.length} messages)`);
  t.match(bobHistory.data.messages.at(-1), { from: 'system', text: /transferred/ });
  await bob.call({ type: 'chat-send', taskId: offered.data.task.id, text: 'Bob here, refund done.' });
  await customer.next((f) => f.type === 'message' && f.message.text === 'Bob here, refund done.');

  // The end: the customer is asked the CSAT question; the answer lands in the record.
  t.match(await bob.call({ type: 'wrap-up', taskId: offered.data.task.id, disposition: 'resolved' }), { type: 'result' });
  t.match(await customer.next((f) => f.type === 'ended'), { csatQuestion: /satisfied/ });
  customer.send({ type: 'message', text: 'one more thing' });
  t.match(await customer.next((f) => f.type === 'error' && f.code === 'closed'), {}, 'an ended chat takes no more messages');
  customer.send({ type: 'csat', score: 4 });
  await customer.next((f) => f.type === 'thanks');
  const record = await (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${started.conversation}`)).json();
  t.match(record, { channel: 'chat', outcome: 'closed', survey: { csat: '4' }, dispositions: [{ agentId: 'bob', disposition: 'resolved' }] }, 'the interaction record');
});

t.test('a chat transferred to a named agent: offered to them at once, with the transcript', async (t) => {
  const alice = await agent(t, 'alice');
  const bob = await agent(t, 'bob', false);
  signOff(t, 'alice', 'bob');
  const customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'start', name: 'Hal' });
  customer.send({ type: 'message', text: 'I need Bob.' });
  const offer = await alice.next((f) => f.event === 'offer', 5000);
  const taskId = offer.data.task.id as string;
  await alice.call({ type: 'accept', taskId });
  t.match(await alice.call({ type: 'transfer', taskId, to: { agent: 'bob' } }), { type: 'error', code: 'invalid-state', message: /bob cannot take a chat now/ }, 'bob is not ready: refused, alice keeps it');
  t.match(await alice.call({ type: 'transfer', taskId, to: { number: '+15550000' } }), { type: 'error', code: 'bad-frame' }, 'a chat does not go to a number');
  await bob.call({ type: 'ready' });
  await onecc.acd!.setNotReady('alice', 'break').catch(() => undefined);
  t.match(await alice.call({ type: 'transfer', taskId, to: { agent: 'bob' } }), { type: 'result' });
  const bobOffer = await bob.next((f) => f.event === 'offer', 5000);
  t.match(bobOffer.data, { task: { attributes: { transferredBy: 'alice' } }, decision: { trigger: 'transfer', agentId: 'bob' } }, 'offered to bob as a transfer');
  await bob.call({ type: 'accept', taskId: bobOffer.data.task.id });
  const history = await bob.call({ type: 'chat-history', taskId: bobOffer.data.task.id });
  t.match(history.data.messages[0], { from: 'customer', text: 'I need Bob.' }, 'with the transcript');
  await bob.call({ type: 'hangup', taskId: bobOffer.data.task.id });
});

t.test('the connector: signed webhooks in, the agent\'s replies out; unsigned calls get 401; email threads become tasks', async (t) => {
  const alice = await agent(t, 'alice');
  signOff(t, 'alice');
  const message = { channel: 'whatsapp', conversation: 'wa-123', from: { id: '+15551234', name: 'Dan' }, text: 'Hi from WhatsApp' };
  t.match(await connector('messages', message, { secret: '' }), { status: 401, body: { error: /Signature is missing/ } });
  t.match(await connector('messages', message, { secret: 'wrong' }), { status: 401, body: { error: /does not match/ } });
  t.match(await connector('messages', message, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) }), { status: 401, body: { error: /too far/ } }, 'an old signature (a replay) is refused');
  t.match(await connector('messages', { ...message, text: 'y'.repeat(300) }), { status: 400, body: { error: /200 bytes/ } });
  const accepted = await connector('messages', message);
  t.match(accepted, { status: 200, body: { conversation: /^chat-/ } });
  const offer = await alice.next((f) => f.event === 'offer', 5000);
  t.match(offer.data.task.attributes, { caller: 'Dan', customerId: '+15551234', source: 'whatsapp' });
  const taskId = offer.data.task.id as string;
  await alice.call({ type: 'accept', taskId });
  const followUp = await connector('messages', { ...message, text: 'Are you there?', messageId: 'wamid.7' });
  t.match(followUp, { status: 200, body: { conversation: accepted.body.conversation } }, 'the same gateway conversation continues');
  await alice.next((f) => f.event === 'chat-message' && f.data.message.text === 'Are you there?', 3000);
  const retried = await connector('messages', { ...message, text: 'Are you there?', messageId: 'wamid.7' });
  t.equal(retried.body.message.id, followUp.body.message.id, 'a webhook retried with the same messageId: the message stored the first time');
  await delay(200);
  t.equal(alice.frames.filter((f) => f.event === 'chat-message' && f.data?.message?.text === 'Are you there?').length, 1, 'and the agent sees it once');
  webhook.length = 0;
  await alice.call({ type: 'chat-send', taskId, text: 'Yes! How can I help?' });
  for (let i = 0; i < 40 && !webhook.some((w) => w.body.type === 'message'); i++) await delay(50);
  const out = webhook.find((w) => w.body.type === 'message')!;
  t.match(out?.body, { channel: 'whatsapp', conversation: 'wa-123', customer: '+15551234', message: { text: 'Yes! How can I help?' } }, 'the reply went out to the gateway');
  t.equal(out.headers['x-onecc-signature'], sign(CONNECTOR_SECRET, String(out.headers['x-onecc-timestamp']), JSON.stringify(out.body)), 'signed');
  await alice.call({ type: 'hangup', taskId });

  const email = await connector('email', { thread: 'thread-42', from: { id: 'erin@example.com', name: 'Erin' }, subject: 'Invoice', text: 'Please resend my invoice.' });
  t.match(email, { status: 200, body: { conversation: /^email-/ } });
  await alice.call({ type: 'ready' });
  const emailOffer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'email', 5000);
  t.match(emailOffer.data.task.attributes, { subject: 'Invoice', thread: 'thread-42', caller: 'erin@example.com' }, 'an email becomes a task carrying its thread');
  await alice.call({ type: 'accept', taskId: emailOffer.data.task.id });
  await alice.call({ type: 'chat-send', taskId: emailOffer.data.task.id, text: 'Attached again.' });
  const emailed = () => webhook.find((w) => w.body.channel === 'email' && w.body.type === 'message');
  for (let i = 0; i < 40 && !emailed(); i++) await delay(50);
  t.match(emailed()?.body, { conversation: 'thread-42', customer: 'erin@example.com', message: { text: 'Attached again.' } }, 'the reply goes out on the thread');
  await alice.call({ type: 'wrap-up', taskId: emailOffer.data.task.id, disposition: 'resolved' });

  // The follow-up carries the thread's survey link; Erin answers it on the survey page's API.
  const ended = () => webhook.find((w) => w.body.channel === 'email' && w.body.type === 'ended');
  for (let i = 0; i < 40 && !ended(); i++) await delay(50);
  const surveyUrl = new URL(ended()?.body.surveyUrl as string);
  t.match(surveyUrl, { origin: 'https://cc.example.com', pathname: '/survey/' }, 'the end of the thread goes out with a survey link');
  const surveys = `http://127.0.0.1:${onecc.http.port}/surveys/${surveyUrl.searchParams.get('t')}`;
  t.match(await fetch(surveys).then((r) => r.json()), { channel: 'email', answered: false });
  t.equal((await fetch(surveys, { method: 'POST', body: '{"csat":9}' })).status, 400, 'a CSAT out of range is refused');
  t.equal((await fetch(surveys, { method: 'POST', body: JSON.stringify({ csat: 4, nps: 8, comment: 'Quick, thanks' }) })).status, 200);
  const id = email.body.conversation as string;
  const record = (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${id}`).then((r) => r.json())) as { feedback?: unknown };
  t.match(record.feedback, { csat: 4, nps: 8, comment: 'Quick, thanks' }, 'the answers are in the thread\'s record');
  t.match((await fetch(`http://127.0.0.1:${onecc.http.port}/survey/?t=x`)).status, 200, 'the survey page is served');
});

t.test('an agent on a call still gets a chat (within the chat capacity), not a video', async (t) => {
  const alice = await agent(t, 'alice');
  signOff(t, 'alice');
  const acd = onecc.acd!;
  const call = await acd.enqueue({ channel: 'voice', queue: 'general', attributes: { caller: '+15550007' } });
  await alice.next((f) => f.event === 'offer' && f.data.task.id === call.id, 5000);
  await acd.accept(call.id, 'alice');
  const video = await acd.enqueue({ channel: 'video', queue: 'general', attributes: {} });
  const customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'start', name: 'Fay' });
  const chatOffer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'chat', 5000);
  t.ok(chatOffer, 'on a call, alice is offered the chat');
  await delay(500);
  t.equal(acd.task(video.id).state, 'waiting', 'but not the video');
  await acd.abandon(video.id, 'test').catch(() => undefined);
  await acd.reject(chatOffer.data.task.id, 'alice').catch(() => undefined);
});

t.test('a conversation survives a restart of onecc', async (t) => {
  let alice = await agent(t, 'alice');
  signOff(t, 'alice');
  let customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'start', name: 'Gil' });
  const started = await customer.next((f) => f.type === 'started');
  customer.send({ type: 'message', text: 'Before the restart' });
  const offer = await alice.next((f) => f.event === 'offer', 5000);
  const taskId = offer.data.task.id as string;
  await alice.call({ type: 'accept', taskId });
  const sent = await alice.call({ type: 'chat-send', taskId, text: 'I am on it.' });
  await customer.next((f) => f.type === 'message' && f.message.from === 'agent');

  onecc = await server.restart();
  customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'resume', conversation: started.conversation, token: 'wrong-token' });
  t.match(await customer.next((f) => f.type === 'error'), { code: 'not-found' }, 'a wrong token resumes nothing');
  customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'resume', conversation: started.conversation, token: started.token });
  const resumed = await customer.next((f) => f.type === 'resumed', 5000);
  t.same(resumed.messages.map((m: { text: string }) => m.text), ['Before the restart', 'I am on it.'], 'the customer gets the transcript back');
  alice = await FeedClient.open(t, onecc.http.port);
  await alice.call({ type: 'auth', token: credentials.issue('agent', 'alice', 600) });
  t.equal(onecc.acd!.task(taskId).agentId, 'alice', 'the task is still alice\'s');
  customer.send({ type: 'message', text: 'After the restart' });
  t.match(await alice.next((f) => f.event === 'chat-message', 5000), { data: { taskId, message: { text: 'After the restart' } } }, 'and the conversation goes on');
  await alice.call({ type: 'chat-send', taskId, text: 'Welcome back.' });
  t.match(await customer.next((f) => f.type === 'message' && f.message.text === 'Welcome back.'), { message: { from: 'agent' } });
  t.ok(sent.data.id, 'message ids are stable across the restart');
});

t.test('a message resent with the same clientId (its ack lost) is stored and shown once', async (t) => {
  const alice = await agent(t, 'alice');
  signOff(t, 'alice');
  const customer = await ChatCustomer.open(t, onecc.http.port);
  customer.send({ type: 'start', name: 'Ivy' });
  const started = await customer.next((f) => f.type === 'started');
  customer.send({ type: 'message', text: 'my order is late', clientId: 'ivy-1' });
  const first = await customer.next((f) => f.type === 'ack' && f.clientId === 'ivy-1');
  const offer = await alice.next((f) => f.event === 'offer', 5000);
  await alice.call({ type: 'accept', taskId: offer.data.task.id });

  // The page reconnects (another socket, as after a node died) and resends what it had no ack for.
  const again = await ChatCustomer.open(t, onecc.http.port);
  again.send({ type: 'resume', conversation: started.conversation, token: started.token });
  await again.next((f) => f.type === 'resumed');
  again.send({ type: 'message', text: 'my order is late', clientId: 'ivy-1' });
  const second = await again.next((f) => f.type === 'ack' && f.clientId === 'ivy-1');
  t.equal(second.message.id, first.message.id, 'the resend is acknowledged with the message stored the first time');
  again.send({ type: 'message', text: 'order 1234', clientId: 'ivy-2' });
  await again.next((f) => f.type === 'ack' && f.clientId === 'ivy-2');
  const history = await alice.call({ type: 'chat-history', taskId: offer.data.task.id });
  t.same(history.data.messages.filter((m: { from: string }) => m.from === 'customer').map((m: { text: string }) => m.text), ['my order is late', 'order 1234'], 'the transcript has each message once');
  t.equal(alice.frames.filter((f) => f.event === 'chat-message' && f.data?.message?.text === 'my order is late').length, 1, 'the agent saw it once');
  await alice.call({ type: 'hangup', taskId: offer.data.task.id });
});
