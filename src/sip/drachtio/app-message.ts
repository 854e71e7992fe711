import {
  SipParseError, SipRequest, SipResponse, findHeaderEnd, formatHostPort, headerKey, readHeaderSection, type HeaderField, type SipMessageAny,
} from '../message/index';
import type { Endpoint, RemoteEndpoint } from '../transport/index';

/**
 * Reads the SIP text an application sends. It is deliberately partial (srf leaves out Via, CSeq, To,
 * Call-ID... for the engine to fill in), so only the start line and header syntax are checked here.
 */
export function parseAppSip(text: string): SipMessageAny {
  const buf = Buffer.from(text, 'utf8');
  const end = findHeaderEnd(buf);
  const head = buf.toString('utf8', 0, end?.headEnd ?? buf.length);
  const body = end ? buf.subarray(end.bodyStart) : Buffer.alloc(0);
  const raw = readHeaderSection(head);
  if (!raw.isRequest) {
    const m = /^SIP\/2\.0 ([1-6][0-9]{2})(?: (.*))?$/.exec(raw.startLine);
    if (!m) throw new SipParseError(400, 'malformed status line');
    return new SipResponse(Number(m[1]), m[2] ?? '', raw.headers, body);
  }
  const parts = raw.startLine.split(' ');
  if (parts.length !== 3 || parts[2] !== 'SIP/2.0') throw new SipParseError(400, 'malformed request line');
  return new SipRequest(parts[0]!, parts[1]!, raw.headers, body);
}

/** Headers the engine always sets itself (drachtio.cpp m_setImmutableHdrs). */
const IMMUTABLE = new Set(['via', 'route', 'record-route', 'rseq', 'content-length']);

/** Application headers to copy onto an outgoing message, leaving out the immutable ones and `also`. */
export function appHeaders(message: SipMessageAny, also: readonly string[] = []): HeaderField[] {
  const skip = new Set([...IMMUTABLE, ...also]);
  return message.headers.filter((h) => !skip.has(headerKey(h.name)) && !/[\r\n]/.test(h.value));
}

/** srf writes `sip:user@localhost`; the engine puts its own SIP address there (drachtio §7). */
export function replaceLocalhost(value: string, local: Endpoint): string {
  return value.replace(/@localhost(?=[>;:]|$)(:[0-9]+)?/g, `@${formatHostPort(local.address, local.port)}`);
}

export function defaultContact(local: Endpoint, protocol: string): string {
  return `<sip:${formatHostPort(local.address, local.port)};transport=${protocol}>`;
}

/** drachtio §5.3: a body without Content-Type is SDP when it starts with v=0. */
export function ensureContentType(message: SipMessageAny): boolean {
  if (message.body.length === 0 || message.hasHeader('content-type')) return true;
  if (message.body.subarray(0, 3).toString('latin1') !== 'v=0') return false;
  message.setHeader('Content-Type', 'application/sdp');
  return true;
}

/** `HH:MM:SS.uuuuuu`, UTC time of day, as in drachtio's leader. */
export function wireTime(date = new Date()): string {
  const iso = date.toISOString();
  return `${iso.slice(11, 19)}.${iso.slice(20, 23)}000`;
}

/**
 * The leader of a `sip` message to an application (drachtio §4):
 * `sip|<source>|<bytes>|<protocol>|<address>|<port>|<time>|<transactionId>|<dialogId>|[<recvAddr>|<recvPort>|]`.
 */
export function sipLeader(
  source: 'network' | 'application', bytes: number, remote: RemoteEndpoint, transactionId: string, dialogId: string, receivedOn?: Endpoint,
): string {
  const recv = receivedOn ? `${receivedOn.address}|${receivedOn.port}|` : '';
  return `sip|${source}|${bytes}|${remote.protocol}|${remote.address}|${remote.port}|${wireTime()}|${transactionId}|${dialogId}|${recv}`;
}

/** The `OK|application|...|Msg sent:|` reply echoing what the engine put on the wire (drachtio §5.1, §5.2). */
export function sentReply(bytes: number, protocol: string, address: string, port: number, transactionId: string, dialogId: string): string {
  return `OK|application|${bytes}|${protocol}|${address}|${port}|${wireTime()}|${transactionId}|${dialogId}||Msg sent:|`;
}
