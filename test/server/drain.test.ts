// Readiness and graceful drain on onecc as it runs: /ready lists its checks (SIP, rtpengine, Redis); draining
// refuses new calls with 503 and turns /ready to 503 while the call in progress goes on, and ends as soon as that
// call does (or at the deadline, when close() hangs up what is left).
import t from 'tap';
import { destroy } from '../helpers/drachtio-harness';
import { startTestServer } from '../helpers/onecc-server';
import { outcomeOf, startTrunk } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const DIALPLAN = `
id: drain
numbers: ["8000"]
language: en
languages: [en]
start: wait
onError: bye
nodes:
  wait: { type: queue, queue: general, maxWait: 60, onTimeout: bye }
  bye: { type: hangup, prompt: goodbye }
`;

t.test('draining refuses new calls, keeps the live one, and ends when it does', async (t) => {
  const { onecc } = await startTestServer(t, { dialplans: { 'drain.yaml': DIALPLAN }, rtpPorts: [33000, 33499] });
  const ready = async () => {
    const res = await fetch(`http://127.0.0.1:${onecc.http.port}/ready`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, boolean> } };
  };
  t.match(await ready(), { status: 200, body: { checks: { started: true, draining: true, sip: true, rtpengine: true, redis: true } } });

  const trunk = await startTrunk(t, onecc);
  const live = await trunk.call('8000');
  const dialog = await live.dialog;
  live.rtp.useRemote(dialog.remote.sdp);
  live.rtp.startTone(440);
  t.ok(await waitFor(() => onecc.acd!.queueSnapshot('general').waiting === 1, 5000), 'a caller waits in the queue');

  let drained = false;
  const draining = onecc.drain(30).then(() => (drained = true));
  t.match(await ready(), { status: 503, body: { checks: { draining: false } } }, '/ready says not ready while draining');
  t.equal(await outcomeOf((await trunk.call('8000')).dialog), 503, 'a new call is refused with 503');
  await delay(500);
  t.notOk(drained, 'the drain waits for the live call');
  t.ok(live.rtp.packets(0).length > 0, 'which still hears its music');
  await destroy(dialog);
  const started = Date.now();
  await draining;
  t.ok(Date.now() - started < 5000, 'the drain ends once the live call has');
  t.equal(onecc.voice!.activeCalls, 0);
});

t.test('a drain that reaches its deadline leaves the rest to close()', async (t) => {
  const { onecc } = await startTestServer(t, { dialplans: { 'drain.yaml': DIALPLAN }, rtpPorts: [33500, 33999] });
  const trunk = await startTrunk(t, onecc);
  const live = await trunk.call('8000');
  const dialog = await live.dialog;
  const hungUp = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
  const started = Date.now();
  await onecc.drain(1);
  t.ok(Date.now() - started < 3000, `the drain gave up after its second (${Date.now() - started} ms)`);
  t.equal(onecc.voice!.activeCalls, 1, 'the call is still up');
  await onecc.close();
  t.ok(await Promise.race([hungUp.then(() => true), delay(5000).then(() => false)]), 'close() hung it up');
});
