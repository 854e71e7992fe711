import { randomId } from '../../lib/index';
import type { HeaderField } from './header-field';
import { SipResponse, type SipRequest } from './sip-message';

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted', 300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 491: 'Request Pending', 500: 'Server Internal Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Server Time-out', 505: 'Version Not Supported',
  513: 'Message Too Large', 603: 'Decline',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? 'Progress' : status < 300 ? 'OK' : 'Error');
}

/**
 * RFC 3261 §8.2.6.2: a response copies the request's Via fields (in order), From, Call-ID and CSeq, and its
 * To, adding a tag to the To unless it has one or the response is a 100.
 */
export function createResponse(request: SipRequest, status: number, reason = reasonPhrase(status), toTag?: string): SipResponse {
  const headers: HeaderField[] = [];
  for (const value of request.getHeaders('via')) headers.push({ name: 'Via', value });
  headers.push({ name: 'From', value: request.getHeader('from')! });
  const to = request.to.clone();
  if (to.tag === undefined && status > 100) to.tag = toTag ?? randomId();
  headers.push({ name: 'To', value: to.tag === request.to.tag ? request.getHeader('to')! : to.toString() });
  headers.push({ name: 'Call-ID', value: request.callId });
  headers.push({ name: 'CSeq', value: `${request.cseq.seq} ${request.cseq.method}` });
  return new SipResponse(status, reason, headers);
}
