// The peers of onecc's inbound voice tests, each a drachtio-srf app on a SIP engine of its own with real RTP
// endpoints: a trunk that places calls (and takes the calls onecc places through it: callbacks), agents' phones
// that register with digest auth, and a PBX that transfers go to.
import type { Test } from 'tap';
import type Srf from 'drachtio-srf';
import type { OneccServer } from '../../src/server';
import { decodeG711 } from '../../src/media/codec/g711';
import { toneShare as goertzelShare } from '../../src/media/codec/goertzel';
import { connectApp, srfRequest, startDrachtio } from './drachtio-harness';
import { RtpEndpoint } from './rtp/rtp-endpoint';
import { delay } from './wait';

/** A dialplan for number 5000 that puts the caller straight into the queue `general` (the scale-out and fault tests). */
export function queueDialplan(id: string, maxWaitSeconds = 120): string {
  return `
id: ${id}
numbers: ["5000"]
language: en
languages: [en]
start: queue
onError: goodbye
nodes:
  queue: { type: queue, queue: general, maxWait: ${maxWaitSeconds}, onTimeout: goodbye }
  goodbye: { type: hangup, prompt: goodbye }
`;
}

/** ONECC_VOICE__TRUNKS: 127.0.0.1 is the trunk, and onecc calls customers back through it (callbacks, the dialer). */
export const CALLING_BACK_TRUNK_ENV = '[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: "sip:{number}@{source}"}]';

/** ONECC_VOICE__PHONES: one desk phone per agent, its username the agent's id. */
export function phonesEnv(passwords: Readonly<Record<string, string>>): string {
  return `[${Object.entries(passwords).map(([agent, password]) => `{username: ${agent}, password: ${password}, agent: ${agent}}`).join(', ')}]`;
}

export function oneccUri(onecc: OneccServer, user: string): string {
  const udp = onecc.sip!.listeners.find((l) => l.transport === 'udp')!;
  return `sip:${user}@127.0.0.1:${udp.boundPort}`;
}

/**
 * How a peer answers an INVITE: answer with an RTP endpoint (sending `toneHz`), listen with one receive-only
 * endpoint per audio section offered (a supervisor listening in), refuse with a status, or ring on.
 */
export type Answering =
  | { readonly answer: true; readonly toneHz: number }
  /** Answers and sends BYE at once: onecc gets the BYE while it still bridges the call. */
  | { readonly answer: true; readonly hangUpAtOnce: true }
  /** Answers and plays a greeting (8 kHz samples), then silence: a person's "hello?" or an answering machine. */
  | { readonly answer: true; readonly greeting: Int16Array }
  | { readonly listen: true }
  | { readonly status: number }
  | 'ignore';

/** A call a peer answered. */
export interface AnsweredCall {
  readonly headers: Record<string, string>;
  readonly rtp: RtpEndpoint;
  /** With `listen`: one endpoint per audio section, in the offer's order (rtp is the first). */
  readonly streams: readonly RtpEndpoint[];
  readonly dialog: Srf.Dialog;
  /** When it answered (ms since the epoch). */
  readonly answeredAt: number;
}

/** A peer taking INVITEs: what rang (headers, lower-case names) and what it answered. */
export interface CallTaker {
  readonly rings: { readonly uri: string; readonly headers: Record<string, string> }[];
  readonly answered: AnsweredCall[];
  /** INVITEs onecc cancelled while they rang. */
  cancelled: number;
  /** How the next INVITEs are answered, in order; the last one stays. */
  answering: Answering[];
  /** When set and it answers for the request URI, it decides instead of `answering` (a carrier with many numbers). */
  answeringFor?: (uri: string) => Answering | undefined;
}

function takeCalls(t: Test, srf: Srf, taker: CallTaker): void {
  srf.invite(async (req, res) => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    taker.rings.push({ uri: req.uri, headers });
    req.on('cancel', () => taker.cancelled++);
    const how = taker.answeringFor?.(req.uri) ?? (taker.answering.length > 1 ? taker.answering.shift()! : taker.answering[0] ?? 'ignore');
    if (how === 'ignore') return void res.send(180); // rings until onecc cancels
    if ('status' in how) return void res.send(how.status);
    if ('listen' in how) {
      const sections = (req.body.match(/^m=audio /gm) ?? []).length;
      const streams = await Promise.all(Array.from({ length: sections }, () => RtpEndpoint.open()));
      t.teardown(() => streams.forEach((e) => e.close()));
      // One SDP, one recvonly audio section per endpoint: the session part of the first, then each m= section.
      const sdp = streams.map((e, i) => (i === 0 ? e.sdp('recvonly') : e.sdp('recvonly').slice(e.sdp('recvonly').indexOf('m=audio')))).join('');
      const dialog = await srf.createUAS(req, res, { localSdp: sdp });
      taker.answered.push({ headers, rtp: streams[0]!, streams, dialog, answeredAt: Date.now() });
      return;
    }
    const rtp = await RtpEndpoint.open();
    t.teardown(() => rtp.close());
    const dialog = await srf.createUAS(req, res, { localSdp: rtp.sdp() });
    if ('hangUpAtOnce' in how) {
      taker.answered.push({ headers, rtp, streams: [rtp], dialog, answeredAt: Date.now() });
      return void dialog.destroy();
    }
    rtp.useRemote(req.body);
    if ('greeting' in how) rtp.play(how.greeting);
    else rtp.startTone(how.toneHz);
    // A phone stops sending once its call is over (rtpengine would otherwise forward it to whoever took its place).
    dialog.on('destroy', () => rtp.stopSending());
    taker.answered.push({ headers, rtp, streams: [rtp], dialog, answeredAt: Date.now() });
  });
}

export interface Trunk extends CallTaker {
  readonly port: number;
  /** Calls `number` at onecc (or at the request URI `to`: another onecc node) from `callerNumber`. */
  call(number: string, callerNumber?: string, to?: string): Promise<{ rtp: RtpEndpoint; dialog: Promise<Srf.Dialog>; cancel: () => void }>;
}

/** A trunk: places calls to onecc, and takes the calls onecc places through it (callbacks). */
export async function startTrunk(t: Test, onecc: OneccServer, host = '127.0.0.1'): Promise<Trunk> {
  const sut = await startDrachtio(t, { t1: 100, engine: { listen: [{ transport: 'udp', host, port: 0 }] } });
  const taker: CallTaker = { rings: [], answered: [], cancelled: 0, answering: ['ignore'] };
  const app = await connectApp(t, sut, (srf) => takeCalls(t, srf, taker));
  return Object.assign(taker, {
    port: sut.engine.port('udp'),
    async call(number: string, callerNumber = '+15550001', to = oneccUri(onecc, number)) {
      const rtp = await RtpEndpoint.open();
      t.teardown(() => rtp.close());
      let inviteSent: Srf.SrfRequest | undefined;
      const dialog = app.srf.createUAC(to, { localSdp: rtp.sdp(), headers: { From: `<sip:${callerNumber}@${host}>` } }, { cbRequest: ((_err: unknown, req: Srf.SrfRequest) => (inviteSent = req)) as unknown as (req: Srf.SrfRequest) => void });
      return { rtp, dialog, cancel: () => inviteSent?.cancel(() => undefined) };
    },
  });
}

/** An agent's desk phone: registers as `user` (digest auth) and answers as `answering` says. */
export async function startPhone(t: Test, onecc: OneccServer, user: string, password: string, agentId: string, answering: Answering[]): Promise<CallTaker> {
  const sut = await startDrachtio(t, { t1: 100 });
  const phone: CallTaker = { rings: [], answered: [], cancelled: 0, answering };
  const app = await connectApp(t, sut, (srf) => takeCalls(t, srf, phone));
  const contact = `<sip:${user}@127.0.0.1:${sut.engine.port('udp')}>`;
  await srfRequest(app.srf, oneccUri(onecc, user), {
    method: 'REGISTER',
    headers: { Contact: contact, Expires: '300', From: `<sip:${user}@127.0.0.1>`, To: `<sip:${user}@127.0.0.1>` },
    auth: { username: user, password },
  });
  // srf.request resolves once the REGISTER is sent; the binding appears when onecc answered the digest.
  const mine = async () => (await onecc.phones.devicesOf(agentId)).some((d) => d.uri.includes(`:${sut.engine.port('udp')}`));
  const deadline = Date.now() + 5000;
  while (!(await mine())) {
    if (Date.now() > deadline) throw new Error(`${user} did not register within 5 s`);
    await delay(50);
  }
  // Unregistered before the phone goes away (teardowns run last-first): a later test's call must not ring it.
  t.teardown(async () => {
    await srfRequest(app.srf, oneccUri(onecc, user), {
      method: 'REGISTER',
      headers: { Contact: contact, Expires: '0', From: `<sip:${user}@127.0.0.1>`, To: `<sip:${user}@127.0.0.1>` },
      auth: { username: user, password },
    }).catch(() => undefined);
    for (const until = Date.now() + 2000; Date.now() < until && (await mine().catch(() => false)); ) await delay(50);
  });
  return phone;
}

/** A PBX transfers go to: takes calls on its own engine, at `uri(user)`. */
export async function startPbx(t: Test): Promise<CallTaker & { uri(user: string): string }> {
  const sut = await startDrachtio(t, { t1: 100 });
  const taker: CallTaker = { rings: [], answered: [], cancelled: 0, answering: ['ignore'] };
  await connectApp(t, sut, (srf) => takeCalls(t, srf, taker));
  return Object.assign(taker, { uri: (user: string) => `sip:${user}@127.0.0.1:${sut.engine.port('udp')}` });
}

/** The dominant frequency (zero crossings) of the μ-law audio an endpoint received in its last `n` packets. */
export function frequencyOf(ep: RtpEndpoint, n = 25): number {
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

/** The share of power at `hz` (Goertzel) in the G.711 audio an endpoint received in its last `n` packets. */
export function toneShare(ep: RtpEndpoint, hz: number, pt: 0 | 8 = 0, n = 25): number {
  return goertzelShare(ep.packets(pt).slice(-n).flatMap((p) => [...decodeG711(p.payload, pt === 0 ? 'mulaw' : 'alaw')]), hz);
}

/** The most recent interaction record once `done` holds for it (polls /interactions for up to `ms`). */
export async function latestRecord<R extends { outcome?: string }>(onecc: OneccServer, done: (r: R) => boolean = (r) => r.outcome !== undefined, ms = 5000): Promise<R | undefined> {
  let record: R | undefined;
  for (const deadline = Date.now() + ms; Date.now() < deadline && (record === undefined || !done(record)); ) {
    await delay(100);
    const records = (await fetch(`http://127.0.0.1:${onecc.http.port}/interactions?limit=1`).then((r) => r.json())) as R[];
    record = records[0];
  }
  return record;
}

/** Waits (bounded by the SIP timers) for a call's dialog or the status it failed with. */
export async function outcomeOf(pending: Promise<Srf.Dialog>): Promise<Srf.Dialog | number> {
  try {
    return await pending;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}
