import type { Logger } from '../../lib/index';
import { KNOWN_METHODS, createResponse, type SipRequest, type SipResponse } from '../message/index';
import { TransactionLayer, type InviteServerTransaction, type ServerTransaction, type TimerSettings, type TransactionUser } from '../transaction/index';
import {
  TransportLayer, type BoundListener, type IncomingMessage, type ListenOptions, type TlsOptions, type TransportLimits, type TransportObserver,
} from '../transport/index';
import { checkRequest } from './request-checks';

export interface SipEngineOptions {
  listen: ListenOptions[];
  tls?: TlsOptions;
  timers: TimerSettings;
  limits: TransportLimits;
  symmetricResponses: boolean;
  supportedOptionTags: readonly string[];
  userAgent: string;
  logger: Logger;
  observer?: TransportObserver;
}

/**
 * onecc's SIP engine: transports and transactions, the request checks of RFC 3261 §8.2, and one
 * application above them (the drachtio protocol server). With no application attached, OPTIONS is
 * answered 200 (trunks ping with it) and any other request 503, as drachtio-server does for a request no
 * application has routed.
 */
export class SipEngine implements TransactionUser {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly #options: SipEngineOptions;
  readonly #log: Logger;
  #application: TransactionUser | undefined;
  #closed = false;

  constructor(options: SipEngineOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'sip-engine' });
    this.transport = new TransportLayer({
      listen: options.listen,
      tls: options.tls,
      limits: options.limits,
      symmetricResponses: options.symmetricResponses,
      logger: options.logger,
      observer: options.observer,
    });
    this.transactions = new TransactionLayer({ transport: this.transport, timers: options.timers, logger: options.logger });
    this.transactions.setUser(this);
  }

  get listeners(): BoundListener[] {
    return this.transport.listeners;
  }

  /** Attaches the layer that handles requests that pass the checks; undefined detaches it. */
  setApplication(application: TransactionUser | undefined): void {
    this.#application = application;
  }

  async start(): Promise<void> {
    await this.transport.start();
  }

  /** Stops transactions and transports. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.transactions.close();
    await this.transport.close();
  }

  onRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void {
    const rejection = checkRequest(request, this.#options);
    if (rejection) return this.#respond(tx, rejection);
    if (this.#application) return this.#application.onRequest(request, tx, incoming);
    if (request.method === 'OPTIONS') {
      const ok = createResponse(request, 200, 'OK');
      ok.addHeader('Allow', [...KNOWN_METHODS].join(', ')).addHeader('Accept', 'application/sdp');
      ok.addHeader('Supported', this.#options.supportedOptionTags.join(', '));
      return this.#respond(tx, ok);
    }
    this.#respond(tx, createResponse(request, 503, 'Service Unavailable'));
  }

  onAck(ack: SipRequest, incoming: IncomingMessage, invite?: InviteServerTransaction): void {
    this.#application?.onAck(ack, incoming, invite);
  }

  onStrayResponse(response: SipResponse, incoming: IncomingMessage): void {
    if (this.#application) this.#application.onStrayResponse(response, incoming);
    else this.#log.debug({ status: response.status, callId: response.callId }, 'response matches no transaction; dropped');
  }

  #respond(tx: ServerTransaction, response: SipResponse): void {
    response.setHeader('Server', this.#options.userAgent);
    tx.respond(response);
  }
}
