import type { BudgetStatus } from './abandon-budget';

/**
 * The audit record of one abandoned call (a person answered and no agent took them within the connect time, or an
 * AMD false positive the runtime knows of). Built here, stored by the campaign runtime. Times are ms since the epoch
 * of the clock the budget is given; the record carries ISO strings too for people reading it.
 */
export interface AbandonAuditRecord {
  readonly campaign: string;
  /** The number called (E.164 as dialed). */
  readonly number: string;
  /** The runtime's id of the attempt, when it has one. */
  readonly attempt?: string;
  readonly reason: 'no-agent' | 'amd-false-positive';
  readonly answeredAt: number;
  /** When the call was counted abandoned. */
  readonly at: number;
  readonly atIso: string;
  /** The budget's window and figures once this call is counted. */
  readonly window: {
    readonly from: number;
    readonly to: number;
    readonly windowMs: number;
    readonly answered: number;
    readonly abandoned: number;
  };
  readonly rateAfter: number;
  readonly upperBoundAfter: number;
  readonly cap: number;
  readonly confidence: number;
  readonly safeHarbour: {
    /** The recorded message was played to the person. */
    readonly played: boolean;
    /** From the answer to the start of the message, ms (null if not played). */
    readonly afterAnswerMs: number | null;
    /** Played within the limit (TSR: 2 s after the greeting). */
    readonly withinLimit: boolean;
    readonly limitMs: number;
  };
}

export interface AbandonAuditInput {
  readonly campaign: string;
  readonly number: string;
  readonly attempt?: string;
  readonly reason?: AbandonAuditRecord['reason'];
  readonly answeredAt: number;
  readonly at: number;
  /** When the safe-harbour message started, if it did. */
  readonly safeHarbourStartedAt?: number;
  /** Default 2000 ms. */
  readonly safeHarbourLimitMs?: number;
}

/** Builds the record from the call and the budget's status read after recording the call (`budget.status(at)`). */
export function buildAbandonAudit(input: AbandonAuditInput, statusAfter: BudgetStatus): AbandonAuditRecord {
  const limitMs = input.safeHarbourLimitMs ?? 2000;
  const played = input.safeHarbourStartedAt !== undefined;
  const afterAnswerMs = played ? input.safeHarbourStartedAt! - input.answeredAt : null;
  return {
    campaign: input.campaign,
    number: input.number,
    ...(input.attempt !== undefined ? { attempt: input.attempt } : {}),
    reason: input.reason ?? 'no-agent',
    answeredAt: input.answeredAt,
    at: input.at,
    atIso: new Date(input.at).toISOString(),
    window: {
      from: statusAfter.from, to: statusAfter.to, windowMs: statusAfter.windowMs,
      answered: statusAfter.answered, abandoned: statusAfter.abandoned,
    },
    rateAfter: statusAfter.rate,
    upperBoundAfter: statusAfter.upperBound,
    cap: statusAfter.cap,
    confidence: statusAfter.confidence,
    safeHarbour: { played, afterAnswerMs, withinLimit: afterAnswerMs !== null && afterAnswerMs <= limitMs, limitMs },
  };
}
