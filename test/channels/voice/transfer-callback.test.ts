// Inbound voice end to end, the ways a call leaves the queue other than to an agent's phone: a callback (the caller
// keeps their place and hangs up; the agent's phone rings first, then onecc calls the customer through the trunk,
// again after a busy attempt), a transfer to a PBX (answered, and busy: the node's onFail), a transfer to an agent,
// and the business-hours branch of a closed day. Every peer is a drachtio-srf app on its own SIP engine with real
// RTP endpoints; onecc runs as it runs (startServer).
import t from 'tap';
import type { OneccServer } from '../../../src/server';
import { startTestServer } from '../../helpers/onecc-server';
import { destroy } from '../../helpers/drachtio-harness';
import { CALLING_BACK_TRUNK_ENV, frequencyOf, latestRecord, phonesEnv, startPbx, startPhone, startTrunk, type CallTaker } from '../../helpers/voice-peers';
import { delay, waitFor } from '../../helpers/wait';

let onecc: OneccServer;
let pbx: Awaited<ReturnType<typeof startPbx>>;
let busyPbx: Awaited<ReturnType<typeof startPbx>>;

function dialplan(): string {
  const today = new Date().toISOString().slice(0, 10);
  return `
id: e2e-more
numbers: ["6000"]
language: en
languages: [en]
timezone: UTC
calendars:
  shut:
    hours: { sun-sat: 00:00-24:00 }
    holidays: [${today}]
start: menu
onError: goodbye
nodes:
  menu:
    type: menu
    prompt: main-menu
    choices: { 1: queue, 2: to-pbx, 3: to-busy, 4: to-bob, 5: hours }
    timeout: 8
    retries: 1
    onInvalid: goodbye
    onNoInput: goodbye
  queue:
    type: queue
    queue: general
    maxWait: 60
    onTimeout: goodbye
    callback: { key: '9', next: booked }
  booked: { type: hangup, prompt: callback-confirmed }
  to-pbx: { type: transfer, to: { sip: "${pbx.uri('200')}" }, prompt: transferring, onFail: goodbye }
  to-busy: { type: transfer, to: { sip: "${busyPbx.uri('300')}" }, onFail: sorry }
  sorry: { type: hangup, prompt: all-agents-busy }
  to-bob: { type: transfer, to: { agent: bob }, onFail: goodbye }
  hours:
    type: branch
    cases: [ { when: { hours: shut, is: closed }, next: closed } ]
    otherwise: queue
  closed: { type: hangup, prompt: closed }
  goodbye: { type: hangup, prompt: goodbye }
`;
}

t.before(async () => {
  pbx = await startPbx(t);
  pbx.answering = [{ answer: true, toneHz: 700 }];
  busyPbx = await startPbx(t);
  busyPbx.answering = [{ status: 486 }];
  ({ onecc } = await startTestServer(t, {
    dialplans: { 'e2e-more.yaml': dialplan() },
    rtpPorts: [31000, 31999],
    env: {
      ONECC_ACD__OFFER_TIMEOUT_SECONDS: '10',
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '4',
      ONECC_VOICE__TRANSFER_RING_TIMEOUT_SECONDS: '4',
      ONECC_VOICE__CALLBACKS: '{ringTimeoutSeconds: 5, attempts: 2, retrySeconds: 1}',
      ONECC_VOICE__PHONES: phonesEnv({ alice: 'pw-a', bob: 'pw-b' }),
      ONECC_VOICE__TRUNKS: CALLING_BACK_TRUNK_ENV,
    },
  }));
});

/** A trunk call to 6000 that is answered, hears the menu and presses `choice`. */
async function callAndChoose(trunk: Awaited<ReturnType<typeof startTrunk>>, choice: string) {
  const { rtp: caller, dialog: pending } = await trunk.call('6000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440);
  const ended = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
  await waitFor(() => caller.packets(0).length >= 10, 5000);
  await caller.sendDigit(choice);
  return { caller, dialog, ended };
}

type Record = {
  id: string;
  outcome?: string;
  agentId?: string;
  legs: { kind: string; target?: string; agentId?: string }[];
  callbacks?: { attempt: number; agentId: string; outcome: string }[];
  ivr: { steps: { node: string }[] };
};

t.test('a callback: the caller keeps their place and hangs up; the agent answers, then onecc calls the customer, again after a busy attempt', async (t) => {
  const acd = onecc.acd!;
  const trunk = await startTrunk(t, onecc);
  trunk.answering = [{ status: 486 }, { answer: true, toneHz: 300 }];
  const alice = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);

  const { caller, ended } = await callAndChoose(trunk, '1');
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 1, 8000), 'the caller waits in the queue');
  const [task] = [...acd.tasks()];
  await delay(300);
  await caller.sendDigit('9');
  t.ok(await Promise.race([ended.then(() => true), delay(10_000).then(() => false)]), 'onecc confirms and hangs up');
  const requested = await latestRecord<Record>(onecc);
  t.equal(requested?.outcome, 'callback-requested');
  t.equal(acd.queueSnapshot('general').waiting, 1, 'the callback keeps the caller\'s place in the queue');
  t.equal(acd.task(task!.id).enqueuedAt, task!.enqueuedAt, 'with its enqueue time');

  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));
  t.ok(await waitFor(() => alice.answered.length === 1, 8000), 'alice\'s phone rings first, and she answers');
  t.equal(alice.rings[0]!.headers['x-onecc-callback'], '+15550001', 'the number to call back is on her phone');
  t.ok(await waitFor(() => trunk.rings.length === 1, 5000), 'then onecc calls the customer through the trunk');
  t.match(trunk.rings[0]!.uri, /^sip:\+15550001@127\.0\.0\.1:/, 'at the number the call came from');
  t.match(trunk.rings[0]!.headers.from ?? '', /6000/, 'showing the number the customer called');

  // Busy: alice wraps up, and the callback goes back to the queue a second later.
  t.ok(await waitFor(() => alice.answered.length === 2, 10_000), 'the second attempt rings alice again');
  t.ok(await waitFor(() => trunk.answered.length === 1, 5000), 'and the customer answers this time');
  const agentAudio = alice.answered[1]!.rtp;
  const customer = trunk.answered[0]!.rtp;
  customer.clear();
  await delay(1500);
  t.ok(Math.abs(frequencyOf(agentAudio) - 300) < 25, `alice hears the customer (${frequencyOf(agentAudio).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(customer) - 880) < 25, `the customer hears alice (${frequencyOf(customer).toFixed(0)} Hz)`);
  t.equal(acd.agentState('alice'), 'busy');

  await destroy(trunk.answered[0]!.dialog);
  const record = await latestRecord<Record>(onecc, (r) => r.outcome === 'callback-handled');
  t.equal(record?.outcome, 'callback-handled', 'the interaction record has the callback');
  t.match(record?.callbacks, [{ attempt: 1, agentId: 'alice', outcome: 'busy' }, { attempt: 2, agentId: 'alice', outcome: 'connected' }]);
  t.ok(record?.legs.some((l) => l.kind === 'customer'), 'and the customer\'s leg');
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 0 && [...acd.tasks()].length === 0, 3000), 'no task left');
  t.ok(await waitFor(() => onecc.media.openCalls === 0, 3000), 'no media call left open');
});

t.test('a transfer to a PBX: it rings with the call\'s context, and caller and PBX talk until the caller hangs up', async (t) => {
  const trunk = await startTrunk(t, onecc);
  const { caller, dialog } = await callAndChoose(trunk, '2');
  t.ok(await waitFor(() => pbx.answered.length === 1, 10_000), 'the PBX answered');
  t.equal(pbx.rings[0]!.headers['x-onecc-dialplan'], 'e2e-more', 'the dialplan travels in a header');
  const at = pbx.answered[0]!;
  const pbxGone = new Promise<void>((resolve) => at.dialog.on('destroy', () => resolve()));
  caller.clear();
  await delay(1500);
  t.ok(Math.abs(frequencyOf(caller) - 700) < 25, `the caller hears the PBX (${frequencyOf(caller).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(at.rtp) - 440) < 25, `the PBX hears the caller (${frequencyOf(at.rtp).toFixed(0)} Hz)`);
  await destroy(dialog);
  t.ok(await Promise.race([pbxGone.then(() => true), delay(5000).then(() => false)]), 'the caller\'s BYE reaches the PBX');
  const record = await latestRecord<Record>(onecc, (r) => r.outcome === 'transferred');
  t.equal(record?.outcome, 'transferred');
  t.match(record?.legs.find((l) => l.kind === 'transfer'), { target: pbx.uri('200') });
});

t.test('a transfer to a busy PBX takes the node\'s onFail', async (t) => {
  const trunk = await startTrunk(t, onecc);
  const { ended } = await callAndChoose(trunk, '3');
  t.ok(await Promise.race([ended.then(() => true), delay(15_000).then(() => false)]), 'the caller hears the busy message and onecc hangs up');
  t.equal(busyPbx.rings.length, 1, 'the PBX was tried');
  const record = await latestRecord<Record>(onecc, (r) => r.ivr?.steps?.some((s) => s.node === 'sorry'));
  t.ok(record?.ivr.steps.some((s) => s.node === 'sorry'), 'onFail led to the sorry node');
});

t.test('a transfer to an agent rings their phone, keeps them from other offers while talking, and frees them after', async (t) => {
  const acd = onecc.acd!;
  const bob: CallTaker = await startPhone(t, onecc, 'bob', 'pw-b', 'bob', [{ answer: true, toneHz: 880 }]);
  await acd.login('bob', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('bob').catch(() => undefined));
  const trunk = await startTrunk(t, onecc);
  const { caller, ended } = await callAndChoose(trunk, '4');
  t.ok(await waitFor(() => bob.answered.length === 1, 10_000), 'bob answered');
  t.equal(bob.rings[0]!.headers['x-onecc-transfer'], 'direct');
  t.equal(acd.agentState('bob'), 'not-ready', 'the ACD offers bob nothing else meanwhile');
  t.equal(acd.agent('bob').reason, 'direct-call');
  caller.clear();
  await delay(1000);
  t.ok(Math.abs(frequencyOf(caller) - 880) < 25, `the caller hears bob (${frequencyOf(caller).toFixed(0)} Hz)`);
  await destroy(bob.answered[0]!.dialog);
  t.ok(await Promise.race([ended.then(() => true), delay(5000).then(() => false)]), 'bob\'s hang-up ends the call');
  t.ok(await waitFor(() => acd.agentState('bob') === 'available', 3000), 'bob is available again');
});

t.test('on a closed day the business-hours branch says so and hangs up', async (t) => {
  const trunk = await startTrunk(t, onecc);
  const { caller, ended } = await callAndChoose(trunk, '5');
  caller.clear();
  t.ok(await Promise.race([ended.then(() => true), delay(15_000).then(() => false)]), 'onecc hangs up');
  t.ok(caller.packets(0).length >= 25 && caller.rms(0) > 300, `after a message (${caller.packets(0).length} packets)`);
  const record = await latestRecord<Record>(onecc, (r) => r.ivr?.steps?.some((s) => s.node === 'closed'));
  t.same(record?.ivr.steps.map((s) => s.node), ['menu', 'hours', 'closed'], 'menu, the hours branch, the closed message');
});
