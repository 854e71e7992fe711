import type { AbandonBudget, BudgetStatus } from './abandon-budget';
import { OutcomeSample } from './outcome-sample';

export type PacingMode = 'preview' | 'progressive' | 'predictive' | 'agentless';

/** An agent serving the campaign who is not free now. */
export interface BusyAgent {
  readonly phase: 'talking' | 'wrap-up';
  /** Known time until the agent is free (a wrap-up's end, or the agent said they are about to finish), ms. */
  readonly freeInMs?: number;
}

/** What the pacer is told of a campaign at one moment. Durations in ms; nothing here reads a clock. */
export interface PacingState {
  readonly mode: PacingMode;
  /** Lines (calls in progress at once) the campaign may use. */
  readonly lineLimit: number;
  /** The campaign's calls in progress: ringing, screened by AMD, waiting for an agent, talking. */
  readonly linesInUse: number;
  /** Ages of the calls placed and not answered yet. */
  readonly ringingAges: readonly number[];
  /** Calls answered whose AMD verdict is not in yet. */
  readonly screening: number;
  /** People answered (verdict: person) waiting for an agent now. */
  readonly waitingPeople: number;
  /** Agents serving the campaign who are free now (in blended mode: only those the dialer may use). */
  readonly agentsAvailable: number;
  /** Agents serving the campaign talking or wrapping up. */
  readonly busyAgents: readonly BusyAgent[];
}

/** What the runtime tells the pacer about its calls' courses. */
export type PacingOutcome =
  /** Answered `afterMs` after it was placed, with the AMD verdict (person: true without AMD). */
  | { readonly kind: 'answered'; readonly afterMs: number; readonly person: boolean }
  /** Not answered: no answer, busy, rejected, after `afterMs`. */
  | { readonly kind: 'unanswered'; readonly afterMs: number }
  /** A person answered and reached an agent in time. */
  | { readonly kind: 'connected' }
  /** A person answered and found no agent in time (counted in the budget too, by the runtime). */
  | { readonly kind: 'abandoned' }
  /** An agent finished a campaign call: talk, then wrap-up. */
  | { readonly kind: 'handled'; readonly talkMs: number; readonly wrapUpMs: number };

export interface PacerSettings {
  /**
   * The budgets predictive pacing obeys (the campaign's and the centre's): the tightest one sets the abandon rate it
   * aims at and whether it may over-dial at all. The runtime records the outcomes in them.
   */
  readonly budgets?: readonly AbandonBudget[];
  /** Abandon rate aimed at without budgets: default 0.03 × aimShare. */
  readonly abandonTarget?: number;
  /** Share of the budget's safe rate (see BudgetStatus.safeRate) aimed at: default 0.9. */
  readonly aimShare?: number;
  /** From a person's answer to the hand-off to an agent (AMD verdict): default 2000 ms. */
  readonly handOffMs?: number;
  /** How long an answered person may wait for an agent before the safe-harbour message: default 2000 ms. */
  readonly connectMs?: number;
  /** Weight of one outcome in the moving averages (answer rate, person share, handle time): default 0.02. */
  readonly learningWeight?: number;
  /** Estimates until the campaign's own calls teach better ones. */
  readonly priors?: Partial<Priors>;
}

export interface Priors {
  readonly answerRate: number;
  readonly personShare: number;
  readonly timeToAnswerMs: number;
  readonly noAnswerMs: number;
  readonly talkMs: number;
  readonly wrapUpMs: number;
}

const DEFAULT_PRIORS: Priors = { answerRate: 0.25, personShare: 0.85, timeToAnswerMs: 8000, noAnswerMs: 20_000, talkMs: 170_000, wrapUpMs: 10_000 };

/** The pacer's live estimates and its last decision, for status pages and the bench. */
export interface PacingEstimates {
  readonly answerRate: number;
  readonly personShare: number;
  readonly meanTimeToAnswerMs: number;
  readonly meanTalkMs: number;
  readonly meanWrapUpMs: number;
  /** Agents kept free for the people about to answer, in standard deviations of their number. */
  readonly reserve: number;
  /** The abandon rate it is steering to. */
  readonly aimRate: number;
}

export interface PacingDecision {
  readonly launch: number;
  /** Why this many: the mode's rule, the line limit, or predictive held back to progressive by the budget. */
  readonly rule: 'preview' | 'agentless' | 'progressive' | 'predictive' | 'budget-held' | 'line-limit';
  /** Predictive: people expected from calls in flight, agents expected free for them, the reserve kept. */
  readonly expectedPeople?: number;
  readonly expectedAgents?: number;
  readonly reserveAgents?: number;
}

const RESERVE_STEP = 0.05;
const MAX_RESERVE = 8;

/**
 * How many calls a campaign launches now.
 *
 * - preview: 0 (the agent places the call); agentless: every free line.
 * - progressive: one call per available agent, less the calls ringing, being screened or waiting for one.
 * - predictive: enough that the people expected to answer — from calls ringing (the chance that one unanswered at its
 *   age is still answered, from the learned time-to-answer and ring-out distributions), being screened, and the new
 *   ones (answer rate × person share) — match the agents expected free when they do: available now, busy ones whose
 *   known free time falls within the horizon (learned time to answer + hand-off + connect time), and talking ones
 *   whose call ends early enough to wrap up within it (exponential talk at the learned mean); less a reserve of
 *   agents, since a person waits only the connect time: `reserve` × √(people in flight + 1).
 *   Feedback: each abandoned call raises the reserve and each connected call lowers it by aim/(1 − aim) as much, so
 *   abandons settle at the aimed rate: aimShare × the tightest budget's safe rate (the highest rate at which the
 *   window's upper bound stays within the cap, which grows as answers accumulate), less the part of the window's
 *   rate the pacer did not cause (AMD false positives, other campaigns in a centre's budget; its own rate is counted
 *   over its life). The reserve widens further as the window's measured rate passes the aim on its way to the cap,
 *   and predictive paces progressively while any budget refuses (`predictiveAllowed` false: too few answers to be
 *   confident, or the cap within one abandon). The answer rate is the higher of a fast and a slow moving average.
 *
 * Never beyond the line limit.
 */
export class Pacer {
  readonly #budgets: readonly AbandonBudget[];
  readonly #aimShare: number;
  readonly #fallbackAim: number;
  readonly #handOffMs: number;
  readonly #connectMs: number;
  readonly #learn: number;
  /** Answer rate, fast (learningWeight) and slow (learningWeight / 4) moving averages: pacing uses the higher. */
  #answerRate: number;
  #answerRateSlow: number;
  #personShare: number;
  #talkMs: number;
  #wrapUpMs: number;
  readonly #timeToAnswer: OutcomeSample;
  readonly #ringOut: OutcomeSample;
  #reserve = 3;
  #aimRate: number;
  /** This pacer's own people connected and abandoned (to tell its abandons from the rest of a budget's). */
  #ownConnected = 0;
  #ownAbandoned = 0;
  #last: PacingDecision = { launch: 0, rule: 'progressive' };

  constructor(settings: PacerSettings = {}) {
    const priors = { ...DEFAULT_PRIORS, ...settings.priors };
    this.#budgets = settings.budgets ?? [];
    this.#aimShare = settings.aimShare ?? 0.9;
    this.#fallbackAim = settings.abandonTarget ?? 0.03 * this.#aimShare;
    this.#aimRate = this.#fallbackAim;
    this.#handOffMs = settings.handOffMs ?? 2000;
    this.#connectMs = settings.connectMs ?? 2000;
    this.#learn = settings.learningWeight ?? 0.02;
    this.#answerRate = priors.answerRate;
    this.#answerRateSlow = priors.answerRate;
    this.#personShare = priors.personShare;
    this.#talkMs = priors.talkMs;
    this.#wrapUpMs = priors.wrapUpMs;
    this.#timeToAnswer = new OutcomeSample(priors.timeToAnswerMs);
    this.#ringOut = new OutcomeSample(priors.noAnswerMs);
  }

  get estimates(): PacingEstimates {
    return {
      answerRate: this.#pacingAnswerRate(), personShare: this.#personShare, meanTimeToAnswerMs: this.#timeToAnswer.mean(),
      meanTalkMs: this.#talkMs, meanWrapUpMs: this.#wrapUpMs, reserve: this.#reserve, aimRate: this.#aimRate,
    };
  }

  /** The last callsToLaunch decision and what it was based on. */
  get lastDecision(): PacingDecision {
    return this.#last;
  }

  /** Learns from one call's course. */
  observe(o: PacingOutcome): void {
    const w = this.#learn;
    switch (o.kind) {
      case 'answered':
        this.#answerRate += w * (1 - this.#answerRate);
        this.#answerRateSlow += (w / 4) * (1 - this.#answerRateSlow);
        this.#personShare += w * ((o.person ? 1 : 0) - this.#personShare);
        this.#timeToAnswer.add(o.afterMs);
        return;
      case 'unanswered':
        this.#answerRate += w * (0 - this.#answerRate);
        this.#answerRateSlow += (w / 4) * (0 - this.#answerRateSlow);
        this.#ringOut.add(o.afterMs);
        return;
      case 'abandoned':
        this.#ownAbandoned++;
        this.#reserve = Math.min(MAX_RESERVE, this.#reserve + RESERVE_STEP);
        return;
      case 'connected': {
        this.#ownConnected++;
        const aim = this.#aimRate;
        this.#reserve = Math.max(0, this.#reserve - (RESERVE_STEP * aim) / (1 - aim));
        return;
      }
      case 'handled':
        this.#talkMs += w * (o.talkMs - this.#talkMs);
        this.#wrapUpMs += w * (o.wrapUpMs - this.#wrapUpMs);
        return;
    }
  }

  /** How many calls to launch now, given the campaign's state at `now` (ms, the runtime's or the simulation's clock). */
  callsToLaunch(state: PacingState, now: number): number {
    this.#last = this.#decide(state, now);
    return this.#last.launch;
  }

  #decide(state: PacingState, now: number): PacingDecision {
    const lines = Math.max(0, Math.floor(state.lineLimit - state.linesInUse));
    const cap = (rule: PacingDecision['rule'], n: number, extra: Partial<PacingDecision> = {}): PacingDecision => {
      const wanted = Math.max(0, Math.floor(n));
      return wanted > lines ? { ...extra, launch: lines, rule: 'line-limit' } : { ...extra, launch: wanted, rule };
    };
    if (state.mode === 'preview') return { launch: 0, rule: 'preview' };
    if (state.mode === 'agentless') return cap('agentless', lines);
    const progressive = state.agentsAvailable - state.ringingAges.length - state.screening - state.waitingPeople;
    if (state.mode === 'progressive') return cap('progressive', progressive);

    // Predictive: the tightest budget sets the aim and may hold it back to progressive.
    const statuses: BudgetStatus[] = this.#budgets.map((b) => b.status(now));
    if (statuses.some((s) => !s.predictiveAllowed)) return cap('budget-held', progressive);
    let aim = statuses.length === 0 ? this.#fallbackAim : Infinity;
    let pressure = 0;
    const ownAnswered = this.#ownConnected + this.#ownAbandoned;
    const ownRate = ownAnswered > 0 ? this.#ownAbandoned / ownAnswered : 0;
    for (const s of statuses) {
      // Abandons the pacer did not cause (AMD false positives, other campaigns in a centre's budget) use up the
      // budget too: aim that much lower.
      const a = this.#aimShare * s.safeRate - Math.max(0, s.rate - ownRate);
      aim = Math.min(aim, a);
      // How far the window's rate has gone past the aim towards the cap: 0 below the aim, 1 at the cap.
      if (s.cap > a) pressure = Math.max(pressure, (s.rate - a) / (s.cap - a));
    }
    this.#aimRate = Math.max(1e-3, aim);

    const personRate = this.#pacingAnswerRate() * this.#personShare;
    const horizon = this.#timeToAnswer.mean() + this.#handOffMs + this.#connectMs;
    let agents = state.agentsAvailable - state.waitingPeople;
    for (const a of state.busyAgents) {
      if (a.freeInMs !== undefined) agents += a.freeInMs <= horizon ? 1 : 0;
      else if (a.phase === 'talking') agents += horizon > this.#wrapUpMs ? -Math.expm1(-(horizon - this.#wrapUpMs) / this.#talkMs) : 0;
      // A wrap-up of unknown progress: its remaining time taken as uniform over the mean wrap-up.
      else agents += Math.min(1, horizon / Math.max(1, this.#wrapUpMs));
    }
    let people = state.screening * this.#personShare;
    for (const age of state.ringingAges) people += this.#personLater(age);
    const reserve = this.#reserve * (1 + 2 * Math.max(0, pressure)) * Math.sqrt(people + 1);
    if (personRate <= 0) return cap('predictive', progressive, { expectedPeople: people, expectedAgents: agents, reserveAgents: reserve });
    const room = agents - reserve - people;
    // Never fewer than progressive would place: an available agent with nothing in flight for them gets a call.
    const launch = Math.max(progressive, room / personRate);
    return cap('predictive', launch, { expectedPeople: people, expectedAgents: agents, reserveAgents: reserve });
  }

  /**
   * The answer rate paced by: the higher of the fast and the slow averages. Overestimating answers only under-dials,
   * so a rise is followed at once and a fall as the slow average confirms it (the fast one alone, at low answer
   * rates, is noisy enough to over-dial on a run of no-answers).
   */
  #pacingAnswerRate(): number {
    return Math.max(this.#answerRate, this.#answerRateSlow);
  }

  /** The chance that a call still ringing at `ageMs` is answered by a person. */
  #personLater(ageMs: number): number {
    const rate = this.#pacingAnswerRate();
    const answering = rate * this.#timeToAnswer.survival(ageMs);
    const ringing = (1 - rate) * this.#ringOut.survival(ageMs);
    if (answering + ringing <= 0) return 0;
    return (this.#personShare * answering) / (answering + ringing);
  }
}
