import type { ClientTransaction, InviteServerTransaction, ServerTransaction, TransactionUser } from '../../src/sip/index';
import type { SipRequest, SipResponse } from '../../src/sip/message/index';
import type { IncomingMessage } from '../../src/sip/transport/index';
import { Inbox } from './raw-peer';

export interface ReceivedRequest {
  request: SipRequest;
  tx: ServerTransaction;
  incoming: IncomingMessage;
}

export interface ReceivedAck {
  ack: SipRequest;
  incoming: IncomingMessage;
  invite: InviteServerTransaction | undefined;
}

/**
 * A transaction user that records what the transaction layer passes up. `answer` (when set) runs on each
 * new request, so a test can respond at once or hold the transaction and respond later.
 */
export class RecordingUser implements TransactionUser {
  readonly requests = new Inbox<ReceivedRequest>();
  readonly acks = new Inbox<ReceivedAck>();
  readonly strays = new Inbox<SipResponse>();

  constructor(private readonly answer?: (request: SipRequest, tx: ServerTransaction) => void) {}

  onRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void {
    this.requests.push({ request, tx, incoming });
    this.answer?.(request, tx);
  }

  onAck(ack: SipRequest, incoming: IncomingMessage, invite?: InviteServerTransaction): void {
    this.acks.push({ ack, incoming, invite });
  }

  onStrayResponse(response: SipResponse): void {
    this.strays.push(response);
  }
}

/** The gaps between consecutive arrival times, in ms. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((at, i) => at - times[i]!);
}

/** The median of some numbers (robust to one late delivery on a loaded machine). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The client transaction's `timeout` or `transportError`, and how long after this call it came; rejects after `ms`. */
export function waitEvent<T>(tx: ClientTransaction, event: 'timeout' | 'transportError', ms: number): Promise<{ value: T; after: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    tx.once(event, (value) => {
      clearTimeout(timer);
      resolve({ value: value as T, after: Date.now() - started });
    });
  });
}
