import { randomBytes } from 'node:crypto';

/** Builds SIP requests as raw bytes for tests, with every field that matters to matching spelled out. */

export interface RawRequestSpec {
  method: string;
  /** Default `sip:service@127.0.0.1`. */
  uri?: string;
  /** Whole Via value; when absent one is built from transport, sentBy, branch and rport. */
  via?: string;
  transport?: string;
  /** host:port of the Via. Default `127.0.0.1:5060`. */
  sentBy?: string;
  /** The branch; null leaves it out (RFC 2543 style). Default: a fresh z9hG4bK branch. */
  branch?: string | null;
  /** Adds an empty `rport` parameter (RFC 3581). */
  rport?: boolean;
  /** From tag; null leaves it out. Default: a fresh tag. */
  fromTag?: string | null;
  /** To tag; absent by default. */
  toTag?: string;
  callId?: string;
  cseq?: number;
  /** CSeq method when it differs from the method. */
  cseqMethod?: string;
  maxForwards?: number | null;
  /** Extra header lines, `Name: value`. */
  headers?: string[];
  body?: string | Buffer;
  /** Content-Length to write; null leaves the header out. Default: the body's length. */
  contentLength?: number | null;
}

export function uniqueId(prefix = ''): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

export function newBranch(): string {
  return `z9hG4bK${uniqueId()}`;
}

/** The fields of a request that CANCEL, ACK and retransmissions must repeat. */
export interface RawDialogFields {
  method: string;
  uri: string;
  via: string;
  branch: string | null;
  fromTag: string | null;
  callId: string;
  cseq: number;
}

/** A request as bytes, plus the fields it was built with (to build its ACK or CANCEL). */
export function rawRequest(spec: RawRequestSpec): Buffer & { fields: RawDialogFields } {
  const uri = spec.uri ?? 'sip:service@127.0.0.1';
  const branch = spec.branch === undefined ? newBranch() : spec.branch;
  const via =
    spec.via ??
    `SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '127.0.0.1:5060'}${branch === null ? '' : `;branch=${branch}`}${spec.rport ? ';rport' : ''}`;
  const fromTag = spec.fromTag === undefined ? uniqueId('ft') : spec.fromTag;
  const callId = spec.callId ?? uniqueId('call-');
  const cseq = spec.cseq ?? 1;
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : (spec.body ?? Buffer.alloc(0));
  const lines = [
    `${spec.method} ${uri} SIP/2.0`,
    `Via: ${via}`,
    ...(spec.maxForwards === null ? [] : [`Max-Forwards: ${spec.maxForwards ?? 70}`]),
    `From: <sip:caller@example.com>${fromTag === null ? '' : `;tag=${fromTag}`}`,
    `To: <sip:service@example.com>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${spec.cseqMethod ?? spec.method}`,
    ...(spec.headers ?? []),
    ...(spec.contentLength === null ? [] : [`Content-Length: ${spec.contentLength ?? body.length}`]),
  ];
  const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]);
  return Object.assign(bytes, { fields: { method: spec.method, uri, via, branch, fromTag, callId, cseq } });
}

/** The CANCEL for a request: same Request-URI, Via (so the same branch), From, To, Call-ID and CSeq number. */
export function rawCancel(of: RawDialogFields): Buffer {
  return rawRequest({ method: 'CANCEL', uri: of.uri, via: of.via, branch: of.branch, fromTag: of.fromTag, callId: of.callId, cseq: of.cseq });
}

/**
 * The ACK for a final response to an INVITE. For 300-699 it reuses the INVITE's Via (same branch); for a
 * 2xx pass `branch` for the new transaction the ACK is (RFC 3261 §13.2.2.4).
 */
export function rawAck(of: RawDialogFields, toTag: string | undefined, opts: { branch?: string; sentBy?: string } = {}): Buffer {
  const via = opts.branch === undefined ? of.via : `SIP/2.0/UDP ${opts.sentBy ?? '127.0.0.1:5060'};branch=${opts.branch}`;
  return rawRequest({ method: 'ACK', uri: of.uri, via, fromTag: of.fromTag, toTag, callId: of.callId, cseq: of.cseq });
}

/** The tag parameter of a To or From value. */
export function tagOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /;\s*tag\s*=\s*([^;,\s>]+)/i.exec(value)?.[1];
}

/** A small SDP offer, for INVITE bodies. */
export const SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 49170 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', '',
].join('\r\n');

/** The raw bytes of a SIP response, to send from a peer that plays the UAS. */
export function rawResponse(
  status: number,
  reason: string,
  request: { headers(name: string): string[]; header(name: string): string | undefined },
  opts: { toTag?: string; headers?: string[]; body?: string } = {},
): Buffer {
  const to = request.header('to') ?? '';
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...request.headers('via').map((v) => `Via: ${v}`),
    `From: ${request.header('from') ?? ''}`,
    `To: ${opts.toTag !== undefined && tagOf(to) === undefined ? `${to};tag=${opts.toTag}` : to}`,
    `Call-ID: ${request.header('call-id') ?? ''}`,
    `CSeq: ${request.header('cseq') ?? ''}`,
    ...(opts.headers ?? []),
    `Content-Length: ${Buffer.byteLength(opts.body ?? '')}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${opts.body ?? ''}`);
}
