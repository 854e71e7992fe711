// Outbound campaigns with onecc as it runs, a carrier (a drachtio-srf app answering each number its own way, RTP
// endpoints sending tones) and agents' desk phones: a progressive campaign imports a contact list over HTTP (bad
// rows reported by line), never dials do-not-call numbers or contacts outside their calling window, retries a busy
// number by its rule, and connects the person who answers to an agent of its queue (audio both ways); a person who
// reaches no agent within connectSeconds hears the safe-harbour message and the call is recorded and audited as
// abandoned.
import t from 'tap';
import type { OneccServer } from '../../src/server';
import { startTestServer } from '../helpers/onecc-server';
import { destroy } from '../helpers/drachtio-harness';
import { frequencyOf, startPbx, startPhone, type Answering, type CallTaker } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';
import { audio, speak } from '../helpers/greetings';

let onecc: OneccServer;
let carrier: CallTaker & { uri(user: string): string };
const answers = new Map<string, Answering>();

/** HH:MM in UTC `minutes` from now, kept within today (the window must not wrap midnight). */
function utcClock(minutes: number): string {
  const now = new Date();
  const at = Math.min(23 * 60 + 59, Math.max(0, now.getUTCHours() * 60 + now.getUTCMinutes() + minutes));
  return `${String(Math.floor(at / 60)).padStart(2, '0')}:${String(at % 60).padStart(2, '0')}`;
}

// The screened campaign's person waits for AMD's verdict before the agent is rung: 5 s to connect, so that a busy
// machine does not turn them into an abandon; the others keep the regulators' 2 s, whose message timing is checked.
const campaign = (id: string, queue: string) => `{id: ${id}, mode: progressive, queue: ${queue}, trunk: carrier, callerId: "+15550100", contactsFile: null, dncFiles: [], consentPurpose: marketing, timezone: UTC,
  window: {start: "${utcClock(-60)}", end: "${utcClock(60)}", days: [mon, tue, wed, thu, fri, sat, sun]}, maxLines: 2, ringTimeoutSeconds: 5,
  abandonLimitPercent: 3, abandonWindowHours: 720, connectSeconds: ${id === 'screened' ? 5 : 2}, safeHarbourPrompt: goodbye,
  retries: {busy: {delaySeconds: 1, maxAttempts: 2}, noAnswer: {delaySeconds: 60, maxAttempts: 1}, failed: {delaySeconds: 60, maxAttempts: 1}, machine: {delaySeconds: 60, maxAttempts: 1}},
  amd: {enabled: ${id === 'screened'}, onMachine: message, machineMessage: goodbye, initialSilenceMs: 2500, greetingMs: 1500, afterGreetingSilenceMs: 800, maxWords: 2, silenceRms: 300, falsePositivePercent: 5}, agentless: {prompt: goodbye, transferKey: null}, blendWith: [${id === 'blended' ? 'retention' : ''}], autoStart: false}`;

t.before(async () => {
  carrier = await startPbx(t);
  carrier.answeringFor = (uri) => answers.get(/^sip:([^@]+)@/.exec(uri)?.[1] ?? '');
  const started = await startTestServer(t, {
    dialplans: {},
    rtpPorts: [35500, 35999],
    env: {
      ONECC_VOICE__TRUNKS: `[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}, {name: carrier, addresses: [], username: carrier, password: pw-c, outboundUri: "${carrier.uri('{number}')}"}]`,
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '4',
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}, {username: bob, password: pw-b, agent: bob}]',
      ONECC_ACD__QUEUES: `[{name: sales, target: "sales >= 1", strategy: longest-idle, serviceLevel: {percent: 80, seconds: 20}, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: []},
        {name: retention, target: "retention >= 1", strategy: longest-idle, serviceLevel: {percent: 80, seconds: 20}, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: []}]`,
      ONECC_ACD__SKILLS: '[general, sales, retention]',
      ONECC_DIALER__DNC_FILES: '[]',
      ONECC_DIALER__CAMPAIGNS: `[${campaign('renewals', 'sales')}, ${campaign('winback', 'retention')}, ${campaign('screened', 'sales')}, ${campaign('blended', 'sales')}]`,
    },
  });
  onecc = started.onecc;
});

async function post(path: string, body = ''): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}${path}`, { method: 'POST', body });
  return { status: res.status, body: await res.json() };
}

async function get(path: string): Promise<any> {
  return (await fetch(`http://127.0.0.1:${onecc.http.port}${path}`)).json();
}

const dialed = (number: string) => carrier.rings.filter((r) => r.uri.startsWith(`sip:${number}@`)).length;

t.test('progressive: a person reaches the agent; busy is retried; do-not-call and out-of-window contacts are never dialed', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  answers.set('+15551001', { answer: true, toneHz: 440 });
  answers.set('+15551002', { status: 486 });
  answers.set('+15551003', { answer: true, toneHz: 440 });
  answers.set('+15551004', { answer: true, toneHz: 440 });

  t.match(await post('/campaigns/renewals/dnc', '+15551003\n'), { status: 200, body: { added: 1 } });
  const csv = [
    'number,timezone,name,plan',
    '+15551001,UTC,Ann,gold',
    '+15551002,,Ben,silver',
    '+15551003,UTC,Cid,gold',
    '+15551004,Asia/Tokyo,Dee,gold',
    'not-a-number,UTC,Eve,gold',
    '+15551005,Mars/Olympus,Fay,gold',
    '+15551006,UTC,Gus',
    '+15551001,UTC,Ann again,gold',
    '+15551007,UTC,Hal,gold',
    '+15551008,UTC,Ida,gold',
  ].join('\n');
  // Hal asked never to be contacted: his customer profile says so.
  t.match(await post('/customers', JSON.stringify({ identities: ['phone:+15551007'], doNotContact: true, by: 'test' })), { status: 201, body: { doNotContact: true } });
  // Ida withdrew her consent to marketing, the campaign's purpose.
  t.match(await post('/customers', JSON.stringify({ identities: ['phone:+15551008'], consent: { marketing: false, service: true }, by: 'test' })), { status: 201, body: { consent: { marketing: false } } });
  const imported = await post('/campaigns/renewals/contacts', csv);
  t.match(imported, { status: 200, body: { imported: 6, added: 6 } }, 'the good rows are imported');
  t.same(imported.body.rejected.map((r: { line: number }) => r.line), [6, 7, 8, 9], 'the bad rows are reported by line');
  t.match(imported.body.rejected, [{ reason: /not dialable/ }, { reason: /time zone/ }, { reason: /fields/ }, { reason: /already on line 2/ }]);
  t.match(await post('/campaigns/nowhere/start'), { status: 404 });

  await onecc.acd!.login('alice', { skills: { sales: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => onecc.acd!.logout('alice').catch(() => undefined));
  t.match(await post('/campaigns/renewals/start'), { status: 200, body: { state: 'running' } });

  t.ok(await waitFor(() => alicePhone.answered.length === 1, 10_000), 'alice\'s phone rang and answered');
  t.match(alicePhone.rings[0]!.headers, { 'x-onecc-queue': 'sales', 'x-onecc-var-name': 'Ann', 'x-onecc-var-plan': 'gold', 'x-onecc-var-campaign': 'renewals' }, 'with the contact\'s details');
  const person = carrier.answered.find((c) => c.rtp)!;
  await delay(1000);
  t.ok(Math.abs(frequencyOf(person.rtp) - 880) < 25, `the person hears alice (${frequencyOf(person.rtp).toFixed(0)} Hz)`);
  t.ok(Math.abs(frequencyOf(alicePhone.answered[0]!.rtp) - 440) < 25, 'alice hears the person');
  t.equal(carrier.rings.find((r) => r.uri.startsWith('sip:+15551001@'))!.headers.from.includes('+15550100'), true, 'from the campaign\'s caller id');
  await destroy(person.dialog);

  t.ok(await waitFor(() => dialed('+15551002') === 2, 15_000), 'the busy number was called again after its delay, and no more (maxAttempts 2)');
  await delay(1500);
  t.equal(dialed('+15551002'), 2, 'busy twice: given up');
  t.equal(dialed('+15551003'), 0, 'the do-not-call number was never dialed');
  t.equal(dialed('+15551004'), 0, 'the contact outside its window (Tokyo) was never dialed');
  t.equal(dialed('+15551007'), 0, 'the customer who asked not to be contacted was never dialed');
  t.equal(dialed('+15551008'), 0, 'nor the one who withdrew consent to the campaign\'s purpose');

  const attempts = (await get('/campaigns/renewals/attempts')) as { number: string; outcome: string; attempt: number; agentId?: string }[];
  t.match(attempts.filter((a) => a.number === '+15551001'), [{ outcome: 'human', agentId: 'alice', attempt: 1 }]);
  t.same(attempts.filter((a) => a.number === '+15551002').map((a) => [a.outcome, a.attempt]), [['busy', 2], ['busy', 1]]);
  t.match(attempts.filter((a) => a.number === '+15551003'), [{ outcome: 'dnc' }]);
  t.match(attempts.filter((a) => a.number === '+15551007'), [{ outcome: 'dnc' }]);
  t.match(attempts.filter((a) => a.number === '+15551008'), [{ outcome: 'dnc' }]);
  const status = await get('/campaigns/renewals');
  t.match(status, { state: 'running', figures: { dialed: 3, humans: 1, busy: 2, skippedDnc: 3 }, contacts: { contacts: 6 } }, 'live figures');
  const metrics = await (await fetch(`http://127.0.0.1:${onecc.http.port}/metrics`)).text();
  t.match(metrics, /onecc_dialer_attempts_total\{campaign="renewals",outcome="busy"\} 2/, 'metrics: attempts by outcome');
  t.match(metrics, /onecc_dialer_attempts_total\{campaign="renewals",outcome="dnc"\} 3/);
  // The campaign report counts what the metrics count.
  const counted = Object.fromEntries([...metrics.matchAll(/^onecc_dialer_attempts_total\{campaign="renewals",outcome="([a-z-]+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  const report = await get(`/reports/campaigns?from=${new Date().toISOString().slice(0, 10)}&interval=day&campaign=renewals`);
  t.same(report.rows[0].outcomes, counted, `the campaign report agrees with the metrics (${JSON.stringify(counted)})`);
  t.match(report.rows[0], { placed: 3 });
  t.match(metrics, /onecc_dialer_running\{campaign="renewals"\} 1/, 'and the campaign running');
  t.match(await post('/campaigns/renewals/stop'), { status: 200, body: { state: 'stopped' } });
});

t.test('a person who reaches no agent in time hears the safe-harbour message: abandoned, audited', async (t) => {
  // bob's phone rings but is never answered: the person waits for nobody.
  await startPhone(t, onecc, 'bob', 'pw-b', 'bob', ['ignore']);
  answers.set('+15552001', { answer: true, toneHz: 440 });
  t.match(await post('/campaigns/winback/contacts', 'number\n+15552001\n'), { status: 200, body: { added: 1 } });
  await onecc.acd!.login('bob', { skills: { retention: 5 }, languages: ['en'] }, 'ready');
  t.teardown(async () => {
    await onecc.acd!.setReady('bob').catch(() => undefined);
    await onecc.acd!.logout('bob').catch(() => undefined);
  });
  await post('/campaigns/winback/start');
  t.ok(await waitFor(() => dialed('+15552001') === 1, 10_000), 'the number was dialed');
  let audit: any[] = [];
  for (const deadline = Date.now() + 10_000; audit.length === 0 && Date.now() < deadline; await delay(200)) audit = await get('/campaigns/winback/abandons');
  t.match(audit, [{
    campaign: 'winback', contact: String, number: '+15552001', reason: 'no-agent', safeHarbourPrompt: 'goodbye', safeHarbour: { played: true, withinLimit: true },
    window: { windowMs: 720 * 3_600_000, answered: 1, abandoned: 1 }, rateAfter: 1, cap: 0.03,
  }], 'the abandoned call is audited');
  const afterGreetingMs = audit[0]?.safeHarbour.afterAnswerMs - audit[0]?.greetingMs;
  t.ok(afterGreetingMs >= 1300 && afterGreetingMs <= 2000, `the message began ${afterGreetingMs} ms after the greeting, within connectSeconds (2)`);
  const person = carrier.answered.at(-1)!;
  t.ok(person.rtp.packets(0).length > 0 && person.rtp.rms(0) > 100, 'the person heard the message');
  t.match(await get('/campaigns/winback'), { figures: { abandoned: 1 }, abandon: { abandoned: 1, answered: 1, limitPercent: 3 } });
  t.match(await get('/campaigns/centre'), { abandon: { abandoned: 1, limitPercent: 3, windowHours: 24 } }, 'the centre\'s budget counts it too');
  await post('/campaigns/winback/stop');
});

t.test('answering-machine detection: people reach the agent, machines get the message after their beep', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const beepAt: Record<string, number> = {};
  const machine = (number: string, text: string, voice: string) => {
    const greeting = speak(text, voice);
    beepAt[number] = 300 + greeting.length / 8 + 400 + 400; // when the beep ends, after the answer
    answers.set(number, { answer: true, greeting: audio({ silenceMs: 300 }, greeting, { silenceMs: 400 }, { toneHz: 1000, ms: 400 }) });
  };
  answers.set('+15553001', { answer: true, greeting: audio({ silenceMs: 400 }, speak('Hello?'), { silenceMs: 100 }) });
  machine('+15553002', 'Hi, you have reached the voicemail of John Smith. I cannot take your call right now. Please leave a message after the tone.', 'en-us');
  t.match(await post('/campaigns/screened/contacts', 'number,name\n+15553001,Person\n+15553002,Machine\n'), { status: 200, body: { added: 2 } });
  await onecc.acd!.login('alice', { skills: { sales: 5 }, languages: ['en'] }, 'ready');
  t.teardown(async () => {
    await onecc.acd!.setReady('alice').catch(() => undefined);
    await onecc.acd!.logout('alice').catch(() => undefined);
  });
  await post('/campaigns/screened/start');

  let attempts: { number: string; outcome: string; amd?: { kind: string; atMs: number } }[] = [];
  const settled = (n: string) => attempts.some((a) => a.number === n);
  // Progressive: one call per free agent, a call being screened included, so the second contact is dialed once
  // alice is free again.
  for (const deadline = Date.now() + 25_000; alicePhone.answered.length === 0 && Date.now() < deadline; await delay(250));
  t.ok(alicePhone.answered.length > 0, 'the person was put through to alice');
  await destroy(alicePhone.answered[0]!.dialog);
  for (const deadline = Date.now() + 25_000; !(settled('+15553001') && settled('+15553002')) && Date.now() < deadline; await delay(250)) {
    attempts = await get('/campaigns/screened/attempts');
  }
  t.match(attempts.find((a) => a.number === '+15553001'), { outcome: 'human', amd: { kind: 'human' } }, 'the person was judged human');
  t.match(attempts.find((a) => a.number === '+15553002'), { outcome: 'machine', amd: { kind: 'machine' } }, 'the machine was judged a machine');
  const machineCall = carrier.answered.find((c) => c.headers.to?.includes('+15553002'));
  const heard = machineCall?.rtp.packets(0).filter((p) => p.payload.some((b) => b !== 0xff && b !== 0x7f)) ?? [];
  t.ok(heard.length > 25, `the machine was left the message (${heard.length} packets)`);
  const after = heard.length > 0 ? heard[0]!.at - machineCall!.answeredAt : -1;
  t.ok(after >= beepAt['+15553002']!, `after its beep (the message began ${after} ms after the answer; the beep ended at ${beepAt['+15553002']} ms)`);
  await post('/campaigns/screened/stop');
});

t.test('blended: the campaign yields its agents while an inbound queue sharing them is forecast to miss its service level', async (t) => {
  const alicePhone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  answers.set('+15554001', { answer: true, toneHz: 440 });
  await onecc.acd!.login('alice', { skills: { sales: 5 }, languages: ['en'] }, 'ready');
  t.teardown(async () => {
    await onecc.acd!.setReady('alice').catch(() => undefined);
    await onecc.acd!.logout('alice').catch(() => undefined);
  });
  // An inbound caller in retention, which nobody staffs: forecast to wait past its 20 s service level.
  const inbound = await onecc.acd!.enqueue({ channel: 'voice', queue: 'retention', attributes: { caller: '+15559999' } });
  t.match(await post('/campaigns/blended/contacts', 'number\n+15554001\n'), { status: 200, body: { added: 1 } });
  await post('/campaigns/blended/start');
  await delay(2000);
  t.equal(dialed('+15554001'), 0, 'no call while the inbound queue needs agents');
  t.ok((await get('/campaigns/blended')).figures.yieldedToInbound > 0, 'the campaign says it yielded');
  await onecc.acd!.abandon(inbound.id, 'caller-hangup');
  t.ok(await waitFor(() => dialed('+15554001') === 1, 5000), 'dialing resumes once it does not');
  t.ok(await waitFor(() => alicePhone.answered.length === 1, 8000), 'and the person reaches alice');
  await destroy(alicePhone.answered[0]!.dialog);
  const status = await get('/campaigns/blended');
  t.ok(status.occupancy === null || (status.occupancy >= 0 && status.occupancy <= 1), `occupancy reported (${status.occupancy})`);
  await post('/campaigns/blended/stop');
});
