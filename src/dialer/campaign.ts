import type { AcdEngine } from '../acd/index';
import { callbackAttributes } from '../channels/voice/callbacks';
import type { OneccConfig } from '../config/index';
import type { Logger } from '../lib/index';
import { inWindow } from './calling-window';
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
}

/**
 * One campaign on this node: while running, every tick it works out how many calls to place (pacing), claims that
 * many due contacts from Redis, skips do-not-call numbers and contacts outside their window (never dialed), and
 * places the calls; each outcome is recorded on the contact, which is scheduled again by the retry rules.
 */
export class Campaign {
  state: CampaignState = 'stopped';
  readonly figures: CampaignFigures = { dialed: 0, answered: 0, humans: 0, machines: 0, abandoned: 0, busy: 0, noAnswer: 0, failed: 0, skippedDnc: 0, previewed: 0 };
  readonly #inFlight = new Set<OutboundAttempt>();
  /** Calls placed and not yet answered: each holds an agent in progressive pacing. */
  #ringing = 0;
  /** Answered and abandoned calls with their times, over the abandon window. */
  readonly #answers: { at: number; abandoned: boolean }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  readonly #log: Logger;

  constructor(
    readonly config: CampaignConfig,
    private readonly deps: {
      readonly acd: AcdEngine;
      readonly store: ContactStore;
      readonly attempt: AttemptDeps;
      readonly uri: (number: string) => string | undefined;
      /** Metrics: each attempt's outcome. */
      readonly observe?: (campaign: string, outcome: string) => void;
      readonly logger: Logger;
    },
  ) {
    this.#log = deps.logger.child({ component: 'dialer', campaign: config.id });
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

  /** The abandon rate over the window: abandoned calls among calls a person answered. */
  abandonRate(now = Date.now()): { answered: number; abandoned: number; percent: number | null; windowHours: number } {
    const from = now - this.config.abandonWindowHours * 3_600_000;
    while (this.#answers.length > 0 && this.#answers[0]!.at < from) this.#answers.shift();
    const abandoned = this.#answers.filter((a) => a.abandoned).length;
    return { answered: this.#answers.length, abandoned, percent: this.#answers.length === 0 ? null : (100 * abandoned) / this.#answers.length, windowHours: this.config.abandonWindowHours };
  }

  /** How many calls to place now: never beyond the line limit; for agents' campaigns, no more than agents free. */
  #callsToPlace(): number {
    const lines = this.config.maxLines - this.#inFlight.size;
    if (lines <= 0) return 0;
    if (this.config.mode === 'agentless') return lines;
    const queue = this.deps.acd.queueSnapshot(this.config.queue);
    const free = queue.agents.available - queue.waiting - queue.offered - this.#ringing;
    return Math.max(0, Math.min(lines, free));
  }

  async #tick(): Promise<void> {
    if (this.state !== 'running' || this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      const wanted = this.#callsToPlace();
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
    if (await store.isDnc(this.config.id, contact.number)) {
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

  async #place(contact: StoredContact, uri: string): Promise<void> {
    const attempt = new OutboundAttempt(contact, this.#attemptSettings(uri), this.deps.attempt);
    this.#inFlight.add(attempt);
    this.#ringing++;
    this.figures.dialed++;
    // The call holds an agent (progressive pacing) until the contact answers or the call fails.
    let ringing = true;
    const answered = () => {
      if (ringing) this.#ringing--;
      ringing = false;
    };
    const poll = setInterval(() => attempt.answered && answered(), 50);
    let result: AttemptResult;
    try {
      result = await attempt.run();
    } finally {
      clearInterval(poll);
      answered();
      this.#inFlight.delete(attempt);
    }
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
    if (result.outcome === 'abandoned') {
      const rate = this.abandonRate();
      await this.deps.store.audit(this.config.id, {
        campaign: this.config.id, contact: contact.id, number: contact.number, at: new Date().toISOString(), interaction: result.interaction,
        window: { hours: rate.windowHours, answered: rate.answered, abandoned: rate.abandoned, percent: rate.percent },
        safeHarbourMessage: result.safeHarbourAfterMs === undefined ? null : { prompt: this.config.safeHarbourPrompt, afterMs: result.safeHarbourAfterMs, withinLimit: result.safeHarbourAfterMs <= this.config.connectSeconds * 1000 },
      });
    }
  }

  /** Preview: the contact becomes a task offered to an agent with its details; answering it places the call. */
  async #preview(contact: StoredContact, uri: string): Promise<void> {
    await this.deps.acd.enqueue({
      channel: 'voice',
      queue: this.config.queue,
      attributes: {
        ...contact.attributes, caller: contact.number, called: this.config.callerId, campaign: this.config.id, contact: contact.id,
        [callbackAttributes.marker]: 'requested', [callbackAttributes.number]: contact.number, [callbackAttributes.uri]: uri, [callbackAttributes.attempt]: '1',
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
    if (result.outcome === 'human' || result.outcome === 'abandoned') this.#answers.push({ at: Date.now(), abandoned: result.outcome === 'abandoned' });
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
