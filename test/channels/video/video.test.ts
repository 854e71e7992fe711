// A video call between two headless Chromium instances (fake camera and microphone) through onecc and rtpengine,
// inside a loopback-only network namespace: the customer's video page (/video/) calls; the ACD offers the call to
// the agent with the video skill (not to an idle agent without it); the agent answers in the browser softphone; audio
// and video packets flow both ways (the pages' getStats, rtpengine's counters); the customer hangs up and the agent's
// task ends.
import t from 'tap';
import type { Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { Credentials } from '../../../src/agents/index';
import { readPcapUdp } from '../../../src/media/recording/pcap';
import type { OneccServer } from '../../../src/server';
import { insideLoopbackNamespace } from '../../helpers/browser-netns';
import { Chromium, WRAP_PEER_CONNECTIONS } from '../../helpers/browser-phone';
import { startTestServer } from '../../helpers/onecc-server';
import { delay, waitFor } from '../../helpers/wait';

const SECRET = 'video-test-secret-0123456789abcdef';
const PAGE_MS = 15_000;

/** Packets and decoded video frames the page's peer connections received (the test wraps RTCPeerConnection). */
function received(page: Page): Promise<{ audio: number; video: number; frames: number }> {
  return page.evaluate(`(async () => {
    let audio = 0, video = 0, frames = 0;
    for (const pc of window.testPcs) {
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') audio += s.packetsReceived;
        if (s.kind === 'video') { video += s.packetsReceived; frames += s.framesDecoded || 0; }
      });
    }
    return { audio, video, frames };
  })()`);
}

if (insideLoopbackNamespace(t, __filename)) {
  let onecc: OneccServer;
  let agentBrowser: Chromium;
  let customerBrowser: Chromium;
  let credentials: Credentials;

  t.before(async () => {
    const started = await Promise.allSettled([
      startTestServer(t, {
        dialplans: {},
        rtpPorts: [36400, 36599],
        env: {
          ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}, {transport: ws, host: 127.0.0.1, port: 0}]',
          ONECC_ACD__SKILLS: '[general, video]',
          ONECC_ACD__QUEUES: '[{name: video, target: "video >= 1", strategy: longest-idle, serviceLevel: {percent: 80, seconds: 20}, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: []}, {name: general, target: general, strategy: longest-idle, serviceLevel: {percent: 80, seconds: 20}, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: []}]',
          ONECC_VIDEO__QUEUE: 'video',
          ONECC_VIDEO__RECORD: 'true',
          ONECC_CHAT__QUEUE: 'general',
          ONECC_VOICE__RING_TIMEOUT_SECONDS: '20',
          ONECC_ACD__OFFER_TIMEOUT_SECONDS: '25',
          ONECC_VOICE__PHONES: '[{username: alice-web, password: pw-alice, agent: alice}]',
          ONECC_AGENTS__TOKEN_SECRET: SECRET,
          ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {video: 5}, languages: [en], capacity: null}, {id: bob, name: Bob, skills: {general: 5}, languages: [en], capacity: null}]',
        },
      }).then((s) => {
        onecc = s.onecc;
        credentials = new Credentials(s.config.agents);
      }),
      Chromium.launch().then((b) => (agentBrowser = b)),
      Chromium.launch().then((b) => (customerBrowser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  });
  t.teardown(async () => {
    await agentBrowser?.close();
    await customerBrowser?.close();
  });

  t.test('a customer\'s video call reaches the agent with the video skill; audio and video flow both ways', async (t) => {
    const acd = onecc.acd!;
    // bob has been idle longest but has no video skill: the call must not go to him.
    await acd.login('bob', { skills: { general: 5 }, languages: ['en'] }, 'ready');
    t.teardown(() => acd.logout('bob').catch(() => undefined));
    const problems: string[] = [];

    const desk = await agentBrowser.context.newPage();
    await desk.addInitScript(WRAP_PEER_CONNECTIONS);
    desk.on('pageerror', (err) => problems.push(`desk: ${err.message}`));
    t.teardown(() => desk.close());
    await desk.goto(`http://127.0.0.1:${onecc.http.port}/softphone/`, { timeout: PAGE_MS });
    await desk.fill('#credential', credentials.issue('agent', 'alice', 600));
    await desk.click('#connect');
    await desk.locator('#phone-state[data-state="registered"]').waitFor({ timeout: PAGE_MS });
    await desk.click('#acd-login');
    await desk.locator('#agent-state[data-state="not-ready"]').waitFor({ timeout: PAGE_MS });
    await desk.click('#ready');
    await desk.locator('#agent-state[data-state="available"]').waitFor({ timeout: PAGE_MS });

    const token = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/video-token`)).json()) as { token: string; user: string; servers: string[] };
    t.match(token, { token: /^\d+\./, user: 'video', servers: [/^ws:\/\/127\.0\.0\.1:\d+$/] }, 'the page gets an admission token and where to call');

    const customer = await customerBrowser.context.newPage();
    await customer.addInitScript(WRAP_PEER_CONNECTIONS);
    customer.on('pageerror', (err) => problems.push(`video page: ${err.message}`));
    t.teardown(() => customer.close());
    await customer.goto(`http://127.0.0.1:${onecc.http.port}/video/`, { timeout: PAGE_MS });
    await customer.fill('#name', 'Vera');
    await customer.fill('#topic', 'show the damage');
    await customer.click('#call');

    await desk.locator('#task[data-phase="offer"].ringing').waitFor({ timeout: PAGE_MS });
    t.equal(await desk.locator('#task-caller').textContent(), 'Vera', 'the desk shows the caller');
    const taskId = (await desk.locator('#task').getAttribute('data-task-id'))!;
    t.match(acd.task(taskId), { channel: 'video', queue: 'video', attributes: { caller: 'Vera', topic: 'show the damage' } }, 'a video task in the video queue');
    t.equal(acd.agentState('bob'), 'available', 'bob (no video skill) was passed over');
    await desk.click('#answer');
    await desk.locator('#video-panel').waitFor({ state: 'visible', timeout: PAGE_MS });

    await delay(2000); // ICE, DTLS and the first key frames
    const [deskGot, customerGot] = [await received(desk), await received(customer)];
    await delay(2000);
    const [deskNow, customerNow] = [await received(desk), await received(customer)];
    t.ok(deskNow.video - deskGot.video > 20 && deskNow.frames > 10, `the agent receives the customer's video (${deskNow.video - deskGot.video} packets in 2 s, ${deskNow.frames} frames decoded)`);
    t.ok(customerNow.video - customerGot.video > 20 && customerNow.frames > 10, `the customer receives the agent's video (${customerNow.video - customerGot.video} packets, ${customerNow.frames} frames)`);
    t.ok(deskNow.audio - deskGot.audio > 40 && customerNow.audio - customerGot.audio > 40, `and audio both ways (${deskNow.audio - deskGot.audio} / ${customerNow.audio - customerGot.audio} packets)`);
    const interaction = acd.task(taskId).attributes.interaction!;
    const call = onecc.media.call(interaction);
    const stats = await call!.stats();
    const legs = Object.entries(stats.legs).map(([leg, s]) => `${leg}: ${s.packets}`).join(', ');
    t.ok(Object.values(stats.legs).filter((s) => s.packets > 100).length >= 2, `rtpengine relays both legs (${legs})`);

    await customer.click('#hangup');
    t.ok(await waitFor(() => { try { return acd.task(taskId).state !== 'assigned'; } catch { return true; } }, PAGE_MS), 'the customer hung up: the task ended');
    await desk.locator('#task[data-phase="wrap-up"]').waitFor({ timeout: PAGE_MS });
    let record: { recording?: string; channel?: string; agentId?: string } = {};
    for (const deadline = Date.now() + 5000; !record.recording && Date.now() < deadline; await delay(100)) {
      record = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${interaction}`)).json()) as typeof record;
    }
    t.match(record, { channel: 'video', agentId: 'alice', recording: /\.pcap$/ }, 'the interaction record names the recording');
    const captured = readPcapUdp(readFileSync(record.recording!));
    const videoPackets = captured.filter((d) => d.payload.length > 300 && (d.payload[1]! & 0x7f) >= 96);
    t.ok(videoPackets.length > 50, `the capture holds the video (${videoPackets.length} large RTP packets of ${captured.length})`);

    // The page offers the call's survey; Vera answers it there.
    await customer.locator('#survey:not([hidden])').waitFor({ timeout: PAGE_MS });
    await customer.click('#survey');
    await customer.locator('#survey:not([hidden]) input[name="csat"]').first().waitFor({ timeout: PAGE_MS });
    await customer.check('input[name="csat"][value="5"]');
    await customer.check('input[name="nps"][value="9"]');
    await customer.fill('#comment', 'Seeing the agent helped');
    await customer.click('#send');
    await customer.locator('#status', { hasText: 'Thank you' }).waitFor({ timeout: PAGE_MS });
    const surveyed = (await (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${interaction}`)).json()) as { feedback?: unknown; recording?: string };
    t.match(surveyed, { feedback: { csat: 5, nps: 9, comment: 'Seeing the agent helped' }, recording: record.recording }, 'her answers are in the video call\'s record, the rest of it kept');
    const forged = await fetch(`http://127.0.0.1:${onecc.http.port}/surveys/${Buffer.from(`${interaction}\n9999999999999`).toString('base64url')}.AAAA`, { method: 'POST', body: '{"csat":1}' });
    t.equal(forged.status, 403, 'a link not signed by onecc is refused');
    t.same(problems, [], 'no script errors in the pages');
    await acd.setReady('alice').catch(() => undefined);
    await acd.logout('alice').catch(() => undefined);
  });
}
