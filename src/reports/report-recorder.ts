import type { AcdEngine, AcdEvent, AgentState, Channel } from '../acd/index';
import type { Logger } from '../lib/index';
import { splitByBucket } from './intervals';
import type { CountField, ReportStore } from './report-store';
import type { SurveyResponse } from './survey-response';

/** Upper bounds (seconds) of the abandon-time distribution; the same as the Prometheus wait histograms'. */
export const WAIT_BUCKETS_SECONDS: readonly number[] = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

/** An agent's current state as far as reports go: since when, and which node counts it when it ends. */
export interface AgentPeriod {
  readonly agentId: string;
  readonly state: AgentState;
  readonly reason: string | null;
  readonly since: number;
  /** The node that committed the change that began it (null: in that state when this node started). */
  readonly startedBy: string | null;
  /** The agent record's version then: a re-published state (wrap-up over) keeps it. */
  readonly version: number;
}

/**
 * Turns what happens into report figures. ACD events: every node sees every one, and only the node that committed
 * it counts it, so that nodes sharing Redis add up to the centre's figures once. An agent's time in a state is
 * counted when the state ends, by the node that began it (wrap-up ends on every node at once, by timer). Channels
 * add what only they know: transfers, callbacks, dispositions, campaign outcomes and survey answers.
 */
export class ReportRecorder {
  readonly #periods = new Map<string, AgentPeriod>();
  /** The queue and channel of the task an agent is wrapping up, for per-queue wrap-up time. */
  readonly #wrappingUp = new Map<string, { queue: string; channel: Channel }>();
  #nodeId = '';
  readonly #counting = new Set<Promise<void>>();
  /** Each queue's service-level answer time (ms): answered within it counts towards the service level. */
  #targetsMs = new Map<string, number>();

  constructor(private readonly store: ReportStore, private readonly logger: Logger) {}

  /** Counts the ACD's events from now on; agents already logged in are counted from now. */
  followAcd(acd: AcdEngine, now = Date.now()): void {
    this.#nodeId = acd.nodeId;
    this.#targetsMs = new Map(acd.settings.queues.map((q) => [q.name, q.serviceLevel.seconds * 1000]));
    for (const agent of acd.agents()) {
      const state = acd.agentState(agent.id);
      if (state !== 'logged-out') this.#periods.set(agent.id, { agentId: agent.id, state, reason: agent.reason, since: now, startedBy: null, version: agent.v });
    }
    acd.on('event', (event) => {
      const counting = this.#onAcd(event).catch((err: unknown) => this.logger.error({ err, event: event.type }, 'report figures not counted'));
      this.#counting.add(counting);
      void counting.finally(() => this.#counting.delete(counting));
    });
  }

  /** Resolves once every event seen so far is counted (before closing the store; tests). */
  async idle(): Promise<void> {
    while (this.#counting.size > 0) await Promise.all([...this.#counting]);
  }

  /** Agents' states in progress (counted by reports up to now, as they have not ended). */
  openPeriods(): readonly AgentPeriod[] {
    return [...this.#periods.values()];
  }

  transfer(at: number, queue: string, channel: Channel): Promise<void> {
    return this.store.add([[at, `q|${queue}|transfers`, 1], [at, `ch|${channel}|transfers`, 1]]);
  }

  /** A customer chose to be called back (their task waits on as a callback). */
  callbackRequested(at: number, queue: string, channel: Channel): Promise<void> {
    return this.store.add([[at, `q|${queue}|callbacks`, 1], [at, `ch|${channel}|callbacks`, 1]]);
  }

  disposition(at: number, queue: string, code: string): Promise<void> {
    return this.store.add([[at, `d|${queue}|${code}`, 1]]);
  }

  /** An outbound call's outcome (human, machine, abandoned, busy, no-answer, failed; dnc: skipped). */
  campaignAttempt(at: number, campaign: string, outcome: string): Promise<void> {
    return this.store.add([[at, `c|${campaign}|${outcome}`, 1]]);
  }

  /** A survey's answers (rewritten when the same interaction's answers or dispositions change). */
  survey(response: SurveyResponse): Promise<void> {
    return this.store.putFact('survey', response.interaction, response.at, response);
  }

  /** Erases these interactions' survey answers (a customer's data deletion). */
  forgetSurveys(interactions: readonly string[]): Promise<number> {
    const doomed = new Set(interactions);
    return this.store.forgetFacts<SurveyResponse>('survey', (s) => doomed.has(s.interaction));
  }

  async #onAcd(event: AcdEvent): Promise<void> {
    if (event.type === 'agent-state-changed') return this.#agentChanged(event);
    if (event.type === 'task-completed' && event.task.agentId !== null) this.#wrappingUp.set(event.task.agentId, { queue: event.task.queue, channel: event.task.channel });
    if (event.node !== this.#nodeId) return;
    const { task, at } = event;
    const both = (figure: string, n = 1): [number, CountField, number][] => [[at, `q|${task.queue}|${figure}`, n], [at, `ch|${task.channel}|${figure}`, n]];
    const waited = Math.max(0, at - task.enqueuedAt);
    switch (event.type) {
      case 'task-created':
        return this.store.add(both('offered'));
      case 'task-accepted': {
        const withinTarget = waited <= (this.#targetsMs.get(task.queue) ?? Infinity);
        return this.store.add([
          ...both('answered'), ...both('waitMs', waited), ...(withinTarget ? both('answeredWithinTarget') : []),
          [at, `a|${event.agent.id}|answered`, 1],
        ]);
      }
      case 'task-abandoned': {
        const le = WAIT_BUCKETS_SECONDS.find((b) => waited <= b * 1000);
        return this.store.add([...both('abandoned'), ...both('abandonWaitMs', waited), ...both(`abandon<=${le ?? 'inf'}`)]);
      }
      case 'task-completed': {
        if (task.acceptedAt <= 0) return this.store.add(both('completed'));
        const handled = Math.max(0, at - task.acceptedAt);
        return this.store.add([...both('completed'), ...both('handled'), ...both('handleMs', handled), [at, `a|${event.agent.id}|handled`, 1], [at, `a|${event.agent.id}|handleMs`, handled]]);
      }
      case 'task-rejected':
        return this.store.add(both(event.reason === 'timeout' ? 'offerTimeouts' : 'offersRejected'));
      default:
        return;
    }
  }

  async #agentChanged(event: Extract<AcdEvent, { type: 'agent-state-changed' }>): Promise<void> {
    const { agent, at } = event;
    const before = this.#periods.get(agent.id);
    // A state re-published without a commit (wrap-up over, by timer on every node) belongs to whoever began the last.
    const republished = before !== undefined && before.version === agent.v;
    const next: AgentPeriod = {
      agentId: agent.id, state: event.state, reason: event.state === 'not-ready' ? agent.reason : null, since: at,
      startedBy: republished ? before.startedBy : event.node, version: agent.v,
    };
    if (event.state === 'logged-out') this.#periods.delete(agent.id);
    else this.#periods.set(agent.id, next);
    if (before === undefined) return;
    const counter = before.startedBy ?? (republished ? null : event.node);
    if (counter !== this.#nodeId) return;
    const counts: [number, CountField, number][] = [];
    for (const [bucket, ms] of splitByBucket(before.since, at)) {
      counts.push([bucket, `a|${agent.id}|ms:${before.state}`, ms]);
      if (before.state === 'not-ready') counts.push([bucket, `a|${agent.id}|ms:not-ready:${before.reason ?? 'none'}`, ms]);
    }
    const wrapped = this.#wrappingUp.get(agent.id);
    if (before.state === 'wrap-up' && wrapped !== undefined) {
      const ms = at - before.since;
      counts.push([at, `q|${wrapped.queue}|wrapUps`, 1], [at, `q|${wrapped.queue}|wrapUpMs`, ms], [at, `ch|${wrapped.channel}|wrapUps`, 1], [at, `ch|${wrapped.channel}|wrapUpMs`, ms]);
    }
    if (before.state === 'wrap-up') this.#wrappingUp.delete(agent.id);
    await this.store.add(counts);
  }
}
