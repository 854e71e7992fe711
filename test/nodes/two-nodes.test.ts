// Two onecc nodes as they run (startServer), sharing one Redis, each with its own SIP engine and rtpengine: an agent
// whose phone registered through node A and who logged in on A takes a call that arrived on node B (B rings the
// phone it finds in the shared registrations and bridges the media through its rtpengine). Then B drains with a
// caller still queued: the queue entry goes to A, which makes the offer when an agent comes free, while B keeps the
// caller's call and rings the agent; B's drain ends when that call does.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { destroy } from '../helpers/drachtio-harness';
import { startTestServer } from '../helpers/onecc-server';
import { frequencyOf, queueDialplan, startPhone, startTrunk } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const DIALPLAN = queueDialplan('nodes', 60);
const PHONES = '[{username: alice, password: pw-a, agent: alice}, {username: bob, password: pw-b, agent: bob}]';

let a: OneccServer;
let b: OneccServer;

t.before(async () => {
  const env = { ONECC_ACD__OFFER_TIMEOUT_SECONDS: '10', ONECC_VOICE__RING_TIMEOUT_SECONDS: '4', ONECC_VOICE__PHONES: PHONES };
  ({ onecc: a } = await startTestServer(t, { dialplans: { 'nodes.yaml': DIALPLAN }, rtpPorts: [37100, 37199], env: { ...env, ONECC_ACD__NODE_ID: 'node-a' } }));
  ({ onecc: b } = await startTestServer(t, {
    dialplans: { 'nodes.yaml': DIALPLAN },
    rtpPorts: [37200, 37299],
    env: { ...env, ONECC_ACD__NODE_ID: 'node-b', ONECC_ACD__REDIS__EMBEDDED: 'false', ONECC_ACD__REDIS__PORT: String(a.redis.port) },
  }));
});

t.test('an agent on node A takes a call that arrived on node B; B drains, its queued caller is routed by A', async (t) => {
  const alice = await startPhone(t, a, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await a.acd!.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  await waitFor(() => b.acd!.agentState('alice') === 'available', 3000);

  const trunk = await startTrunk(t, b);
  const first = await trunk.call('5000', '+15550101');
  const firstDialog = await first.dialog;
  first.rtp.useRemote(firstDialog.remote.sdp);
  first.rtp.startTone(440, 20_000);
  t.ok(await waitFor(() => alice.answered.length === 1, 8000), 'alice\'s phone (registered through A) rang for the call on B and answered');
  const taskId = alice.rings[0]!.headers['x-onecc-task']!;
  t.equal((await b.acd!.explain(taskId))?.agentId, 'alice');
  t.equal(b.acd!.task(taskId).owner, 'node-b', 'the task is B\'s: its call is there');
  await delay(1500);
  const heard = alice.answered[0]!.rtp;
  t.ok(Math.abs(frequencyOf(heard) - 440) < 25, `alice hears the caller through B's rtpengine (${frequencyOf(heard).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(first.rtp) - 880) < 25, `the caller hears alice (${frequencyOf(first.rtp).toFixed(0)} Hz)`);

  // Alice is busy: a second caller on B waits in the queue, owned by B.
  const second = await trunk.call('5000', '+15550102');
  const secondDialog = await second.dialog;
  second.rtp.useRemote(secondDialog.remote.sdp);
  second.rtp.startTone(660, 30_000);
  let waiting: string | undefined;
  t.ok(await waitFor(() => (waiting = [...b.acd!.tasks()].find((task) => task.state === 'waiting')?.id) !== undefined, 5000), 'the second caller waits on B');
  const enqueuedAt = b.acd!.task(waiting!).enqueuedAt;

  const drained = b.drain(30);
  const onA = () => [...a.acd!.tasks()].find((task) => task.id === waiting);
  t.ok(await waitFor(() => onA()?.owner === 'node-a', 3000), 'B drains: the queue entry goes to A');
  t.equal(a.acd!.task(waiting!).enqueuedAt, enqueuedAt, 'keeping its place');
  const refused = await trunk.call('5000', '+15550103');
  t.equal(await refused.dialog.then(() => 200, (err: { status?: number }) => err.status), 503, 'B takes no new call while draining');

  // Bob logs in on A: A makes the offer, B (which holds the call) rings bob's phone and bridges him to the caller.
  const bob = await startPhone(t, a, 'bob', 'pw-b', 'bob', [{ answer: true, toneHz: 1000 }]);
  await a.acd!.login('bob', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.ok(await waitFor(() => bob.answered.length === 1, 8000), 'bob\'s phone rang for the call B keeps');
  t.equal((await a.acd!.explain(waiting!))?.agentId, 'bob');
  t.equal(bob.rings[0]!.headers['x-onecc-task'], waiting, 'with the handed-over task');
  await delay(1500);
  t.ok(Math.abs(frequencyOf(bob.answered[0]!.rtp) - 660) < 25, `bob hears the second caller (${frequencyOf(bob.answered[0]!.rtp).toFixed(0)} Hz)`);

  // B exits once its calls are over.
  let drainDone = false;
  void drained.then(() => (drainDone = true));
  await destroy(alice.answered[0]!.dialog);
  await delay(300);
  t.notOk(drainDone, 'still draining while a call is up');
  await destroy(bob.answered[0]!.dialog);
  t.ok(await waitFor(() => drainDone, 5000), 'drained once the last call ended');
  for (const agent of ['alice', 'bob']) await a.acd!.logout(agent).catch(() => undefined);
});
