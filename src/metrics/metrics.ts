import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of a onecc process and every metric in it. Labels stay bounded: methods
 * outside the known set are counted as "other", responses by class (1xx..6xx), never by Call-ID or number.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #sipReceived: Counter<'transport' | 'kind'>;
  readonly #sipRejected: Counter<'transport' | 'status'>;
  readonly #mediaCommand: Histogram<'command' | 'outcome'>;
  #mediaStatus: (() => MediaStatus) | undefined;

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
    this.#mediaCommand = new Histogram({
      name: 'onecc_media_command_seconds',
      help: 'Round-trip time of NG commands to rtpengine, by command and outcome (ok, error, timeout)',
      labelNames: ['command', 'outcome'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    const metrics = this;
    new Gauge({
      name: 'onecc_rtpengine_up',
      help: '1 while the rtpengine answers its health check, 0 while it does not',
      labelNames: ['rtpengine'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const engine of metrics.#mediaStatus?.().engines ?? []) this.set({ rtpengine: engine.id }, engine.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'onecc_media_calls_open',
      help: 'Media calls open on this node',
      registers: [this.registry],
      collect() {
        this.set(metrics.#mediaStatus?.().openCalls ?? 0);
      },
    });
  }

  /** Where the media gauges read their values when Prometheus scrapes. */
  reportMediaStatus(status: () => MediaStatus): void {
    this.#mediaStatus = status;
  }

  /** An NG command to rtpengine completed (or failed) after `seconds`. */
  mediaCommand(command: string, seconds: number, outcome: string): void {
    this.#mediaCommand.observe({ command, outcome }, seconds);
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

export interface MediaStatus {
  readonly engines: readonly { readonly id: string; readonly healthy: boolean }[];
  readonly openCalls: number;
}

const METHOD_LABELS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

function messageKind(methodOrStatus: string | number): string {
  if (typeof methodOrStatus === 'number') return `${Math.floor(methodOrStatus / 100)}xx`;
  return METHOD_LABELS.has(methodOrStatus) ? methodOrStatus : 'other';
}
