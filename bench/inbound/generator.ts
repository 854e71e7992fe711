/**
 * The simulated trunk and the simulated agents' phones of bench/inbound: a lean SIP UA over two UDP sockets on
 * 127.0.0.1 (one for the trunk, one for every phone), reading with the project's parser (src/sip/message) and
 * writing requests as text. It does what UAs must over UDP: retransmits INVITE (Timer A) until a response, BYE
 * (Timer E) until its 200, a phone's 200 OK until the ACK, answers retransmitted requests and 2xx again.
 *
 * A call: the trunk sends INVITE (SDP offer) to the bench DID; onecc answers, plays the welcome prompt and queues the
 * caller; the ACD offers the call to an agent and onecc INVITEs that agent's registered phone; the phone sends 180
 * at once and 200 after a random delay; after a random talk time the agent (or, by a coin toss, the caller) sends
 * BYE, and onecc ends the other leg with a BYE. With `rtp`, the caller sends G.711 packets every 20 ms from onecc's
 * 200 OK on, and the phone from its own 200 on, to the rtpengine port in the SDP they got; without it nothing is
 * sent. Whatever rtpengine sends (prompts, music, the other leg's audio) lands on one socket that counts it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { digestHa1, digestResponse, parseDigestCredentials } from '../../src/channels/voice/digest-auth';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../src/sip/message/index';
import { agentPassword } from './protocol';

const T1 = 500;
const T2 = 4000;
/** Timer B / F / H: 64 × T1. */
const TRANSACTION_TIMEOUT = 64 * T1;
/** After one leg of a call ended, onecc has this long to end the other before the call counts as lost. */
const RELEASE_TIMEOUT = 10_000;

export const now = (): number => performance.timeOrigin + performance.now();

export interface GeneratorOptions {
  sipPort: number;
  did: string;
  agents: string[];
  runId: string;
  answerMinMs: number;
  answerMaxMs: number;
  talkMinMs: number;
  talkMaxMs: number;
  /** A caller answered but not connected to an agent this long hangs up; the call is lost. */
  maxWaitMs: number;
  /** Share of calls the agent ends (BYE from the phone); the caller ends the rest. */
  agentHangupShare: number;
  /** Send RTP from every answered leg (50 packets/s each). */
  rtp: boolean;
}

/** Where one leg sends its RTP, and its stream's state. */
interface RtpStream {
  port: number;
  host: string;
  ssrc: number;
  seq: number;
  ts: number;
  /** Packets of this stream that came back to us from rtpengine: bridged through to the other leg. */
  delivered: number;
}

/** One call's story, kept once it is over (times are ms since the epoch). */
export interface CallRecord {
  n: number;
  callId: string;
  inviteAt: number;
  answeredAt?: number;
  taskId?: string;
  /** The first agent INVITE for this call arrived at a phone. */
  ringAt?: number;
  /** The answering phone received onecc's ACK: caller and agent are bridged. */
  connectedAt?: number;
  endedAt: number;
  /** With RTP: the caller's packets reached the agent's phone and the agent's the caller, through rtpengine. */
  audioBothWays?: boolean;
  /** Agent INVITEs for this call (more than one after a RONA), and how many of them onecc cancelled. */
  rings: number;
  cancelledRings: number;
  endedBy?: 'agent' | 'caller';
  failure?: string;
}

type CallState = 'inviting' | 'proceeding' | 'up' | 'byeing' | 'ended';

interface Call {
  record: Omit<CallRecord, 'endedAt'> & { endedAt?: number };
  number: string;
  state: CallState;
  invite: Buffer;
  ack?: Buffer;
  bye?: Buffer;
  to?: string;
  target?: string;
  deadline: number;
  nextRetransmit: number;
  interval: number;
  leg?: Leg;
  media?: RtpStream;
  waitTimer?: NodeJS.Timeout;
  /** When the caller leg is over and the agent leg not yet (or the reverse): by then both must be. */
  releaseDeadline: number;
}

type LegState = 'ringing' | 'answering' | 'up' | 'byeing' | 'ended';

interface Leg {
  agent: Agent;
  call: Call | undefined;
  callId: string;
  invite: SipRequest;
  toTag: string;
  state: LegState;
  last?: Buffer;
  bye?: Buffer;
  media?: RtpStream;
  deadline: number;
  nextRetransmit: number;
  interval: number;
  timer?: NodeJS.Timeout;
}

interface Agent {
  name: string;
  leg?: Leg;
  registered: boolean;
  cseq: number;
  lastRegister?: Buffer;
  registerSentAt: number;
  registerTries: number;
}

export interface GeneratorCounters {
  offered: number;
  completed: number;
  failed: number;
  /** INVITEs onecc sent to a phone that was still on another call (an ACD double offer): answered 486. */
  offeredWhileBusy: number;
  /** Agent INVITEs whose caller the phone could not find (X-Onecc-Var-caller unknown). */
  unmatchedRings: number;
  ringsCancelled: number;
  retransmissions: { invite: number; bye: number; ok: number };
  /** Requests onecc retransmitted to us (its timers fired before our answer arrived). */
  retransmissionsReceived: number;
  rtpPackets: number;
  rtpPacketsSent: number;
  parseErrors: number;
}

const rand = (min: number, max: number): number => min + Math.random() * (max - min);

/** The first audio stream's address in an SDP body, undefined without one. */
function rtpStream(sdp: Buffer): RtpStream | undefined {
  const text = sdp.toString('latin1');
  const port = /^m=audio (\d+)/m.exec(text)?.[1];
  const host = /^c=IN IP4 (\S+)/m.exec(text)?.[1];
  if (port === undefined || host === undefined) return undefined;
  return { port: Number(port), host, ssrc: Math.floor(Math.random() * 2 ** 32), seq: 0, ts: 0, delivered: 0 };
}

export class LoadGenerator {
  readonly #o: GeneratorOptions;
  readonly #trunk: Socket = createSocket('udp4');
  readonly #phone: Socket = createSocket('udp4');
  readonly #rtp: Socket = createSocket('udp4');
  #trunkAt = '';
  #phoneAt = '';
  #sdp = '';
  readonly #calls = new Map<string, Call>();
  readonly #byNumber = new Map<string, Call>();
  readonly #legs = new Map<string, Leg>();
  /** Our RTP streams by SSRC, to know which of them rtpengine forwarded to the other leg. */
  readonly #streams = new Map<number, RtpStream>();
  readonly #agents = new Map<string, Agent>();
  #nextCall = 1;
  #sweeper: NodeJS.Timeout | undefined;
  #rtpTimer: NodeJS.Timeout | undefined;
  #registered: ((err?: Error) => void) | undefined;
  readonly records: CallRecord[] = [];
  readonly counters: GeneratorCounters = {
    offered: 0, completed: 0, failed: 0, offeredWhileBusy: 0, unmatchedRings: 0, ringsCancelled: 0,
    retransmissions: { invite: 0, bye: 0, ok: 0 }, retransmissionsReceived: 0, rtpPackets: 0, rtpPacketsSent: 0, parseErrors: 0,
  };

  constructor(options: GeneratorOptions) {
    this.#o = options;
    for (const name of options.agents) this.#agents.set(name, { name, registered: false, cseq: 0, registerSentAt: 0, registerTries: 0 });
  }

  async start(): Promise<void> {
    const bind = (socket: Socket): Promise<string> =>
      new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          socket.on('error', (err) => process.stderr.write(`inbound generator: ${err.message}\n`));
          resolve(`127.0.0.1:${socket.address().port}`);
        });
      });
    [this.#trunkAt, this.#phoneAt] = await Promise.all([bind(this.#trunk), bind(this.#phone)]);
    const rtpAt = await bind(this.#rtp);
    this.#rtp.on('message', (packet) => {
      this.counters.rtpPackets++;
      const stream = packet.length >= 12 ? this.#streams.get(packet.readUInt32BE(8)) : undefined;
      if (stream) stream.delivered++;
    });
    this.#trunk.on('message', (buf) => this.#onTrunk(buf));
    this.#phone.on('message', (buf) => this.#onPhone(buf));
    this.#sdp = [
      'v=0', 'o=bench 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtpAt.split(':')[1]} RTP/AVP 0 8 101`,
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', '',
    ].join('\r\n');
    this.#sweeper = setInterval(() => this.#sweep(), 20);
    if (this.#o.rtp) this.#rtpTimer = setInterval(() => this.#sendRtp(), 20);
  }

  close(): void {
    clearInterval(this.#sweeper);
    clearInterval(this.#rtpTimer);
    for (const call of this.#calls.values()) clearTimeout(call.waitTimer);
    for (const leg of this.#legs.values()) clearTimeout(leg.timer);
    for (const socket of [this.#trunk, this.#phone, this.#rtp]) socket.close();
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  /** Agent legs not yet ended (ringing or talking). */
  get activeLegs(): number {
    return this.#legs.size;
  }

  /** Calls still open, for the list of stuck calls at the end. */
  openCalls(): Array<{ n: number; callId: string; state: string; leg: string }> {
    return [...this.#calls.values()].map((c) => ({ n: c.record.n, callId: c.record.callId, state: c.state, leg: c.leg?.state ?? 'none' }));
  }

  // ---- registration ------------------------------------------------------------------------------------------

  /** REGISTERs every phone with digest auth (401 first), 10 at a time; resolves when all have their 200. */
  register(timeoutMs: number): Promise<void> {
    const agents = [...this.#agents.values()];
    let i = 0;
    const pacer = setInterval(() => {
      for (const end = Math.min(i + 10, agents.length); i < end; i++) this.#sendRegister(agents[i]!, undefined);
      if (i >= agents.length) clearInterval(pacer);
    }, 50);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(pacer);
        const missing = agents.filter((a) => !a.registered).map((a) => a.name);
        reject(new Error(`${missing.length} phones not registered within ${timeoutMs} ms: ${missing.slice(0, 5).join(', ')}`));
      }, timeoutMs);
      this.#registered = (err) => {
        if (err) {
          clearTimeout(timer);
          clearInterval(pacer);
          reject(err);
        } else if (agents.every((a) => a.registered)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }

  #sendRegister(agent: Agent, challenge: string | undefined): void {
    const registrar = `sip:127.0.0.1:${this.#o.sipPort}`;
    let auth = '';
    if (challenge !== undefined) {
      const c = parseDigestCredentials(challenge) ?? {};
      const ha1 = digestHa1(agent.name, c.realm ?? '', agentPassword(agent.name));
      const cnonce = Math.random().toString(36).slice(2);
      const response = digestResponse({ ha1, nonce: c.nonce ?? '', method: 'REGISTER', uri: registrar, qop: 'auth', nc: '00000001', cnonce });
      auth = `Authorization: Digest username="${agent.name}", realm="${c.realm}", nonce="${c.nonce}", uri="${registrar}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"\r\n`;
    }
    agent.cseq++;
    agent.lastRegister = Buffer.from(
      `REGISTER ${registrar} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.#phoneAt};branch=z9hG4bK-r${agent.name}-${agent.cseq}-${this.#o.runId};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: <sip:${agent.name}@127.0.0.1>;tag=r${agent.name}\r\n` +
        `To: <sip:${agent.name}@127.0.0.1>\r\n` +
        `Call-ID: reg-${agent.name}.${this.#o.runId}\r\n` +
        `CSeq: ${agent.cseq} REGISTER\r\n` +
        `Contact: <sip:${agent.name}@${this.#phoneAt}>\r\n` +
        'Expires: 3600\r\n' +
        auth +
        'Content-Length: 0\r\n\r\n',
      'latin1',
    );
    agent.registerSentAt = now();
    agent.registerTries = 0;
    this.#send(this.#phone, agent.lastRegister);
  }

  #onRegisterResponse(res: SipResponse): void {
    const name = /^reg-(.+)\.[^.]+$/.exec(res.callId)?.[1];
    const agent = name === undefined ? undefined : this.#agents.get(name);
    if (!agent || agent.registered || res.status < 200 || res.cseq.seq !== agent.cseq) return;
    if (res.status === 401 && agent.cseq === 1) return this.#sendRegister(agent, res.getHeader('www-authenticate'));
    if (res.status >= 300) return this.#registered?.(new Error(`REGISTER ${agent.name}: ${res.status} ${res.reason}`));
    agent.registered = true;
    agent.lastRegister = undefined;
    this.#registered?.();
  }

  // ---- the trunk: placing calls ----------------------------------------------------------------------------

  /** Places one call. */
  placeCall(): void {
    const n = this.#nextCall++;
    // The calling number identifies the call at the phone: onecc passes it on as X-Onecc-Var-caller.
    const number = `1555${String(n).padStart(7, '0')}`;
    const callId = `c${n}.${this.#o.runId}@127.0.0.1`;
    const ruri = `sip:${this.#o.did}@127.0.0.1:${this.#o.sipPort}`;
    const invite = Buffer.from(
      `INVITE ${ruri} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.#trunkAt};branch=z9hG4bK-c${n}-i-${this.#o.runId};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: <sip:${number}@127.0.0.1>;tag=c${n}\r\n` +
        `To: <sip:${this.#o.did}@127.0.0.1>\r\n` +
        `Call-ID: ${callId}\r\n` +
        'CSeq: 1 INVITE\r\n' +
        `Contact: <sip:trunk@${this.#trunkAt}>\r\n` +
        'Content-Type: application/sdp\r\n' +
        `Content-Length: ${this.#sdp.length}\r\n\r\n${this.#sdp}`,
      'latin1',
    );
    const at = now();
    const call: Call = {
      record: { n, callId, inviteAt: at, rings: 0, cancelledRings: 0 },
      number, state: 'inviting', invite, deadline: at + TRANSACTION_TIMEOUT, nextRetransmit: at + T1, interval: T1, releaseDeadline: Infinity,
    };
    this.#calls.set(callId, call);
    this.#byNumber.set(number, call);
    this.counters.offered++;
    this.#send(this.#trunk, invite);
  }

  /** An ACK or BYE of the caller's; `branch` 'i' (the INVITE's) for the ACK of a non-2xx. */
  #callerRequest(call: Call, method: 'ACK' | 'BYE', seq: number, branch: string = method): Buffer {
    return Buffer.from(
      `${method} ${call.target} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.#trunkAt};branch=z9hG4bK-c${call.record.n}-${branch}-${this.#o.runId};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: <sip:${call.number}@127.0.0.1>;tag=c${call.record.n}\r\n` +
        `To: ${call.to}\r\n` +
        `Call-ID: ${call.record.callId}\r\n` +
        `CSeq: ${seq} ${method}\r\n` +
        'Content-Length: 0\r\n\r\n',
      'latin1',
    );
  }

  #onTrunk(buf: Buffer): void {
    const msg = this.#parse(buf);
    if (!msg) return;
    if (msg.isRequest) return this.#onTrunkRequest(msg);
    const call = this.#calls.get(msg.callId);
    if (!call) return;
    const { method } = msg.cseq;
    if (method === 'INVITE') this.#onInviteResponse(call, msg);
    else if (method === 'BYE' && msg.status >= 200 && call.state === 'byeing') {
      call.state = 'ended';
      if (msg.status >= 300) this.#fail(call, `caller BYE got ${msg.status}`);
      this.#callerLegEnded(call);
    }
  }

  #onInviteResponse(call: Call, res: SipResponse): void {
    if (res.status < 200) {
      if (call.state === 'inviting') call.state = 'proceeding';
      return;
    }
    if (call.state !== 'inviting' && call.state !== 'proceeding') {
      // A retransmitted final response: the same ACK again (RFC 3261 §13.2.2.4).
      if (call.ack) this.#send(this.#trunk, call.ack);
      return;
    }
    call.to = res.getHeader('to');
    if (res.status >= 300) {
      // §17.1.1.3: the ACK for a non-2xx has the INVITE's branch; the call is lost.
      call.target = `sip:${this.#o.did}@127.0.0.1:${this.#o.sipPort}`;
      call.ack = this.#callerRequest(call, 'ACK', 1, 'i');
      this.#send(this.#trunk, call.ack);
      call.state = 'ended';
      this.#fail(call, `INVITE ${res.status}`);
      return this.#finish(call);
    }
    call.record.answeredAt = now();
    call.media = this.#stream(res.body);
    const contact = res.contacts[0];
    call.target = contact === undefined || contact === '*' ? `sip:${this.#o.did}@127.0.0.1:${this.#o.sipPort}` : contact.uri.toString();
    call.ack = this.#callerRequest(call, 'ACK', 1);
    this.#send(this.#trunk, call.ack);
    call.state = 'up';
    call.deadline = Infinity;
    call.waitTimer = setTimeout(() => {
      if (call.leg === undefined && call.state === 'up') {
        this.#fail(call, `no agent within ${this.#o.maxWaitMs / 1000} s`);
        this.#callerBye(call);
      }
    }, this.#o.maxWaitMs);
  }

  #callerBye(call: Call): void {
    if (call.state !== 'up') return;
    clearTimeout(call.waitTimer);
    call.bye = this.#callerRequest(call, 'BYE', 2);
    call.state = 'byeing';
    const at = now();
    call.deadline = at + TRANSACTION_TIMEOUT;
    call.nextRetransmit = at + T1;
    call.interval = T1;
    this.#send(this.#trunk, call.bye);
  }

  #onTrunkRequest(req: SipRequest): void {
    if (req.method === 'ACK') return;
    const call = this.#calls.get(req.callId);
    if (req.method === 'INVITE' && call) {
      // A re-INVITE: the same SDP again.
      return this.#respond(this.#trunk, req, 200, { Contact: `<sip:trunk@${this.#trunkAt}>` }, this.#sdp);
    }
    this.#respond(this.#trunk, req, 200);
    if (req.method !== 'BYE' || !call || (call.state !== 'up' && call.state !== 'byeing')) {
      if (req.method === 'BYE' && !call) this.counters.retransmissionsReceived++;
      return;
    }
    clearTimeout(call.waitTimer);
    call.state = 'ended';
    if (call.leg === undefined && call.record.connectedAt === undefined) this.#fail(call, 'onecc hung up the caller before an agent answered');
    this.#callerLegEnded(call);
  }

  #callerLegEnded(call: Call): void {
    const leg = call.leg;
    if (leg === undefined || leg.state === 'ended') return this.#finish(call);
    call.releaseDeadline = now() + RELEASE_TIMEOUT;
  }

  // ---- the phones: answering agents ------------------------------------------------------------------------

  #onPhone(buf: Buffer): void {
    const msg = this.#parse(buf);
    if (!msg) return;
    if (!msg.isRequest) {
      if (msg.cseq.method === 'REGISTER') return this.#onRegisterResponse(msg);
      const leg = this.#legs.get(msg.callId);
      if (leg && msg.cseq.method === 'BYE' && msg.status >= 200 && leg.state === 'byeing') {
        if (msg.status >= 300 && leg.call) this.#fail(leg.call, `agent BYE got ${msg.status}`);
        this.#legEnded(leg);
      }
      return;
    }
    const leg = this.#legs.get(msg.callId);
    switch (msg.method) {
      case 'INVITE':
        if (leg) {
          this.counters.retransmissionsReceived++;
          if (leg.last) this.#send(this.#phone, leg.last);
          return;
        }
        return this.#ring(msg);
      case 'ACK':
        if (leg?.state === 'answering') this.#connected(leg);
        return;
      case 'CANCEL':
        this.#respond(this.#phone, msg, 200);
        if (leg?.state === 'ringing') {
          this.counters.ringsCancelled++;
          if (leg.call) leg.call.record.cancelledRings++;
          leg.last = this.#response(leg.invite, 487, leg.toTag);
          this.#send(this.#phone, leg.last);
          this.#legEnded(leg);
        }
        return;
      case 'BYE':
        this.#respond(this.#phone, msg, 200);
        if (!leg) this.counters.retransmissionsReceived++;
        else if (leg.state !== 'ended') this.#legEnded(leg);
        return;
      default:
        this.#respond(this.#phone, msg, 200);
    }
  }

  #ring(invite: SipRequest): void {
    const user = invite.uri.isSip ? invite.uri.user : undefined;
    const agent = user === undefined ? undefined : this.#agents.get(user);
    if (!agent) return this.#respond(this.#phone, invite, 404);
    if (agent.leg) {
      this.counters.offeredWhileBusy++;
      return this.#respond(this.#phone, invite, 486);
    }
    const call = this.#byNumber.get(invite.getHeader('x-onecc-var-caller') ?? '');
    if (!call) this.counters.unmatchedRings++;
    const toTag = `a${Math.random().toString(36).slice(2, 10)}`;
    const leg: Leg = { agent, call, callId: invite.callId, invite, toTag, state: 'ringing', deadline: Infinity, nextRetransmit: Infinity, interval: T1 };
    agent.leg = leg;
    this.#legs.set(leg.callId, leg);
    if (call) {
      call.record.rings++;
      call.record.ringAt ??= now();
      call.record.taskId ??= invite.getHeader('x-onecc-task');
    }
    leg.last = this.#response(invite, 180, toTag);
    this.#send(this.#phone, leg.last);
    leg.timer = setTimeout(() => this.#answer(leg), rand(this.#o.answerMinMs, this.#o.answerMaxMs));
  }

  #answer(leg: Leg): void {
    if (leg.state !== 'ringing') return;
    leg.state = 'answering';
    leg.last = this.#response(leg.invite, 200, leg.toTag, this.#sdp);
    leg.media = this.#stream(leg.invite.body);
    const at = now();
    leg.deadline = at + TRANSACTION_TIMEOUT;
    leg.nextRetransmit = at + T1;
    leg.interval = T1;
    this.#send(this.#phone, leg.last);
  }

  #connected(leg: Leg): void {
    leg.state = 'up';
    leg.deadline = Infinity;
    leg.nextRetransmit = Infinity;
    const call = leg.call;
    if (!call || call.state !== 'up' || call.leg) {
      // onecc bridged this phone to a caller that is gone or already talking: it must hang the phone up itself.
      if (call) this.#fail(call, call.leg ? 'a second agent connected' : 'agent connected after the caller left');
      return;
    }
    call.leg = leg;
    call.record.connectedAt = now();
    clearTimeout(call.waitTimer);
    leg.timer = setTimeout(() => {
      if (Math.random() < this.#o.agentHangupShare) this.#agentBye(leg);
      else this.#callerBye(call);
    }, rand(this.#o.talkMinMs, this.#o.talkMaxMs));
  }

  #agentBye(leg: Leg): void {
    if (leg.state !== 'up') return;
    const from = leg.invite.getHeader('from')!;
    const to = leg.invite.getHeader('to')!;
    const target = leg.invite.contacts[0];
    leg.bye = Buffer.from(
      `BYE ${target === undefined || target === '*' ? leg.invite.uriText : target.uri.toString()} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.#phoneAt};branch=z9hG4bK-${leg.toTag}-b-${this.#o.runId};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: ${to};tag=${leg.toTag}\r\n` +
        `To: ${from}\r\n` +
        `Call-ID: ${leg.callId}\r\n` +
        'CSeq: 1 BYE\r\n' +
        'Content-Length: 0\r\n\r\n',
      'latin1',
    );
    leg.state = 'byeing';
    const at = now();
    leg.deadline = at + TRANSACTION_TIMEOUT;
    leg.nextRetransmit = at + T1;
    leg.interval = T1;
    if (leg.call) leg.call.record.endedBy = 'agent';
    this.#send(this.#phone, leg.bye);
  }

  #legEnded(leg: Leg): void {
    const wasUp = leg.state === 'up' || leg.state === 'byeing';
    leg.state = 'ended';
    clearTimeout(leg.timer);
    this.#legs.delete(leg.callId);
    if (leg.agent.leg === leg) leg.agent.leg = undefined;
    const call = leg.call;
    if (!call || call.leg !== leg || !wasUp) return;
    call.record.endedBy ??= call.state === 'up' ? 'agent' : 'caller';
    if (call.state === 'ended') this.#finish(call);
    else call.releaseDeadline = now() + RELEASE_TIMEOUT;
  }

  #stream(sdp: Buffer): RtpStream | undefined {
    const stream = this.#o.rtp ? rtpStream(sdp) : undefined;
    if (stream) this.#streams.set(stream.ssrc, stream);
    return stream;
  }

  /** One 20 ms packet of PCMU silence on every answered leg. */
  #sendRtp(): void {
    const send = (stream: RtpStream): void => {
      const packet = Buffer.allocUnsafe(12 + 160);
      packet[0] = 0x80;
      packet[1] = 0;
      packet.writeUInt16BE(stream.seq, 2);
      packet.writeUInt32BE(stream.ts, 4);
      packet.writeUInt32BE(stream.ssrc, 8);
      packet.fill(0xff, 12);
      stream.seq = (stream.seq + 1) & 0xffff;
      stream.ts = (stream.ts + 160) >>> 0;
      this.#rtp.send(packet, stream.port, stream.host);
      this.counters.rtpPacketsSent++;
    };
    for (const call of this.#calls.values()) if (call.media && (call.state === 'up' || call.state === 'byeing')) send(call.media);
    for (const leg of this.#legs.values()) if (leg.media && leg.state !== 'ringing' && leg.state !== 'ended') send(leg.media);
  }

  // ---- bookkeeping --------------------------------------------------------------------------------------------

  #fail(call: Call, reason: string): void {
    call.record.failure ??= reason;
  }

  #finish(call: Call): void {
    if (!this.#calls.delete(call.record.callId)) return;
    this.#byNumber.delete(call.number);
    clearTimeout(call.waitTimer);
    if (call.record.failure === undefined && call.record.connectedAt === undefined) call.record.failure = 'ended without an agent';
    const record: CallRecord = { ...call.record, endedAt: now() };
    if (call.media) {
      record.audioBothWays = call.media.delivered > 0 && (call.leg?.media?.delivered ?? 0) > 0;
      this.#streams.delete(call.media.ssrc);
    }
    if (call.leg?.media) this.#streams.delete(call.leg.media.ssrc);
    this.records.push(record);
    if (record.failure === undefined) this.counters.completed++;
    else this.counters.failed++;
  }

  /** Ends every call still open as lost (at the end of the drain), with `reason`. */
  abandonAll(reason: string): void {
    for (const call of [...this.#calls.values()]) {
      this.#fail(call, `${reason} (caller ${call.state}, agent ${call.leg?.state ?? 'none'})`);
      this.#finish(call);
    }
  }

  #sweep(): void {
    const at = now();
    for (const call of this.#calls.values()) {
      if (at >= call.releaseDeadline) {
        this.#fail(call, call.state === 'ended' ? 'onecc did not end the agent leg' : 'onecc did not end the caller leg');
        this.#finish(call);
        continue;
      }
      if (at >= call.deadline) {
        this.#fail(call, call.state === 'byeing' ? 'caller BYE unanswered' : 'INVITE unanswered');
        this.#finish(call);
        continue;
      }
      if (at < call.nextRetransmit) continue;
      if (call.state === 'inviting') {
        this.#send(this.#trunk, call.invite);
        this.counters.retransmissions.invite++;
        call.interval *= 2;
      } else if (call.state === 'byeing' && call.bye) {
        this.#send(this.#trunk, call.bye);
        this.counters.retransmissions.bye++;
        call.interval = Math.min(call.interval * 2, T2);
      } else {
        call.nextRetransmit = Infinity;
        continue;
      }
      call.nextRetransmit = at + call.interval;
    }
    for (const leg of this.#legs.values()) {
      if (at >= leg.deadline) {
        if (leg.call) this.#fail(leg.call, leg.state === 'answering' ? 'no ACK for the agent 200' : 'agent BYE unanswered');
        this.#legEnded(leg);
        continue;
      }
      if (at < leg.nextRetransmit) continue;
      const buf = leg.state === 'answering' ? leg.last : leg.state === 'byeing' ? leg.bye : undefined;
      if (!buf) {
        leg.nextRetransmit = Infinity;
        continue;
      }
      this.#send(this.#phone, buf);
      if (leg.state === 'answering') this.counters.retransmissions.ok++;
      else this.counters.retransmissions.bye++;
      leg.interval = Math.min(leg.interval * 2, T2);
      leg.nextRetransmit = at + leg.interval;
    }
    for (const agent of this.#agents.values()) {
      if (agent.registered || !agent.lastRegister || at - agent.registerSentAt < T1 * 2 ** agent.registerTries) continue;
      agent.registerTries++;
      this.#send(this.#phone, agent.lastRegister);
    }
  }

  // ---- SIP plumbing -----------------------------------------------------------------------------------------

  #parse(buf: Buffer): SipRequest | SipResponse | undefined {
    try {
      return parseMessage(buf, true);
    } catch {
      this.counters.parseErrors++;
      return undefined;
    }
  }

  #response(req: SipRequest, status: number, toTag?: string, sdp?: string): Buffer {
    const res = createResponse(req, status, undefined, toTag);
    if (req.method === 'INVITE' && status < 300) res.addHeader('Contact', `<sip:${req.uri.isSip ? req.uri.user : 'phone'}@${this.#phoneAt}>`);
    if (sdp !== undefined) {
      res.addHeader('Content-Type', 'application/sdp');
      res.body = Buffer.from(sdp, 'latin1');
    }
    return res.toBuffer();
  }

  #respond(socket: Socket, req: SipRequest, status: number, headers: Record<string, string> = {}, sdp?: string): void {
    const res = createResponse(req, status);
    for (const [name, value] of Object.entries(headers)) res.addHeader(name, value);
    if (sdp !== undefined) {
      res.addHeader('Content-Type', 'application/sdp');
      res.body = Buffer.from(sdp, 'latin1');
    }
    this.#send(socket, res.toBuffer());
  }

  #send(socket: Socket, buf: Buffer): void {
    socket.send(buf, this.#o.sipPort, '127.0.0.1');
  }
}
