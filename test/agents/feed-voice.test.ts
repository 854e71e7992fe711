// The agent feed driving real calls, onecc as it runs (startServer): agents on the feed, their desk phones as
// drachtio-srf apps with RTP endpoints, a trunk-side caller. The offer arrives with the caller's IVR inputs; the
// agent's answer assigns the task; hold plays music to the caller; a blind transfer to another agent moves the
// caller there and ends the first agent's task; wrap-up puts the disposition in the interaction record; a decline on
// the feed stops the phone ringing without RONA.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { startTestServer } from '../helpers/onecc-server';
import { Credentials } from '../../src/agents/index';
import { destroy } from '../helpers/drachtio-harness';
import { FeedClient } from '../helpers/feed-client';
import { frequencyOf, latestRecord, startPhone, startTrunk } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const DIALPLAN = `
id: feed
numbers: ["7000"]
language: en
languages: [en]
start: menu
onError: goodbye
nodes:
  menu:
    type: menu
    prompt: main-menu
    choices: { 2: billing }
    timeout: 8
    retries: 1
    onInvalid: goodbye
    onNoInput: goodbye
  billing: { type: set, variables: { department: billing, account: A-1234 }, next: queue }
  queue: { type: queue, queue: general, maxWait: 60, onTimeout: goodbye }
  goodbye: { type: hangup, prompt: goodbye }
`;
const SECRET = 'feed-voice-secret-0123456789';

let onecc: OneccServer;
let credentials: Credentials;

t.before(async () => {
  const started = await startTestServer(t, {
    dialplans: { 'feed.yaml': DIALPLAN },
    rtpPorts: [32000, 32999],
    env: {
      ONECC_ACD__OFFER_TIMEOUT_SECONDS: '15',
      ONECC_ACD__WRAP_UP_SECONDS: '{voice: 30, video: 1, chat: 0, email: 0}',
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '8',
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}, {username: bob, password: pw-b, agent: bob}, {username: sup, password: pw-s, agent: wallboard}]',
      ONECC_AGENTS__TOKEN_SECRET: SECRET,
      ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {general: 5}, languages: [en], capacity: null}, {id: bob, name: Bob, skills: {general: 5}, languages: [en], capacity: null}]',
    },
  });
  onecc = started.onecc;
  credentials = new Credentials(started.config.agents);
});

function agentOnFeed(t: Parameters<typeof startPhone>[0], id: string): Promise<FeedClient> {
  return FeedClient.authenticated(t, onecc.http.port, credentials.issue('agent', id, 600));
}

t.test('offer with the IVR inputs, answer, hold, blind transfer to another agent, wrap-up with a disposition', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const bobPhone = await startPhone(t, onecc, 'bob', 'pw-b', 'bob', [{ answer: true, toneHz: 660 }]);
  const alice = await agentOnFeed(t, 'alice');
  const bob = await agentOnFeed(t, 'bob');
  t.match(await alice.call({ type: 'login', ready: true }), { type: 'result', data: { state: 'available' } });
  await bob.call({ type: 'login' });
  t.teardown(() => Promise.all(['alice', 'bob'].map((id) => onecc.acd!.logout(id).catch(() => undefined))));

  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('7000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440);
  await waitFor(() => caller.packets(0).length >= 10, 5000);
  await caller.sendDigit('2');

  const offer = await alice.next((f) => f.event === 'offer', 10_000);
  t.match(offer.data.context.attributes, { department: 'billing', account: 'A-1234', caller: '+15550001' }, 'the screen pop has the IVR inputs');
  const taskId = offer.data.task.id as string;
  await alice.next((f) => f.event === 'task-assigned', 10_000);
  t.ok(alicePhone.answered.length === 1, 'her phone answered: the task is hers');

  caller.clear();
  t.match(await alice.call({ type: 'hold', taskId }), { type: 'result' });
  await delay(1500);
  t.ok(Math.abs(frequencyOf(caller) - 880) > 50, `on hold the caller no longer hears alice (${frequencyOf(caller).toFixed(0)} Hz)`);
  t.ok(caller.rms(0) > 100, 'but music');
  t.match(await alice.call({ type: 'unhold', taskId }), { type: 'result' });
  await delay(1000);
  t.ok(Math.abs(frequencyOf(caller) - 880) < 25, `back with alice (${frequencyOf(caller).toFixed(0)} Hz)`);

  t.match(await alice.call({ type: 'transfer', taskId, to: { agent: 'bob' } }), { type: 'error', code: 'invalid-state', message: /bob is not-ready/ }, 'bob is not ready');
  await bob.call({ type: 'ready' });
  t.match(await alice.call({ type: 'transfer', taskId, to: { agent: 'bob' } }), { type: 'result' }, 'transferred once bob answered');
  t.equal(bobPhone.rings[0]!.headers['x-onecc-transferred-by'], 'alice');
  t.match(await alice.next((f) => f.event === 'task-ended'), { data: { taskId, reason: 'completed' } }, 'alice\'s task ended: wrap-up');
  t.equal(onecc.acd!.agentState('bob'), 'not-ready', 'bob is kept from offers while on the call');
  caller.clear();
  await delay(1200);
  t.ok(Math.abs(frequencyOf(caller) - 660) < 25, `the caller hears bob (${frequencyOf(caller).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(bobPhone.answered[0]!.rtp) - 440) < 25, 'and bob hears the caller');

  t.match(await alice.call({ type: 'wrap-up', taskId, disposition: 'escalated', notes: 'to billing', ready: true }), { type: 'result' });
  t.equal(onecc.acd!.agentState('alice'), 'available', 'ready: true ended her wrap-up');

  const callerHungUp = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
  await destroy(bobPhone.answered[0]!.dialog);
  t.ok(await Promise.race([callerHungUp.then(() => true), delay(8000).then(() => false)]), 'bob\'s hang-up ends the caller\'s call (the queue node has no afterAgent)');
  const record = await latestRecord<{ outcome?: string; dispositions?: unknown[]; legs: { kind: string; agentId?: string }[] }>(onecc, (r) => r.outcome !== undefined && (r.dispositions?.length ?? 0) > 0);
  t.match(record?.dispositions, [{ agentId: 'alice', taskId, disposition: 'escalated', notes: 'to billing' }], 'the disposition is in the interaction record');
  t.ok(record?.legs.some((l) => l.kind === 'transfer' && l.agentId === 'bob'), 'and the transfer leg');
  t.ok(await waitFor(() => onecc.acd!.agentState('bob') === 'available', 3000), 'bob is available again');
});

t.test('declining on the feed stops the phone ringing; it is not RONA', async (t) => {
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', ['ignore']);
  const alice = await agentOnFeed(t, 'alice');
  await alice.call({ type: 'login', ready: true });
  t.teardown(() => onecc.acd!.logout('alice').catch(() => undefined));
  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('7000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440);
  await waitFor(() => caller.packets(0).length >= 10, 5000);
  await caller.sendDigit('2');
  const offer = await alice.next((f) => f.event === 'offer', 10_000);
  t.ok(await waitFor(() => phone.rings.length > 0, 3000), 'her phone rings');
  t.match(await alice.call({ type: 'reject', taskId: offer.data.task.id }), { type: 'result' });
  t.match(await alice.next((f) => f.event === 'offer-withdrawn'), { data: { reason: 'rejected' } });
  await delay(1000);
  t.equal(onecc.acd!.agentState('alice'), 'available', 'alice is still available (no RONA)');
  t.equal(phone.cancelled, 1, 'the ring was cancelled (the INVITE got a CANCEL)');
  await destroy(dialog).catch(() => undefined);
});

t.test('a supervisor listens in: their phone gets the caller and the agent as two streams, until they hang up', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const supervisorPhone = await startPhone(t, onecc, 'sup', 'pw-s', 'wallboard', [{ listen: true }]);
  const alice = await agentOnFeed(t, 'alice');
  await alice.call({ type: 'login', ready: true });
  t.teardown(() => onecc.acd!.logout('alice').catch(() => undefined));
  const supervisor = await FeedClient.open(t, onecc.http.port);
  await supervisor.call({ type: 'auth', token: credentials.issue('supervisor', 'wallboard', 600) });
  t.match(await alice.call({ type: 'monitor', taskId: 'x' }), { type: 'error', code: 'forbidden' }, 'agents cannot listen in');

  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('7000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440);
  await waitFor(() => caller.packets(0).length >= 10, 5000);
  await caller.sendDigit('2');
  const assigned = await alice.next((f) => f.event === 'task-assigned', 10_000);
  const taskId = assigned.data.task.id as string;
  // Bridged (the caller hears alice) before the supervisor asks: the task is assigned a moment before that.
  t.ok(await waitFor(() => alicePhone.answered.length === 1 && Math.abs(frequencyOf(caller) - 880) < 25, 5000), 'caller and alice talk');

  const monitoring = await supervisor.call({ type: 'monitor', taskId });
  t.match(monitoring, { type: 'result' }, `the supervisor's phone answered (${monitoring.message ?? 'ok'})`);
  const listening = supervisorPhone.answered[0]!;
  t.equal(listening.streams.length, 2, 'two audio streams');
  // Without the second stream the checks below cannot run; the teardowns end the calls.
  if (listening.streams.length !== 2) return;
  t.equal(listening.headers['x-onecc-agent'], 'alice');
  await delay(1500);
  t.ok(Math.abs(frequencyOf(listening.streams[0]!) - 440) < 25, `stream 1 is the caller (${frequencyOf(listening.streams[0]!).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(listening.streams[1]!) - 880) < 25, `stream 2 is alice (${frequencyOf(listening.streams[1]!).toFixed(0)} Hz)`);
  caller.clear();
  await delay(800);
  t.ok(Math.abs(frequencyOf(caller) - 880) < 25, 'the caller still hears alice only');

  await destroy(listening.dialog);
  const heard = listening.streams[0]!.packets(0).length;
  await delay(800);
  t.ok(listening.streams[0]!.packets(0).length - heard <= 3, 'nothing after the supervisor hung up');

  // alice hangs up from her desktop: her phone gets the BYE, her task ends, and so does the caller's call.
  const phoneHungUp = new Promise<void>((resolve) => alicePhone.answered[0]!.dialog.on('destroy', () => resolve()));
  const callerHungUp = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
  t.match(await alice.call({ type: 'hangup', taskId }), { type: 'result' });
  t.ok(await Promise.race([phoneHungUp.then(() => true), delay(5000).then(() => false)]), 'her phone got the BYE');
  t.match(await alice.next((f) => f.event === 'task-ended', 5000), { data: { taskId } }, 'her task ended');
  t.ok(await Promise.race([callerHungUp.then(() => true), delay(8000).then(() => false)]), 'and the caller\'s call');
});
