import { SipParseError, SipSyntaxError, type RawMessage } from './errors';
import { SINGLE_HEADERS, canonicalHeaderName, headerKey, type HeaderField } from './header-field';
import { isToken } from './scanner';
import { SipRequest, SipResponse, type SipMessageAny } from './sip-message';
import { SipUri, parseUri } from './uri';

export interface ParseLimits {
  maxMessageBytes: number;
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxMessageBytes: 65535, maxHeaders: 200 };

/** Methods this SIP stack knows (RFC 3261, 3262, 3265, 3311, 3428, 3515, 3903, 6086). */
export const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO',
  'REFER', 'MESSAGE', 'UPDATE',
]);

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/** Where the header section ends: the index of the empty line's terminator and the body's first byte. */
export function findHeaderEnd(buf: Buffer, from = 0): { headEnd: number; bodyStart: number } | undefined {
  const crlf = buf.indexOf(CRLFCRLF, from);
  const lf = buf.indexOf(LFLF, from);
  if (crlf >= 0 && (lf < 0 || crlf <= lf + 1)) return { headEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return undefined;
}

/**
 * Parses one SIP message. `datagram` selects UDP framing (RFC 3261 §18.3): a missing Content-Length means
 * "the rest of the datagram", octets past Content-Length are ignored, and a datagram without the empty line
 * ending the header section is read to its end. On a stream transport the framer has already cut exactly
 * one message. Throws SipParseError with the status to answer and, when it could be read, the raw form.
 */
export function parseMessage(buf: Buffer, datagram: boolean, limits: ParseLimits = DEFAULT_LIMITS): SipMessageAny {
  let start = 0;
  // §7.5: CRLFs before the start line are ignored.
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  const end = findHeaderEnd(buf, start);
  if (!end && !datagram) throw new SipParseError(400, 'Incomplete header section');
  const headEnd = end?.headEnd ?? buf.length;
  const bodyStart = end?.bodyStart ?? buf.length;

  const raw = readHeaderSection(buf.toString('utf8', start, headEnd));
  if (raw.headers.length > limits.maxHeaders) throw new SipParseError(513, 'Message Too Large (too many header fields)', raw);

  const body = readBody(buf, bodyStart, datagram, raw);
  if (bodyStart - start + body.length > limits.maxMessageBytes) throw new SipParseError(513, 'Message Too Large', raw);

  const message = raw.isRequest ? buildRequest(raw, body) : buildResponse(raw, body);
  validate(message, raw);
  return message;
}

/** Reads the start line and header fields (unfolded) without judging their values. */
export function readHeaderSection(text: string): RawMessage {
  const lines = text.split(/\r?\n/);
  const startLine = lines[0] ?? '';
  const isRequest = !startLine.startsWith('SIP/');
  const raw: RawMessage = { startLine, isRequest, headers: [] };
  if (isRequest) raw.method = startLine.split(' ', 1)[0];
  if (startLine.length === 0) throw new SipParseError(400, 'Empty start line');

  const headers: HeaderField[] = [];
  let pending: string | undefined;
  const flush = (): void => {
    if (pending === undefined) return;
    const colon = pending.indexOf(':');
    const name = colon > 0 ? trimLws(pending.slice(0, colon)) : '';
    if (!isToken(name)) throw new SipParseError(400, `Malformed header line: ${printable(pending)}`, raw);
    headers.push({ name, value: trimLws(pending.slice(colon + 1)) });
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // Only a datagram cut before its empty line can end in one; there is nothing to read in it.
    if (line.length === 0) continue;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // §7.3.1 line folding: a continuation line joins the previous field with its white space as one SP.
      if (pending === undefined) throw new SipParseError(400, 'Continuation line before any header', raw);
      pending += ` ${trimLws(line)}`;
      continue;
    }
    flush();
    pending = line;
  }
  flush();
  raw.headers = headers;
  return raw;
}

/**
 * Strips SP and HTAB from both ends, in one pass. Not String#trim, which also eats U+FEFF and U+00A0 at the
 * edges of a UTF-8 value (RFC 4475 §3.1.1.2), nor /[ \t]+$/, which backtracks quadratically on long blank runs.
 */
function trimLws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function readBody(buf: Buffer, bodyStart: number, datagram: boolean, raw: RawMessage): Buffer {
  const values = raw.headers.filter((h) => headerKey(h.name) === 'content-length').map((h) => h.value);
  const available = buf.length - bodyStart;
  if (values.length === 0) {
    // §18.3: over UDP the body is the rest of the datagram; a stream must carry Content-Length.
    if (datagram || available === 0) return buf.subarray(bodyStart);
    throw new SipParseError(400, 'Content-Length is required on stream transports', raw);
  }
  const length = parseContentLength(values, raw);
  if (length > available) throw new SipParseError(400, `Content-Length ${length} is larger than the body (${available} octets)`, raw);
  if (!datagram && length < available) throw new SipParseError(400, 'Content-Length is smaller than the body', raw);
  return buf.subarray(bodyStart, bodyStart + length);
}

export function parseContentLength(values: string[], raw?: RawMessage): number {
  if (values.some((v) => v !== values[0])) throw new SipParseError(400, 'Conflicting Content-Length values', raw);
  if (!/^[0-9]{1,10}$/.test(values[0]!)) throw new SipParseError(400, `Bad Content-Length: ${printable(values[0]!)}`, raw);
  return Number(values[0]);
}

function buildRequest(raw: RawMessage, body: Buffer): SipRequest {
  const parts = raw.startLine.split(' ');
  // §7.1: elements are separated by single SP; extra SP, LWS or a trailing SP makes it malformed (RFC 4475 §3.1.2.8-10).
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) throw new SipParseError(400, 'Malformed Request-Line', raw);
  const [method, uriText, version] = parts as [string, string, string];
  if (!isToken(method)) throw new SipParseError(400, 'Malformed method in Request-Line', raw);
  checkVersion(version, raw);
  let uri;
  try {
    uri = parseUri(uriText);
  } catch (err) {
    throw new SipParseError(400, `Bad Request-URI: ${reasonOf(err)}`, raw);
  }
  // §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
  if (uri instanceof SipUri && uri.headers !== undefined) throw new SipParseError(400, 'Request-URI must not contain headers', raw);
  const request = new SipRequest(method, uriText, raw.headers, body);
  request.uri = uri;
  return request;
}

function buildResponse(raw: RawMessage, body: Buffer): SipResponse {
  const m = /^(SIP\/[^ ]+) ([0-9]{3}) (.*)$/.exec(raw.startLine);
  if (!m) throw new SipParseError(400, 'Malformed Status-Line', raw);
  checkVersion(m[1]!, raw);
  const status = Number(m[2]);
  // §7.2: six classes, 1xx to 6xx; RFC 4475 §3.1.2.19 drops a response whose code is larger than 699.
  if (status < 100 || status > 699) throw new SipParseError(400, 'Status code out of range', raw);
  return new SipResponse(status, m[3]!, raw.headers, body);
}

function checkVersion(version: string, raw: RawMessage): void {
  if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) throw new SipParseError(400, 'Malformed SIP-Version', raw);
  if (version.toUpperCase() !== 'SIP/2.0') throw new SipParseError(505, 'Version Not Supported', raw);
}

/** The checks of RFC 3261 §8.2 and §16.3 that any element must make before it can use a message. */
function validate(message: SipMessageAny, raw: RawMessage): void {
  for (const key of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!message.hasHeader(key)) throw new SipParseError(400, `Missing ${canonicalHeaderName(key)} header`, raw);
  }
  for (const key of SINGLE_HEADERS) {
    if (message.getHeaders(key).length > 1) throw new SipParseError(400, `More than one ${canonicalHeaderName(key)} header`, raw);
  }
  let current = 'Via';
  try {
    message.vias;
    current = 'From';
    message.from;
    current = 'To';
    message.to;
    current = 'CSeq';
    message.cseq;
    current = 'Contact';
    message.contacts;
  } catch (err) {
    throw new SipParseError(400, `Bad ${current} header: ${reasonOf(err)}`, raw);
  }
  if (!/^[\x21-\x7e]+$/.test(message.callId)) throw new SipParseError(400, 'Bad Call-ID header', raw);
  const maxForwards = message.getHeader('max-forwards');
  if (maxForwards !== undefined && (!/^[0-9]{1,10}$/.test(maxForwards) || Number(maxForwards) > 255)) {
    throw new SipParseError(400, 'Bad Max-Forwards header', raw);
  }
  if (message instanceof SipRequest && message.cseq.method !== message.method) {
    // RFC 4475 §3.1.2.18 prefers 501 when the method itself is one this element does not know.
    const status = KNOWN_METHODS.has(message.method) ? 400 : 501;
    throw new SipParseError(status, status === 501 ? 'Not Implemented' : 'CSeq method does not match the Request-Line', raw);
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof SipSyntaxError || err instanceof SipParseError) return err.message;
  throw err;
}

/** Keeps a reason phrase to printable text: it is echoed into a response line and into logs. */
export function printable(text: string, max = 80): string {
  return text.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, max);
}
