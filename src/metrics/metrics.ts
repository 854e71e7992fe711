import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { SipMessageAny, TransportObserver, TransportProtocol } from '../sip/index';

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

  /** The observer the SIP transport layer reports to. */
  sipObserver(): TransportObserver {
    return {
      received: (message: SipMessageAny, protocol: TransportProtocol) => {
        this.#sipReceived.inc({ transport: protocol, kind: messageKind(message) });
      },
      rejected: (status: number, protocol: TransportProtocol) => {
        this.#sipRejected.inc({ transport: protocol, status: String(status) });
      },
    };
  }
}

const METHOD_LABELS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

function messageKind(message: SipMessageAny): string {
  if (message.isRequest) return METHOD_LABELS.has(message.method) ? message.method : 'other';
  return `${Math.floor(message.status / 100)}xx`;
}
