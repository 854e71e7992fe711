// A real browser softphone (headless Chromium: ICE, DTLS-SRTP, UDP/TLS/RTP/SAVPF) bridged by onecc's media API to a
// plain RTP/AVP PCMU endpoint (a SIP trunk), with the call set up from either side: audio both ways, a prompt played
// into the DTLS-SRTP leg, the browser's DTMF reported by onecc. Runs in a loopback-only network namespace.
import t, { type Test } from 'tap';
import path from 'node:path';
import { insideLoopbackNamespace } from '../helpers/browser-netns';
import { HeadlessChromium, type BrowserPhone } from '../helpers/browser-phone';
import { startMedia, writeToneWav, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../helpers/wait';
import type { MediaCall } from '../../src/media';

/** How long each check listens: 50 packets/s each way. */
const LISTEN_MS = 2000;
const PROMPT_MS = 1000;
const PROMPT_HZ = 1000;
/** writeToneWav's default amplitude 10000: RMS 10000/32768/sqrt(2). */
const PROMPT_RMS = 0.216;
/** The endpoint's 440 Hz tone at amplitude 8000 is RMS 8000/32768/sqrt(2) = 0.173 in WebAudio. */
const TONE_RMS = 0.173;

if (insideLoopbackNamespace(t, __filename)) {
  let fx: MediaFixture;
  let browser: HeadlessChromium;
  let prompt: string;

  t.before(async () => {
    // allSettled: if one fails to start, the other is still there for the teardown to stop.
    const started = await Promise.allSettled([startMedia().then((m) => (fx = m)), HeadlessChromium.launch().then((b) => (browser = b))]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    prompt = writeToneWav(path.join(fx.dir, 'prompt.wav'), PROMPT_MS, PROMPT_HZ);
  });
  t.teardown(async () => {
    await browser?.close();
    await fx?.close();
  });

  /** Every ICE candidate in an SDP is a loopback address. */
  const onlyLoopbackCandidates = (t: Test, sdp: string, who: string) => {
    const addresses = [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) /gm)].map((m) => m[1]);
    t.ok(addresses.length > 0 && addresses.every((a) => a === '127.0.0.1' || a === '::1'), `${who} candidates are loopback only (${addresses.join(', ')})`);
  };

  /** Once connected: the trunk hears the browser's fake microphone, the browser hears the trunk's 440 Hz tone. */
  async function audioBothWays(t: Test, trunk: RtpEndpoint, phone: BrowserPhone) {
    await phone.connected();
    trunk.clear();
    await phone.heard();
    await delay(LISTEN_MS);
    const stats = await phone.stats();
    const heard = await phone.heard();
    const expected = LISTEN_MS / 20;
    t.equal(stats.dtlsState, 'connected', `DTLS connected (role ${stats.dtlsRole}, ${stats.srtpCipher})`);
    t.equal(stats.localAddress, '127.0.0.1', 'the selected ICE pair is on loopback');
    t.equal(stats.remoteAddress, '127.0.0.1', 'at both ends');
    t.equal(stats.sentCodec, 'audio/PCMU', 'the browser sends PCMU: no transcoding');
    const fromBrowser = trunk.packets(0).length;
    t.ok(fromBrowser >= expected * 0.8, `the trunk got ${fromBrowser} PCMU packets from the browser in ${LISTEN_MS} ms (browser sent ${stats.packetsSent} in all)`);
    t.ok(trunk.rms(0) > 1000, `with the fake microphone's beep in them (RMS ${trunk.rms(0).toFixed(0)})`);
    const received = stats.inbound.reduce((n, s) => n + s.packetsReceived, 0);
    t.ok(received >= expected * 0.8, `the browser received ${received} packets (trunk sent ${trunk.sent}, lost ${stats.inbound.map((s) => s.packetsLost).join('/')})`);
    t.ok(heard.loud >= heard.windows * 0.8, `the browser heard sound in ${heard.loud} of ${heard.windows} 50 ms windows`);
    t.ok(Math.abs(heard.meanLoudRms - TONE_RMS) < 0.05, `at the tone's level (WebAudio RMS ${heard.meanLoudRms.toFixed(3)})`);
    t.ok(Math.abs(heard.dominantHz - 440) < 30, `and pitch (${heard.dominantHz} Hz)`);
  }

  /** With the trunk silent, a prompt played to the browser leg reaches the browser through DTLS-SRTP. */
  async function promptReachesBrowser(t: Test, call: MediaCall, trunk: RtpEndpoint, phone: BrowserPhone) {
    trunk.stopSending();
    await delay(100);
    const before = new Map((await phone.stats()).inbound.map((s) => [s.ssrc, s.packetsReceived]));
    await phone.heard();
    const playback = call.play('browser', [prompt]);
    t.same(await playback.done, { outcome: 'completed' }, 'the prompt played to its end');
    await delay(100);
    const stats = await phone.stats();
    const heard = await phone.heard();
    // The prompt comes on an SSRC of its own, and Chrome then drops the stats of the trunk's.
    const received = stats.inbound.reduce((n, s) => n + Math.max(0, s.packetsReceived - (before.get(s.ssrc) ?? 0)), 0);
    const ssrcs = `SSRC ${[...before.keys()].join(', ')} before, ${stats.inbound.map((s) => s.ssrc).join(', ')} after`;
    t.ok(received >= (PROMPT_MS / 20) * 0.8, `the browser received ${received} prompt packets (${ssrcs})`);
    t.ok(Math.abs(heard.dominantHz - PROMPT_HZ) < 30, `and heard the prompt's ${PROMPT_HZ} Hz (${heard.dominantHz} Hz, ${heard.loud} loud windows)`);
    t.ok(Math.abs(heard.meanLoudRms - PROMPT_RMS) < 0.05, `at its level (WebAudio RMS ${heard.meanLoudRms.toFixed(3)})`);
  }

  /** The browser's RFC 4733 digits are reported by onecc for the browser leg, and reach the trunk. */
  async function browserDtmf(t: Test, call: MediaCall, trunk: RtpEndpoint, phone: BrowserPhone, digits: string) {
    const reported: string[] = [];
    call.on('dtmf', (d) => reported.push(`${d.leg}:${d.digit}`));
    await phone.dtmf(digits);
    t.ok(await waitFor(() => reported.length >= digits.length, 2000), `onecc reported ${reported.length} digits`);
    t.same(reported, [...digits].map((d) => `browser:${d}`), 'in order, once each, from the browser leg');
    t.equal(trunk.digits(), digits, 'the trunk received them as telephone-events');
  }

  t.test('trunk calls a browser agent: the browser answers onecc\'s WebRTC offer', async (t) => {
    const trunk = await RtpEndpoint.open();
    const phone = await browser.phone();
    const call = fx.media.openCall('webrtc-trunk-to-browser');
    t.teardown(async () => {
      trunk.close();
      await phone.close();
      await call.close();
    });
    const browserOffer = await call.offer('trunk', trunk.sdp(), 'webrtc');
    t.match(browserOffer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m, 'the browser is offered DTLS-SRTP');
    t.match(browserOffer, /^a=fingerprint:/m, 'with rtpengine\'s DTLS fingerprint');
    t.notMatch(browserOffer, /^a=crypto:/m, 'and no SDES keys');
    const browserAnswer = await phone.answer(browserOffer);
    onlyLoopbackCandidates(t, browserAnswer, 'the browser\'s');
    const trunkAnswer = await call.answer('trunk', 'browser', browserAnswer);
    t.match(trunkAnswer, /^m=audio \d+ RTP\/AVP 0 /m, 'the trunk gets plain RTP/AVP PCMU');
    t.notMatch(trunkAnswer, /^a=(ice-ufrag|fingerprint|crypto):/m, 'with no ICE or crypto');
    trunk.useRemote(trunkAnswer);
    trunk.startTone(440);
    await audioBothWays(t, trunk, phone);
    await browserDtmf(t, call, trunk, phone, '123');
    await promptReachesBrowser(t, call, trunk, phone);
  });

  t.test('a browser agent calls the trunk: onecc turns the browser\'s offer into plain RTP', async (t) => {
    const phone = await browser.phone();
    const call = fx.media.openCall('webrtc-browser-to-trunk');
    let trunk: RtpEndpoint | undefined;
    t.teardown(async () => {
      trunk?.close();
      await phone.close();
      await call.close();
    });
    const browserOffer = await phone.offer();
    onlyLoopbackCandidates(t, browserOffer, 'the browser\'s');
    const trunkOffer = await call.offer('browser', browserOffer, 'rtp');
    t.match(trunkOffer, /^m=audio \d+ RTP\/AVP .*\b0\b/m, 'the trunk is offered plain RTP/AVP with PCMU');
    t.notMatch(trunkOffer, /^a=(ice-ufrag|fingerprint|crypto|extmap):/m, 'with no ICE, crypto or browser header extensions');
    // A trunk answers with the telephone-event payload type it was offered (Chrome's, not 101).
    const eventPt = Number(/^a=rtpmap:(\d+) telephone-event\/8000/m.exec(trunkOffer)?.[1]);
    t.ok(eventPt > 0, `telephone-event/8000 offered as PT ${eventPt}`);
    trunk = await RtpEndpoint.open({ telephoneEventPt: eventPt });
    trunk.useRemote(trunkOffer);
    const browserAnswer = await call.answer('browser', 'trunk', trunk.sdp());
    t.match(browserAnswer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m, 'the browser gets a DTLS-SRTP answer');
    t.notMatch(browserAnswer, /^a=setup:passive/m, 'in which onecc does not take the passive DTLS role');
    onlyLoopbackCandidates(t, browserAnswer, 'onecc\'s');
    await phone.accept(browserAnswer);
    trunk.startTone(440);
    await audioBothWays(t, trunk, phone);
    await browserDtmf(t, call, trunk, phone, '#0*');
    await promptReachesBrowser(t, call, trunk, phone);
  });

  t.test('no call is left on rtpengine', async (t) => {
    t.same(await fx.sessions(), []);
  });
}
