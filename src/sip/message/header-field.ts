/** One header field line as received or as it will be sent: the name as written, the unfolded value. */
export interface HeaderField {
  name: string;
  value: string;
}

/** RFC 3261 §7.3.3 compact forms, plus those registered since (RFC 3515, 3892, 3265, 4028, 3841, 4474). */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from',
  s: 'subject', k: 'supported', t: 'to', v: 'via', r: 'refer-to', b: 'referred-by', o: 'event',
  u: 'allow-events', x: 'session-expires', a: 'accept-contact', j: 'reject-contact', d: 'request-disposition',
  y: 'identity', n: 'identity-info',
};

/** The key a header is looked up by: lowercase, compact form expanded. Header names are case-insensitive. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version',
  'rack': 'RAck', 'rseq': 'RSeq',
};

/** The conventional spelling of a header name, for headers onecc itself adds. */
export function canonicalHeaderName(name: string): string {
  const key = headerKey(name);
  return CANONICAL[key] ?? key.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

/**
 * Headers whose value is a comma-separated list that may be split into several fields and joined again
 * without changing meaning (RFC 3261 §7.3.1). Authorization-style headers and Date are not among them.
 */
export const LIST_HEADERS = new Set([
  'via', 'contact', 'route', 'record-route', 'allow', 'supported', 'require', 'proxy-require', 'unsupported',
  'accept', 'accept-encoding', 'accept-language', 'content-encoding', 'allow-events', 'path', 'service-route',
  'in-reply-to', 'alert-info', 'call-info', 'error-info', 'warning', 'reason', 'p-asserted-identity',
]);

/** Headers that may appear at most once in a message (RFC 3261 §20 and RFC 4475 §3.3.8). */
export const SINGLE_HEADERS = ['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type'];
