import { InvalidStateError } from '../../lib/index';
import type { SipResponse } from '../message/index';
import type { IncomingMessage } from '../transport/index';
import { ServerTransaction } from './server-transaction';
import { TransactionState, type TransactionContext } from './transaction';

/** RFC 3261 §17.2.2 non-INVITE server transaction (Figure 8). */
export class NonInviteServerTransaction extends ServerTransaction {
  constructor(id: string, incoming: IncomingMessage, context: TransactionContext) {
    super(id, incoming, context, TransactionState.Trying);
  }

  respond(response: SipResponse): void {
    if (this.state !== TransactionState.Trying && this.state !== TransactionState.Proceeding) {
      throw new InvalidStateError(`cannot send ${response.status} in state ${this.state}`, { tx: this.id });
    }
    this.transmit(response);
    if (response.status < 200) {
      this.setState(TransactionState.Proceeding);
      return;
    }
    this.setState(TransactionState.Completed);
    // Timer J keeps the final response for retransmitted requests: 64*T1 on UDP, none on reliable transports.
    this.startTimer('J', this.durations.J, () => this.terminate());
  }

  receiveRetransmission(): void {
    // §17.2.2: retransmissions in Trying are discarded; in Proceeding and Completed the last response is re-sent.
    if (this.state !== TransactionState.Trying) this.resend();
  }
}
