// One-leg calls as the IVR and the queue use them: onecc answers the caller itself, plays prompts (in order,
// interruptible), loops music on hold, and reads the caller's digits; all against a real rtpengine.
import t from 'tap';
import path from 'node:path';
import { startMedia, writeToneWav, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../helpers/wait';
import { loadConfig } from '../../src/config';
import { PromptLibrary, positionAnnouncement } from '../../src/media/prompts';

let fx: MediaFixture;
let tone1s: string;
let tone500ms: string;

t.before(async () => {
  fx = await startMedia();
  tone1s = writeToneWav(path.join(fx.dir, 'tone-1s.wav'), 1000, 600);
  tone500ms = writeToneWav(path.join(fx.dir, 'tone-500ms.wav'), 500, 900);
});
t.teardown(() => fx.close());

async function ivrCall(name: string) {
  const caller = await RtpEndpoint.open();
  const call = fx.media.openCall(name);
  await call.offer('caller', caller.sdp(), 'rtp');
  caller.useRemote(await call.answerWithPrompts('caller'));
  // The caller streams (near) silence, as a phone does, so that rtpengine learns its address and keeps the call.
  caller.startTone(1000, 1);
  return { caller, call };
}

t.test('a prompt reaches the caller as real G.711 audio with the energy of the file', async (t) => {
  const { caller, call } = await ivrCall('prompt-energy');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const playback = call.play('caller', [tone1s]);
  const result = await playback.done;
  t.equal(result.outcome, 'completed');
  await delay(100);
  const packets = caller.packets(0).length;
  t.ok(packets >= 45 && packets <= 60, `about 50 packets for a 1 s prompt (got ${packets})`);
  // The tone is written at amplitude 10000: RMS 7071 before G.711; the caller's own 1-amplitude tone is not here.
  const rms = caller.rms(0);
  t.ok(rms > 5000 && rms < 9000, `decoded energy matches the file (RMS ${rms.toFixed(0)})`);
});

t.test('the shipped prompts play: a Mandarin queue announcement and the music on hold', async (t) => {
  // The library the server loads (media/prompts, spoken by the setup step from media/text).
  const prompts = PromptLibrary.load(loadConfig().media.prompts);
  const { caller, call } = await ivrCall('shipped-prompts');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const names = positionAnnouncement(3);
  const expectedMs = prompts.totalDurationMs(names, 'zh-TW');
  const result = await call.play('caller', prompts.resolveAll(names, 'zh-TW')).done;
  t.equal(result.outcome, 'completed');
  await delay(100);
  const packets = caller.packets(0).length;
  t.ok(Math.abs(packets - expectedMs / 20) <= 6 * names.length, `${packets} packets for ${expectedMs} ms of "${names.join(' + ')}"`);
  t.ok(caller.rms(0) > 500, `speech energy (RMS ${caller.rms(0).toFixed(0)})`);
  caller.clear();
  const moh = call.startMusicOnHold('caller', prompts.musicOnHold);
  await moh.started;
  await delay(600);
  await call.stopPlayback('caller');
  t.ok(caller.packets(0).length >= 20 && caller.rms(0) > 100, `music reaches the caller (${caller.packets(0).length} packets)`);
});

t.test('prompts play in order, one after the other, and then the playback completes', async (t) => {
  const { caller, call } = await ivrCall('prompt-sequence');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const started = Date.now();
  const result = await call.play('caller', [tone500ms, tone1s, tone500ms]).done;
  const elapsed = Date.now() - started;
  t.equal(result.outcome, 'completed');
  t.ok(elapsed >= 1900 && elapsed < 3500, `three prompts of 0.5+1+0.5 s took ${elapsed} ms`);
  await delay(100);
  const packets = caller.packets(0).length;
  t.ok(packets >= 90 && packets <= 115, `about 100 packets for 2 s of prompts (got ${packets})`);
});

t.test('digits come out in order, each once, and a digit barges in on the prompt', async (t) => {
  const { caller, call } = await ivrCall('barge-in');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const digits: string[] = [];
  call.on('dtmf', (d) => digits.push(d.digit));
  const playback = call.play('caller', [tone1s, tone1s, tone1s], { bargeIn: true });
  await playback.started;
  await delay(300);
  await caller.sendDigit('4');
  const result = await playback.done;
  t.equal(result.outcome, 'interrupted');
  t.equal(result.digit, '4');
  const stoppedAt = caller.packets(0).length;
  await delay(300);
  t.ok(caller.packets(0).length - stoppedAt <= 3, 'the prompt stopped when the digit came');
  for (const d of '1229#') await caller.sendDigit(d, 60);
  t.ok(await waitFor(() => digits.length >= 6, 2000), `six digits reported (got ${digits.join('')})`);
  await delay(200);
  t.equal(digits.join(''), '41229#', 'in order, repeated digits kept, end-packet retransmissions not counted');
  const collected = await call.collectDigits('caller', { maxDigits: 10, terminators: '#', firstDigitTimeoutMs: 500, interDigitTimeoutMs: 500 });
  t.same(collected, { digits: '41229', reason: 'terminator' }, 'typed-ahead digits are collected up to the terminator');
});

t.test('in-band tones from a caller without telephone-event are detected as digits', async (t) => {
  const caller = await RtpEndpoint.open({ telephoneEventPt: undefined });
  const call = fx.media.openCall('inband');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  await call.offer('caller', caller.sdp(), 'rtp');
  caller.useRemote(await call.answerWithPrompts('caller'));
  const digits: string[] = [];
  call.on('dtmf', (d) => digits.push(d.digit));
  await caller.sendInbandDigits('507#');
  t.ok(await waitFor(() => digits.length >= 4, 2000), `four digits detected (got ${digits.join('')})`);
  t.equal(digits.join(''), '507#');
});

t.test('collectDigits stops on max digits or silence', async (t) => {
  const { caller, call } = await ivrCall('collect');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const pending = call.collectDigits('caller', { maxDigits: 3, firstDigitTimeoutMs: 3000, interDigitTimeoutMs: 1000 });
  for (const d of '7890') await caller.sendDigit(d, 60);
  t.same(await pending, { digits: '789', reason: 'max-digits' });
  await delay(200);
  const rest = await call.collectDigits('caller', { maxDigits: 3, firstDigitTimeoutMs: 300, interDigitTimeoutMs: 300 });
  t.same(rest, { digits: '0', reason: 'timeout' }, 'the fourth digit waited in the buffer');
  const none = await call.collectDigits('caller', { maxDigits: 3, firstDigitTimeoutMs: 200, interDigitTimeoutMs: 200 });
  t.same(none, { digits: '', reason: 'timeout' });
});

t.test('music on hold loops until stopped', async (t) => {
  const { caller, call } = await ivrCall('moh');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const moh = call.startMusicOnHold('caller', tone500ms);
  await moh.started;
  await delay(1700);
  const during = caller.packets(0).length;
  t.ok(during >= 70, `a 0.5 s file kept playing for 1.7 s (${during} packets)`);
  const result = await call.stopPlayback('caller');
  t.equal(result?.outcome, 'stopped');
  const atStop = caller.packets(0).length;
  await delay(300);
  t.ok(caller.packets(0).length - atStop <= 3, 'nothing after stop');
});

t.test('a prompt file rtpengine cannot read fails the playback with a clear error, not the call', async (t) => {
  const { caller, call } = await ivrCall('missing-prompt');
  t.teardown(async () => {
    caller.close();
    await call.close();
  });
  const result = await call.play('caller', [path.join(fx.dir, 'no-such-file.wav')]).done;
  t.equal(result.outcome, 'failed');
  t.match(result.error?.message, /Failed to start media playback/);
  t.equal((await call.play('caller', [tone500ms]).done).outcome, 'completed', 'the call still plays prompts');
});

t.test('no call is left on rtpengine after the calls above ended', async (t) => {
  t.same(await fx.sessions(), []);
  t.equal(fx.media.openCalls, 0);
});
