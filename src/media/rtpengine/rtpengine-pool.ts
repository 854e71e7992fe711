import { createHash } from 'node:crypto';
import type { Logger } from '../../lib';
import { MediaError } from '../errors';
import type { NgClient } from '../ng/ng-client';
import type { RtpengineProcess } from './rtpengine-process';

/** One rtpengine as the pool sees it: how to talk to it, whether it answers, how busy it is. */
export class Rtpengine {
  healthy = true;
  /** Health checks in a row it did not answer in time. */
  missedChecks = 0;
  /** Whether it ever answered a health check: one that never did is down from the first miss. */
  answeredOnce = false;
  /** Sessions it reported at the last health check (all of its calls, whoever opened them). */
  reportedSessions = 0;
  /** Calls this node opened on it since that report; keeps a burst of new calls from piling onto one engine. */
  openedSinceReport = 0;

  constructor(
    readonly ng: NgClient,
    readonly process: RtpengineProcess | undefined,
  ) {}

  get id(): string {
    return this.ng.address;
  }

  get load(): number {
    return this.reportedSessions + this.openedSinceReport;
  }
}

export type RtpengineSelection = 'least-loaded' | 'hash';

/**
 * A busy rtpengine can miss one health check (its command queue is behind, onecc's timeout short) while it still
 * serves every call: only this many misses in a row take it out of rotation, so that a hiccup does not refuse calls.
 */
const MISSES_BEFORE_DOWN = 3;

/**
 * The rtpengines calls are spread over. A call is placed once, when it opens, and stays on its engine (rtpengine
 * cannot move a call). `hash` places a call id on the same engine from every onecc node (rendezvous hashing, so
 * an engine going down moves only its own share); `least-loaded` balances by the sessions each engine reports.
 */
export class RtpenginePool {
  #healthTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly engines: readonly Rtpengine[],
    private readonly selection: RtpengineSelection,
    private readonly logger: Logger,
  ) {}

  pick(callId: string): Rtpengine {
    const healthy = this.engines.filter((e) => e.healthy);
    if (healthy.length === 0) {
      throw new MediaError('NO_RTPENGINE', `no rtpengine is answering (${this.engines.map((e) => e.id).join(', ')})`);
    }
    let chosen = healthy[0]!;
    if (this.selection === 'hash') {
      let best = -1n;
      for (const engine of healthy) {
        const weight = createHash('sha1').update(`${engine.id}\0${callId}`).digest().readBigUInt64BE(0);
        if (weight > best) [best, chosen] = [weight, engine];
      }
    } else {
      for (const engine of healthy) if (engine.load < chosen.load) chosen = engine;
    }
    chosen.openedSinceReport++;
    return chosen;
  }

  /** Pings every engine now (statistics doubles as ping) and records health and load. */
  async checkHealth(): Promise<void> {
    await Promise.all(this.engines.map(async (engine) => {
      try {
        const reply = await engine.ng.command('statistics');
        const current = (reply.statistics as { currentstatistics?: { sessionsown?: unknown } } | undefined)?.currentstatistics;
        engine.reportedSessions = Number(current?.sessionsown ?? 0);
        engine.openedSinceReport = 0;
        if (!engine.healthy) this.logger.warn({ rtpengine: engine.id }, 'rtpengine answers again; new calls may use it');
        engine.healthy = true;
        engine.answeredOnce = true;
        engine.missedChecks = 0;
      } catch (err) {
        engine.missedChecks++;
        const down = !engine.answeredOnce || engine.missedChecks >= MISSES_BEFORE_DOWN;
        if (engine.healthy && down) this.logger.error({ rtpengine: engine.id, err: (err as Error).message, missed: engine.missedChecks }, 'rtpengine is not answering; new calls avoid it');
        else if (engine.healthy) this.logger.warn({ rtpengine: engine.id, err: (err as Error).message, missed: engine.missedChecks }, 'rtpengine missed a health check');
        if (down) engine.healthy = false;
      }
    }));
  }

  startHealthChecks(intervalMs: number): void {
    const loop = () => {
      this.#healthTimer = setTimeout(() => void this.checkHealth().finally(() => this.#healthTimer && loop()), intervalMs);
    };
    loop();
  }

  stopHealthChecks(): void {
    clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
  }
}
