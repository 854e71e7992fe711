import { identityOrNothing, type CustomerStore } from '../customers/index';
import type { AcdEngine } from '../acd/index';
import { callbackAttributes, requestedCallback } from '../channels/voice/callbacks';
import type { OneccConfig } from '../config/index';
import type { Logger } from '../lib/index';
import { inWindow } from './calling-window';
import { AbandonBudget, Pacer, buildAbandonAudit, type BusyAgent, type PacingEstimates } from './pacing/index';
import type { AttemptRecord, ContactStore, StoredContact } from './contact-store';
import { OutboundAttempt, type AttemptDeps, type AttemptResult, type AttemptSettings } from './outbound-attempt';

export type CampaignConfig = OneccConfig['dialer']['campaigns'][number];
export type CampaignState = 'stopped' | 'running' | 'paused';

/** A contact outside its calling window is looked at again this much later. */
const WINDOW_RECHECK_MS = 15 * 60_000;
const TICK_MS = 500;

/** Live figures of a campaign since it was loaded on this node. */
export interface CampaignFigures {
  dialed: number;
  answered: number;
  humans: number;
  machines: number;
  abandoned: number;
  busy: number;
  noAnswer: number;
  failed: number;
  skippedDnc: number;
  previewed: number;
  /** Seconds people talked to the campaign's agents. */
  talkSeconds: number;
  /** Seconds the queue's agents were logged in while the campaign ran (occupancy's denominator). */
  agentSeconds: number;
  /** Ticks the campaign held back for its blended inbound queues. */
  yieldedToInbound: number;
}

/**
 * One campaign on this node: while running, every tick it works out how many calls to place (pacing), claims that
 * many due contacts from Redis, skips do-not-call numbers and contacts outside their window (never dialed), and
 * places the calls; each outcome is recorded on the contact, which is scheduled again by the retry rules.
 */
export class Campaign {
  state: CampaignState = 'stopped';
  readonly figures: CampaignFigures = {
    dialed: 0, answered: 0, humans: 0, machines: 0, abandoned: 0, busy: 0, noAnswer: 0, failed: 0, skippedDnc: 0, previewed: 0,
    talkSeconds: 0, agentSeconds: 0, yieldedToInbound: 0,
  };
  readonly #inFlight = new Set<OutboundAttempt>();
  /** Calls placed and not yet answered, with when they were placed. */
  readonly #ringing = new Map<OutboundAttempt, number>();
  /** Calls answered whose AMD verdict is not in yet. */
  readonly #screening = new Set<OutboundAttempt>();
  readonly #budget: AbandonBudget;
  readonly #pacer: Pacer;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  readonly #log: Logger;

  constructor(
    readonly config: CampaignConfig,
    private readonly deps: {
      readonly acd: AcdEngine;
      readonly store: ContactStore;
      /** The centre's budget over all campaigns (Ofcom), shared. */
      readonly centreBudget: AbandonBudget;
      readonly customers?: CustomerStore;
      readonly attempt: AttemptDeps;
      readonly uri: (number: string) => string | undefined;
      /** Metrics: each attempt's outcome. */
      readonly observe?: (campaign: string, outcome: string) => void;
      readonly logger: Logger;
    },
  ) {
    this.#log = deps.logger.child({ component: 'dialer', campaign: config.id });
    this.#budget = new AbandonBudget({
      windowMs: config.abandonWindowHours * 3_600_000, cap: config.abandonLimitPercent / 100, amdFalsePositiveRate: config.amd.falsePositivePercent / 100,
    });
    this.#pacer = new Pacer({ budgets: [this.#budget, deps.centreBudget], connectMs: config.connectSeconds * 1000 });
  }

  get linesInUse(): number {
    return this.#inFlight.size;
  }

  start(): void {
    if (this.state === 'running') return;
    this.state = 'running';
    this.#timer ??= setInterval(() => void this.#tick(), TICK_MS);
    this.#log.info('campaign running');
  }

  /** No new calls; calls in progress go on. */
  pause(): void {
    if (this.state === 'running') this.state = 'paused';
  }

  /** No new calls; with `hangUp`, calls in progress are ended too. */
  async stop(hangUp = false): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (hangUp) await Promise.all([...this.#inFlight].map((a) => a.abort()));
  }

  /**
   * The abandon rate over the window: abandoned calls (and the estimated AMD false positives) among calls a person
   * answered, with its 95 % upper bound.
   */
  abandonRate(now = Date.now()): { answered: number; abandoned: number; percent: number | null; upperBoundPercent: number; windowHours: number } {
    const status = this.#budget.status(now);
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      answered: round(status.answered), abandoned: round(status.abandoned), percent: status.answered === 0 ? null : round(100 * status.rate),
      upperBoundPercent: round(100 * status.upperBound), windowHours: this.config.abandonWindowHours,
    };
  }

  /** The pacer's live estimates (answer rate, time to answer, handle time, its reserve, the abandon rate it aims at). */
  get estimates(): PacingEstimates {
    return this.#pacer.estimates;
  }

  /** Occupancy (talk and wrap-up over the agents' logged-in time) and talk minutes per agent-hour, so far. */
  occupancy(): { occupancy: number | null; talkMinutesPerAgentHour: number | null } {
    const { talkSeconds, humans, agentSeconds } = this.figures;
    if (agentSeconds === 0) return { occupancy: null, talkMinutesPerAgentHour: null };
    const busy = talkSeconds + humans * this.deps.acd.settings.wrapUpSeconds.voice;
    return { occupancy: Math.round((1000 * busy) / agentSeconds) / 1000, talkMinutesPerAgentHour: Math.round((10 * talkSeconds) / 60 / (agentSeconds / 3600)) / 10 };
  }

  /**
   * Blended mode: whether an inbound queue sharing the agents is forecast to miss its service level — a caller
   * waiting there expected (the ACD's Erlang-A estimate) to wait past the service-level time. Inbound comes first.
   */
  #inboundNeedsAgents(now: number): boolean {
    const { acd } = this.deps;
    if (this.config.blendWith.length === 0) return false;
    const queues = new Map(acd.settings.queues.map((q) => [q.name, q]));
    for (const task of acd.tasks()) {
      const queue = queues.get(task.queue);
      if (task.state !== 'waiting' || queue === undefined || !this.config.blendWith.includes(task.queue)) continue;
      if (now - task.enqueuedAt + acd.estimatedWait(task.id).waitMs > queue.serviceLevel.seconds * 1000) return true;
    }
    return false;
  }

  /** How many calls to place now (the pacer: never beyond the line limit). */
  #callsToPlace(now: number): number {
    const { acd } = this.deps;
    const queue = acd.queueSnapshot(this.config.queue);
    const agents = acd.agentsOf(this.config.queue);
    this.figures.agentSeconds += (agents.filter((a) => acd.agentState(a.id) !== 'logged-out').length * TICK_MS) / 1000;
    if (this.config.mode !== 'agentless' && this.#inboundNeedsAgents(now)) {
      this.figures.yieldedToInbound++;
      return 0;
    }
    const busyAgents = agents.flatMap((a): BusyAgent[] => {
      const state = acd.agentState(a.id);
      if (state === 'wrap-up') return [{ phase: 'wrap-up', freeInMs: a.wrapUpUntil - now }];
      return state === 'busy' || state === 'reserved' ? [{ phase: 'talking' }] : [];
    });
    return this.#pacer.callsToLaunch({
      mode: this.config.mode,
      lineLimit: this.config.maxLines,
      linesInUse: this.#inFlight.size,
      ringingAges: [...this.#ringing.values()].map((at) => now - at),
      screening: this.#screening.size,
      waitingPeople: queue.waiting + queue.offered,
      agentsAvailable: queue.agents.available,
      busyAgents,
    }, now);
  }

  async #tick(): Promise<void> {
    if (this.state !== 'running' || this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      const wanted = this.#callsToPlace(now);
      if (wanted === 0) return;
      const contacts = await this.deps.store.claim(this.config.id, wanted, now);
      for (const contact of contacts) await this.#consider(contact, now);
    } catch (err) {
      this.#log.warn({ err }, 'dialer tick failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** A claimed contact: dialed, or put back (outside its window), or closed (do not call). */
  async #consider(contact: StoredContact, now: number): Promise<void> {
    const { store } = this.deps;
    if (this.state !== 'running') return store.postpone(this.config.id, contact.id, now);
    if ((await store.isDnc(this.config.id, contact.number)) || (await this.#customerSaidNo(contact.number))) {
      this.figures.skippedDnc++;
      this.deps.observe?.(this.config.id, 'dnc');
      return store.finish(contact, this.#record(contact, 'dnc', contact.attempts), undefined);
    }
    if (!inWindow(this.config.window, contact.timezone, now)) return store.postpone(this.config.id, contact.id, now + WINDOW_RECHECK_MS);
    const uri = this.deps.uri(contact.number);
    if (uri === undefined) return store.finish(contact, this.#record(contact, 'failed', contact.attempts + 1), undefined);
    if (this.config.mode === 'preview') return this.#preview(contact, uri);
    void this.#place(contact, uri);
  }

  /** The customer this number belongs to asked never to be contacted, or withdrew consent to the campaign's purpose. */
  async #customerSaidNo(number: string): Promise<boolean> {
    const phone = identityOrNothing('phone', number);
    return phone !== undefined && this.deps.customers !== undefined && (await this.deps.customers.refusesContact(phone, this.config.consentPurpose));
  }

  async #place(contact: StoredContact, uri: string): Promise<void> {
    const fp = this.config.amd.falsePositivePercent / 100;
    let answeredAfterMs = 0;
    let verdictAt = 0;
    let abandonedAt = 0;
    const attempt: OutboundAttempt = new OutboundAttempt(contact, this.#attemptSettings(uri), this.deps.attempt, (event) => {
      const at = Date.now();
      if (event.kind === 'answered') {
        this.#ringing.delete(attempt);
        this.#screening.add(attempt);
        answeredAfterMs = event.afterMs;
      } else if (event.kind === 'verdict') {
        this.#screening.delete(attempt);
        verdictAt = at;
        this.#pacer.observe({ kind: 'answered', afterMs: answeredAfterMs, person: event.person });
        if (!event.person) for (const budget of [this.#budget, this.deps.centreBudget]) budget.record({ at, kind: 'machine', falsePositiveRate: fp });
      } else {
        this.#pacer.observe({ kind: event.kind });
        for (const budget of [this.#budget, this.deps.centreBudget]) budget.record({ at, kind: event.kind });
        if (event.kind === 'abandoned') abandonedAt = at;
      }
    });
    const dialedAt = Date.now();
    this.#inFlight.add(attempt);
    this.#ringing.set(attempt, dialedAt);
    this.figures.dialed++;
    let result: AttemptResult;
    try {
      result = await attempt.run();
    } finally {
      this.#ringing.delete(attempt);
      this.#screening.delete(attempt);
      this.#inFlight.delete(attempt);
    }
    this.figures.talkSeconds += attempt.talkMs / 1000;
    if (result.answeredAt === undefined) this.#pacer.observe({ kind: 'unanswered', afterMs: Date.now() - dialedAt });
    else if (attempt.talkMs > 0) this.#pacer.observe({ kind: 'handled', talkMs: attempt.talkMs, wrapUpMs: this.deps.acd.settings.wrapUpSeconds.voice * 1000 });
    this.#count(result);
    const number = contact.attempts + 1;
    const record: AttemptRecord = {
      ...this.#record(contact, result.outcome, number),
      interaction: result.interaction,
      ...(result.agentId ? { agentId: result.agentId } : {}),
      ...(result.amd ? { amd: result.amd } : {}),
      endedAt: new Date().toISOString(),
    };
    await this.deps.store.finish(contact, record, this.#retryAt(result.outcome, number));
    if (result.outcome === 'abandoned' && result.answeredAt !== undefined) {
      // The message is due within connectSeconds of the greeting's end (the verdict), so within that much of the answer.
      const greetingMs = verdictAt - result.answeredAt;
      const audit = buildAbandonAudit({
        campaign: this.config.id, number: contact.number, attempt: result.interaction, answeredAt: result.answeredAt, at: abandonedAt,
        ...(result.safeHarbourAfterMs === undefined ? {} : { safeHarbourStartedAt: verdictAt + result.safeHarbourAfterMs }),
        safeHarbourLimitMs: greetingMs + this.config.connectSeconds * 1000,
      }, this.#budget.status(abandonedAt));
      await this.deps.store.audit(this.config.id, { ...audit, contact: contact.id, safeHarbourPrompt: this.config.safeHarbourPrompt, greetingMs });
    }
  }

  /** Preview: the contact becomes a task offered to an agent with its details; answering it places the call. */
  async #preview(contact: StoredContact, uri: string): Promise<void> {
    await this.deps.acd.enqueue({
      channel: 'voice',
      queue: this.config.queue,
      attributes: {
        ...contact.attributes, caller: contact.number, called: this.config.callerId, campaign: this.config.id, contact: contact.id,
        ...requestedCallback, [callbackAttributes.number]: contact.number, [callbackAttributes.uri]: uri,
      },
    });
    this.figures.previewed++;
    await this.deps.store.finish(contact, this.#record(contact, 'previewed', contact.attempts + 1), undefined);
  }

  #count(result: AttemptResult): void {
    this.deps.observe?.(this.config.id, result.outcome);
    const f = this.figures;
    if (result.answeredAt !== undefined) f.answered++;
    if (result.outcome === 'busy') f.busy++;
    else if (result.outcome === 'no-answer') f.noAnswer++;
    else if (result.outcome === 'failed') f.failed++;
    else if (result.outcome === 'machine') f.machines++;
    else if (result.outcome === 'human') f.humans++;
    else if (result.outcome === 'abandoned') f.abandoned++;
  }

  /** When the contact is called again after `outcome` on attempt `attempt` (back-off doubles), or never. */
  #retryAt(outcome: AttemptResult['outcome'], attempt: number): number | undefined {
    const { retries } = this.config;
    const rule = outcome === 'busy' ? retries.busy : outcome === 'no-answer' ? retries.noAnswer : outcome === 'failed' ? retries.failed : outcome === 'machine' ? retries.machine : undefined;
    if (rule === undefined || attempt >= rule.maxAttempts) return undefined;
    return Date.now() + rule.delaySeconds * 1000 * 2 ** (attempt - 1);
  }

  #record(contact: StoredContact, outcome: string, attempt: number): AttemptRecord {
    return { campaign: this.config.id, contact: contact.id, number: contact.number, attempt, at: new Date().toISOString(), outcome };
  }

  #attemptSettings(uri: string): AttemptSettings {
    const c = this.config;
    return {
      campaign: c.id, mode: c.mode, queue: c.queue, uri, callerId: c.callerId, ringTimeoutMs: c.ringTimeoutSeconds * 1000,
      connectMs: c.connectSeconds * 1000, safeHarbourPrompt: c.safeHarbourPrompt, amd: c.amd, agentless: c.agentless, amdMaxMs: 5000,
    };
  }
}
