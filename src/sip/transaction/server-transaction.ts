import type { SipRequest, SipResponse } from '../message/index';
import { SipTransportError, type IncomingMessage } from '../transport/index';
import { Transaction, type TransactionContext, type TransactionEvents, type TransactionState } from './transaction';

export interface ServerTransactionEvents extends TransactionEvents {
  transportError: [SipTransportError];
  /** INVITE only: a matching CANCEL arrived while the INVITE was still proceeding; a 487 has been sent. */
  cancel: [SipRequest];
  /** INVITE only: no ACK came for the final response (Timer H, or Timer L after a 2xx). */
  ackTimeout: [];
}

/** What the INVITE and non-INVITE server transactions share: where responses go, and the last one sent. */
export abstract class ServerTransaction extends Transaction<ServerTransactionEvents> {
  protected lastResponse: Buffer | undefined;
  protected lastStatus = 0;
  /** The To tag of the responses sent so far; a transaction answers with one tag. */
  toTag: string | undefined;

  protected constructor(id: string, readonly incoming: IncomingMessage, context: TransactionContext, initial: TransactionState) {
    super(id, incoming.message as SipRequest, incoming.remote, context, initial);
  }

  /** The status of the last response sent, 0 before any. */
  get status(): number {
    return this.lastStatus;
  }

  /** Sends a response from the TU; the state machine decides what else follows (timers, retransmissions). */
  abstract respond(response: SipResponse): void;
  /** The layer matched a retransmission of this transaction's request. */
  abstract receiveRetransmission(): void;

  protected transmit(response: SipResponse): void {
    this.lastStatus = response.status;
    this.toTag ??= response.to.tag;
    this.lastResponse = response.toRetainedBuffer();
    this.resend();
    // After the final response the transaction only absorbs retransmissions for 64*T1: keep the request's text.
    if (response.status >= 200) this.request.releaseViews();
  }

  protected resend(): void {
    if (!this.lastResponse) return;
    this.context.transport.sendResponse(this.lastResponse, this.request.topVia, this.remote, this.incoming.connectionId).catch((err: unknown) => {
      if (this.terminated) return;
      const error = err instanceof SipTransportError ? err : new SipTransportError('send failed', {}, err);
      this.log.debug({ err: error }, 'transport error sending response');
      this.safeEmit('transportError', error);
      this.terminate();
    });
  }
}
