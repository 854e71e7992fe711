// A onecc node killed (SIGKILL) with a caller waiting in its queue: node A (in this process) and node B (dist/src/main.js
// in a child process) share one Redis. A caller on B waits for an agent; B is killed, its call with it. Once B's
// lease runs out, A adopts the task and turns it into a callback that keeps the caller's original enqueue time; when
// an agent comes free on A, A rings the agent, then calls the customer back through the trunk.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { faultTestEnv, killRtpengine, startOneccNode } from '../helpers/onecc-process';
import { startTestServer } from '../helpers/onecc-server';
import { destroy } from '../helpers/drachtio-harness';
import { queueDialplan, startPhone, startTrunk } from '../helpers/voice-peers';
import { waitFor } from '../helpers/wait';

const DIALPLAN = queueDialplan('killed');
const B_RTP = [37400, 37499] as const;
const SHARED = faultTestEnv({ alice: 'pw-a' });

let a: OneccServer;

t.before(async () => {
  ({ onecc: a } = await startTestServer(t, { dialplans: { 'killed.yaml': DIALPLAN }, rtpPorts: [37300, 37399], env: { ...SHARED, ONECC_ACD__NODE_ID: 'node-a' } }));
});

t.test('node B killed with a caller queued: node A calls the caller back, keeping their place', async (t) => {
  const { sut: b, sipPort } = await startOneccNode(t, {
    dialplans: { 'killed.yaml': DIALPLAN },
    rtpPorts: B_RTP,
    env: { ...SHARED, ONECC_ACD__NODE_ID: 'node-b', ONECC_ACD__REDIS__EMBEDDED: 'false', ONECC_ACD__REDIS__PORT: String(a.redis.port) },
  });

  const trunk = await startTrunk(t, a);
  trunk.answering = [{ answer: true, toneHz: 500 }];
  const call = await trunk.call('5000', '+15550199', `sip:5000@127.0.0.1:${sipPort}`);
  await call.dialog;
  const acd = a.acd!;
  let taskId: string | undefined;
  t.ok(await waitFor(() => (taskId = [...acd.tasks()].find((task) => task.owner === 'node-b' && task.state === 'waiting')?.id) !== undefined, 8000), 'the caller waits in B\'s queue (A sees it)');
  const enqueuedAt = acd.task(taskId!).enqueuedAt;

  const killedAt = Date.now();
  b.kill('SIGKILL');
  t.ok(await waitFor(() => acd.task(taskId!).owner === 'node-a' && acd.task(taskId!).attributes.callback === 'requested', 10_000), 'A adopted the task as a callback once B\'s lease ran out');
  const recoveredMs = Date.now() - killedAt;
  t.ok(recoveredMs >= 1000, `not before B's lease could have run out (${recoveredMs} ms after the kill)`);
  t.match(acd.task(taskId!), { enqueuedAt, state: 'waiting', queue: 'general', attributes: { callbackNumber: '+15550199' } }, 'keeping the original enqueue time');

  // An agent comes free on A: A rings her, then calls the customer back through the trunk.
  const alice = await startPhone(t, a, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));
  t.ok(await waitFor(() => alice.answered.length === 1, 8000), 'alice\'s phone rang for the callback and answered');
  t.equal(alice.rings[0]!.headers['x-onecc-callback'], '+15550199', 'with the number to call back');
  t.ok(await waitFor(() => trunk.answered.length === 1, 8000), 'the customer was called back through the trunk');
  t.match(trunk.rings[0]!.uri, /^sip:\+15550199@/, 'at their number');
  await destroy(alice.answered[0]!.dialog);
});

t.test('node B killed with a caller queued and restarted at once under the same node id: the caller is called back', async (t) => {
  const bEnv = { ...SHARED, ONECC_ACD__NODE_ID: 'node-b', ONECC_ACD__REDIS__EMBEDDED: 'false', ONECC_ACD__REDIS__PORT: String(a.redis.port) };
  const first = await startOneccNode(t, { dialplans: { 'killed.yaml': DIALPLAN }, rtpPorts: B_RTP, env: bEnv });
  const trunk = await startTrunk(t, a);
  trunk.answering = [{ answer: true, toneHz: 500 }];
  await (await trunk.call('5000', '+15550198', `sip:5000@127.0.0.1:${first.sipPort}`)).dialog;
  const acd = a.acd!;
  let taskId: string | undefined;
  t.ok(await waitFor(() => (taskId = [...acd.tasks()].find((task) => task.owner === 'node-b' && task.state === 'waiting')?.id) !== undefined, 8000), 'the caller waits in B\'s queue');
  const enqueuedAt = acd.task(taskId!).enqueuedAt;

  // A supervisor restarts it at once (as docker's restart policy does): its lease may still run when it is back,
  // so A may never see it dead; the restarted B finds the caller whose call died with the old process.
  first.sut.kill('SIGKILL');
  killRtpengine(B_RTP[0], { ifAny: true });
  await startOneccNode(t, { dialplans: { 'killed.yaml': DIALPLAN }, rtpPorts: B_RTP, env: bEnv });
  t.ok(await waitFor(() => acd.task(taskId!).attributes.callback === 'requested', 10_000), 'the task became a callback');
  t.match(acd.task(taskId!), { enqueuedAt, state: 'waiting' }, 'keeping its place');

  const alice = await startPhone(t, a, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));
  t.ok(await waitFor(() => trunk.answered.length === 1, 10_000), 'the customer was called back');
  t.match(trunk.rings[0]!.uri, /^sip:\+15550198@/);
  await waitFor(() => alice.answered.length === 1, 2000);
  if (alice.answered[0]) await destroy(alice.answered[0].dialog);
});
