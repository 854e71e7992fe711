// The rtpengine carrying a queued caller's media killed (SIGKILL): onecc ends the call cleanly, the caller keeps
// their place in the queue as a callback, onecc restarts its rtpengine, and when an agent comes free the agent is
// rung and the customer called back through the trunk.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { destroy } from '../helpers/drachtio-harness';
import { killRtpengine } from '../helpers/onecc-process';
import { startTestServer } from '../helpers/onecc-server';
import { CALLING_BACK_TRUNK_ENV, phonesEnv, queueDialplan, startPhone, startTrunk } from '../helpers/voice-peers';
import { waitFor } from '../helpers/wait';

const DIALPLAN = queueDialplan('media-lost');
const RTP = [37500, 37599] as const;

let onecc: OneccServer;

t.before(async () => {
  ({ onecc } = await startTestServer(t, {
    dialplans: { 'media-lost.yaml': DIALPLAN },
    rtpPorts: [RTP[0], RTP[1]],
    env: {
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '4',
      ONECC_VOICE__PHONES: phonesEnv({ alice: 'pw-a' }),
      ONECC_VOICE__TRUNKS: CALLING_BACK_TRUNK_ENV,
      ONECC_MEDIA__EMBEDDED__RESTART_DELAY_MS: '200',
    },
  }));
});

t.test('rtpengine killed under a queued caller: the caller is called back, keeping the place', async (t) => {
  const acd = onecc.acd!;
  const trunk = await startTrunk(t, onecc);
  trunk.answering = [{ answer: true, toneHz: 500 }];
  const call = await trunk.call('5000', '+15550177');
  const dialog = await call.dialog;
  let taskId: string | undefined;
  t.ok(await waitFor(() => (taskId = [...acd.tasks()].find((task) => task.state === 'waiting')?.id) !== undefined, 8000), 'the caller waits in the queue');
  const enqueuedAt = acd.task(taskId!).enqueuedAt;
  const byeFromOnecc = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));

  killRtpengine(RTP[0]);
  t.ok(await Promise.race([byeFromOnecc.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))]), 'onecc ended the call whose media was lost (BYE)');
  t.ok(await waitFor(() => acd.task(taskId!).attributes.callback === 'requested', 5000), 'the task became a callback');
  t.match(acd.task(taskId!), { state: 'waiting', enqueuedAt, attributes: { callbackNumber: '+15550177' } }, 'keeping its place');
  t.ok(await waitFor(() => (onecc.media.status()[0]?.restarts ?? 0) >= 1 && onecc.media.status()[0]!.healthy, 10_000), 'onecc restarted its rtpengine');

  const alice = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));
  t.ok(await waitFor(() => alice.answered.length === 1, 8000), 'the agent was rung for the callback');
  t.ok(await waitFor(() => trunk.answered.length === 1, 8000), 'the customer was called back');
  t.match(trunk.rings[0]!.uri, /^sip:\+15550177@/);
  await destroy(alice.answered[0]!.dialog);
  t.ok(await waitFor(() => acd.agentState('alice') !== 'busy', 5000), 'the agent is not left busy');
});
