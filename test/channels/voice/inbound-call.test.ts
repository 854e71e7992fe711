// Inbound voice end to end on onecc as it runs (startServer): a trunk (a drachtio-srf app on its own SIP engine,
// with a real RTP endpoint) calls a DID, hears the welcome prompt, presses 1 in the menu, waits in the queue, an
// agent's phone (another drachtio-srf app, registered with digest auth, with its own RTP endpoint) rings with the
// caller's context, answers, audio flows both ways, the agent hangs up, the caller answers the survey. Also: the
// agent who does not answer goes not-ready (RONA) and the next agent gets the call; the caller who hangs up while
// queued is recorded as abandoned; CANCEL, unknown DIDs and unknown trunks.
import t, { type Test } from 'tap';
import type { OneccServer } from '../../../src/server';
import { startTestServer } from '../../helpers/onecc-server';
import { destroy } from '../../helpers/drachtio-harness';
import { BaresipPeer, baresipMissing } from '../../helpers/peers/baresip-peer';
import { CALLING_BACK_TRUNK_ENV, frequencyOf, latestRecord, oneccUri, outcomeOf, phonesEnv, startPhone, startTrunk } from '../../helpers/voice-peers';
import { delay, waitFor } from '../../helpers/wait';

const DIALPLAN = `
id: e2e
numbers: ["5000"]
language: en
languages: [en]
start: welcome
onError: goodbye
nodes:
  welcome: { type: play, prompt: welcome, next: menu }
  menu:
    type: menu
    prompt: main-menu
    choices: { 1: support }
    timeout: 8
    retries: 1
    onInvalid: goodbye
    onNoInput: goodbye
  support: { type: set, variables: { department: support }, next: queue }
  queue:
    type: queue
    queue: general
    maxWait: 60
    onTimeout: goodbye
    afterAgent: survey
  survey:
    type: survey
    questions: [ { scale: csat, prompt: survey-rate-satisfaction, into: csat } ]
    timeout: 8
    thanks: survey-thanks
  goodbye: { type: hangup, prompt: goodbye }
`;

let onecc: OneccServer;

t.before(async () => {
  ({ onecc } = await startTestServer(t, {
    dialplans: { 'e2e.yaml': DIALPLAN },
    rtpPorts: [30000, 30999],
    env: {
      ONECC_ACD__OFFER_TIMEOUT_SECONDS: '10',
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '2',
      ONECC_VOICE__PHONES: phonesEnv({ alice: 'pw-a', bob: 'pw-b' }),
      // Only 127.0.0.1 is a trunk here, so that a caller from 127.0.0.3 is an unknown one.
      ONECC_VOICE__TRUNKS: CALLING_BACK_TRUNK_ENV,
    },
  }));
});

t.test('a caller walks the IVR, is queued, rings the agent with context, talks, and answers the survey', async (t) => {
  const acd = onecc.acd!;
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const devices = await onecc.phones.devicesOf('alice');
  t.equal(devices.length, 1, 'alice\'s phone is registered');
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));

  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('5000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440, 4000);
  t.ok(await waitFor(() => caller.packets(0).length >= 50, 5000), 'the caller hears the welcome prompt');
  t.ok(caller.rms(0) > 500, `with speech energy (RMS ${caller.rms(0).toFixed(0)})`);
  await caller.sendDigit('1');

  t.ok(await waitFor(() => phone.answered.length === 1, 8000), 'the agent\'s phone rang and answered');
  const ring = phone.rings[0]!;
  t.equal(ring.headers['x-onecc-queue'], 'general', 'the queue travels in a header');
  t.equal(ring.headers['x-onecc-var-department'], 'support', 'so does the IVR\'s department variable');
  t.match(ring.headers['x-onecc-task'] ?? '', /\S/, 'and the task id');

  const agentRtp = phone.answered[0]!.rtp;
  caller.clear();
  await delay(1500);
  t.ok(agentRtp.packets(0).length >= 50, `the agent hears the caller (${agentRtp.packets(0).length} packets)`);
  t.ok(Math.abs(frequencyOf(agentRtp) - 440) < 25, `it is the caller's 440 Hz (${frequencyOf(agentRtp).toFixed(0)})`);
  t.ok(Math.abs(frequencyOf(caller) - 880) < 25, `the caller hears the agent's 880 Hz (${frequencyOf(caller).toFixed(0)})`);
  t.equal(acd.agentState('alice'), 'busy');

  // The agent hangs up: the caller is back with onecc for the survey.
  await destroy(phone.answered[0]!.dialog);
  await delay(600);
  t.ok(await waitFor(() => acd.agentState('alice') === 'wrap-up' || acd.agentState('alice') === 'available', 3000), `wrap-up after the call (${acd.agentState('alice')})`);
  caller.clear();
  t.ok(await waitFor(() => caller.packets(0).length >= 20, 5000), 'the caller hears the survey question');
  await caller.sendDigit('5');
  const ended = new Promise((resolve) => dialog.on('destroy', resolve));
  await Promise.race([ended, delay(10_000)]);

  // The record is written once the call is over on onecc's side, a moment after the BYE.
  const record = (await finishedRecord()) as { id: string; outcome: string; agentId?: string; survey?: Record<string, string> };
  t.equal(record.outcome, 'handled');
  t.equal(record.agentId, 'alice');
  t.same(record.survey, { csat: '5' }, 'the survey score is in the interaction record');
  const one = await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${record.id}`).then((r) => r.json()) as { ivr: { inputs: { digits: string }[] } };
  t.same(one.ivr.inputs.map((i) => i.digits), ['1', '5'], 'with the IVR inputs');
  t.equal(onecc.media.openCalls, 0, 'no media call left open');
});

/** A caller from the trunk who dials the DID, sends a tone and presses 1 in the menu: on the way to the queue. */
async function callerPressingOne(t: Test) {
  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('5000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440, 4000);
  await delay(300);
  await caller.sendDigit('1');
  return { caller, dialog };
}

function finishedRecord() {
  return latestRecord<{ id: string; outcome?: string; agentId?: string; survey?: Record<string, string> }>(onecc);
}

t.test('an agent who does not answer goes not-ready (RONA) and the next agent gets the call', async (t) => {
  const acd = onecc.acd!;
  const silent = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', ['ignore']);
  const answering = await startPhone(t, onecc, 'bob', 'pw-b', 'bob', [{ answer: true, toneHz: 880 }]);
  // alice has waited longest, so longest-idle offers her the call first.
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  await delay(20);
  await acd.login('bob', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => Promise.all([acd.logout('alice').catch(() => undefined), acd.logout('bob').catch(() => undefined)]));

  const { dialog } = await callerPressingOne(t);
  t.ok(await waitFor(() => silent.rings.length === 1, 8000), 'alice\'s phone rings first');
  t.ok(await waitFor(() => answering.answered.length === 1, 8000), 'after her ring timeout, bob\'s phone rings and answers');
  const state = acd.agent('alice');
  t.equal(acd.agentState('alice'), 'not-ready', 'alice is not ready');
  t.equal(state.reason, 'rona', 'because of RONA');
  await delay(800);
  t.ok(answering.answered[0]!.rtp.packets(0).length >= 20, 'bob hears the caller');
  const ended = new Promise((resolve) => dialog.on('destroy', resolve));
  await destroy(answering.answered[0]!.dialog);
  // The caller skips the survey by hanging up.
  await delay(300);
  await destroy(dialog).catch(() => undefined);
  await Promise.race([ended, delay(2000)]);
});

t.test('an agent who hangs up the moment they answer (BYE while onecc bridges) is not left busy; the caller goes on', async (t) => {
  const acd = onecc.acd!;
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, hangUpAtOnce: true }]);
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));
  const { caller, dialog } = await callerPressingOne(t);
  t.ok(await waitFor(() => phone.answered.length === 1, 8000), 'alice answered, and hung up at once');
  // Before, onecc waited for a BYE that had come while it bridged: alice stayed busy and the caller with her.
  t.ok(await waitFor(() => acd.agentState('alice') !== 'busy' && acd.agentState('alice') !== 'reserved', 5000), `alice is not left busy (${acd.agentState('alice')})`);
  caller.clear();
  t.ok(await waitFor(() => caller.packets(0).length >= 20, 5000), 'the caller is back with onecc (the survey)');
  await destroy(dialog).catch(() => undefined);
  let record = await finishedRecord();
  for (const deadline = Date.now() + 5000; record?.agentId !== 'alice' && Date.now() < deadline; await delay(100)) record = await finishedRecord();
  t.match(record, { agentId: 'alice', outcome: 'handled' }, 'the call is recorded as handled by alice');
});

t.test('a caller who hangs up while queued is recorded as abandoned, and the task leaves the queue', async (t) => {
  const acd = onecc.acd!;
  const { dialog } = await callerPressingOne(t);
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 1, 8000), 'the caller waits in the queue (no agent is ready)');
  await destroy(dialog);
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 0, 5000), 'the task left the queue');
  t.ok(await waitFor(() => onecc.media.openCalls === 0, 5000), 'media released');
  const record = await finishedRecord();
  t.equal(record?.outcome, 'abandoned');
});

t.test('an unknown DID gets 404, an unknown trunk 403, a call cancelled by the trunk leaves nothing behind', async (t) => {
  const trunk = await startTrunk(t, onecc);
  t.equal(await outcomeOf((await trunk.call('9999')).dialog), 404, 'no dialplan answers 9999');
  const stranger = await startTrunk(t, onecc, '127.0.0.3');
  t.equal(await outcomeOf((await stranger.call('5000')).dialog), 403, 'a source that is no trunk is refused');
  const before = onecc.media.openCalls;
  const call = await trunk.call('5000');
  call.cancel();
  const result = await outcomeOf(call.dialog);
  t.ok(typeof result === 'number' || typeof result === 'object', `the call ended (${typeof result === 'number' ? result : 'answered first'})`);
  if (typeof result === 'object') await destroy(result);
  t.ok(await waitFor(() => onecc.media.openCalls === before, 3000), 'no media call left open');
});

t.test('a softphone we did not write (baresip) registers with digest auth, rings for a queued caller, answers and talks', async (t) => {
  if (baresipMissing() !== undefined) return void t.fail(baresipMissing()!);
  const acd = onecc.acd!;
  const registrar = oneccUri(onecc, 'alice').replace(/^sip:alice@/, '');
  // Earlier tests' phones of alice may still be registered (and unreachable): baresip's binding is the new one.
  const before = new Set((await onecc.phones.devicesOf('alice')).map((d) => d.uri));
  const phone = await BaresipPeer.start(t, { timeoutS: 40, sineHz: 1200, account: `<sip:alice@${registrar}>;auth_pass=pw-a;regint=300;answermode=auto` });
  const registered = async () => (await onecc.phones.devicesOf('alice')).some((d) => !before.has(d.uri));
  for (const deadline = Date.now() + 8000; !(await registered()) && Date.now() < deadline; ) await delay(100);
  t.ok(await registered(), 'baresip registered as alice (digest auth)');
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));

  const { caller, dialog } = await callerPressingOne(t);
  await phone.event('CALL_ESTABLISHED', 10_000);
  t.pass('baresip rang and answered');
  caller.clear();
  await delay(1500);
  t.ok(caller.packets(0).length >= 50, `the caller hears baresip (${caller.packets(0).length} packets)`);
  t.ok(Math.abs(frequencyOf(caller) - 1200) < 40, `its 1200 Hz tone (${frequencyOf(caller).toFixed(0)} Hz)`);
  t.equal(acd.agentState('alice'), 'busy');
  const ended = new Promise((resolve) => dialog.on('destroy', resolve));
  await phone.command('hangup');
  // The agent hung up: the survey plays; the caller skips it by hanging up.
  await delay(500);
  await destroy(dialog).catch(() => undefined);
  await Promise.race([ended, delay(2000)]);
  t.ok(await waitFor(() => acd.agentState('alice') !== 'busy', 3000), `alice is out of the call (${acd.agentState('alice')})`);
});
