/**
 * A campaign's abandoned calls over the regulator's window (TSR: 30 days or the campaign's life; Ofcom: 24 hours):
 * abandoned among calls a person answered. Answering-machine detection's false positives (people hung up on as
 * machines) are abandoned calls too (Ofcom counts them): each machine verdict adds its estimated false-positive share
 * to both counts.
 */
export class AbandonBudget {
  readonly #answers: { at: number; answered: number; abandoned: number }[] = [];
  #answered = 0;
  #abandoned = 0;

  constructor(
    private readonly windowMs: number,
    /** The cap, e.g. 0.03. */
    private readonly limit: number,
    /** One-sided normal quantile of the upper bound: 1.645 for 95 %. */
    private readonly z = 1.645,
  ) {}

  /** A person answered at `at`: connected to an agent, or abandoned. */
  record(at: number, abandoned: boolean): void {
    this.#add(at, 1, abandoned ? 1 : 0);
  }

  /** A machine verdict at `at`: a person hung up on with probability `falsePositive` (0-1). */
  recordMachine(at: number, falsePositive: number): void {
    if (falsePositive > 0) this.#add(at, falsePositive, falsePositive);
  }

  #add(at: number, answered: number, abandoned: number): void {
    this.#answers.push({ at, answered, abandoned });
    this.#answered += answered;
    this.#abandoned += abandoned;
  }

  status(now: number): BudgetStatus {
    const from = now - this.windowMs;
    while (this.#answers.length > 0 && this.#answers[0]!.at < from) {
      const old = this.#answers.shift()!;
      this.#answered -= old.answered;
      this.#abandoned -= old.abandoned;
    }
    // Sums of fractions drift by rounding: a count is never below zero.
    const answered = Math.max(0, this.#answered);
    const abandoned = Math.max(0, this.#abandoned);
    return {
      answered,
      abandoned,
      rate: answered === 0 ? 0 : abandoned / answered,
      upperBound: wilsonUpper(abandoned, answered, this.z),
      // Predictive dialing may risk an abandoned call only while the window can take one more within the cap.
      canRiskAbandon: (abandoned + 1) / (answered + 1) <= this.limit,
    };
  }
}

export interface BudgetStatus {
  readonly answered: number;
  readonly abandoned: number;
  readonly rate: number;
  /** The Wilson score upper bound of the abandon rate at the budget's confidence: high while counts are small. */
  readonly upperBound: number;
  readonly canRiskAbandon: boolean;
}

export function wilsonUpper(successes: number, n: number, z: number): number {
  if (n === 0) return 1;
  const p = successes / n;
  const z2 = z * z;
  return Math.min(1, (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}
