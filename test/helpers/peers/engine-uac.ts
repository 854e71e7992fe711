import { randomId } from '../../../src/lib/index';
import {
  SipRequest, SipUri, type ClientTransaction, type IncomingMessage, type RemoteEndpoint, type SipEngine, type SipResponse,
  type TransportProtocol,
} from '../../../src/sip/index';
import { Waiters } from '../wait';

/** An SDP offer with one PCMU line on a port nobody listens on (no media flows in these tests). */
export function offerSdp(address: string): string {
  return ['v=0', `o=onecc 2 2 IN IP4 ${address}`, 's=onecc offer', `c=IN IP4 ${address}`, 't=0 0', 'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
}

/** What one client transaction got: every response in order, and the way it ended. */
export class Outcome {
  readonly responses: SipResponse[] = [];
  readonly #waiters = new Waiters();
  #error: Error | undefined;

  constructor(readonly tx: ClientTransaction) {
    tx.on('response', (response: SipResponse, _incoming: IncomingMessage) => {
      this.responses.push(response);
      this.#waiters.wake();
    });
    tx.on('timeout', (err) => this.#fail(err));
    tx.on('transportError', (err) => this.#fail(err));
  }

  get statuses(): number[] {
    return this.responses.map((r) => r.status);
  }

  /** The first response with a status in [min, max]; rejects on timeout, transport error or after `timeoutMs`. */
  waitFor(min: number, max = min, timeoutMs = 10_000): Promise<SipResponse> {
    return this.#waiters.until(() => this.responses.find((r) => r.status >= min && r.status <= max), {
      timeoutMs,
      timeout: () => new Error(`no ${min}-${max} to ${this.tx.request.method} within ${timeoutMs} ms; got [${this.statuses.join(', ')}]`),
      failed: () => this.#error,
    });
  }

  final(timeoutMs = 10_000): Promise<SipResponse> {
    return this.waitFor(200, 699, timeoutMs);
  }

  #fail(err: Error): void {
    this.#error = err;
    this.#waiters.wake();
  }
}

export interface EngineUacOptions {
  protocol: TransportProtocol;
  /** The peer's address, as put in the Request-URI. */
  target: { address: string; port: number };
  /** Where every request is really sent (a relay in front of the peer); defaults to the target, then the Contact. */
  via?: RemoteEndpoint;
  /** The Contact the engine puts in its INVITE; defaults to its own listener. */
  contactPort?: number;
}

/**
 * The engine as a UAC, driven by hand the way the drachtio layer will drive it: an INVITE as a client
 * transaction, the ACK for a 2xx sent statelessly (RFC 3261 §13.2.2.4), a BYE as a new client transaction
 * with CSeq + 1 sent to the remote target (§12.2.1.1). One dialog per instance.
 */
export class EngineUac {
  readonly callId = `${randomId(12)}@onecc.test`;
  readonly fromTag = randomId(6);
  #cseq = 0;
  #remoteTarget: SipUri | undefined;
  #toHeader: string | undefined;
  #connectionId: string | undefined;

  constructor(readonly engine: SipEngine, readonly options: EngineUacOptions) {}

  get requestUri(): string {
    const { address, port } = this.options.target;
    const transport = this.options.protocol === 'udp' ? '' : `;transport=${this.options.protocol}`;
    return `sip:netsip@${address}:${port}${transport}`;
  }

  get contact(): string {
    const { protocol } = this.options;
    const port = this.options.contactPort ?? this.engine.transport.localEndpoint(protocol).port;
    return `<sip:onecc@127.0.0.1:${port};transport=${protocol}>`;
  }

  /** An out-of-dialog request (OPTIONS, MESSAGE) with its own Call-ID. */
  request(method: string): Outcome {
    const req = new SipRequest(method, this.requestUri, [
      { name: 'From', value: `<sip:onecc@127.0.0.1>;tag=${randomId(6)}` },
      { name: 'To', value: `<${this.requestUri}>` },
      { name: 'Call-ID', value: `${randomId(12)}@onecc.test` },
      { name: 'CSeq', value: `1 ${method}` },
      { name: 'Contact', value: this.contact },
    ]);
    return this.#send(req, this.#firstHop());
  }

  invite(): Outcome {
    const invite = new SipRequest('INVITE', this.requestUri, [
      { name: 'From', value: `<sip:onecc@127.0.0.1>;tag=${this.fromTag}` },
      { name: 'To', value: `<${this.requestUri}>` },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${++this.#cseq} INVITE` },
      { name: 'Contact', value: this.contact },
      { name: 'Content-Type', value: 'application/sdp' },
    ], Buffer.from(offerSdp('127.0.0.1')));
    const outcome = this.#send(invite, this.#firstHop());
    outcome.tx.on('response', (response: SipResponse) => {
      if (response.status < 200 || response.status >= 300 || this.#toHeader) return;
      // §12.1.2: the dialog's remote target is the 2xx's Contact, its remote tag the 2xx's To tag.
      const contact = response.contacts[0];
      if (contact && contact !== '*' && contact.uri instanceof SipUri) this.#remoteTarget = contact.uri;
      this.#toHeader = response.getHeader('to');
    });
    return outcome;
  }

  /** The ACK for the 2xx (§13.2.2.4): the INVITE's CSeq number, to the remote target, outside any transaction. */
  async ack(): Promise<SipRequest> {
    const ack = this.#inDialog('ACK', this.#cseq);
    await this.engine.transactions.sendStateless(ack, { dest: this.#inDialogHop(), connectionId: this.#connectionId });
    return ack;
  }

  bye(): Outcome {
    return this.#send(this.#inDialog('BYE', ++this.#cseq), this.#inDialogHop());
  }

  #send(request: SipRequest, dest: RemoteEndpoint): Outcome {
    const tx = this.engine.transactions.sendRequest(request, { dest, connectionId: this.#connectionId });
    const outcome = new Outcome(tx);
    tx.on('response', () => {
      this.#connectionId ??= tx.connectionId;
    });
    return outcome;
  }

  #inDialog(method: string, seq: number): SipRequest {
    if (!this.#toHeader) throw new Error(`${method} before a 2xx established the dialog`);
    const uri = this.#remoteTarget ?? this.requestUri;
    return new SipRequest(method, uri.toString(), [
      { name: 'From', value: `<sip:onecc@127.0.0.1>;tag=${this.fromTag}` },
      { name: 'To', value: this.#toHeader },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${seq} ${method}` },
      { name: 'Contact', value: this.contact },
    ]);
  }

  #firstHop(): RemoteEndpoint {
    return this.options.via ?? { protocol: this.options.protocol, ...this.options.target };
  }

  /**
   * The remote target's address, over the dialog's transport: Net::SIP's Contact names no transport
   * parameter even on TCP, so the transport comes from the dialog, not the URI.
   */
  #inDialogHop(): RemoteEndpoint {
    if (this.options.via) return this.options.via;
    const target = this.#remoteTarget;
    if (!target) return this.#firstHop();
    return { protocol: this.options.protocol, address: target.hostAddress, port: target.port ?? 5060 };
  }
}
