// The media plane's life: embedded rtpengine restarted when it dies (calls it carried end, new ones work),
// several rtpengines shared by load or by hash, bounded failures when rtpengine is silent, clear errors for SDP
// onecc cannot negotiate, and calls that end abnormally still leave nothing behind on rtpengine.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { startMedia } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../helpers/wait';
import { MediaError, MediaService } from '../../src/media';
import { silentLogger } from '../../src/lib';

async function bridgedCall(media: MediaService, id: string) {
  const caller = await RtpEndpoint.open();
  const agent = await RtpEndpoint.open();
  const call = media.openCall(id);
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp'));
  caller.useRemote(await call.answer('caller', 'agent', agent.sdp()));
  caller.startTone(440);
  agent.startTone(880);
  return { call, caller, agent, close: () => (caller.close(), agent.close()) };
}

t.test('an embedded rtpengine that dies is restarted: its calls end, new calls work', async (t) => {
  const fx = await startMedia();
  t.teardown(fx.close);
  const engine = fx.media.pool.engines[0]!;
  const before = await bridgedCall(fx.media, 'before-crash');
  const ended = new Promise((resolve) => before.call.once('ended', resolve));
  const pid = engine.process!.pid!;
  process.kill(pid, 'SIGKILL');
  t.equal(await ended, 'rtpengine-lost', 'the call on the dead engine ends, with the reason');
  // Its phones would hang up on the BYE the voice layer sends now; left streaming, they would hit the ports the
  // restarted engine hands out again and be latched as the new call's peers.
  before.close();
  t.ok(await waitFor(() => engine.process!.restarts === 1 && engine.process!.pid !== undefined && engine.process!.pid !== pid, 5000), 'restarted');
  t.ok(await waitFor(() => engine.healthy, 5000), 'and healthy again');
  const after = await bridgedCall(fx.media, 'after-crash');
  t.teardown(after.close);
  await delay(800);
  t.ok(after.agent.packets(0).length >= 30 && after.caller.packets(0).length >= 30, 'a new call after the restart carries audio');
  await after.call.close();
  t.same(await fx.sessions(), []);
});

t.test('a call rtpengine drops by itself (RTP timeout) is found and ended', async (t) => {
  const fx = await startMedia({ embedded: { binary: '/usr/bin/rtpengine', rtpTimeoutSeconds: 1, logLevel: 5, restartDelayMs: 200 } });
  t.teardown(fx.close);
  const c = await bridgedCall(fx.media, 'goes-silent');
  t.teardown(c.close);
  const lost: string[] = [];
  fx.media.on('call-lost', (call) => lost.push(call.id));
  c.caller.stopSending();
  c.agent.stopSending();
  t.ok(await waitFor(() => c.call.ended === 'rtpengine-lost', 8000), 'ended once rtpengine closed it');
  t.same(lost, ['goes-silent']);
  t.throws(() => c.call.play('caller', ['/x.wav']), { code: 'CALL_CLOSED' }, 'further operations fail clearly');
  t.equal(fx.media.openCalls, 0);
});

t.test('calls that end abnormally leave no session on rtpengine once the service closes', async (t) => {
  const fx = await startMedia();
  t.teardown(fx.close);
  // A second onecc node's media service on the same engine (external mode), so that the engine outlives it.
  const node = await MediaService.start({ ...fx.options, engine: 'external', dtmf: { host: '127.0.0.1', port: 0 } }, silentLogger());
  t.teardown(() => node.close());
  const caller = await RtpEndpoint.open();
  t.teardown(() => caller.close());
  // Offered and never answered (the callee never replied).
  await node.openCall('offered-only').offer('caller', caller.sdp(), 'rtp');
  // Bridged, then the user of the API vanished without close().
  const dangling = await bridgedCall(node, 'dangling');
  t.teardown(dangling.close);
  // An answer that failed (an SDP onecc cannot use) midway through.
  const failed = await bridgedCall(node, 'failed-answer');
  t.teardown(failed.close);
  await t.rejects(failed.call.answer('caller', 'agent2', 'v=0\r\nm=audio 0 RTP/AVP 0\r\n'), { code: 'INCOMPATIBLE_SDP' });
  // A playback that failed.
  t.equal((await failed.call.play('caller', ['/nonexistent.wav']).done).outcome, 'failed');
  t.same((await fx.sessions()).sort(), ['dangling', 'failed-answer', 'offered-only']);
  await node.close();
  t.same(await fx.sessions(), [], 'closing the service deleted every call it had opened');
});

t.test('an SDP onecc cannot negotiate is refused with INCOMPATIBLE_SDP (SIP 488) and a reason', async (t) => {
  const fx = await startMedia();
  t.teardown(fx.close);
  const cases: [string, string, RegExp][] = [
    ['not SDP', 'hello', /not an SDP body/],
    ['no stream', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n', /no active audio or video stream/],
    ['unknown codecs only', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 97\r\na=rtpmap:97 FANCY/8000\r\n', /no audio codec onecc can handle among FANCY/],
    ['no address', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', /no connection address/],
  ];
  for (const [what, sdp, reason] of cases) {
    const call = fx.media.openCall();
    const err = await call.offer('caller', sdp, 'rtp').catch((e: unknown) => e);
    t.ok(err instanceof MediaError, what);
    t.equal((err as MediaError).code, 'INCOMPATIBLE_SDP', what);
    t.equal((err as MediaError).sipStatus, 488, what);
    t.match((err as MediaError).message, reason, what);
    await call.close();
  }
  t.same(await fx.sessions(), []);
});

t.test('a busy rtpengine that misses a health check keeps its calls coming; three misses in a row take it out', async (t) => {
  // No background checks: this test counts the misses itself.
  const fx = await startMedia({ commandTimeoutMs: 200, healthIntervalMs: 600_000 });
  t.teardown(fx.close);
  const engine = fx.media.pool.engines[0]!;
  const pid = engine.process!.pid!;
  t.teardown(() => process.kill(pid, 'SIGCONT'));
  process.kill(pid, 'SIGSTOP'); // frozen: it answers nothing, like an engine far behind on its queue
  await delay(300); // replies already on their way land before the count starts
  await fx.media.pool.checkHealth();
  t.ok(engine.healthy, 'one miss: still in rotation');
  t.doesNotThrow(() => fx.media.openCall('during-a-hiccup'), 'new calls still go to it');
  await fx.media.pool.checkHealth();
  await fx.media.pool.checkHealth();
  t.notOk(engine.healthy, 'three misses in a row: out of rotation');
  process.kill(pid, 'SIGCONT');
  await fx.media.pool.checkHealth();
  t.ok(engine.healthy, 'the first answer brings it back');
});

t.test('an rtpengine that does not answer fails the operation within the command timeout', async (t) => {
  // A UDP socket that swallows NG commands: an rtpengine that hangs.
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const media = await MediaService.start({
    engine: 'external', selection: 'least-loaded', commandTimeoutMs: 300,
    rtpengines: [{ host: '127.0.0.1', ngPort: silent.address().port, interface: '127.0.0.1', portMin: 30000, portMax: 30100 }],
    dtmf: { host: '127.0.0.1', port: 0 },
    embedded: { binary: '/usr/bin/rtpengine', rtpTimeoutSeconds: 60, logLevel: 5, restartDelayMs: 200 },
    recordingDir: '/tmp', healthIntervalMs: 60_000,
  }, silentLogger());
  t.teardown(() => media.close());
  t.same(media.status().map((s) => s.healthy), [false], 'the engine is reported down');
  t.throws(() => media.openCall(), { code: 'NO_RTPENGINE' }, 'no engine answers: a new call is refused at once');
  // Mark it up, as if a health check had just passed, to time an operation against the silent engine.
  media.pool.engines[0]!.healthy = true;
  const caller = await RtpEndpoint.open();
  t.teardown(() => caller.close());
  const started = Date.now();
  const err = await media.openCall().offer('caller', caller.sdp(), 'rtp').catch((e: unknown) => e);
  const took = Date.now() - started;
  t.equal((err as MediaError).code, 'RTPENGINE_TIMEOUT');
  t.match((err as MediaError).message, /did not answer "offer" within 300 ms/);
  t.ok(took >= 290 && took < 1500, `failed after ${took} ms`);
});

t.test('several rtpengines: least-loaded spreads calls, hash keeps a call id on one engine', async (t) => {
  const a = await startMedia();
  t.teardown(a.close);
  const b = await startMedia();
  t.teardown(b.close);
  const engines = [a.options.rtpengines[0]!, b.options.rtpengines[0]!];
  const common = { ...a.options, engine: 'external' as const, rtpengines: engines, dtmf: { host: '127.0.0.1', port: 0 } };
  const balanced = await MediaService.start({ ...common, selection: 'least-loaded' }, silentLogger());
  t.teardown(() => balanced.close());
  const picks = Array.from({ length: 10 }, () => balanced.openCall().rtpengine);
  t.equal(picks.filter((p) => p === picks[0]).length, 5, `least-loaded alternates between two idle engines (${picks.join(' ')})`);
  const hashedA = await MediaService.start({ ...common, selection: 'hash' }, silentLogger());
  t.teardown(() => hashedA.close());
  const hashedB = await MediaService.start({ ...common, rtpengines: [...engines].reverse(), selection: 'hash' }, silentLogger());
  t.teardown(() => hashedB.close());
  const ids = Array.from({ length: 40 }, (_, i) => `call-${i}`);
  const onA = ids.map((id) => hashedA.openCall(id).rtpengine);
  const onB = ids.map((id) => hashedB.openCall(id).rtpengine);
  t.same(onA, onB, 'two nodes place every call id on the same engine, whatever order they list engines in');
  const share = onA.filter((e) => e === onA[0]).length;
  t.ok(share > 8 && share < 32, `and spread them (${share}/40 on one engine)`);
});
