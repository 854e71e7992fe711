// The IVR runner walks compiled dialplans for real one-leg calls: prompts reach an RTP endpoint through rtpengine,
// the endpoint's RFC 4733 digits drive menus, collects and surveys. Only the voice channel is a test double
// (FakeIvrHost): it records hangups and transfers and puts the caller into queues the test drives.
import t, { type Test } from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startMedia, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor, within } from '../helpers/wait';
import { loadConfig } from '../../src/config';
import { PromptLibrary, positionAnnouncement } from '../../src/media/prompts';
import {
  IvrRunner,
  TextPrompts,
  compileDialplan,
  formatDialplanProblem,
  systemClock,
  type Dialplan,
  type IvrCallContext,
  type IvrClock,
  type IvrHangupReason,
  type IvrHost,
  type QueueLeaveReason,
  type QueueOutcome,
  type QueueRequest,
  type QueueSession,
  type QueueStatus,
  type TransferResult,
  type VoicemailMessage,
} from '../../src/ivr';
import { realLookups } from './lookups';

let fx: MediaFixture;
let prompts: PromptLibrary;
let textPrompts: TextPrompts;
let callCount = 0;

t.before(async () => {
  fx = await startMedia();
  prompts = PromptLibrary.load(loadConfig({ env: {} }).media.prompts);
  textPrompts = TextPrompts.load({ textDir: 'media/text', cacheDir: path.join(fx.dir, 'text-prompts') });
});
t.teardown(() => fx.close());

function compile(yaml: string): Dialplan {
  const { dialplan, problems } = compileDialplan(yaml, 'test.yaml', realLookups);
  if (dialplan === undefined) throw new Error(problems.map(formatDialplanProblem).join('\n'));
  return dialplan;
}

/** A queue entry the test drives as the ACD and the agent's phone would. */
class FakeQueueSession implements QueueSession {
  readonly left: QueueLeaveReason[] = [];
  callbackAvailable = true;
  readonly outcome: Promise<QueueOutcome>;
  current: QueueStatus | undefined;
  #finish!: (outcome: QueueOutcome) => void;

  constructor(readonly request: QueueRequest, status: QueueStatus) {
    this.current = status;
    this.outcome = new Promise((resolve) => (this.#finish = resolve));
  }

  status(): QueueStatus | undefined {
    return this.current;
  }

  async leave(reason: QueueLeaveReason): Promise<void> {
    this.left.push(reason);
    this.end({ kind: 'left', reason });
  }

  /** What the voice channel does when an agent answers: hold audio off, then the bridge. */
  async agentAnswers(): Promise<void> {
    this.current = undefined;
    await this.request.stopHoldAudio();
  }

  end(outcome: QueueOutcome): void {
    this.current = undefined;
    this.#finish(outcome);
  }
}

/** Test double of src/channels/voice: records what the runner asks of it. */
class FakeIvrHost implements IvrHost {
  readonly hangups: IvrHangupReason[] = [];
  readonly transfers: { target: string; context: IvrCallContext }[] = [];
  readonly voicemails: VoicemailMessage[] = [];
  readonly sessions: FakeQueueSession[] = [];
  queueStatus: QueueStatus = { position: 2, estimatedWaitSeconds: 40 };
  refuseQueue = false;
  /** An agent free at once: the channel stops the hold audio before enterQueue even resolved. */
  agentAtOnce = false;
  /** Whether the channel could call the caller back. */
  callbackAvailable = true;
  transferResult: TransferResult | 'throw' = { kind: 'failed', reason: 'busy' };

  async enterQueue(request: QueueRequest): Promise<QueueSession> {
    if (this.refuseQueue) throw new Error('queue is full');
    const session = new FakeQueueSession(request, this.queueStatus);
    session.callbackAvailable = this.callbackAvailable;
    this.sessions.push(session);
    if (this.agentAtOnce) await session.agentAnswers();
    return session;
  }

  async transfer(target: Parameters<IvrHost['transfer']>[0], context: IvrCallContext): Promise<TransferResult> {
    this.transfers.push({ target: target.kind === 'sip' ? target.uri : target.agent, context });
    if (this.transferResult === 'throw') throw new Error('no route to the PBX');
    return this.transferResult;
  }

  async deliverVoicemail(message: VoicemailMessage): Promise<void> {
    this.voicemails.push(message);
  }

  async hangup(reason: IvrHangupReason): Promise<void> {
    this.hangups.push(reason);
  }
}

/** Queue timers ten times faster, so that `every: 10` announces each second; prompts keep their real length. */
const fastQueueClock: IvrClock = { ...systemClock, setTimeout: (fn, ms) => setTimeout(fn, ms / 10) };

/** A clock whose `now` is a fixed instant (business hours). */
function clockAt(iso: string): IvrClock {
  return { ...systemClock, now: () => new Date(iso) };
}

interface RunOptions {
  readonly variables?: Partial<{ caller: string; called: string; language: string }>;
  readonly clock?: IvrClock;
  readonly host?: FakeIvrHost;
  readonly dialplans?: (id: string) => Dialplan | undefined;
}

/** A caller answered by onecc (prompt leg), streaming near-silence as a phone does, and a runner on `dialplan`. */
async function startRun(t: Test, dialplan: string | Dialplan, opts: RunOptions = {}) {
  const compiled = typeof dialplan === 'string' ? compile(dialplan) : dialplan;
  const caller = await RtpEndpoint.open();
  const call = fx.media.openCall(`ivr-runner-${++callCount}`);
  await call.offer('caller', caller.sdp(), 'rtp');
  caller.useRemote(await call.answerWithPrompts('caller'));
  caller.startTone(1000, 1);
  const host = opts.host ?? new FakeIvrHost();
  const runner = new IvrRunner({
    callId: call.id,
    dialplan: compiled,
    variables: { caller: '+886912345678', called: '+15550100', language: 'en', ...opts.variables },
    call,
    leg: 'caller',
    prompts,
    textPrompts,
    host,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...(opts.dialplans === undefined ? {} : { dialplans: opts.dialplans }),
  });
  const running = runner.run();
  t.teardown(async () => {
    caller.close();
    await call.close();
    await running;
  });
  return { caller, call, host, runner, finished: (ms = 15_000) => within(running, ms, 'the IVR run') };
}

const exits = (record: { steps: { node: string; exit?: string }[] }) => record.steps.map((s) => `${s.node}${s.exit ? `>${s.exit}` : ''}`);

t.test('a play node plays its prompt to the caller, then the hangup node hangs up', async (t) => {
  const { caller, host, finished } = await startRun(t, `
id: t
language: en
start: hello
onError: bye
nodes:
  hello: { type: play, prompt: [num-5, num-6], next: bye }
  bye: { type: hangup }
`);
  const record = await finished();
  t.same(exits(record), ['hello>next', 'bye']);
  t.same(record.outcome, { kind: 'hangup', node: 'bye', reason: 'dialplan' });
  t.same(host.hangups, ['dialplan']);
  await delay(100);
  const expected = prompts.totalDurationMs(['num-5', 'num-6'], 'en') / 20;
  const packets = caller.packets(0).length;
  t.ok(Math.abs(packets - expected) <= 8, `${packets} packets for ${expected} expected`);
  t.ok(caller.rms(0) > 500, `speech energy (RMS ${caller.rms(0).toFixed(0)})`);
});

t.test('a menu key cuts the prompt short and takes its choice', async (t) => {
  const started = Date.now();
  const { caller, finished } = await startRun(t, `
id: t
language: en
start: menu
onError: bye
nodes:
  menu: { type: menu, prompt: main-menu, choices: { 1: one, 2: two } }
  one: { type: hangup }
  two: { type: hangup }
  bye: { type: hangup }
`);
  await delay(400);
  await caller.sendDigit('2');
  const record = await finished();
  t.same(exits(record), ['menu>choices.2', 'two']);
  t.match(record.inputs, [{ node: 'menu', kind: 'menu', digits: '2' }]);
  t.ok(Date.now() - started < 3000, `the 12 s menu prompt was cut short (${Date.now() - started} ms)`);
});

const RETRY_MENU = `
id: t
language: en
start: menu
onError: bye
nodes:
  menu:
    type: menu
    prompt: num-1
    invalidPrompt: num-2
    noInputPrompt: num-3
    choices: { 1: chosen, 9: menu }
    timeout: 1
    retries: 1
    onInvalid: invalid
    onNoInput: silent
  chosen: { type: hangup }
  invalid: { type: hangup }
  silent: { type: hangup }
  bye: { type: hangup }
`;

t.test('a menu offers itself again after a wrong key, retries counted per entry, then takes onInvalid', async (t) => {
  const { caller, finished } = await startRun(t, RETRY_MENU);
  // 7 (wrong, the one retry), 9 (re-enters the menu: retries start again), 7 (wrong), 7 (wrong again: onInvalid).
  for (const digit of '7977') {
    await delay(250);
    await caller.sendDigit(digit);
  }
  const record = await finished();
  t.same(exits(record), ['menu>choices.9', 'menu>onInvalid', 'invalid']);
});

t.test('a menu that hears nothing asks again, then takes onNoInput', async (t) => {
  const started = Date.now();
  const { finished } = await startRun(t, RETRY_MENU);
  const record = await finished();
  t.same(exits(record), ['menu>onNoInput', 'silent']);
  const elapsed = Date.now() - started;
  // Twice: prompt (0.56 s) + 1 s timeout + no-input prompt (0.49 s).
  t.ok(elapsed > 3500 && elapsed < 6000, `two tries took ${elapsed} ms`);
});

t.test('collect puts the digits before the terminator into its variable; set and branch read it', async (t) => {
  const { caller, finished } = await startRun(t, `
id: t
language: en
start: account
onError: bye
nodes:
  account: { type: collect, prompt: num-4, minDigits: 3, maxDigits: 8, timeout: 2, into: account, next: label }
  label: { type: set, variables: { label: "acct-\${account}-\${nothing}" }, next: check }
  check:
    type: branch
    cases:
      - { when: { var: nothing, matches: ".*" }, next: wrong }
      - { when: { var: label, equals: acct-1234- }, next: known }
    otherwise: wrong
  known: { type: hangup }
  wrong: { type: hangup }
  bye: { type: hangup }
`);
  await delay(200);
  for (const digit of '1234#') await caller.sendDigit(digit, 60);
  const record = await finished();
  t.same(exits(record), ['account>next', 'label>next', 'check>cases.1.next', 'known']);
  t.equal(record.variables['account'], '1234');
  t.equal(record.variables['label'], 'acct-1234-', 'an unset variable substitutes as nothing');
  t.notOk('nothing' in record.variables, 'and stays unset: it matched no pattern, not even .*');
  t.match(record.inputs, [{ node: 'account', kind: 'collect', variable: 'account', digits: '1234' }]);
});

t.test('collect with too few digits takes onInvalid after its retries', async (t) => {
  const { caller, finished } = await startRun(t, `
id: t
language: en
start: pin
onError: bye
nodes:
  pin: { type: collect, prompt: num-4, minDigits: 4, maxDigits: 4, timeout: 2, retries: 0, into: pin, next: ok, onInvalid: short }
  ok: { type: hangup }
  short: { type: hangup }
  bye: { type: hangup }
`);
  await delay(200);
  for (const digit of '12#') await caller.sendDigit(digit, 60);
  const record = await finished();
  t.same(exits(record), ['pin>onInvalid', 'short']);
  t.notOk('pin' in record.variables);
});

const HOURS = `
id: t
language: en
timezone: Asia/Taipei
calendars:
  office:
    hours: { mon-fri: 09:00-18:00 }
    holidays: [2026-01-01]
start: tier
onError: bye
nodes:
  tier: { type: set, variables: { tier: gold }, priority: 5, next: hours }
  hours:
    type: branch
    cases:
      - { when: { hours: office, is: holiday }, next: holiday }
      - { when: { hours: office, is: closed }, next: closed }
      - { when: { var: tier, in: [gold, platinum] }, next: vip }
    otherwise: bye
  holiday: { type: hangup }
  closed: { type: hangup }
  vip: { type: hangup }
  bye: { type: hangup }
`;

t.test('business hours are read in the dialplan time zone, holidays first', async (t) => {
  const cases: [string, string][] = [
    ['2026-03-02T01:30:00Z', 'vip'], // Monday 09:30 in Taipei (Sunday night in UTC): open
    ['2026-03-02T10:30:00Z', 'closed'], // Monday 18:30 in Taipei
    ['2026-03-07T03:00:00Z', 'closed'], // Saturday
    ['2026-01-01T03:00:00Z', 'holiday'], // a Thursday, but a holiday
  ];
  for (const [at, expected] of cases) {
    const { finished } = await startRun(t, HOURS, { clock: clockAt(at) });
    const record = await finished();
    t.equal(record.steps.at(-1)?.node, expected, `${at} -> ${expected}`);
  }
});

t.test('an http node sends variables URL-encoded, maps its JSON reply into variables, and fails to onError', async (t) => {
  const seen: { url: string; body: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', body, auth: req.headers['authorization'] });
      if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('{}'), 2500);
      if (req.url?.startsWith('/broken')) return void res.writeHead(500).end('{"error":"down"}');
      if (req.url?.startsWith('/html')) return void res.end('<html>');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ customer: { tier: 'gold', open: 3, since: null, tags: ['a'] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const plan = (second: string) => `
id: t
language: en
start: lookup
onError: bye
nodes:
  lookup:
    type: http
    method: POST
    url: "${base}/customers?caller=\${caller}&src=ivr"
    headers: { Authorization: "Bearer \${called}" }
    body: { caller: "\${caller}", note: "from \${called}" }
    response: { tier: customer.tier, open: customer.open, since: customer.since, tags: customer.tags, missing: customer.nope }
    next: second
  second:
    type: http
    url: "${base}/${second}"
    timeout: 1
    next: fine
    onError: failed
  fine: { type: hangup }
  failed: { type: hangup }
  bye: { type: hangup }
`;
  const variables = { caller: '+886 912&x' };
  const ok = await (await startRun(t, plan('ok'), { variables })).finished();
  t.same(exits(ok), ['lookup>next', 'second>next', 'fine']);
  t.match(ok.variables, { tier: 'gold', open: '3', tags: '["a"]' });
  t.notOk('since' in ok.variables || 'missing' in ok.variables, 'null and missing paths leave variables unset');
  t.equal(seen[0]?.url, `/customers?caller=${encodeURIComponent('+886 912&x')}&src=ivr`, 'values URL-encoded, the template as written');
  t.same(JSON.parse(seen[0]!.body), { caller: '+886 912&x', note: 'from +15550100' });
  t.equal(seen[0]?.auth, 'Bearer +15550100');

  for (const [second, reason] of [['slow', /no reply within 1 s/], ['broken', /status 500/], ['html', /not JSON/]] as const) {
    const started = Date.now();
    const record = await (await startRun(t, plan(second), { variables })).finished();
    t.same(exits(record), ['lookup>next', 'second>onError', 'failed'], `${second} -> onError`);
    t.match(record.errors, [{ node: 'second', code: 'IVR_HTTP_FAILED', message: reason }]);
    if (second === 'slow') t.ok(Date.now() - started < 2000, `the timeout cut the wait (${Date.now() - started} ms)`);
  }
});

t.test('a caller hanging up mid-menu ends the run at once, with caller-hangup and no BYE from onecc', async (t) => {
  const yaml = `
id: t
language: en
start: menu
onError: bye
nodes:
  menu: { type: menu, prompt: main-menu, choices: { 1: bye } }
  bye: { type: hangup, prompt: goodbye }
`;
  for (const how of ['media call ends', 'host reports BYE'] as const) {
    const { call, runner, host, finished } = await startRun(t, yaml);
    await delay(300);
    const hungUpAt = Date.now();
    if (how === 'media call ends') await call.close();
    else runner.callerHungUp();
    const record = await finished(1000);
    t.ok(Date.now() - hungUpAt < 300, `${how}: the run ended ${Date.now() - hungUpAt} ms later`);
    t.same(record.outcome, { kind: 'caller-hangup', node: 'menu' });
    t.same(host.hangups, []);
  }
});

t.test('a failure without an exit goes to onError; a failure there hangs up', async (t) => {
  const yaml = (onError: string) => `
id: t
language: en
start: pbx
onError: ${onError}
nodes:
  pbx: { type: transfer, to: { sip: "sip:200@pbx.example.com" }, onFail: busy }
  busy: { type: hangup }
  sorry: { type: hangup, prompt: num-0 }
  operators: { type: queue, queue: general }
`;
  const host = new FakeIvrHost();
  host.transferResult = 'throw';
  const record = await (await startRun(t, yaml('sorry'), { host })).finished();
  t.same(exits(record), ['pbx>onError', 'sorry']);
  t.match(record.errors, [{ node: 'pbx', message: /no route to the PBX/ }]);
  t.same(host.hangups, ['dialplan']);

  const failing = new FakeIvrHost();
  failing.transferResult = 'throw';
  failing.refuseQueue = true;
  const worse = await (await startRun(t, yaml('operators'), { host: failing })).finished();
  t.same(exits(worse), ['pbx>onError', 'operators']);
  t.match(worse.errors, [{ node: 'pbx' }, { node: 'operators', code: 'IVR_QUEUE_FAILED' }]);
  t.same(worse.outcome, { kind: 'hangup', node: 'operators', reason: 'error' });
  t.same(failing.hangups, ['error']);

  const busy = new FakeIvrHost();
  const failed = await (await startRun(t, yaml('sorry'), { host: busy })).finished();
  t.same(exits(failed), ['pbx>onFail', 'busy'], 'a transfer that fails normally takes onFail');
  t.equal(busy.transfers[0]?.target, 'sip:200@pbx.example.com');
});

t.test('maxSteps sends a caller looping through a menu to onError', async (t) => {
  const { caller, finished } = await startRun(t, `
id: t
language: en
maxSteps: 10
start: menu
onError: bye
nodes:
  menu: { type: menu, prompt: num-1, choices: { 9: menu, 1: bye } }
  bye: { type: hangup, prompt: num-0 }
`);
  for (const digit of '9'.repeat(11)) await caller.sendDigit(digit, 60);
  const record = await finished();
  t.same(exits(record), [...Array(10).fill('menu>choices.9'), 'bye']);
  t.match(record.errors, [{ code: 'IVR_MAX_STEPS' }]);
  t.same(record.outcome, { kind: 'hangup', node: 'bye', reason: 'dialplan' });
});

t.test('transfer to another dialplan goes on there with the same variables', async (t) => {
  const other = compile(`
id: other
language: en
start: check
onError: end
nodes:
  check:
    type: branch
    cases: [{ when: { var: department, equals: billing }, next: end }]
    otherwise: check-failed
  check-failed: { type: hangup }
  end: { type: hangup }
`);
  const record = await (await startRun(t, `
id: t
language: en
start: mark
onError: bye
nodes:
  mark: { type: set, variables: { department: billing }, next: away }
  away: { type: transfer, to: { dialplan: other } }
  bye: { type: hangup }
`, { dialplans: (id) => (id === 'other' ? other : undefined) })).finished();
  t.same(record.steps.map((s) => `${s.dialplan}:${s.node}`), ['t:mark', 't:away', 'other:check', 'other:end']);
});

const QUEUE = `
id: t
language: en
start: wait
onError: bye
nodes:
  wait:
    type: queue
    queue: general
    priority: 7
    announce: { position: true, every: 10 }
    callback: { key: '*', prompt: num-9, next: booked }
    maxWait: 60
    onTimeout: timeout
    afterAgent: survey
  survey:
    type: survey
    intro: num-1
    questions:
      - { scale: csat, prompt: num-2, into: csat }
      - { scale: nps, prompt: num-3, into: nps }
      - { scale: yes-no, prompt: num-4, into: resolved }
    timeout: 2
    thanks: num-5
  booked: { type: hangup }
  timeout: { type: hangup }
  bye: { type: hangup }
`;

t.test('queued: announcements and music until the agent answers, silence while bridged, then the survey', async (t) => {
  const { caller, host, finished, runner } = await startRun(t, QUEUE, { clock: fastQueueClock });
  t.ok(await waitFor(() => host.sessions.length === 1, 2000), 'the caller was queued');
  const session = host.sessions[0]!;
  t.match(session.request, { queue: 'general', priority: 7, maxWaitSeconds: 60, language: 'en', node: 'wait' });
  const enteredAt = Date.now();
  // Announcement (2.1 s), music (1 s on the fast clock), the second announcement begins.
  t.ok(await waitFor(() => runner.path.queues[0]!.announcements === 2, 6000), 'a second announcement began');
  await delay(500);
  const heldMs = Date.now() - enteredAt;
  const held = caller.packets(0).length;
  t.ok(held >= (heldMs / 20) * 0.85, `the caller heard audio all along: ${held} packets in ${heldMs} ms`);
  const announcementMs = prompts.totalDurationMs(positionAnnouncement(2), 'en');
  t.ok(heldMs > announcementMs + 1000, 'announcement, music, announcement');

  await session.agentAnswers();
  const atBridge = caller.packets(0).length;
  await delay(400);
  t.ok(caller.packets(0).length - atBridge <= 3, 'no hold audio once the agent answered');
  await caller.sendDigit('*');
  await delay(200);
  t.same(session.left, [], 'the callback key means nothing while talking to the agent');

  session.end({ kind: 'conversation-ended', agent: 'alice', endedBy: 'agent' });
  t.ok(await waitFor(() => runner.path.steps.at(-1)?.node === 'survey', 2000), 'the survey began');
  // Typed ahead, as a caller who knows the survey does: each answer cuts the next question short.
  for (const digit of '47#2') await caller.sendDigit(digit, 60);
  const record = await finished();
  t.same(exits(record), ['wait>afterAgent', 'survey']);
  t.match(record.variables, { csat: '4', nps: '7', resolved: 'no' });
  t.match(record.inputs, [
    { node: 'survey', kind: 'survey', variable: 'csat', digits: '4' },
    { node: 'survey', kind: 'survey', variable: 'nps', digits: '7' },
    { node: 'survey', kind: 'survey', variable: 'resolved', digits: '2' },
  ]);
  t.match(record.queues, [{ queue: 'general', result: 'conversation-ended', agent: 'alice', announcements: 2, callbackOffered: false }]);
  t.ok(record.queues[0]!.connectedAt !== undefined);
  t.same(host.hangups, ['dialplan'], 'the survey without next ends the call');
});

t.test('queued: the callback key and maxWait take the caller out of the queue; the callback is offered after its delay', async (t) => {
  const first = await startRun(t, QUEUE, { clock: fastQueueClock });
  t.ok(await waitFor(() => first.host.sessions.length === 1, 2000));
  await delay(300);
  await first.caller.sendDigit('*');
  const booked = await first.finished();
  t.same(exits(booked), ['wait>callback.next', 'booked']);
  t.same(first.host.sessions[0]!.left, ['callback']);

  // The offer is due (2 s on the fast clock) while the first announcement (2.1 s) plays: it follows it.
  const second = await startRun(t, QUEUE.replace('maxWait: 60', 'maxWait: 35').replace("callback: { key", "callback: { after: 20, key"), { clock: fastQueueClock });
  const timedOut = await second.finished();
  t.same(exits(timedOut), ['wait>onTimeout', 'timeout']);
  t.same(second.host.sessions[0]!.left, ['max-wait']);
  t.match(timedOut.queues, [{ result: 'max-wait', callbackOffered: true }]);

  // A caller the channel cannot call back hears no offer, and the key does nothing.
  const host = new FakeIvrHost();
  host.callbackAvailable = false;
  const third = await startRun(t, QUEUE.replace('maxWait: 60', 'maxWait: 35').replace("callback: { key", "callback: { after: 20, key"), { clock: fastQueueClock, host });
  t.ok(await waitFor(() => host.sessions.length === 1, 2000));
  await delay(300);
  await third.caller.sendDigit('*');
  const noCallback = await third.finished();
  t.same(host.sessions[0]!.left, ['max-wait'], 'the callback key was ignored');
  t.match(noCallback.queues, [{ result: 'max-wait', callbackOffered: false }]);

  // The queue's offer-callback escalation asks for the offer before the node's own delay.
  const escalated = new FakeIvrHost();
  const fourth = await startRun(t, QUEUE.replace('maxWait: 60', 'maxWait: 35').replace("callback: { key", "callback: { after: 50, key"), { clock: fastQueueClock, host: escalated });
  t.ok(await waitFor(() => escalated.sessions.length === 1, 2000));
  escalated.sessions[0]!.request.offerCallback(); // its own offer (50 s) would come after maxWait (35 s)
  const offered = await fourth.finished();
  t.match(offered.queues, [{ result: 'max-wait', callbackOffered: true }], 'offered at the host\'s request');
});

t.test('queued: an agent answering before the queue entry settled gets the caller with no music, and maxWait no longer applies', async (t) => {
  const host = new FakeIvrHost();
  host.agentAtOnce = true;
  const { caller, finished } = await startRun(t, QUEUE.replace('maxWait: 60', 'maxWait: 1'), { clock: fastQueueClock, host });
  t.ok(await waitFor(() => host.sessions.length === 1, 2000));
  await delay(500);
  t.same(host.sessions[0]!.left, [], 'maxWait (0.1 s on the fast clock) did not pull the caller from the agent');
  t.ok(caller.packets(0).length <= 3, 'no announcement or music was played');
  host.sessions[0]!.end({ kind: 'conversation-ended', agent: 'bob', endedBy: 'caller' });
  const record = await finished();
  t.same(record.outcome, { kind: 'caller-hangup', node: 'wait' });
  t.match(record.queues, [{ result: 'conversation-ended', agent: 'bob', announcements: 0 }]);
});

t.test('voicemail: prompt, tone, the message recorded until a key, delivered to the host', async (t) => {
  const { caller, host, runner, finished } = await startRun(t, `
id: t
language: en
start: leave-message
onError: bye
nodes:
  leave-message: { type: voicemail, mailbox: "sales-\${called}", prompt: num-1, maxSeconds: 5 }
  bye: { type: hangup }
`);
  t.ok(await waitFor(() => runner.path.steps.length === 1, 1000));
  // Prompt (0.56 s) and tone (0.4 s), then the caller speaks for a second and presses a key.
  await delay(1200);
  caller.startTone(440, 8000);
  await delay(1000);
  caller.startTone(1000, 1);
  await caller.sendDigit('#');
  const record = await finished();
  t.same(record.outcome, { kind: 'hangup', node: 'leave-message', reason: 'dialplan' });
  t.equal(host.voicemails.length, 1);
  const message = host.voicemails[0]!;
  t.equal(message.mailbox, 'sales-+15550100');
  t.ok(message.durationMs > 700 && message.durationMs < 3000, `recorded ${message.durationMs} ms`);
  t.ok(readFileSync(message.file).length > 44 + 700 * 16, 'the WAV holds the message');
  t.match(record.voicemails, [{ node: 'leave-message', mailbox: 'sales-+15550100', file: message.file }]);
});

t.test('TextPrompts.prepare renders every text of a dialplan in each of its languages, once', async (t) => {
  const cacheDir = path.join(fx.dir, 'prepared');
  const prepared = TextPrompts.load({ textDir: 'media/text', cacheDir });
  const sample = compile(readFileSync('dialplans/sample.yaml', 'utf8'));
  await prepared.prepare(sample);
  // choose-language: one text each in en and zh-TW; voicemail, the NPS and the comment questions: one per language (3 each).
  const files = ['en', 'zh-TW', 'zh-CN'].map((l) => readdirSync(path.join(cacheDir, l)).filter((f) => f.endsWith('.wav')).length);
  t.same(files, [4, 4, 3]);
  const again = await prepared.render('For English, press 1.', 'en');
  t.ok(readdirSync(path.join(cacheDir, 'en')).includes(path.basename(again)), 'a rendered text is served from the cache');
  t.ok(statSync(again).size > 44 + 8000, 'about a second of 8 kHz audio or more');
});

t.test('the sample dialplan: language choice, main menu, to the general queue in Mandarin', async (t) => {
  const sample = compile(readFileSync('dialplans/sample.yaml', 'utf8'));
  const host = new FakeIvrHost();
  const { caller, runner, finished } = await startRun(t, sample, {
    host,
    variables: { called: '1000', language: 'en' },
    clock: clockAt('2026-03-04T02:00:00Z'), // Wednesday 10:00 in Taipei
  });
  await delay(300);
  await caller.sendDigit('2'); // 中文
  await delay(300);
  await caller.sendDigit('2'); // support, typed ahead during the welcome
  t.ok(await waitFor(() => host.sessions.length === 1, 12_000), 'the caller reached the queue');
  const request = host.sessions[0]!.request;
  t.match(request, { queue: 'general', language: 'zh-TW', node: 'general-queue', variables: { department: 'support', called: '1000' } });
  t.match(request.inputs, [{ node: 'choose-language', digits: '2' }, { node: 'main-menu', digits: '2' }]);
  t.same(exits(runner.path).slice(0, 6), [
    'answer>next',
    'office-hours>otherwise',
    'language-by-number>cases.0.next',
    'choose-language>choices.2',
    'mandarin>next',
    'welcome>next',
  ]);
  host.sessions[0]!.end({ kind: 'caller-hangup' });
  const record = await finished();
  t.same(record.outcome, { kind: 'caller-hangup', node: 'general-queue' });
  t.match(record.queues, [{ queue: 'general', result: 'caller-hangup', announcements: 1 }]);
});

t.test('no call is left on rtpengine', async (t) => {
  t.ok(await waitFor(() => fx.media.openCalls === 0, 2000));
  t.same(await fx.sessions(), []);
});
