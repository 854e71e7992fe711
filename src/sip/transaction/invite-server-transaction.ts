import { InvalidStateError } from '../../lib/index';
import { createResponse, type SipRequest, type SipResponse } from '../message/index';
import type { IncomingMessage } from '../transport/index';
import { ServerTransaction } from './server-transaction';
import { TransactionState, type TransactionContext } from './transaction';

/**
 * RFC 3261 §17.2.1 INVITE server transaction with RFC 6026's Accepted state. It answers 100 Trying at once,
 * retransmits 300-699 on Timer G until the ACK, and also retransmits a 2xx until the TU reports its ACK:
 * RFC 3261 §13.3.1.4 gives that job to the UAS core, and keeping it here puts every retransmission timer in
 * one place.
 */
export class InviteServerTransaction extends ServerTransaction {
  #acked = false;

  constructor(id: string, incoming: IncomingMessage, context: TransactionContext) {
    super(id, incoming, context, TransactionState.Proceeding);
    // §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it knows that the TU will
    // generate a provisional or final response within 200 ms". It cannot know, so it always does.
    this.transmit(createResponse(this.request, 100, 'Trying'));
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state !== TransactionState.Proceeding) {
      // A 2xx retransmitted by the TU in Accepted is the only late response allowed (RFC 6026 §7.1).
      if (this.state === TransactionState.Accepted && status >= 200 && status < 300) return this.transmit(response);
      throw new InvalidStateError(`cannot send ${status} in state ${this.state}`, { tx: this.id });
    }
    this.transmit(response);
    if (status < 200) return;
    if (status < 300) {
      this.setState(TransactionState.Accepted);
      if (!this.reliable) this.#armRetransmit(this.durations.G);
      this.startTimer('L', this.durations.L, () => {
        if (!this.#acked) this.safeEmit('ackTimeout');
        this.terminate();
      });
      return;
    }
    this.setState(TransactionState.Completed);
    if (!this.reliable) this.#armRetransmit(this.durations.G);
    this.startTimer('H', this.durations.H, () => {
      // "If timer H fires while in the Completed state, it implies that the ACK was never received."
      this.safeEmit('ackTimeout');
      this.terminate();
    });
  }

  receiveRetransmission(): void {
    // §17.2.1: in Proceeding and Completed a retransmitted INVITE gets the last response again.
    if (this.state === TransactionState.Proceeding || this.state === TransactionState.Completed || this.state === TransactionState.Accepted) this.resend();
  }

  /** The ACK for a 300-699 response (same branch) arrived. */
  receiveAck(): void {
    if (this.state !== TransactionState.Completed) return;
    this.stopTimer('G');
    this.stopTimer('H');
    this.setState(TransactionState.Confirmed);
    this.startTimer('I', this.durations.I, () => this.terminate());
  }

  /** The TU's ACK for our 2xx arrived (matched by dialog, not branch): stop retransmitting the 2xx. */
  acknowledge2xx(): void {
    this.#acked = true;
    this.stopTimer('G');
  }

  get awaitingAck(): boolean {
    return this.state === TransactionState.Accepted && !this.#acked;
  }

  /** A matching CANCEL: only an INVITE still proceeding is affected; it gets 487 (RFC 3261 §9.2). */
  cancel(cancelRequest: SipRequest): boolean {
    if (this.state !== TransactionState.Proceeding) return false;
    this.safeEmit('cancel', cancelRequest);
    if (this.state === TransactionState.Proceeding) this.respond(createResponse(this.request, 487, 'Request Terminated', this.toTag));
    return true;
  }

  #armRetransmit(interval: number): void {
    // Timer G: T1, doubling, at most T2.
    this.startTimer('G', interval, () => {
      this.resend();
      this.#armRetransmit(Math.min(interval * 2, this.durations.T2));
    });
  }
}
