// Two-leg calls (the B2BUA case) through a real rtpengine: audio both ways, transcoding, the IVR-to-agent move,
// hold with music, DTMF privacy and injection, forks, recording and stats.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMedia, writeToneWav, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../helpers/wait';
import { decodeG711 } from '../../src/media/codec/g711';

let fx: MediaFixture;
let moh: string;

t.before(async () => {
  fx = await startMedia();
  moh = writeToneWav(path.join(fx.dir, 'moh.wav'), 2000, 300);
});
t.teardown(() => fx.close());

/** Bridges a caller and an agent endpoint; both start streaming a tone (caller 440 Hz, agent 880 Hz). */
async function bridged(name: string, callerPt: 0 | 8 = 0, agentPt: 0 | 8 = 0, injectDtmf = false) {
  const caller = await RtpEndpoint.open({ audioPt: callerPt });
  const agent = await RtpEndpoint.open({ audioPt: agentPt });
  const call = fx.media.openCall(name);
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp', { injectDtmf }));
  caller.useRemote(await call.answer('caller', 'agent', agent.sdp()));
  caller.startTone(440);
  agent.startTone(880);
  return { caller, agent, call, async end() {
    caller.close();
    agent.close();
    await call.close();
  } };
}

/** Dominant frequency check by zero crossings of decoded audio received from `pt`, over the last `n` packets. */
function frequencyOf(ep: RtpEndpoint, pt: 0 | 8, n = 25): number {
  const packets = ep.packets(pt).slice(-n);
  let crossings = 0;
  let previous = 0;
  let samples = 0;
  for (const p of packets) {
    for (const s of decodeG711(p.payload, pt === 0 ? 'mulaw' : 'alaw')) {
      if ((previous < 0 && s >= 0) || (previous >= 0 && s < 0)) crossings++;
      previous = s;
      samples++;
    }
  }
  return samples === 0 ? 0 : (crossings / 2) * (8000 / samples);
}

t.test('bridged audio flows both ways, at full rate', async (t) => {
  const c = await bridged('bridge-basic');
  t.teardown(c.end);
  await delay(2000);
  const toAgent = c.agent.packets(0).length;
  const toCaller = c.caller.packets(0).length;
  t.ok(toAgent >= 90, `agent got ${toAgent} of ~100 packets`);
  t.ok(toCaller >= 90, `caller got ${toCaller} of ~100 packets`);
  t.ok(Math.abs(frequencyOf(c.agent, 0) - 440) < 20, 'the agent hears the caller (440 Hz)');
  t.ok(Math.abs(frequencyOf(c.caller, 0) - 880) < 20, 'the caller hears the agent (880 Hz)');
  const stats = await c.call.stats();
  t.ok(stats.legs.caller!.packets >= 90 && stats.legs.agent!.packets >= 90, 'stats count the packets of both legs');
  t.equal(stats.legs.caller!.errors, 0);
});

t.test('a PCMA caller and a PCMU agent meet through transcoding', async (t) => {
  const c = await bridged('bridge-transcode', 8, 0);
  t.teardown(c.end);
  await delay(1500);
  t.ok(c.agent.packets(0).length >= 60, `the agent receives PCMU (${c.agent.packets(0).length})`);
  t.equal(c.agent.packets(8).length, 0, 'and no PCMA');
  t.ok(c.caller.packets(8).length >= 60, `the caller receives PCMA (${c.caller.packets(8).length})`);
  t.ok(Math.abs(frequencyOf(c.agent, 0) - 440) < 20, 'the tone survives transcoding');
  t.ok(c.agent.rms(0) > 4000, `with its energy (RMS ${c.agent.rms(0).toFixed(0)})`);
});

t.test('a caller answered by the IVR is moved to the agent within the same call', async (t) => {
  const caller = await RtpEndpoint.open();
  const agent = await RtpEndpoint.open();
  const call = fx.media.openCall('ivr-to-agent');
  t.teardown(async () => {
    caller.close();
    agent.close();
    await call.close();
  });
  await call.offer('caller', caller.sdp(), 'rtp');
  caller.useRemote(await call.answerWithPrompts('caller'));
  caller.startTone(440);
  await delay(300);
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp'));
  await call.answer('caller', 'agent', agent.sdp());
  agent.startTone(880);
  await delay(1500);
  t.ok(agent.packets(0).length >= 60, `agent hears the caller (${agent.packets(0).length})`);
  t.ok(caller.packets(0).length >= 60, `caller hears the agent on its original port (${caller.packets(0).length})`);
  t.ok(Math.abs(frequencyOf(caller, 0) - 880) < 20);
});

t.test('hold: the held party hears music and nothing else; unhold restores the conversation', async (t) => {
  const c = await bridged('hold');
  t.teardown(c.end);
  await delay(500);
  await c.call.hold('caller', moh);
  await delay(300);
  const agentAtHold = c.agent.packets(0).length;
  await delay(1000);
  t.ok(c.agent.packets(0).length - agentAtHold <= 2, 'the agent hears nothing of the held caller');
  t.ok(Math.abs(frequencyOf(c.caller, 0) - 300) < 20, `the caller hears the music (${frequencyOf(c.caller, 0).toFixed(0)} Hz), not the agent`);
  await c.call.unhold('caller');
  await delay(800);
  t.ok(c.agent.packets(0).length - agentAtHold >= 30, 'the agent hears the caller again');
  t.ok(Math.abs(frequencyOf(c.caller, 0) - 880) < 20, 'the caller hears the agent again');
});

t.test('DTMF: blocked digits still reach onecc but not the agent; digits sent by onecc reach the other party', async (t) => {
  const c = await bridged('dtmf-privacy', 0, 0, true);
  t.teardown(c.end);
  const reported: string[] = [];
  c.call.on('dtmf', (d) => reported.push(`${d.leg}:${d.digit}`));
  await delay(300);
  await c.call.blockDtmf('caller');
  for (const d of '12') await c.caller.sendDigit(d, 60);
  t.ok(await waitFor(() => reported.length >= 2, 2000), 'both digits reported');
  t.same(reported, ['caller:1', 'caller:2']);
  t.equal(c.agent.digits(), '', 'the agent received no telephone-event packets');
  await c.call.unblockDtmf('caller');
  await c.caller.sendDigit('3', 60);
  t.ok(await waitFor(() => c.agent.digits() === '3', 2000), `after unblock the agent gets the digit (${c.agent.digits()})`);
  await c.call.sendDtmf('agent', '95', 100);
  t.ok(await waitFor(() => c.caller.digits() === '95', 2000), `injected digits reach the caller (${c.caller.digits()})`);
});

t.test('sending digits needs a call offered with injectDtmf, and says so', async (t) => {
  const c = await bridged('no-inject');
  t.teardown(c.end);
  await t.rejects(c.call.sendDtmf('agent', '1'), /offered without injectDtmf/);
});

t.test('a fork delivers one leg\'s audio to a third party, and stops', async (t) => {
  const c = await bridged('fork');
  t.teardown(c.end);
  const listener = await RtpEndpoint.open();
  t.teardown(() => listener.close());
  const { forkId, sdp } = await c.call.forkOffer(['caller']);
  t.match(sdp, /a=sendonly/);
  await c.call.answerFork(forkId, listener.sdp('recvonly'));
  await delay(1000);
  const got = listener.packets(0).length;
  t.ok(got >= 40, `the third party receives audio (${got} packets)`);
  t.ok(Math.abs(frequencyOf(listener, 0) - 440) < 20, 'it is the caller\'s (440 Hz), not the agent\'s');
  await c.call.stopFork(forkId);
  await delay(200);
  const atStop = listener.packets(0).length;
  await delay(500);
  t.ok(listener.packets(0).length - atStop <= 2, 'nothing after the fork stopped');
});

t.test('a two-stream fork of a call the IVR handed to an agent carries both parties, with a phone\'s subset answer', async (t) => {
  const caller = await RtpEndpoint.open();
  const agent = await RtpEndpoint.open();
  const callerStream = await RtpEndpoint.open();
  const agentStream = await RtpEndpoint.open();
  const call = fx.media.openCall('fork-after-ivr');
  t.teardown(async () => {
    for (const e of [caller, agent, callerStream, agentStream]) e.close();
    await call.close();
  });
  await call.offer('caller', caller.sdp(), 'rtp');
  caller.useRemote(await call.answerWithPrompts('caller'));
  caller.startTone(440);
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp'));
  await call.answer('caller', 'agent', agent.sdp());
  agent.startTone(880);
  const { forkId, sdp } = await call.forkOffer(['caller', 'agent']);
  t.equal((sdp.match(/^m=audio /gm) ?? []).length, 2, 'one audio section per party');
  // A phone answers with the codecs it takes (PCMU and telephone-event), fewer than rtpengine offered.
  const answer = callerStream.sdp('recvonly') + agentStream.sdp('recvonly').slice(agentStream.sdp('recvonly').indexOf('m=audio'));
  await call.answerFork(forkId, answer);
  await delay(1000);
  t.ok(Math.abs(frequencyOf(callerStream, 0) - 440) < 20, `stream 1 is the caller (${frequencyOf(callerStream, 0).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(agentStream, 0) - 880) < 20, `stream 2 is the agent (${frequencyOf(agentStream, 0).toFixed(0)} Hz), though rtpengine counts the agent's media under the IVR's tag`);
});

t.test('a recorded call becomes a stereo WAV of the expected duration, caller left, agent right', async (t) => {
  const c = await bridged('recorded');
  t.teardown(c.end);
  await delay(200);
  await c.call.startRecording('recorded-call');
  await delay(2000);
  const result = await c.call.stopRecording('caller');
  t.ok(Math.abs(result.durationMs - 2000) < 250, `duration ${result.durationMs} ms for 2 s of recording`);
  t.ok(result.packets.left >= 90 && result.packets.right >= 90, `packets placed ${JSON.stringify(result.packets)}`);
  const wav = readFileSync(result.file);
  t.equal(wav.toString('ascii', 0, 4), 'RIFF');
  t.equal(wav.readUInt16LE(22), 2, 'two channels');
  t.equal(wav.readUInt32LE(24), 8000, '8 kHz');
  const frames = wav.readUInt32LE(40) / 4;
  const channel = (ch: number) => Int16Array.from({ length: frames }, (_, i) => wav.readInt16LE(44 + i * 4 + ch * 2));
  const zeroCrossingHz = (s: Int16Array) => {
    let crossings = 0;
    for (let i = 1; i < s.length; i++) if ((s[i - 1]! < 0) !== (s[i]! < 0)) crossings++;
    return crossings / 2 / (s.length / 8000);
  };
  t.ok(Math.abs(zeroCrossingHz(channel(0)) - 440) < 30, `left is the caller (${zeroCrossingHz(channel(0)).toFixed(0)} Hz)`);
  t.ok(Math.abs(zeroCrossingHz(channel(1)) - 880) < 50, `right is the agent (${zeroCrossingHz(channel(1)).toFixed(0)} Hz)`);
});

t.test('no call is left on rtpengine after the calls above ended', async (t) => {
  t.same(await fx.sessions(), []);
  t.equal(fx.media.openCalls, 0);
});
