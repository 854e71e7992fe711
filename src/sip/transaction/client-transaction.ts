import type { SipRequest, SipResponse } from '../message/index';
import { SipTransportError, type IncomingMessage, type RemoteEndpoint } from '../transport/index';
import type { SipTimeoutError } from './errors';
import { Transaction, type TransactionContext, type TransactionEvents, type TransactionState } from './transaction';

export interface ClientTransactionEvents extends TransactionEvents {
  /** Every response passed up to the TU: provisional, final, and (INVITE, Accepted) 2xx retransmissions. */
  response: [SipResponse, IncomingMessage];
  timeout: [SipTimeoutError];
  transportError: [SipTransportError];
}

/** What the INVITE and non-INVITE client transactions share: sending over one connection, and failing on transport errors. */
export abstract class ClientTransaction extends Transaction<ClientTransactionEvents> {
  /** The stream connection the request went out on; the ACK and CANCEL follow it. */
  connectionId: string | undefined;
  readonly #bytes: Buffer;

  protected constructor(id: string, request: SipRequest, remote: RemoteEndpoint, context: TransactionContext, initial: TransactionState, connectionId?: string) {
    super(id, request, remote, context, initial);
    this.connectionId = connectionId;
    this.#bytes = request.toRetainedBuffer();
  }

  abstract start(): void;
  abstract receiveResponse(response: SipResponse, incoming: IncomingMessage): void;

  protected sendRequest(): void {
    this.sendBytes(this.#bytes);
  }

  /** Sends and, on a transport error, tells the TU and terminates (RFC 3261 §17.1.4). */
  protected sendBytes(bytes: Buffer): void {
    this.context.transport.send(bytes, this.remote, this.connectionId).then(
      ({ connectionId }) => {
        this.connectionId ??= connectionId;
      },
      (err: unknown) => {
        if (this.terminated) return;
        const error = err instanceof SipTransportError ? err : new SipTransportError('send failed', {}, err);
        this.log.debug({ err: error }, 'transport error');
        this.safeEmit('transportError', error);
        this.terminate();
      },
    );
  }
}
