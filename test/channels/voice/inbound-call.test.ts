// Inbound voice end to end on onecc as it runs (startServer): a trunk (a drachtio-srf app on its own SIP engine,
// with a real RTP endpoint) calls a DID, hears the welcome prompt, presses 1 in the menu, waits in the queue, an
// agent's phone (another drachtio-srf app, registered with digest auth, with its own RTP endpoint) rings with the
// caller's context, answers, audio flows both ways, the agent hangs up, the caller answers the survey. Also: the
// agent who does not answer goes not-ready (RONA) and the next agent gets the call; the caller who hangs up while
// queued is recorded as abandoned; CANCEL, unknown DIDs and unknown trunks.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Srf from 'drachtio-srf';
import { loadConfig } from '../../../src/config/index';
import { createLogger, silentLogger } from '../../../src/lib/index';
import { startServer, type OneccServer } from '../../../src/server';
import { connectApp, destroy, srfRequest, startDrachtio } from '../../helpers/drachtio-harness';
import { RtpEndpoint } from '../../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../../helpers/wait';
import { decodeG711 } from '../../../src/media/codec/g711';

const DIALPLAN = `
id: e2e
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
  queue:
    type: queue
    queue: general
    maxWait: 60
    onTimeout: goodbye
    afterAgent: survey
  survey:
    type: survey
    questions: [ { scale: csat, prompt: survey-rate-satisfaction, into: csat } ]
    timeout: 8
    thanks: survey-thanks
  goodbye: { type: hangup, prompt: goodbye }
`;

let onecc: OneccServer;
let dir: string;

t.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'onecc-e2e-'));
  writeFileSync(path.join(dir, 'e2e.yaml'), DIALPLAN);
  const config = loadConfig({
    env: {
      ONECC_LOG__LEVEL: 'silent',
      ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}]',
      ONECC_SIP__DRACHTIO__PORT: '0',
      ONECC_HTTP__PORT: '0',
      ONECC_MEDIA__RTPENGINES: '[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: 30000, portMax: 30999}]',
      ONECC_MEDIA__DTMF__PORT: '0',
      ONECC_MEDIA__RECORDING_DIR: path.join(dir, 'recordings'),
      ONECC_ACD__REDIS__PORT: '0',
      ONECC_ACD__REDIS__DATA_DIR: path.join(dir, 'redis'),
      ONECC_ACD__OFFER_TIMEOUT_SECONDS: '10',
      ONECC_ACD__WRAP_UP_SECONDS: '{voice: 1, video: 1, chat: 0, email: 0}',
      ONECC_VOICE__RING_TIMEOUT_SECONDS: '2',
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}, {username: bob, password: pw-b, agent: bob}]',
      ONECC_IVR__DIALPLANS_DIR: dir,
      // Only 127.0.0.1 is a trunk here, so that a caller from 127.0.0.3 is an unknown one.
      ONECC_VOICE__TRUNKS: '[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: "sip:{number}@{source}"}]',
      ONECC_IVR__TEXT_PROMPT_CACHE_DIR: path.join(dir, 'text-cache'),
    },
  });
  onecc = await startServer(config, process.env.E2E_LOG ? createLogger('debug') : silentLogger());
});
t.teardown(async () => {
  await onecc?.close();
  rmSync(dir, { recursive: true, force: true });
});

function oneccUri(user: string): string {
  const udp = onecc.sip!.listeners.find((l) => l.transport === 'udp')!;
  return `sip:${user}@127.0.0.1:${udp.boundPort}`;
}

/** A trunk: its own SIP engine and a drachtio-srf app that places calls, with an RTP endpoint per call. */
async function startTrunk(t: Test, host = '127.0.0.1') {
  const sut = await startDrachtio(t, { t1: 100, engine: { listen: [{ transport: 'udp', host, port: 0 }] } });
  const app = await connectApp(t, sut);
  return {
    async call(number: string) {
      const rtp = await RtpEndpoint.open();
      t.teardown(() => rtp.close());
      let inviteSent: Srf.SrfRequest | undefined;
      const dialog = app.srf.createUAC(oneccUri(number), { localSdp: rtp.sdp(), headers: { From: `<sip:+15550001@${host}>` } }, { cbRequest: ((_err: unknown, req: Srf.SrfRequest) => (inviteSent = req)) as unknown as (req: Srf.SrfRequest) => void });
      return { rtp, dialog, cancel: () => inviteSent?.cancel(() => undefined) };
    },
  };
}

interface AgentPhone {
  readonly rings: { headers: Record<string, string> }[];
  readonly rtp: RtpEndpoint[];
  dialogs: Srf.Dialog[];
}

/** An agent's desk phone: registers as `user` with digest auth and answers (or not) with an RTP endpoint. */
async function startPhone(t: Test, user: string, password: string, behaviour: 'answer' | 'ignore'): Promise<AgentPhone> {
  const sut = await startDrachtio(t, { t1: 100 });
  const phone: AgentPhone = { rings: [], rtp: [], dialogs: [] };
  const app = await connectApp(t, sut, (srf) => {
    srf.invite(async (req, res) => {
      phone.rings.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)])) });
      if (behaviour === 'ignore') {
        res.send(180);
        return; // rings until onecc cancels
      }
      const rtp = await RtpEndpoint.open();
      t.teardown(() => rtp.close());
      phone.rtp.push(rtp);
      const dialog = await srf.createUAS(req, res, { localSdp: rtp.sdp() });
      rtp.useRemote(req.body);
      rtp.startTone(880);
      phone.dialogs.push(dialog);
    });
  });
  const contact = `<sip:${user}@127.0.0.1:${sut.engine.port('udp')}>`;
  await srfRequest(app.srf, oneccUri(user), {
    method: 'REGISTER',
    headers: { Contact: contact, Expires: '300', From: `<sip:${user}@127.0.0.1>`, To: `<sip:${user}@127.0.0.1>` },
    auth: { username: user, password },
  });
  // srf.request resolves once the REGISTER is sent; the binding appears when onecc answered the digest.
  const deadline = Date.now() + 5000;
  while ((await onecc.phones.devicesOf(agentOf(user))).length === 0) {
    if (Date.now() > deadline) throw new Error(`${user} did not register within 5 s`);
    await delay(50);
  }
  return phone;
}

function agentOf(user: string): string {
  return user === 'alice' ? 'alice' : 'bob';
}

function frequencyOf(ep: RtpEndpoint, n = 25): number {
  let crossings = 0;
  let previous = 0;
  let samples = 0;
  for (const p of ep.packets(0).slice(-n)) {
    for (const s of decodeG711(p.payload, 'mulaw')) {
      if ((previous < 0) !== (s < 0)) crossings++;
      previous = s;
      samples++;
    }
  }
  return samples === 0 ? 0 : (crossings / 2) * (8000 / samples);
}

t.test('a caller walks the IVR, is queued, rings the agent with context, talks, and answers the survey', async (t) => {
  const acd = onecc.acd!;
  const phone = await startPhone(t, 'alice', 'pw-a', 'answer');
  const devices = await onecc.phones.devicesOf('alice');
  t.equal(devices.length, 1, 'alice\'s phone is registered');
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => acd.logout('alice').catch(() => undefined));

  const trunk = await startTrunk(t);
  const { rtp: caller, dialog: pending } = await trunk.call('5000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440, 4000);
  t.ok(await waitFor(() => caller.packets(0).length >= 50, 5000), 'the caller hears the welcome prompt');
  t.ok(caller.rms(0) > 500, `with speech energy (RMS ${caller.rms(0).toFixed(0)})`);
  await caller.sendDigit('1');

  t.ok(await waitFor(() => phone.dialogs.length === 1, 8000), 'the agent\'s phone rang and answered');
  const ring = phone.rings[0]!;
  t.equal(ring.headers['x-onecc-queue'], 'general', 'the queue travels in a header');
  t.equal(ring.headers['x-onecc-var-department'], 'support', 'so does the IVR\'s department variable');
  t.match(ring.headers['x-onecc-task'] ?? '', /\S/, 'and the task id');

  const agentRtp = phone.rtp[0]!;
  caller.clear();
  await delay(1500);
  t.ok(agentRtp.packets(0).length >= 50, `the agent hears the caller (${agentRtp.packets(0).length} packets)`);
  t.ok(Math.abs(frequencyOf(agentRtp) - 440) < 25, `it is the caller's 440 Hz (${frequencyOf(agentRtp).toFixed(0)})`);
  t.ok(Math.abs(frequencyOf(caller) - 880) < 25, `the caller hears the agent's 880 Hz (${frequencyOf(caller).toFixed(0)})`);
  t.equal(acd.agentState('alice'), 'busy');

  // The agent hangs up: the caller is back with onecc for the survey.
  await destroy(phone.dialogs[0]!);
  await delay(600);
  t.ok(await waitFor(() => acd.agentState('alice') === 'wrap-up' || acd.agentState('alice') === 'available', 3000), `wrap-up after the call (${acd.agentState('alice')})`);
  caller.clear();
  t.ok(await waitFor(() => caller.packets(0).length >= 20, 5000), 'the caller hears the survey question');
  await caller.sendDigit('5');
  const ended = new Promise((resolve) => dialog.on('destroy', resolve));
  await Promise.race([ended, delay(10_000)]);

  // The record is written once the call is over on onecc's side, a moment after the BYE.
  const record = (await finishedRecord()) as { id: string; outcome: string; agentId?: string; survey?: Record<string, string> };
  t.equal(record.outcome, 'handled');
  t.equal(record.agentId, 'alice');
  t.same(record.survey, { csat: '5' }, 'the survey score is in the interaction record');
  const one = await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${record.id}`).then((r) => r.json()) as { ivr: { inputs: { digits: string }[] } };
  t.same(one.ivr.inputs.map((i) => i.digits), ['1', '5'], 'with the IVR inputs');
  t.equal(onecc.media.openCalls, 0, 'no media call left open');
});

/** The most recent interaction record once it has its outcome (polls /interactions for up to 5 s). */
async function finishedRecord(): Promise<{ outcome?: string } | undefined> {
  let record: { outcome?: string } | undefined;
  for (let i = 0; i < 50 && record?.outcome === undefined; i++) {
    await delay(100);
    const records = (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions?limit=1`).then((r) => r.json())) as { outcome?: string }[];
    record = records[0];
  }
  return record;
}

/** Waits (bounded) for a call's dialog or the status it failed with. */
async function outcomeOf(pending: Promise<Srf.Dialog>): Promise<Srf.Dialog | number> {
  try {
    return await pending;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

t.test('an agent who does not answer goes not-ready (RONA) and the next agent gets the call', async (t) => {
  const acd = onecc.acd!;
  const silent = await startPhone(t, 'alice', 'pw-a', 'ignore');
  const answering = await startPhone(t, 'bob', 'pw-b', 'answer');
  // alice has waited longest, so longest-idle offers her the call first.
  await acd.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  await delay(20);
  await acd.login('bob', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  t.teardown(() => Promise.all([acd.logout('alice').catch(() => undefined), acd.logout('bob').catch(() => undefined)]));

  const trunk = await startTrunk(t);
  const { rtp: caller, dialog: pending } = await trunk.call('5000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440, 4000);
  await delay(300);
  await caller.sendDigit('1');
  t.ok(await waitFor(() => silent.rings.length === 1, 8000), 'alice\'s phone rings first');
  t.ok(await waitFor(() => answering.dialogs.length === 1, 8000), 'after her ring timeout, bob\'s phone rings and answers');
  const state = acd.agent('alice');
  t.equal(acd.agentState('alice'), 'not-ready', 'alice is not ready');
  t.equal(state.reason, 'rona', 'because of RONA');
  await delay(800);
  t.ok(answering.rtp[0]!.packets(0).length >= 20, 'bob hears the caller');
  const ended = new Promise((resolve) => dialog.on('destroy', resolve));
  await destroy(answering.dialogs[0]!);
  // The caller skips the survey by hanging up.
  await delay(300);
  await destroy(dialog).catch(() => undefined);
  await Promise.race([ended, delay(2000)]);
});

t.test('a caller who hangs up while queued is recorded as abandoned, and the task leaves the queue', async (t) => {
  const acd = onecc.acd!;
  const trunk = await startTrunk(t);
  const { rtp: caller, dialog: pending } = await trunk.call('5000');
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  caller.startTone(440, 4000);
  await delay(300);
  await caller.sendDigit('1');
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 1, 8000), 'the caller waits in the queue (no agent is ready)');
  await destroy(dialog);
  t.ok(await waitFor(() => acd.queueSnapshot('general').waiting === 0, 5000), 'the task left the queue');
  t.ok(await waitFor(() => onecc.media.openCalls === 0, 5000), 'media released');
  const record = await finishedRecord();
  t.equal(record?.outcome, 'abandoned');
});

t.test('an unknown DID gets 404, an unknown trunk 403, a call cancelled by the trunk leaves nothing behind', async (t) => {
  const trunk = await startTrunk(t);
  t.equal(await outcomeOf((await trunk.call('9999')).dialog), 404, 'no dialplan answers 9999');
  const stranger = await startTrunk(t, '127.0.0.3');
  t.equal(await outcomeOf((await stranger.call('5000')).dialog), 403, 'a source that is no trunk is refused');
  const before = onecc.media.openCalls;
  const call = await trunk.call('5000');
  call.cancel();
  const result = await outcomeOf(call.dialog);
  t.ok(typeof result === 'number' || typeof result === 'object', `the call ended (${typeof result === 'number' ? result : 'answered first'})`);
  if (typeof result === 'object') await destroy(result);
  t.ok(await waitFor(() => onecc.media.openCalls === before, 3000), 'no media call left open');
});
