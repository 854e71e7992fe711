import type { BudgetStatus } from './abandon-budget';

/** What the pacer sees of a campaign at one moment. Times in ms; nothing here reads a clock. */
export interface PacingState {
  readonly mode: 'preview' | 'progressive' | 'predictive' | 'agentless';
  readonly lineLimit: number;
  /** The campaign's calls in progress: ringing, being screened, or talking. */
  readonly linesInUse: number;
  /** Ages of the calls not answered yet. */
  readonly ringingAges: readonly number[];
  /** People answered and waiting for an agent right now. */
  readonly waitingPeople: number;
  /** Agents of the campaign's queue free now. */
  readonly agentsFree: number;
  /** Agents talking (their calls end at a rate of 1 / mean handle time). */
  readonly agentsTalking: number;
  /** For each agent in wrap-up, in how long it ends. */
  readonly wrapUpEndsIn: readonly number[];
}

/** What a call's course tells the pacer. */
export type PacingObservation =
  | { readonly kind: 'answered'; readonly afterMs: number; readonly person: boolean }
  | { readonly kind: 'unanswered'; readonly afterMs: number }
  | { readonly kind: 'connected' }
  | { readonly kind: 'abandoned' }
  | { readonly kind: 'handled'; readonly talkMs: number; readonly wrapUpMs: number };

export interface PacerSettings {
  /** The regulator's cap, e.g. 0.03. */
  readonly abandonLimit: number;
  /** The share of the cap predictive dialing aims at (the rest is the margin for chance): default 2/3. */
  readonly aim?: number;
  /** Time from a person's answer to their verdict and hand-off (AMD), ms. */
  readonly handOffMs?: number;
}

/** Prior estimates until the campaign's own calls have taught better ones. */
const PRIOR = { answerRate: 0.25, personShare: 0.85, timeToAnswerMs: 8000, handleMs: 180_000, wrapUpMs: 10_000 } as const;
/** The reserve's step per abandoned call, and its bound. */
const RESERVE_STEP = 0.05;
const MAX_RESERVE = 6;
/** Weight of each new observation in the moving averages. */
const LEARN = 0.02;

/**
 * How many calls a campaign places now. Progressive: one per free agent, less the calls already ringing for them.
 * Predictive: enough that the people expected to answer match the agents expected to be free when they do — agents
 * free now, those whose wrap-up ends in time, and talking agents at the rate their calls end — less a reserve of
 * free agents (a person waits only seconds) that the measured abandons steer: each abandoned call raises it, each
 * connected call lowers it a little, so that abandons settle at `aim` × the cap. With no room in the abandon budget it paces progressively. Never beyond the
 * line limit.
 */
export class Pacer {
  #answerRate: number = PRIOR.answerRate;
  #personShare: number = PRIOR.personShare;
  #timeToAnswerMs: number = PRIOR.timeToAnswerMs;
  #handleMs: number = PRIOR.handleMs;
  #wrapUpMs: number = PRIOR.wrapUpMs;
  /**
   * How many agents (in standard deviations of the people about to answer) are kept free for them: a person waits
   * only connectSeconds, so an answer must find an agent free, not one about to be. Steered by abandons.
   */
  #reserve = 3;
  readonly #aim: number;
  readonly #handOffMs: number;

  constructor(private readonly settings: PacerSettings) {
    this.#aim = settings.aim ?? 0.8;
    this.#handOffMs = settings.handOffMs ?? 2000;
  }

  /** The estimates it paces by (for status pages and the simulation's report). */
  get estimates(): { answerRate: number; personShare: number; timeToAnswerMs: number; handleMs: number; wrapUpMs: number; reserve: number } {
    return { answerRate: this.#answerRate, personShare: this.#personShare, timeToAnswerMs: this.#timeToAnswerMs, handleMs: this.#handleMs, wrapUpMs: this.#wrapUpMs, reserve: this.#reserve };
  }

  observe(o: PacingObservation): void {
    switch (o.kind) {
      case 'answered':
        this.#answerRate += LEARN * (1 - this.#answerRate);
        this.#personShare += LEARN * ((o.person ? 1 : 0) - this.#personShare);
        this.#timeToAnswerMs += LEARN * (o.afterMs - this.#timeToAnswerMs);
        return;
      case 'unanswered':
        this.#answerRate += LEARN * (0 - this.#answerRate);
        return;
      case 'abandoned':
        this.#reserve = Math.min(MAX_RESERVE, this.#reserve + RESERVE_STEP);
        return;
      case 'connected': {
        // Balances the step up: at equilibrium abandons are `aim` of the cap.
        const target = this.settings.abandonLimit * this.#aim;
        this.#reserve = Math.max(0, this.#reserve - (RESERVE_STEP * target) / (1 - target));
        return;
      }
      case 'handled':
        this.#handleMs += LEARN * (o.talkMs - this.#handleMs);
        this.#wrapUpMs += LEARN * (o.wrapUpMs - this.#wrapUpMs);
        return;
    }
  }

  callsToPlace(state: PacingState, budget: BudgetStatus): number {
    const lines = state.lineLimit - state.linesInUse;
    if (lines <= 0) return 0;
    if (state.mode === 'agentless') return lines;
    if (state.mode === 'preview') return 0;
    const ringing = state.ringingAges.length;
    // Too few answers yet for one abandoned call to stay within the cap, or the cap reached: no risk at all.
    const limit = this.settings.abandonLimit;
    if (state.mode === 'progressive' || budget.answered + 1 < 1 / limit || budget.rate >= limit) {
      return clamp(state.agentsFree - state.waitingPeople - ringing, lines);
    }
    // Agents free by the time a call placed now is answered and handed over.
    const horizon = this.#timeToAnswerMs + this.#handOffMs;
    const freeing = state.agentsTalking * (1 - Math.exp(-horizon / this.#handleMs)) + state.wrapUpEndsIn.filter((ms) => ms <= horizon).length;
    const personRate = this.#answerRate * this.#personShare;
    if (personRate <= 0) return clamp(state.agentsFree - state.waitingPeople - ringing, lines);
    const expectedFromRinging = state.ringingAges.reduce((sum, age) => sum + this.#personLater(age), 0);
    // People answering at random times: keep a reserve growing with their spread (Poisson: the square root).
    // Near the cap (one more abandoned call would pass it), twice the reserve.
    const reserve = this.#reserve * (budget.canRiskAbandon ? 1 : 2) * Math.sqrt(expectedFromRinging + 1);
    const room = state.agentsFree - state.waitingPeople + freeing - reserve - expectedFromRinging;
    return clamp(Math.floor(room / personRate), lines);
  }

  /**
   * The chance that a call ringing for `ageMs` is still answered by a person: the answer rate given no answer yet,
   * answers arriving at the learned mean time to answer (exponential), unanswered calls ringing on.
   */
  #personLater(ageMs: number): number {
    const stillAnswering = this.#answerRate * Math.exp(-ageMs / this.#timeToAnswerMs);
    return (this.#personShare * stillAnswering) / (stillAnswering + (1 - this.#answerRate));
  }
}

function clamp(n: number, max: number): number {
  return Math.max(0, Math.min(max, Math.floor(n)));
}
