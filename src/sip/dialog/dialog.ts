import { NameAddr, SipRequest, SipUri, type HeaderField, type SipResponse, type Uri } from '../message/index';
import type { RemoteEndpoint } from '../transport/index';

export enum DialogState {
  Early = 'early',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}

/**
 * One dialog (RFC 3261 §12): the state both ends keep between requests. `id` is drachtio's form,
 * `<Call-ID>;from-tag=<From tag of the request that created the dialog>`.
 */
export class Dialog {
  state = DialogState.Early;
  /** The INVITE's CSeq, for the ACK; 0 when the dialog was not created by an INVITE. */
  inviteSeq = 0;
  /** Bytes of the last ACK for a 2xx we sent, re-sent if the 2xx is retransmitted (§13.2.2.4). */
  lastAck: Buffer | undefined;
  /**
   * Authorization and Proxy-Authorization of the last INVITE we sent in this dialog: §13.2.2.4 "The ACK MUST
   * contain the same credentials as the INVITE."
   */
  inviteCredentials: HeaderField[] = [];
  /** Session-Expires interval in seconds (RFC 4028), 0 when none was negotiated. */
  sessionExpires = 0;
  lastRefresh = Date.now();

  constructor(
    readonly id: string,
    readonly role: 'uac' | 'uas',
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** The local and remote URIs with display names, as in From/To (without tags). */
    readonly local: NameAddr,
    readonly remote: NameAddr,
    public localSeq: number,
    public remoteSeq: number,
    public remoteTarget: Uri,
    /** Route set in the order requests carry it (§12.1.1 UAS: as in Record-Route; §12.1.2 UAC: reversed). */
    readonly routeSet: string[],
    public localContact: string,
    /** How the dialog's peer is reached when the route set and target give no better answer (its connection). */
    public transport: RemoteEndpoint,
    public connectionId: string | undefined,
  ) {}

  /** RFC 3261 §12.1.1: the UAS side, from the request and the 2xx (or reliable 1xx) it sent. */
  static fromUas(request: SipRequest, response: SipResponse, remote: RemoteEndpoint, connectionId?: string): Dialog {
    const contact = request.contacts[0];
    const target = contact && contact !== '*' ? contact.uri : request.from.uri;
    const dialog = new Dialog(
      dialogId(request.callId, request.from.tag ?? ''), 'uas', request.callId, response.to.tag ?? '', request.from.tag ?? '',
      withoutTag(response.to), withoutTag(request.from), 0, request.cseq.seq, target, request.getHeaders('record-route'),
      response.getHeader('contact') ?? '', remote, connectionId,
    );
    if (request.method === 'INVITE') dialog.inviteSeq = request.cseq.seq;
    return dialog;
  }

  /** RFC 3261 §12.1.2: the UAC side, from the request it sent and the 2xx (or reliable 1xx) that came back. */
  static fromUac(request: SipRequest, response: SipResponse, remote: RemoteEndpoint, connectionId?: string): Dialog {
    const contact = response.contacts[0];
    const target = contact && contact !== '*' ? contact.uri : request.uri;
    const dialog = new Dialog(
      dialogId(request.callId, request.from.tag ?? ''), 'uac', request.callId, request.from.tag ?? '', response.to.tag ?? '',
      withoutTag(request.from), withoutTag(response.to), request.cseq.seq, 0, target, response.getHeaders('record-route').reverse(),
      request.getHeader('contact') ?? '', remote, connectionId,
    );
    if (request.method === 'INVITE') {
      dialog.inviteSeq = request.cseq.seq;
      dialog.inviteCredentials = credentialsOf(request);
    }
    return dialog;
  }

  /**
   * Builds a request inside the dialog (§12.2.1.1): Request-URI = remote target, Route = route set,
   * From/To with the dialog's tags, the next CSeq (the INVITE's for an ACK).
   */
  createRequest(method: string, headers: HeaderField[] = [], body?: Buffer): SipRequest {
    const seq = method === 'ACK' || method === 'CANCEL' ? this.inviteSeq : ++this.localSeq;
    const from = this.local.clone();
    from.tag = this.localTag;
    const to = this.remote.clone();
    to.tag = this.remoteTag;
    const fields: HeaderField[] = [
      ...this.routeSet.map((value) => ({ name: 'Route', value })),
      { name: 'From', value: from.toString() },
      { name: 'To', value: to.toString() },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${seq} ${method}` },
      { name: 'Max-Forwards', value: '70' },
      ...headers,
    ];
    return new SipRequest(method, this.remoteTarget.toString(), fields, body);
  }

  /** Where an in-dialog request goes: the first Route if the route set is not empty, else the remote target. */
  nextHop(): Uri {
    const first = this.routeSet[0];
    return first ? NameAddr.parse(first).uri : this.remoteTarget;
  }

  /** §12.2: a target refresh request or its 2xx updates the remote target from its Contact. */
  refreshTarget(contactValue: string | undefined): void {
    if (!contactValue) return;
    try {
      const contact = NameAddr.parse(contactValue);
      if (contact.uri instanceof SipUri) this.remoteTarget = contact.uri;
    } catch {
      // A bad Contact in a refresh leaves the old target, which still works.
    }
  }
}

/** The Authorization and Proxy-Authorization header fields of a request. */
export function credentialsOf(request: SipRequest): HeaderField[] {
  return request.headers.filter((h) => /^(authorization|proxy-authorization)$/i.test(h.name)).map((h) => ({ ...h }));
}

export function dialogId(callId: string, fromTag: string): string {
  return `${callId};from-tag=${fromTag}`;
}

function withoutTag(address: NameAddr): NameAddr {
  const copy = address.clone();
  copy.tag = undefined;
  return copy;
}
