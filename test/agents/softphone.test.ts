// The browser softphone (/softphone/) end to end, in a real headless Chromium inside a loopback-only network
// namespace: the agent signs in with a feed token, logs in and goes ready, the page's JsSIP phone registers over
// onecc's SIP WebSocket listener; a trunk caller walks the IVR (presses 1: department=support) and queues; the page
// shows the offer with the caller's inputs and rings; the test clicks Answer; audio flows both ways through
// rtpengine (the caller hears Chromium's fake microphone; rtpengine counts packets from both legs); the agent hangs
// up from the page and wraps up with a disposition, which lands in the interaction record; then places a call from
// the page (feed dial: the page's phone answers, onecc calls the number) and hangs it up; then a customer on the
// chat page (a second page) chats with the agent's desktop, rates the chat, and the agent wraps up. Also: the static
// route.
import t from 'tap';
import { request } from 'node:http';
import type { Page } from 'playwright-core';
import { Credentials } from '../../src/agents/index';
import type { OneccServer } from '../../src/server';
import { insideLoopbackNamespace } from '../helpers/browser-netns';
import { Chromium, WRAP_PEER_CONNECTIONS } from '../helpers/browser-phone';
import { startTestServer } from '../helpers/onecc-server';
import { startPbx, startTrunk, type CallTaker } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const DIALPLAN = `
id: softphone
numbers: ["5000"]
language: en
languages: [en]
start: welcome
onError: goodbye
nodes:
  welcome: { type: play, prompt: welcome, next: menu }
  menu:
    type: menu
    prompt: main-menu
    choices: { 1: support }
    timeout: 8
    retries: 1
    onInvalid: goodbye
    onNoInput: goodbye
  support: { type: set, variables: { department: support }, next: queue }
  queue: { type: queue, queue: general, maxWait: 60, onTimeout: goodbye }
  goodbye: { type: hangup, prompt: goodbye }
`;

const SECRET = 'softphone-test-secret-0123456789';
/** Any single wait on the page: ICE, DTLS and a SIP transaction fit in it many times over. */
const PAGE_MS = 10_000;
const LISTEN_MS = 2000;

/** Audio packets the page's peer connection received so far, and its DTLS state (the test wraps RTCPeerConnection). */
function browserReceived(page: Page): Promise<{ packets: number; dtls: string }> {
  return page.evaluate(`(async () => {
    let packets = 0, dtls = 'none';
    for (const pc of window.testPcs) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived;
        if (s.type === 'transport') dtls = s.dtlsState;
      });
    }
    return { packets, dtls };
  })()`);
}

/** A raw HTTP request (fetch would normalise `..` away before it is sent). */
function get(port: number, urlPath: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body, location: res.headers.location }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

if (insideLoopbackNamespace(t, __filename)) {
  let onecc: OneccServer;
  let browser: Chromium;
  let token: string;
  let pbx: CallTaker & { uri(user: string): string };

  t.before(async () => {
    // The PBX the page's manual calls go to first: the dial trunk's URI names its port.
    pbx = await startPbx(t);
    pbx.answering = [{ answer: true, toneHz: 550 }];
    // allSettled: if one fails to start, the other is still there for the teardown to stop.
    const started = await Promise.allSettled([
      startTestServer(t, {
        dialplans: { 'softphone.yaml': DIALPLAN },
        rtpPorts: [34000, 34999],
        env: {
          ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}, {transport: ws, host: 127.0.0.1, port: 0}]',
          ONECC_ACD__OFFER_TIMEOUT_SECONDS: '20',
          // Long enough that the page's wrap-up (with ready) is what ends it.
          ONECC_ACD__WRAP_UP_SECONDS: '{voice: 60, video: 60, chat: 0, email: 0}',
          ONECC_VOICE__RING_TIMEOUT_SECONDS: '15',
          ONECC_VOICE__PHONES: '[{username: alice-web, password: pw-alice, agent: alice}]',
          ONECC_VOICE__TRUNKS: `[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: "${pbx.uri('{number}')}"}]`,
          ONECC_AGENTS__TOKEN_SECRET: SECRET,
          ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {general: 5}, languages: [en], capacity: null}]',
        },
      }).then((s) => {
        onecc = s.onecc;
        token = new Credentials(s.config.agents).issue('agent', 'alice', 600);
      }),
      Chromium.launch().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  });
  t.teardown(() => browser?.close());

  t.test('onecc serves the page\'s files at /softphone/ with their types, and nothing outside them', async (t) => {
    const port = onecc.http.port;
    t.match(await get(port, '/softphone'), { status: 301, location: '/softphone/' }, 'the bare prefix is redirected');
    t.match(await get(port, '/softphone/'), { status: 200, type: /^text\/html/, body: /<script src="app.js">/ }, 'index.html');
    t.match(await get(port, '/softphone/app.js'), { status: 200, type: /^text\/javascript/ }, 'the bundle');
    t.match(await get(port, '/softphone/style.css'), { status: 200, type: /^text\/css/ }, 'the stylesheet');
    t.match(await get(port, '/softphone/app.js', 'HEAD'), { status: 200, body: '' }, 'HEAD: headers only');
    for (const bad of ['/softphone/../package.json', '/softphone/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json', '/softphone/..%2f..%2f..%2f..%2fpackage.json', '/softphone/nothing.js', '/softphone/%00.js']) {
      t.equal((await get(port, bad)).status, 404, `${bad}: 404`);
    }
    t.equal((await get(port, '/softphone/%E0%A4%A')).status, 400, 'a malformed escape: 400');
    t.equal((await get(port, '/softphone/app.js', 'POST')).status, 405, 'POST: 405');
  });

  t.test('a trunk caller reaches the browser agent, who answers in the page, talks, hangs up and wraps up', async (t) => {
    const acd = onecc.acd!;
    const page = await browser.context.newPage();
    // The test's own view of the page's peer connection (the page keeps it inside JsSIP).
    await page.addInitScript(WRAP_PEER_CONNECTIONS);
    page.on('console', (m) => process.env.E2E_LOG && console.error('page:', m.text()));
    await page.goto(`http://127.0.0.1:${onecc.http.port}/softphone/`, { timeout: PAGE_MS });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    t.teardown(() => page.close());
    const visible = (selector: string) => page.locator(selector).waitFor({ state: 'visible', timeout: PAGE_MS });
    const text = (selector: string) => page.locator(selector).textContent({ timeout: PAGE_MS });

    await page.fill('#credential', token);
    await page.click('#connect');
    await visible('#feed-state[data-state="connected"]');
    t.equal(await text('#agent-name'), 'Alice', 'the page shows the agent\'s name from the feed');
    await visible('#phone-state[data-state="registered"]');
    t.match(await onecc.phones.devicesOf('alice'), [{ transport: 'ws', userAgent: /JsSIP/ }], 'the page\'s phone registered over the SIP WebSocket listener');

    // The language switch relabels the page; the test drives it by ids, so it goes on in Chinese.
    await page.selectOption('#language', 'zh-TW');
    t.equal(await text('#ready'), '就緒', 'zh-TW labels');

    await page.click('#acd-login');
    await visible('#agent-state[data-state="not-ready"]');
    await page.click('#ready');
    await visible('#agent-state[data-state="available"]');
    t.equal(acd.agentState('alice'), 'available', 'the page made alice ready in the ACD');

    const trunk = await startTrunk(t, onecc);
    const { rtp: caller, dialog: pending } = await trunk.call('5000');
    const dialog = await pending;
    caller.useRemote(dialog.remote.sdp);
    caller.startTone(440, 8000);
    t.ok(await waitFor(() => caller.packets(0).length >= 25, 5000), 'the caller hears the welcome prompt');
    await caller.sendDigit('1');

    await visible('#task[data-phase="offer"].ringing');
    t.equal(await text('#task-queue'), 'general', 'the screen pop shows the queue');
    t.equal(await text('#task [data-attr="department"] td:last-child'), 'support', 'and the caller\'s IVR input (department)');
    t.equal(await text('#task-caller'), '+15550001', 'and the caller');
    t.match(await text('#task-reason'), /\S/, 'and why the call came to alice (decision.tieBreak)');

    await page.click('#answer');
    await visible('#task[data-phase="talking"]');
    t.equal(acd.agentState('alice'), 'busy', 'answering in the page assigned the task');
    const interaction = acd.task((await page.locator('#task').getAttribute('data-task-id'))!).attributes.interaction!;
    const call = onecc.media.call(interaction);
    t.ok(call, `the call is open on rtpengine (${interaction})`);

    // The bridge is up once the task is assigned; the browser's audio follows once ICE and DTLS are.
    caller.clear();
    t.ok(await waitFor(() => caller.packets(0).length >= 10, PAGE_MS), 'the browser\'s audio reaches the caller');
    caller.clear();
    const [before, heardBefore] = [await call!.stats(), await browserReceived(page)];
    await delay(LISTEN_MS);
    const [after, heardAfter] = [await call!.stats(), await browserReceived(page)];
    const expected = (LISTEN_MS / 20) * 0.8;
    const fromBrowser = caller.packets(0).length;
    t.ok(fromBrowser >= expected, `the caller got ${fromBrowser} packets from the browser in ${LISTEN_MS} ms`);
    t.ok(caller.rms(0) > 1000, `with the fake microphone's beep in them (RMS ${caller.rms(0).toFixed(0)})`);
    t.ok(heardAfter.packets - heardBefore.packets >= expected, `the browser received ${heardAfter.packets - heardBefore.packets} packets (DTLS ${heardAfter.dtls})`);
    // rtpengine's counters: packets it received from each leg (the caller's, and the agent's tag agent-<offer>).
    const counted = (leg: string) => (after.legs[leg]?.packets ?? 0) - (before.legs[leg]?.packets ?? 0);
    const agentLeg = Object.keys(after.legs).find((leg) => leg.startsWith('agent-'));
    t.ok(counted('caller') >= expected, `rtpengine received ${counted('caller')} packets from the caller in ${LISTEN_MS} ms`);
    t.ok(agentLeg !== undefined && counted(agentLeg) >= expected, `and ${agentLeg ? counted(agentLeg) : 0} from the browser (leg ${agentLeg}; legs: ${Object.keys(after.legs).join(', ')})`);
    t.equal(await text('#task [data-attr="department"] td:last-child'), 'support', 'the page still shows the department during the call');

    const ended = new Promise((resolve) => dialog.on('destroy', resolve));
    await page.click('#hangup');
    await visible('#task[data-phase="wrap-up"]');
    t.ok(await Promise.race([ended.then(() => true), delay(5000).then(() => false)]), 'the caller\'s call ended after the agent hung up');
    t.equal(acd.agentState('alice'), 'wrap-up', 'alice is in wrap-up');
    await page.selectOption('#disposition', 'resolved');
    await page.fill('#notes', 'printer fixed');
    await page.click('#wrap-up');
    await page.locator('#task').waitFor({ state: 'hidden', timeout: PAGE_MS });
    await visible('#agent-state[data-state="available"]');
    t.equal(acd.agentState('alice'), 'available', 'the wrap-up ended with alice ready again');

    let record: { dispositions?: unknown[] } | undefined;
    for (const deadline = Date.now() + 5000; !record?.dispositions && Date.now() < deadline; await delay(100)) {
      record = (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${interaction}`).then((r) => r.json())) as typeof record;
    }
    t.match(record?.dispositions, [{ agentId: 'alice', disposition: 'resolved', notes: 'printer fixed' }], 'the interaction record has the disposition');

    // The agent places a call from the page: onecc rings the page's phone (answered at once), then the number.
    await page.fill('#dial-number', '+15558888');
    await page.click('#dial');
    await visible('#manual-call');
    t.ok(await waitFor(() => pbx.answered.length === 1, PAGE_MS), 'the number was called and answered');
    t.match(pbx.rings[0]!.uri, /^sip:\+15558888@/, 'through the dial trunk');
    t.equal(acd.agent('alice').reason, 'outbound-call', 'alice gets no offers meanwhile');
    const customer = pbx.answered[0]!;
    customer.rtp.clear();
    const heard = await waitFor(() => customer.rtp.packets(0).length >= 25 && customer.rtp.rms(0) > 1000, PAGE_MS);
    t.ok(heard, `the number hears the browser's microphone (${customer.rtp.packets(0).length} packets, RMS ${customer.rtp.rms(0).toFixed(0)}; page ${JSON.stringify(await browserReceived(page))})`);
    const customerGone = new Promise((resolve) => customer.dialog.on('destroy', resolve));
    await page.click('#manual-hangup');
    t.ok(await Promise.race([customerGone.then(() => true), delay(5000).then(() => false)]), 'hanging up in the page ends the number\'s call');
    await page.locator('#manual-call').waitFor({ state: 'hidden', timeout: PAGE_MS });
    t.ok(await waitFor(() => acd.agentState('alice') === 'available', 3000), 'alice is ready again');


    // A customer on the chat page (/chat/, a second page) reaches alice's desktop; they write to each other.
    const chatPage = await browser.context.newPage();
    t.teardown(() => chatPage.close());
    chatPage.on('pageerror', (err) => problems.push(`chat page: ${err.message}`));
    await chatPage.goto(`http://127.0.0.1:${onecc.http.port}/chat/`, { timeout: PAGE_MS });
    await chatPage.fill('#name', 'Carol');
    await chatPage.fill('#topic', 'refund');
    await chatPage.click('#start-form button');
    await chatPage.locator('#chat').waitFor({ state: 'visible', timeout: PAGE_MS });
    await chatPage.fill('#text', 'Hello, where is my refund?');
    await chatPage.click('#send-form button');
    await visible('#task[data-phase="offer"]');
    t.equal(await text('#task-caller'), 'Carol', 'the desktop shows the chat offer with the customer');
    await page.locator('#chat-messages li.customer').waitFor({ timeout: PAGE_MS });
    t.equal(await text('#chat-messages li.customer'), 'Hello, where is my refund?', 'and the transcript before accepting');
    await page.click('#answer');
    await visible('#chat-form');
    await page.fill('#chat-text', 'It went out today.');
    await page.click('#chat-send');
    await chatPage.locator('#messages li.agent').waitFor({ timeout: PAGE_MS });
    t.equal(await chatPage.locator('#messages li.agent').textContent(), 'It went out today.', 'the customer\'s page shows the agent\'s reply');
    await chatPage.fill('#text', 'Thanks!');
    await chatPage.click('#send-form button');
    await page.locator('#chat-messages li.customer >> nth=1').waitFor({ timeout: PAGE_MS });
    t.equal(await page.locator('#chat-messages li.customer >> nth=1').textContent(), 'Thanks!', 'and the desktop the customer\'s answer');
    await page.click('#hangup');
    await visible('#task[data-phase="wrap-up"]');
    await chatPage.locator('#csat').waitFor({ state: 'visible', timeout: PAGE_MS });
    await chatPage.click('#csat-scores button >> nth=4');
    await chatPage.locator('#csat').waitFor({ state: 'hidden', timeout: PAGE_MS });
    await page.selectOption('#disposition', 'resolved');
    await page.click('#wrap-up');
    await page.locator('#task').waitFor({ state: 'hidden', timeout: PAGE_MS });

    t.same(problems, [], 'no script errors in the pages');
    await acd.logout('alice').catch(() => undefined);
  });
}
