import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AcdEngine } from '../acd/index';
import { registerAcdMetrics } from './acd-metrics';

/**
 * The one Prometheus registry of a onecc process and every metric in it. Labels stay bounded: methods
 * outside the known set are counted as "other", responses by class (1xx..6xx), never by Call-ID or number.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #sipReceived: Counter<'transport' | 'kind'>;
  readonly #sipRejected: Counter<'transport' | 'status'>;
  readonly #mediaCommand: Histogram<'command' | 'outcome'>;
  readonly #calls: Counter<'channel' | 'outcome'>;
  readonly #loss: Histogram;
  readonly #jitter: Histogram;
  readonly #mos: Histogram;
  #mediaStatus: (() => MediaStatus) | undefined;
  readonly #dialerAttempts: Counter;
  readonly #notifications: Counter;
  #dialerStatus: (() => readonly DialerStatus[]) | undefined;
  #activeCalls: (() => Partial<Record<string, number>>) | undefined;
  #feedConnections: (() => number) | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'onecc_' });
    // prom-client also names three gauges `_total`, which Prometheus reserves for counters (promtool check metrics
    // says so); their figures are in onecc_nodejs_active_handles/_requests/_resources, kept.
    for (const name of ['active_handles', 'active_requests', 'active_resources']) this.registry.removeSingleMetric(`onecc_nodejs_${name}_total`);
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
    this.#calls = new Counter({
      name: 'onecc_calls_total',
      help: 'Calls that reached onecc, by channel and outcome (answered, or the class of the status they were refused with)',
      labelNames: ['channel', 'outcome'],
      registers: [this.registry],
    });
    this.#loss = new Histogram({
      name: 'onecc_media_packet_loss_ratio',
      help: 'Packet loss of a call leg over the call, from RTCP (legs without RTCP are not counted)',
      buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers: [this.registry],
    });
    this.#jitter = new Histogram({
      name: 'onecc_media_jitter_seconds',
      help: 'Interarrival jitter of a call leg over the call, from RTCP',
      buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25],
      registers: [this.registry],
    });
    this.#mos = new Histogram({
      name: 'onecc_media_mos',
      help: 'Estimated MOS (1-5, ITU-T G.107 as rtpengine computes it) of a call leg over the call, from RTCP',
      buckets: [1, 2, 2.5, 3, 3.5, 4, 4.2, 4.4, 5],
      registers: [this.registry],
    });
    this.#dialerAttempts = new Counter({
      name: 'onecc_dialer_attempts_total',
      help: 'Calls placed by campaigns on this node, by outcome (human, machine, abandoned, busy, no-answer, failed; dnc: skipped)',
      labelNames: ['campaign', 'outcome'],
      registers: [this.registry],
    });
    this.#notifications = new Counter({
      name: 'onecc_notifications_total',
      help: 'Notifications by rule, channel and what happened (created, sent, delivered, failed, fallback, replied, skipped:<why>, final:<state>)',
      labelNames: ['rule', 'channel', 'outcome'],
      registers: [this.registry],
    });
    const metrics = this;
    new Gauge({
      name: 'onecc_dialer_lines_in_use',
      help: 'Calls a campaign has in progress on this node (ringing or talking)',
      labelNames: ['campaign'],
      registers: [this.registry],
      collect() {
        for (const c of metrics.#dialerStatus?.() ?? []) this.set({ campaign: c.campaign }, c.linesInUse);
      },
    });
    new Gauge({
      name: 'onecc_dialer_abandon_rate_percent',
      help: 'Abandoned among answered calls over the campaign\'s regulatory window, on this node',
      labelNames: ['campaign'],
      registers: [this.registry],
      collect() {
        for (const c of metrics.#dialerStatus?.() ?? []) this.set({ campaign: c.campaign }, c.abandonPercent ?? 0);
      },
    });
    new Gauge({
      name: 'onecc_dialer_running',
      help: '1 while a campaign dials on this node, 0 while paused or stopped',
      labelNames: ['campaign'],
      registers: [this.registry],
      collect() {
        for (const c of metrics.#dialerStatus?.() ?? []) this.set({ campaign: c.campaign }, c.running ? 1 : 0);
      },
    });
    new Gauge({
      name: 'onecc_calls_active',
      help: 'Calls in progress on this node, by channel',
      labelNames: ['channel'],
      registers: [this.registry],
      collect() {
        for (const [channel, n] of Object.entries(metrics.#activeCalls?.() ?? {})) this.set({ channel }, n ?? 0);
      },
    });
    new Gauge({
      name: 'onecc_agent_feed_connections',
      help: 'WebSocket connections to the agent feed on this node',
      registers: [this.registry],
      collect() {
        this.set(metrics.#feedConnections?.() ?? 0);
      },
    });
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

  /** A dialer attempt ended with `outcome` (human, machine, abandoned, busy, no-answer, failed, dnc). */
  /** A notification's step or outcome (src/notifications): created, sent, delivered, failed, fallback, replied, skipped:<why>, final:<state>. */
  notification(rule: string, channel: string, outcome: string): void {
    this.#notifications.inc({ rule, channel, outcome });
  }

  dialerAttempt(campaign: string, outcome: string): void {
    this.#dialerAttempts.inc({ campaign, outcome });
  }

  /** Where the dialer's gauges read each campaign's lines in use and abandon rate over its window. */
  reportDialer(read: () => readonly DialerStatus[]): void {
    this.#dialerStatus = read;
  }

  /** Adds the ACD's metrics (queues, agents, tasks, offers, waits); see acd-metrics.ts. */
  observeAcd(acd: AcdEngine): void {
    registerAcdMetrics(this.registry, acd);
  }

  /** Where the active-calls gauge reads calls in progress per channel. */
  reportActiveCalls(read: () => Partial<Record<string, number>>): void {
    this.#activeCalls = read;
  }

  /** Where the agent feed's connection gauge reads its value. */
  reportFeedConnections(read: () => number): void {
    this.#feedConnections = read;
  }

  /** A call reached onecc: `answered`, or the status class it was refused with (4xx, 5xx). */
  call(channel: string, outcome: string): void {
    this.#calls.inc({ channel, outcome });
  }

  /** A call's media quality at its end, per leg that reported RTCP (rtpengine's figures). */
  callQuality(legs: readonly { readonly lossPercent: number; readonly jitterMs: number; readonly mos: number }[]): void {
    for (const leg of legs) {
      this.#loss.observe(leg.lossPercent / 100);
      this.#jitter.observe(leg.jitterMs / 1000);
      this.#mos.observe(leg.mos);
    }
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

export interface DialerStatus {
  readonly campaign: string;
  readonly running: boolean;
  readonly linesInUse: number;
  /** Abandoned among answered calls over the campaign's window, percent; null before any answer. */
  readonly abandonPercent: number | null;
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
