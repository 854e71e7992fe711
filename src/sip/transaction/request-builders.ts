import { SipRequest, type SipResponse } from '../message/index';

/** Copies the named header fields of `from` into a new list, in order. */
function copyHeaders(from: SipRequest, keys: string[]): Array<{ name: string; value: string }> {
  return keys.flatMap((key) => from.getHeaders(key).map((value) => ({ name: canonical(key), value })));
}

function canonical(key: string): string {
  return { via: 'Via', from: 'From', 'call-id': 'Call-ID', route: 'Route', to: 'To' }[key] ?? key;
}

/**
 * RFC 3261 §17.1.1.3: the ACK a client transaction sends for a 300-699 response. Same Request-URI, Call-ID,
 * From and CSeq number as the INVITE, the To of the response (with its tag), only the INVITE's top Via,
 * and the INVITE's Route headers.
 */
export function buildAckForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest('ACK', invite.uriText, [
    { name: 'Via', value: invite.getHeaders('via')[0]! },
    ...copyHeaders(invite, ['route']),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: invite.getHeader('from')! },
    { name: 'To', value: response.getHeader('to')! },
    { name: 'Call-ID', value: invite.callId },
    { name: 'CSeq', value: `${invite.cseq.seq} ACK` },
  ]);
  return ack;
}

/**
 * RFC 3261 §9.1: a CANCEL has the INVITE's Request-URI, Call-ID, To, From, CSeq number, its top Via only
 * (same branch, so the server matches it to the INVITE) and its Route headers.
 */
export function buildCancel(invite: SipRequest, extraHeaders: Array<{ name: string; value: string }> = []): SipRequest {
  return new SipRequest('CANCEL', invite.uriText, [
    { name: 'Via', value: invite.getHeaders('via')[0]! },
    ...copyHeaders(invite, ['route']),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: invite.getHeader('from')! },
    { name: 'To', value: invite.getHeader('to')! },
    { name: 'Call-ID', value: invite.callId },
    { name: 'CSeq', value: `${invite.cseq.seq} CANCEL` },
    ...extraHeaders,
  ]);
}
