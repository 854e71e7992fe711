import { SipRequest, type HeaderField, type SipResponse } from '../message/index';

/**
 * A request that belongs to the INVITE's transaction: same Request-URI, only the INVITE's top Via (same
 * branch), its Route headers, From, Call-ID and CSeq number, with `method` and the given To.
 */
function withinInviteTransaction(invite: SipRequest, method: string, to: string, extraHeaders: HeaderField[] = []): SipRequest {
  return new SipRequest(method, invite.uriText, [
    { name: 'Via', value: invite.getHeaders('via')[0]! },
    ...invite.getHeaders('route').map((value) => ({ name: 'Route', value })),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: invite.getHeader('from')! },
    { name: 'To', value: to },
    { name: 'Call-ID', value: invite.callId },
    { name: 'CSeq', value: `${invite.cseq.seq} ${method}` },
    ...extraHeaders,
  ]);
}

/** RFC 3261 §17.1.1.3: the ACK a client transaction sends for a 300-699 response carries the response's To (with its tag). */
export function buildAckForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  return withinInviteTransaction(invite, 'ACK', response.getHeader('to')!);
}

/** RFC 3261 §9.1: a CANCEL carries the INVITE's own To, so the server matches it to the INVITE. */
export function buildCancel(invite: SipRequest, extraHeaders: HeaderField[] = []): SipRequest {
  return withinInviteTransaction(invite, 'CANCEL', invite.getHeader('to')!, extraHeaders);
}
