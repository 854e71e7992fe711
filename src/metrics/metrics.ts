import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of a onecc process and every metric in it. Labels stay bounded: methods
 * outside the known set are counted as "other", responses by class (1xx..6xx), never by Call-ID or number.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #sipReceived: Counter<'transport' | 'kind'>;
  readonly #sipRejected: Counter<'transport' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'onecc_' });
    this.#sipReceived = new Counter({
      name: 'onecc_sip_messages_received_total',
      help: 'SIP messages received and parsed, by transport and by request method or response class',
      labelNames: ['transport', 'kind'],
      registers: [this.registry],
    });
    this.#sipRejected = new Counter({
      name: 'onecc_sip_messages_rejected_total',
      help: 'SIP messages that could not be parsed or framed, by transport and the status they earned',
      labelNames: ['transport', 'status'],
      registers: [this.registry],
    });
  }

  /** A SIP message arrived and parsed: a request by its method, a response by its status. */
  sipReceived(transport: string, methodOrStatus: string | number): void {
    this.#sipReceived.inc({ transport, kind: messageKind(methodOrStatus) });
  }

  /** A SIP message could not be parsed or framed and earned `status`. */
  sipRejected(transport: string, status: number): void {
    this.#sipRejected.inc({ transport, status: String(status) });
  }
}

const METHOD_LABELS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

function messageKind(methodOrStatus: string | number): string {
  if (typeof methodOrStatus === 'number') return `${Math.floor(methodOrStatus / 100)}xx`;
  return METHOD_LABELS.has(methodOrStatus) ? methodOrStatus : 'other';
}
