// Call controls on the agent feed beyond the blind transfer, with onecc as it runs and real SIP peers (drachtio-srf
// apps with RTP endpoints sending tones): attended transfer (consult, then hand over or cancel), a three-way
// conference, a supervisor's whisper and barge (mixed by onecc), blind transfer to a queue, and a call the agent
// places (manual dial) through a trunk to a PBX. Who hears whom is checked from the audio each endpoint receives:
// caller 440 Hz, alice 880 Hz, bob 660 Hz, the PBX's phone and the supervisor 550 Hz.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { startTestServer } from '../helpers/onecc-server';
import { Credentials } from '../../src/agents/index';
import { destroy } from '../helpers/drachtio-harness';
import { FeedClient } from '../helpers/feed-client';
import { frequencyOf, latestRecord, startPbx, startPhone, startTrunk, toneShare, type CallTaker } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';
import type { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import type Srf from 'drachtio-srf';

const DIALPLAN = `
id: transfers
numbers: ["7100"]
language: en
languages: [en]
start: set
onError: goodbye
nodes:
  set: { type: set, variables: { department: sales, account: B-42 }, next: queue }
  queue: { type: queue, queue: general, maxWait: 120, onTimeout: goodbye }
  goodbye: { type: hangup, prompt: goodbye }
`;
const SECRET = 'feed-transfers-secret-0123456789';

let onecc: OneccServer;
let credentials: Credentials;
let pbx: CallTaker & { uri(user: string): string };

t.before(async () => {
  // The PBX first: the outbound trunk's URI names its port.
  pbx = await startPbx(t);
  const pbxHostPort = pbx.uri('x').replace(/^sip:x@/, '');
  const started = await startTestServer(t, {
    dialplans: { 'transfers.yaml': DIALPLAN },
    rtpPorts: [35000, 35499],
    env: {
      ONECC_ACD__OFFER_TIMEOUT_SECONDS: '15',
      ONECC_ACD__WRAP_UP_SECONDS: '{voice: 30, video: 1, chat: 0, email: 0}',
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '8',
      ONECC_VOICE__TRUNKS: `[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}, {name: carrier, addresses: [], username: carrier, password: pw-c, outboundUri: "sip:{number}@${pbxHostPort}"}]`,
      ONECC_VOICE__MANUAL_DIAL__TRUNK: 'carrier',
      ONECC_VOICE__MANUAL_DIAL__CALLING_NUMBER: '+15550100',
      ONECC_VOICE__MANUAL_DIAL__RING_TIMEOUT_SECONDS: '5',
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

/** Frequencies an endpoint hears over the next ~second (fresh packets only). */
async function hears(ep: RtpEndpoint, ms = 1000): Promise<number> {
  ep.clear();
  await delay(ms);
  return frequencyOf(ep);
}

const near = (hz: number, target: number) => Math.abs(hz - target) < 25;

/** Logs an agent out once their last call is over (wrap-up ended early), so that the next test starts clean. */
async function signOff(id: string): Promise<void> {
  const acd = onecc.acd!;
  const state = () => {
    try {
      return acd.agentState(id);
    } catch {
      return 'logged-out';
    }
  };
  await waitFor(() => !['busy', 'reserved'].includes(state()), 8000);
  if (state() === 'wrap-up') await acd.setReady(id).catch(() => undefined);
  await acd.logout(id).catch(() => undefined);
}

/** alice (880 Hz) and bob (660 Hz) on the feed with answering desk phones; a trunk call that alice takes. */
async function callWithAlice(t: Parameters<typeof startPhone>[0], bobReady: boolean) {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const bobPhone = await startPhone(t, onecc, 'bob', 'pw-b', 'bob', [{ answer: true, toneHz: 660 }]);
  const alice = await agentOnFeed(t, 'alice');
  const bob = await agentOnFeed(t, 'bob');
  await alice.call({ type: 'login', ready: true });
  await bob.call({ type: 'login', ready: false });
  t.teardown(() => Promise.all(['alice', 'bob'].map(signOff)));
  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('7100');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440);
  const assigned = await alice.next((f) => f.event === 'task-assigned', 10_000);
  const taskId = assigned.data.task.id as string;
  t.ok(await waitFor(() => alicePhone.answered.length === 1 && near(frequencyOf(caller), 880), 5000), 'the caller talks to alice');
  if (bobReady) await bob.call({ type: 'ready' });
  return { alicePhone, bobPhone, alice, bob, caller, dialog, taskId };
}

t.test('attended transfer: alice consults bob while the caller hears music, then hands the caller over', async (t) => {
  const { alicePhone, bobPhone, alice, caller, dialog, taskId } = await callWithAlice(t, true);
  const aliceRtp = alicePhone.answered[0]!.rtp;

  t.match(await alice.call({ type: 'consult-transfer', taskId }), { type: 'error', code: 'invalid-state', message: /no consultation/ }, 'nothing to complete yet');
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'result' }, 'bob answered the consultation');
  t.equal(bobPhone.rings[0]!.headers['x-onecc-consulted-by'], 'alice', 'bob\'s phone is told who consults him');
  t.equal(bobPhone.rings[0]!.headers['x-onecc-var-department'], 'sales', 'and the caller\'s context');
  const bobRtp = bobPhone.answered[0]!.rtp;
  const [callerHears, aliceHears, bobHears] = await Promise.all([hears(caller), hears(aliceRtp), hears(bobRtp)]);
  t.ok(!near(callerHears, 880) && !near(callerHears, 660) && caller.rms(0) > 100, `the caller hears music, not alice or bob (${callerHears.toFixed(0)} Hz)`);
  t.ok(near(aliceHears, 660), `alice hears bob (${aliceHears.toFixed(0)} Hz)`);
  t.ok(near(bobHears, 880), `bob hears alice, not the caller (${bobHears.toFixed(0)} Hz)`);
  t.equal(onecc.acd!.agentState('bob'), 'not-ready', 'bob is kept from offers while consulted');

  const aliceHungUp = new Promise<void>((resolve) => alicePhone.answered[0]!.dialog.on('destroy', () => resolve()));
  t.match(await alice.call({ type: 'consult-transfer', taskId }), { type: 'result' });
  t.ok(await Promise.race([aliceHungUp.then(() => true), delay(5000).then(() => false)]), 'alice\'s phone got the BYE');
  t.match(await alice.next((f) => f.event === 'task-ended', 5000), { data: { taskId } }, 'alice\'s task ended');
  const [callerNow, bobNow] = await Promise.all([hears(caller), hears(bobRtp)]);
  t.ok(near(callerNow, 660), `the caller hears bob (${callerNow.toFixed(0)} Hz)`);
  t.ok(near(bobNow, 440), `bob hears the caller (${bobNow.toFixed(0)} Hz)`);

  const callerHungUp = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
  await destroy(bobPhone.answered[0]!.dialog);
  t.ok(await Promise.race([callerHungUp.then(() => true), delay(8000).then(() => false)]), 'bob\'s hang-up ends the call');
  const record = await latestRecord<{ outcome?: string; legs: { kind: string; agentId?: string }[] }>(onecc);
  t.ok(record?.legs.some((l) => l.kind === 'transfer' && l.agentId === 'bob'), 'the record has the transfer to bob');
  t.ok(await waitFor(() => onecc.acd!.agentState('bob') === 'available', 3000), 'bob is available again');
});

t.test('consult-cancel takes alice back to the caller; a consulted party who hangs up does too', async (t) => {
  const { alicePhone, bobPhone, alice, caller, dialog, taskId } = await callWithAlice(t, true);
  const aliceRtp = alicePhone.answered[0]!.rtp;
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'result' });
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'error', code: 'invalid-state', message: /already/ }, 'one consultation at a time');
  const bobHungUp = new Promise<void>((resolve) => bobPhone.answered[0]!.dialog.on('destroy', () => resolve()));
  t.match(await alice.call({ type: 'consult-cancel', taskId }), { type: 'result' });
  t.ok(await Promise.race([bobHungUp.then(() => true), delay(5000).then(() => false)]), 'bob\'s phone got the BYE');
  const [callerHears, aliceHears] = await Promise.all([hears(caller), hears(aliceRtp)]);
  t.ok(near(callerHears, 880), `the caller hears alice again (${callerHears.toFixed(0)} Hz)`);
  t.ok(near(aliceHears, 440), `alice hears the caller again (${aliceHears.toFixed(0)} Hz)`);
  t.ok(await waitFor(() => onecc.acd!.agentState('bob') === 'available', 3000), 'bob is available again');

  // Consulted again, bob hangs up himself: alice is back with the caller.
  bobPhone.answering = [{ answer: true, toneHz: 660 }];
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'result' });
  await destroy(bobPhone.answered[1]!.dialog);
  await delay(300);
  const [callerAfter, aliceAfter] = await Promise.all([hears(caller), hears(aliceRtp)]);
  t.ok(near(callerAfter, 880), `the caller hears alice (${callerAfter.toFixed(0)} Hz)`);
  t.ok(near(aliceAfter, 440), `alice hears the caller (${aliceAfter.toFixed(0)} Hz)`);

  // A consultation that is not answered: alice stays with the caller, who is taken off hold.
  bobPhone.answering = [{ status: 486 }];
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'error', code: 'invalid-state', message: /busy/ });
  t.ok(near(await hears(caller), 880), 'the caller hears alice after the failed consultation');
  await destroy(dialog);
});

/** The tones (Hz) an endpoint hears now, of 440/550/660/880: each with at least a fifth of the power. */
async function tonesHeard(ep: RtpEndpoint): Promise<number[]> {
  ep.clear();
  await delay(1000);
  return [440, 550, 660, 880].filter((hz) => toneShare(ep, hz) > 0.2);
}

t.test('attended transfer through a queue: the ACD finds bob, who talks to alice first, then takes the caller', async (t) => {
  const { bobPhone, alice, bob, caller, dialog, taskId } = await callWithAlice(t, true);
  t.match(await alice.call({ type: 'consult', taskId, to: { queue: 'nowhere' } }), { type: 'error', code: 'not-found' });
  t.match(await alice.call({ type: 'consult', taskId, to: { queue: 'general' } }), { type: 'result' }, 'an agent of the queue answered');
  t.equal(bobPhone.rings[0]!.headers['x-onecc-consulted-by'], 'alice');
  const consultTask = await bob.next((f) => f.event === 'task-assigned', 5000);
  t.match(consultTask.data.task.attributes, { consultedBy: 'alice', department: 'sales' }, 'bob\'s task carries the caller\'s context');
  t.same(await tonesHeard(bobPhone.answered[0]!.rtp), [880], 'bob talks to alice');
  t.match(await alice.call({ type: 'consult-transfer', taskId }), { type: 'result' });
  const [c, b] = await Promise.all([tonesHeard(caller), tonesHeard(bobPhone.answered[0]!.rtp)]);
  t.same(c, [660], 'the caller talks to bob');
  t.same(b, [440], 'bob to the caller');
  await destroy(dialog);
  t.match(await bob.next((f) => f.event === 'task-ended', 8000), { data: { taskId: consultTask.data.task.id } }, 'the call over, bob\'s task ends (wrap-up)');
});

t.test('conference: alice joins the caller and bob, then leaves them talking', async (t) => {
  const { alicePhone, bobPhone, alice, caller, dialog, taskId } = await callWithAlice(t, true);
  t.match(await alice.call({ type: 'conference', taskId }), { type: 'error', code: 'invalid-state', message: /consult someone first/ });
  t.match(await alice.call({ type: 'consult', taskId, to: { agent: 'bob' } }), { type: 'result' });
  t.match(await alice.call({ type: 'conference', taskId }), { type: 'result' });
  const aliceRtp = alicePhone.answered[0]!.rtp;
  const bobRtp = bobPhone.answered[0]!.rtp;
  const [c, a, b] = await Promise.all([tonesHeard(caller), tonesHeard(aliceRtp), tonesHeard(bobRtp)]);
  t.same(c, [660, 880], 'the caller hears bob and alice');
  t.same(a, [440, 660], 'alice hears the caller and bob');
  t.same(b, [440, 880], 'bob hears the caller and alice');

  t.match(await alice.call({ type: 'consult-transfer', taskId }), { type: 'result' }, 'alice leaves');
  await alice.next((f) => f.event === 'task-ended', 5000);
  const [c2, b2] = await Promise.all([tonesHeard(caller), tonesHeard(bobRtp)]);
  t.same(c2, [660], 'the caller hears bob only');
  t.same(b2, [440], 'bob hears the caller only');
  await destroy(dialog);
});

t.test('a supervisor whispers to alice (the caller does not hear), then barges in, then hangs up', async (t) => {
  const { alicePhone, alice, caller, dialog, taskId } = await callWithAlice(t, false);
  const supPhone = await startPhone(t, onecc, 'sup', 'pw-s', 'wallboard', [{ answer: true, toneHz: 550 }]);
  const supervisor = await FeedClient.open(t, onecc.http.port);
  await supervisor.call({ type: 'auth', token: credentials.issue('supervisor', 'wallboard', 600) });
  t.match(await alice.call({ type: 'whisper', taskId }), { type: 'error', code: 'forbidden' }, 'agents do not whisper');

  t.match(await supervisor.call({ type: 'whisper', taskId }), { type: 'result' }, 'the supervisor\'s phone answered');
  t.equal(supPhone.rings[0]!.headers['x-onecc-supervise'], 'whisper');
  const aliceRtp = alicePhone.answered[0]!.rtp;
  const supRtp = supPhone.answered[0]!.rtp;
  const [c, a, s] = await Promise.all([tonesHeard(caller), tonesHeard(aliceRtp), tonesHeard(supRtp)]);
  t.same(c, [880], 'whisper: the caller hears alice only');
  t.same(a, [440, 550], 'alice hears the caller and the supervisor');
  t.same(s, [440, 880], 'the supervisor hears both');

  t.match(await supervisor.call({ type: 'barge', taskId }), { type: 'result' }, 'barge on the same call switches the mode');
  t.same(await tonesHeard(caller), [550, 880], 'barge: the caller hears alice and the supervisor');

  await destroy(supPhone.answered[0]!.dialog);
  await delay(300);
  const [c2, a2] = await Promise.all([tonesHeard(caller), tonesHeard(aliceRtp)]);
  t.same(c2, [880], 'the supervisor gone, the caller hears alice');
  t.same(a2, [440], 'and alice the caller');
  await destroy(dialog);
});

t.test('blind transfer to a queue: the caller hears music, then the next agent takes the call with the same context', async (t) => {
  const { bobPhone, alice, bob, caller, taskId } = await callWithAlice(t, false);
  t.match(await alice.call({ type: 'transfer', taskId, to: { queue: 'nowhere' } }), { type: 'error', code: 'not-found' });
  t.match(await alice.call({ type: 'transfer', taskId, to: { queue: 'general' } }), { type: 'result' }, 'queued at once');
  t.match(await alice.next((f) => f.event === 'task-ended', 5000), { data: { taskId } }, 'alice\'s task ended');
  const waiting = await hears(caller);
  t.ok(!near(waiting, 880) && caller.rms(0) > 100, `the caller hears music while queued again (${waiting.toFixed(0)} Hz)`);

  await bob.call({ type: 'ready' });
  const offer = await bob.next((f) => f.event === 'offer', 10_000);
  t.not(offer.data.task.id, taskId, 'a new task');
  t.match(offer.data.context.attributes, { department: 'sales', account: 'B-42', transferredBy: 'alice', caller: '+15550001' }, 'with the caller\'s context and who transferred it');
  await bob.next((f) => f.event === 'task-assigned', 10_000);
  t.ok(await waitFor(() => bobPhone.answered.length === 1, 5000), 'bob\'s phone answered');
  t.ok(near(await hears(caller), 660), 'the caller hears bob');

  await destroy(bobPhone.answered[0]!.dialog);
  const record = await latestRecord<{ outcome?: string; agentId?: string }>(onecc, (r) => r.outcome !== undefined, 8000);
  t.match(record, { outcome: 'handled' }, 'the call was handled');
});

t.test('manual dial: alice\'s phone rings first, then the number through the carrier trunk; both talk', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const alice = await agentOnFeed(t, 'alice');
  t.match(await alice.call({ type: 'dial', number: '+15557777' }), { type: 'error', code: 'invalid-state', message: /log in/ }, 'logged-out agents do not dial');
  await alice.call({ type: 'login', ready: true });
  t.teardown(() => signOff('alice'));
  t.match(await alice.call({ type: 'dial', number: 'sip:evil' }), { type: 'error', code: 'bad-frame' }, 'numbers only');

  pbx.answering = [{ status: 486 }];
  t.match(await alice.call({ type: 'dial', number: '+15557777' }), { type: 'error', code: 'invalid-state', message: /busy/ }, 'a busy number fails the dial');
  t.ok(await waitFor(() => onecc.acd!.agentState('alice') === 'available', 3000), 'alice is available again');

  pbx.answering = [{ answer: true, toneHz: 550 }];
  const dialed = await alice.call({ type: 'dial', number: '+15557777' });
  t.match(dialed, { type: 'result', data: { interaction: /^out-/ } }, 'connected');
  t.equal(alicePhone.rings.at(-1)!.headers['x-onecc-dial'], '+15557777', 'her phone was told the number');
  t.match(pbx.rings.at(-1)!, { uri: /^sip:\+15557777@/ }, 'the number was called through the carrier trunk');
  t.match(pbx.rings.at(-1)!.headers.from, /\+15550100/, 'from the configured calling number');
  t.equal(onecc.acd!.agentState('alice'), 'not-ready', 'no offers while on the call');
  t.equal(onecc.acd!.agent('alice').reason, 'outbound-call');
  const customer = pbx.answered.at(-1)!;
  const aliceRtp = alicePhone.answered.at(-1)!.rtp;
  const [customerHears, aliceHears] = await Promise.all([hears(customer.rtp), hears(aliceRtp)]);
  t.ok(near(customerHears, 880), `the customer hears alice (${customerHears.toFixed(0)} Hz)`);
  t.ok(near(aliceHears, 550), `alice hears the customer (${aliceHears.toFixed(0)} Hz)`);

  const aliceHungUp = new Promise<void>((resolve) => alicePhone.answered.at(-1)!.dialog.on('destroy', () => resolve()));
  await destroy(customer.dialog as Srf.Dialog);
  t.ok(await Promise.race([aliceHungUp.then(() => true), delay(5000).then(() => false)]), 'the customer\'s hang-up ends alice\'s leg');
  t.ok(await waitFor(() => onecc.acd!.agentState('alice') === 'available', 3000), 'alice is available again');
  const record = await latestRecord<{ outcome?: string; direction?: string; called?: string; agentId?: string }>(onecc, (r) => r.outcome === 'completed');
  t.match(record, { direction: 'outbound', called: '+15557777', agentId: 'alice', outcome: 'completed' }, 'the interaction record');
});
