import type { SipRequest, SipResponse } from '../message/index';
import type { IncomingMessage, RemoteEndpoint } from '../transport/index';
import { ClientTransaction } from './client-transaction';
import { SipTimeoutError } from './errors';
import { buildAckForFailure, buildCancel } from './request-builders';
import { TransactionState, type TransactionContext } from './transaction';

/** Starts the client transaction for a CANCEL; given by the layer so the CANCEL's responses are matched too. */
export type CancelSender = (cancel: SipRequest, remote: RemoteEndpoint, connectionId?: string) => void;

/** A UA's guard for an INVITE that rings forever: after this long in Proceeding it is cancelled (RFC 3261 §16.6 Timer C, > 3 min). */
const TIMER_C_MS = 180_000;

/**
 * RFC 3261 §17.1.1 INVITE client transaction, with RFC 6026's Accepted state: 2xx responses (and their
 * retransmissions) go to the TU, which sends the ACK for a 2xx; the ACK for 300-699 is sent here.
 */
export class InviteClientTransaction extends ClientTransaction {
  #cancelPending: Array<{ name: string; value: string }> | undefined;
  #cancelled = false;
  #ackBytes: Buffer | undefined;

  constructor(id: string, request: SipRequest, remote: RemoteEndpoint, context: TransactionContext, private readonly sendCancel: CancelSender, connectionId?: string) {
    super(id, request, remote, context, TransactionState.Calling, connectionId);
  }

  start(): void {
    this.sendRequest();
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1."
    if (!this.reliable) this.#armTimerA(this.durations.A);
    // "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.startTimer('B', this.durations.B, () => this.#timeout('Timer B: no response to INVITE'));
  }

  /**
   * Cancels the INVITE (RFC 3261 §9.1). Before any provisional response the CANCEL must wait for one; it
   * is sent as soon as one arrives. Without a final response 64*T1 after the CANCEL, the transaction ends.
   */
  cancel(extraHeaders: Array<{ name: string; value: string }> = []): void {
    if (this.#cancelled || this.terminated || this.state === TransactionState.Accepted || this.state === TransactionState.Completed) return;
    if (this.state === TransactionState.Calling) {
      this.#cancelPending = extraHeaders;
      return;
    }
    this.#sendCancel(extraHeaders);
  }

  receiveResponse(response: SipResponse, incoming: IncomingMessage): void {
    const status = response.status;
    switch (this.state) {
      case TransactionState.Calling:
      case TransactionState.Proceeding:
        if (status < 200) {
          this.stopTimer('A');
          // §17.1.1.2: Timer B only runs in Calling.
          this.stopTimer('B');
          this.setState(TransactionState.Proceeding);
          this.startTimer('C', TIMER_C_MS, () => this.cancel());
          this.safeEmit('response', response, incoming);
          if (this.#cancelPending) this.#sendCancel(this.#cancelPending);
        } else if (status < 300) {
          this.#clearProgressTimers();
          this.setState(TransactionState.Accepted);
          // RFC 6026 §8.4: Timer M absorbs-and-forwards 2xx retransmissions, then the transaction ends.
          this.startTimer('M', this.durations.M, () => this.terminate());
          this.safeEmit('response', response, incoming);
        } else {
          this.#clearProgressTimers();
          this.setState(TransactionState.Completed);
          this.#ackBytes = buildAckForFailure(this.request, response).toRetainedBuffer();
          this.sendBytes(this.#ackBytes);
          this.startTimer('D', this.durations.D, () => this.terminate());
          this.safeEmit('response', response, incoming);
        }
        break;
      case TransactionState.Accepted:
        if (status >= 200 && status < 300) this.safeEmit('response', response, incoming);
        break;
      case TransactionState.Completed:
        // §17.1.1.2: a retransmitted final response is answered with the same ACK and not passed up.
        if (status >= 300 && this.#ackBytes) this.sendBytes(this.#ackBytes);
        break;
      default:
        break;
    }
  }

  #sendCancel(extraHeaders: Array<{ name: string; value: string }>): void {
    this.#cancelled = true;
    this.#cancelPending = undefined;
    this.stopTimer('C');
    this.sendCancel(buildCancel(this.request, extraHeaders), this.remote, this.connectionId);
    this.startTimer('cancel', 64 * this.context.timers.t1, () => this.#timeout('no final response after CANCEL'));
  }

  #armTimerA(interval: number): void {
    this.startTimer('A', interval, () => {
      this.sendRequest();
      this.#armTimerA(interval * 2);
    });
  }

  #clearProgressTimers(): void {
    for (const name of ['A', 'B', 'C', 'cancel']) this.stopTimer(name);
  }

  #timeout(reason: string): void {
    this.safeEmit('timeout', new SipTimeoutError(reason, { callId: this.request.callId, remote: this.remote }));
    this.terminate();
  }
}
