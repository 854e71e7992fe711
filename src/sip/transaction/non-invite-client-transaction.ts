import type { SipRequest, SipResponse } from '../message/index';
import type { IncomingMessage, RemoteEndpoint } from '../transport/index';
import { ClientTransaction } from './client-transaction';
import { SipTimeoutError } from './errors';
import { TransactionState, type TransactionContext } from './transaction';

/** RFC 3261 §17.1.2 non-INVITE client transaction (Figure 6). */
export class NonInviteClientTransaction extends ClientTransaction {
  constructor(id: string, request: SipRequest, remote: RemoteEndpoint, context: TransactionContext, connectionId?: string) {
    super(id, request, remote, context, TransactionState.Trying, connectionId);
  }

  start(): void {
    this.sendRequest();
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
    if (!this.reliable) this.#armTimerE(this.durations.E);
    this.startTimer('F', this.durations.F, () => {
      this.safeEmit('timeout', new SipTimeoutError(`Timer F: no final response to ${this.request.method}`, { callId: this.request.callId, remote: this.remote }));
      this.terminate();
    });
  }

  receiveResponse(response: SipResponse, incoming: IncomingMessage): void {
    if (this.state !== TransactionState.Trying && this.state !== TransactionState.Proceeding) return;
    if (response.status < 200) {
      this.setState(TransactionState.Proceeding);
      this.safeEmit('response', response, incoming);
      return;
    }
    this.stopTimer('E');
    this.stopTimer('F');
    this.setState(TransactionState.Completed);
    this.startTimer('K', this.durations.K, () => this.terminate());
    this.safeEmit('response', response, incoming);
  }

  #armTimerE(interval: number): void {
    this.startTimer('E', interval, () => {
      this.sendRequest();
      // "If Timer E fires while in the Proceeding state, ... Timer E MUST be reset with a value of T2 seconds."
      const next = this.state === TransactionState.Proceeding ? this.durations.T2 : Math.min(interval * 2, this.durations.T2);
      this.#armTimerE(next);
    });
  }
}
