/**
 * One load-generator worker of bench/sip-cps (run.ts forks one or more): a lean SIP UAC over one connected UDP
 * socket on loopback. It writes INVITE, ACK and BYE as text, reads responses with indexOf, and does what a UAC
 * must over UDP: retransmits the INVITE (RFC 3261 §17.1.1.2 Timer A) until a provisional or final response,
 * retransmits the BYE (§17.1.2.2 Timer E), and answers a retransmitted 2xx with the same ACK (§13.2.2.4).
 *
 * Setup latency is INVITE sent → first 200 received; teardown latency is BYE sent → its 200. A call fails on a
 * non-2xx final response or when either 200 has not come `timeoutMs` after its request was first sent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { WorkerCommand, WorkerMessage, WorkerReport, WorkerSetup } from './protocol';

const setup = JSON.parse(process.argv[2] ?? '') as WorkerSetup;
const T1 = 500;
const T2 = 4000;
const SWEEP_MS = 20;
const TAG = `w${setup.id}${setup.runId}`;

const enum State {
  Inviting,
  Proceeding,
  Holding,
  Byeing,
}

interface Call {
  callId: string;
  n: number;
  state: State;
  measured: boolean;
  /** performance.now() when the INVITE was first sent, then when the BYE was. */
  sentAt: number;
  deadline: number;
  nextRetransmit: number;
  retransmitInterval: number;
  invite: Buffer;
  ack?: Buffer;
  bye?: Buffer;
  /** The To header of the 2xx (with the UAS's tag) and the URI to send in-dialog requests to. */
  to?: string;
  target?: string;
  holdTimer?: NodeJS.Timeout;
}

const SDP = [
  'v=0', 'o=bench 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 30000 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', '',
].join('\r\n');

const socket: Socket = createSocket('udp4');
let local = '';
const calls = new Map<string, Call>();
let nextCall = 1;

// ---- load control --------------------------------------------------------------------------------------------

let mode: 'idle' | 'rate' | 'concurrency' = 'idle';
let rate = 0;
let concurrency = 0;
let rateStart = 0;
let rateStarted = 0;
let pacer: NodeJS.Timeout | undefined;
let stopping = false;

// ---- the measured window -------------------------------------------------------------------------------------

let measuring = false;
let windowStart = 0;
let windowEnd = 0;
let cpuAtMark: NodeJS.CpuUsage = { user: 0, system: 0 };
let cpuInWindow: NodeJS.CpuUsage = { user: 0, system: 0 };
let report: WorkerReport = emptyReport();

function emptyReport(): WorkerReport {
  return {
    id: setup.id, windowMs: 0, started: 0, completed: 0, failed: {}, setupUs: [], teardownUs: [],
    retransmitted: { invite: 0, bye: 0, ok200Received: 0 }, peerRequests: 0, maxLagMs: 0, datagramsSent: 0, datagramsReceived: 0,
    cpuUserUs: 0, cpuSystemUs: 0,
  };
}

function send(buf: Buffer): void {
  socket.send(buf);
  if (measuring) report.datagramsSent++;
}

// ---- building requests ----------------------------------------------------------------------------------------

const ruri = `sip:bench@${setup.host}:${setup.port}`;

function branch(call: Call, kind: string): string {
  return `z9hG4bK${TAG}.${call.n}${kind}`;
}

function startCall(): void {
  const n = nextCall++;
  const callId = `${n}.${TAG}@127.0.0.1`;
  const call: Call = {
    callId, n, state: State.Inviting, measured: measuring, sentAt: 0, deadline: 0, nextRetransmit: 0, retransmitInterval: T1,
    invite: Buffer.alloc(0),
  };
  call.invite = Buffer.from(
    `INVITE ${ruri} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${local};branch=${branch(call, 'i')};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:gen@${local}>;tag=f${n}\r\n` +
      `To: <${ruri}>\r\n` +
      `Call-ID: ${callId}\r\n` +
      'CSeq: 1 INVITE\r\n' +
      `Contact: <sip:gen@${local}>\r\n` +
      'Content-Type: application/sdp\r\n' +
      `Content-Length: ${SDP.length}\r\n\r\n${SDP}`,
    'latin1',
  );
  calls.set(callId, call);
  const now = performance.now();
  call.sentAt = now;
  call.deadline = now + setup.timeoutMs;
  call.nextRetransmit = now + T1;
  if (call.measured) report.started++;
  send(call.invite);
}

function inDialog(call: Call, method: 'ACK' | 'BYE', seq: number, kind: string, uri = call.target ?? ruri): Buffer {
  return Buffer.from(
    `${method} ${uri} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${local};branch=${branch(call, kind)};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:gen@${local}>;tag=f${call.n}\r\n` +
      `To: ${call.to}\r\n` +
      `Call-ID: ${call.callId}\r\n` +
      `CSeq: ${seq} ${method}\r\n` +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
}

function sendBye(call: Call): void {
  call.holdTimer = undefined;
  call.bye = inDialog(call, 'BYE', 2, 'b');
  call.state = State.Byeing;
  const now = performance.now();
  call.sentAt = now;
  call.deadline = now + setup.timeoutMs;
  call.retransmitInterval = T1;
  call.nextRetransmit = now + T1;
  send(call.bye);
}

function settle(call: Call, failure?: string): void {
  calls.delete(call.callId);
  clearTimeout(call.holdTimer);
  if (call.measured) {
    if (failure === undefined) report.completed++;
    else report.failed[failure] = (report.failed[failure] ?? 0) + 1;
  }
  if (mode === 'concurrency' && !stopping) startCall();
  if (stopping && calls.size === 0) finishReport();
}

// ---- reading what comes back ----------------------------------------------------------------------------------

/** The value of header `name` (as written by the peer, or in lower case), or undefined. */
function header(text: string, name: string): string | undefined {
  let at = text.indexOf(`\r\n${name}:`);
  if (at < 0) at = text.toLowerCase().indexOf(`\r\n${name.toLowerCase()}:`);
  if (at < 0) return undefined;
  const start = at + name.length + 3;
  const end = text.indexOf('\r\n', start);
  return text.slice(start, end < 0 ? undefined : end).trim();
}

function onDatagram(buf: Buffer): void {
  if (measuring) report.datagramsReceived++;
  const text = buf.toString('latin1');
  if (!text.startsWith('SIP/2.0 ')) return answerPeerRequest(text);
  const status = Number(text.slice(8, 11));
  const callId = header(text, 'Call-ID') ?? header(text, 'i');
  const call = callId === undefined ? undefined : calls.get(callId);
  if (!call) {
    // A 2xx retransmitted after the call ended here (its ACK or BYE crossed it): nothing left to do.
    if (measuring && status >= 200 && status < 300) report.retransmitted.ok200Received++;
    return;
  }
  const cseq = header(text, 'CSeq') ?? '';
  const method = cseq.slice(cseq.indexOf(' ') + 1).trim();
  if (method === 'INVITE') onInviteResponse(call, status, text);
  else if (method === 'BYE' && status >= 200 && call.state === State.Byeing) {
    if (call.measured) report.teardownUs.push(Math.round((performance.now() - call.sentAt) * 1000));
    settle(call, status < 300 ? undefined : `${status} BYE`);
  }
}

function onInviteResponse(call: Call, status: number, text: string): void {
  if (status < 200) {
    if (call.state === State.Inviting) call.state = State.Proceeding;
    return;
  }
  const answered = call.state === State.Inviting || call.state === State.Proceeding;
  if (!answered) {
    // A retransmitted final response: §13.2.2.4 (2xx) and §17.1.1.3 (non-2xx) say it gets the same ACK again.
    if (status < 300 && measuring) report.retransmitted.ok200Received++;
    if (call.ack) send(call.ack);
    return;
  }
  call.to = header(text, 'To') ?? header(text, 't');
  if (status >= 300) {
    // §17.1.1.3: the ACK for a non-2xx has the INVITE's branch and Request-URI.
    call.ack = inDialog(call, 'ACK', 1, 'i', ruri);
    send(call.ack);
    return settle(call, `${status} INVITE`);
  }
  const now = performance.now();
  if (call.measured) report.setupUs.push(Math.round((now - call.sentAt) * 1000));
  const contact = header(text, 'Contact') ?? header(text, 'm');
  const lt = contact?.indexOf('<') ?? -1;
  call.target = contact === undefined ? ruri : lt >= 0 ? contact.slice(lt + 1, contact.indexOf('>', lt)) : contact.split(';')[0]!;
  call.ack = inDialog(call, 'ACK', 1, 'a');
  send(call.ack);
  call.state = State.Holding;
  call.deadline = Infinity;
  if (setup.holdMs > 0) call.holdTimer = setTimeout(() => sendBye(call), setup.holdMs);
  else sendBye(call);
}

/** A request from the system under test (say a BYE after it gave up waiting for our ACK): 200, and counted. */
function answerPeerRequest(text: string): void {
  const method = text.slice(0, text.indexOf(' '));
  if (measuring) report.peerRequests++;
  if (method === 'ACK') return;
  const lines = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
  const keep = lines.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
  send(Buffer.from(`SIP/2.0 200 OK\r\n${keep.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, 'latin1'));
  const callId = header(text, 'Call-ID') ?? header(text, 'i');
  const call = callId === undefined ? undefined : calls.get(callId);
  if (call && method === 'BYE') settle(call, 'BYE from peer');
}

// ---- timers: retransmission and failure -----------------------------------------------------------------------

function sweep(): void {
  const now = performance.now();
  for (const call of calls.values()) {
    if (now >= call.deadline) {
      settle(call, call.state === State.Byeing ? 'timeout-teardown' : 'timeout-setup');
      continue;
    }
    if (now < call.nextRetransmit) continue;
    if (call.state === State.Inviting) {
      send(call.invite);
      if (call.measured) report.retransmitted.invite++;
      call.retransmitInterval *= 2;
    } else if (call.state === State.Byeing && call.bye) {
      send(call.bye);
      if (call.measured) report.retransmitted.bye++;
      call.retransmitInterval = Math.min(call.retransmitInterval * 2, T2);
    } else {
      call.nextRetransmit = Infinity;
      continue;
    }
    call.nextRetransmit = now + call.retransmitInterval;
  }
}

function pace(): void {
  const now = performance.now();
  const due = Math.floor(((now - rateStart) * rate) / 1000);
  if (due <= rateStarted) return;
  const lag = now - (rateStart + ((rateStarted + 1) * 1000) / rate);
  if (measuring && lag > report.maxLagMs) report.maxLagMs = lag;
  while (rateStarted < due) {
    rateStarted++;
    startCall();
  }
}

// ---- commands from run.ts -------------------------------------------------------------------------------------

function finishReport(): void {
  if (!stopping) return;
  stopping = false;
  mode = 'idle';
  const done = report;
  done.windowMs = windowEnd - windowStart;
  done.cpuUserUs = cpuInWindow.user;
  done.cpuSystemUs = cpuInWindow.system;
  report = emptyReport();
  process.send!({ type: 'report', report: done } satisfies WorkerMessage);
}

function onCommand(command: WorkerCommand): void {
  switch (command.type) {
    case 'load':
      stopping = false;
      if ('rate' in command) {
        mode = 'rate';
        rate = command.rate;
        rateStart = performance.now();
        rateStarted = 0;
        pacer = setInterval(pace, 1);
      } else {
        mode = 'concurrency';
        concurrency = command.concurrency;
        for (let i = 0; i < concurrency; i++) startCall();
      }
      return;
    case 'mark':
      report = emptyReport();
      measuring = true;
      windowStart = performance.now();
      cpuAtMark = process.cpuUsage();
      return;
    case 'stop':
      cpuInWindow = process.cpuUsage(cpuAtMark);
      windowEnd = performance.now();
      measuring = false;
      clearInterval(pacer);
      pacer = undefined;
      stopping = true;
      if (calls.size === 0) finishReport();
      return;
    case 'exit':
      socket.close();
      process.exit(0);
  }
}

socket.on('message', onDatagram);
socket.on('error', (err) => {
  process.stderr.write(`generator ${setup.id}: ${err.message}\n`);
});
socket.bind(0, '127.0.0.1', () => {
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // Capped by net.core.rmem_max / wmem_max; the default buffer still works at lower rates.
  }
  socket.connect(setup.port, setup.host, () => {
    const address = socket.address();
    local = `${address.address}:${address.port}`;
    setInterval(sweep, SWEEP_MS);
    process.on('message', onCommand);
    process.on('disconnect', () => process.exit(0));
    process.send!({ type: 'ready', port: address.port } satisfies WorkerMessage);
  });
});
