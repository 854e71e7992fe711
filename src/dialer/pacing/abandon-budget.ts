import { type BoundMethod, safeRate, upperBound } from './confidence-bound';

/**
 * A live abandon budget over a regulator's sliding window, for one campaign or for a whole centre.
 *
 * What is counted (the rate is abandoned / answered-live):
 * - `connected`: a person answered and reached an agent within the connect time: answered +1.
 * - `abandoned`: a person answered and found no agent within the connect time (the safe-harbour message was played,
 *   or the call was dropped): answered +1, abandoned +1.
 * - `machine`: the call was classified as an answering machine and hung up on (or left a message). A share of these
 *   were people (AMD false positives); Ofcom counts them as abandoned calls, and the FTC treats a live person who is
 *   not connected within 2 s the same way. Each machine verdict adds `falsePositiveRate` (the measured share of machine
 *   verdicts that were people; the budget's setting unless the record gives its own) to both counts. Setting it to 1
 *   counts every machine hang-up as an abandoned live call — the most conservative reading.
 *
 * The window is sliding: [now − windowMs, now], to within one bucket (calls are summed in buckets of `bucketMs`, by
 * default windowMs / 1440 — 30 min for 30 days, 1 min for 24 h — so 30 days of calls take 1,440 numbers). TSR's
 * "30 days, or the campaign's life if shorter" is the 30-day sliding window: a younger campaign's whole life is in it.
 *
 * `status(now)` gives the figures and two verdicts, at the configured confidence (the bound is conservative at small
 * counts: 0 abandons of 20 answers is still a 95 % upper bound of 12 %):
 * - `predictiveAllowed`: one more abandoned call would keep the upper bound within the cap. Predictive pacing
 *   over-dials only then; otherwise it paces progressively.
 * - `spent`: the window's measured rate is at or above the cap. Predictive dialing is refused (as above); preview and
 *   progressive dialing carry on, since they strand nobody unless an agent vanishes mid-call, and their connected
 *   answers are what brings the window's rate back under the cap.
 */
export interface AbandonBudgetSettings {
  /** Sliding window, ms: 30 days for TSR, 24 h for Ofcom (per campaign and per centre). */
  readonly windowMs: number;
  /** The cap on abandoned / answered, e.g. 0.03. */
  readonly cap: number;
  /** One-sided confidence of the upper bound: default 0.95. */
  readonly confidence?: number;
  /** Default 'wilson'. */
  readonly bound?: BoundMethod;
  /** Share of machine verdicts that were people, counted as abandoned live calls: default 0.05. */
  readonly amdFalsePositiveRate?: number;
  /** Bucket width, ms: default windowMs / 1440. */
  readonly bucketMs?: number;
}

/** Regulators' windows and caps. */
export const REGULATIONS = {
  /** US FTC Telemarketing Sales Rule: ≤ 3 % per campaign over 30 days (or the campaign's life). */
  tsr: { windowMs: 30 * 86_400_000, cap: 0.03 },
  /** UK Ofcom: ≤ 3 % per campaign and per centre over 24 hours. */
  ofcom: { windowMs: 86_400_000, cap: 0.03 },
} as const satisfies Record<string, Pick<AbandonBudgetSettings, 'windowMs' | 'cap'>>;

/** One outcome of an answered call, for the budget. */
export type BudgetRecord =
  | { readonly at: number; readonly kind: 'connected' }
  | { readonly at: number; readonly kind: 'abandoned' }
  | { readonly at: number; readonly kind: 'machine'; readonly falsePositiveRate?: number };

export interface BudgetStatus {
  /** Window start and end (ms, the clock the budget is given) and its length. */
  readonly from: number;
  readonly to: number;
  readonly windowMs: number;
  readonly cap: number;
  readonly confidence: number;
  /** Answered by a live person (AMD false positives included as fractions). */
  readonly answered: number;
  /** Of those, abandoned (AMD false positives included as fractions). */
  readonly abandoned: number;
  /** abandoned / answered; 0 with no answer yet. */
  readonly rate: number;
  /** Upper confidence bound of the rate; 1 with no answer yet. */
  readonly upperBound: number;
  /** The highest rate the window may run at with this many answers and keep its upper bound within the cap. */
  readonly safeRate: number;
  /** One more abandoned call keeps the upper bound within the cap: predictive pacing may risk one. */
  readonly predictiveAllowed: boolean;
  /** The measured rate is at or above the cap. */
  readonly spent: boolean;
}

export class AbandonBudget {
  readonly settings: Required<AbandonBudgetSettings>;
  /** Buckets in time order: start (ms, a multiple of bucketMs), answered, abandoned. */
  readonly #buckets: { start: number; answered: number; abandoned: number }[] = [];
  #answered = 0;
  #abandoned = 0;
  #cached: { now: number; version: number; status: BudgetStatus } | undefined;
  #version = 0;

  constructor(settings: AbandonBudgetSettings) {
    const windowMs = settings.windowMs;
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0 (got ${windowMs})`);
    if (!(settings.cap > 0 && settings.cap < 1)) throw new RangeError(`cap must be in (0, 1) (got ${settings.cap})`);
    this.settings = {
      windowMs,
      cap: settings.cap,
      confidence: settings.confidence ?? 0.95,
      bound: settings.bound ?? 'wilson',
      amdFalsePositiveRate: settings.amdFalsePositiveRate ?? 0.05,
      bucketMs: settings.bucketMs ?? Math.max(1, Math.floor(windowMs / 1440)),
    };
    const { confidence, amdFalsePositiveRate } = this.settings;
    if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1) (got ${confidence})`);
    if (!(amdFalsePositiveRate >= 0 && amdFalsePositiveRate <= 1)) throw new RangeError(`amdFalsePositiveRate must be in [0, 1]`);
  }

  /** Counts one answered call's outcome at `record.at`. Records may come slightly out of order (within a bucket or later). */
  record(record: BudgetRecord): void {
    let answered = 1;
    let abandoned = record.kind === 'abandoned' ? 1 : 0;
    if (record.kind === 'machine') {
      answered = abandoned = record.falsePositiveRate ?? this.settings.amdFalsePositiveRate;
      if (answered <= 0) return;
    }
    const start = Math.floor(record.at / this.settings.bucketMs) * this.settings.bucketMs;
    let bucket = this.#buckets[this.#buckets.length - 1];
    if (!bucket || bucket.start < start) {
      bucket = { start, answered: 0, abandoned: 0 };
      this.#buckets.push(bucket);
    } else if (bucket.start > start) {
      // Late record: its own bucket if still there, else the oldest one kept (it is within the window's reach).
      bucket = this.#buckets.find((b) => b.start >= start) ?? bucket;
    }
    bucket.answered += answered;
    bucket.abandoned += abandoned;
    this.#answered += answered;
    this.#abandoned += abandoned;
    this.#version++;
  }

  /** The window's figures and verdicts at `now`. */
  status(now: number): BudgetStatus {
    const { windowMs, bucketMs, cap, confidence, bound } = this.settings;
    const from = now - windowMs;
    // A bucket leaves once all of it is before the window.
    while (this.#buckets.length > 0 && this.#buckets[0]!.start + bucketMs <= from) {
      const old = this.#buckets.shift()!;
      this.#answered -= old.answered;
      this.#abandoned -= old.abandoned;
      this.#version++;
    }
    if (this.#cached && this.#cached.version === this.#version) {
      const s = this.#cached.status;
      return { ...s, from, to: now };
    }
    // Sums of fractions drift by rounding: a count is never below zero.
    const answered = Math.max(0, this.#answered);
    const abandoned = Math.min(answered, Math.max(0, this.#abandoned));
    const status: BudgetStatus = {
      from, to: now, windowMs, cap, confidence, answered, abandoned,
      rate: answered > 0 ? abandoned / answered : 0,
      upperBound: upperBound(bound, abandoned, answered, confidence),
      safeRate: safeRate(bound, answered, cap, confidence),
      predictiveAllowed: upperBound(bound, abandoned + 1, answered + 1, confidence) <= cap,
      spent: answered > 0 && abandoned / answered >= cap,
    };
    this.#cached = { now, version: this.#version, status };
    return status;
  }
}
