/**
 * Confidence intervals by batch means: the measured calls, in arrival order, are cut into BATCHES consecutive
 * batches; each batch's figure (e.g. its service level) is one observation, and the half-width of the 95 % interval
 * is t(0.975, BATCHES − 1) · sd(batch figures) / sqrt(BATCHES). Batches thousands of calls long are far longer
 * than the queue's memory, so their figures are close to independent, which is what the t interval assumes.
 * Calls are first summed into blocks of a fixed size, so the batches can grow as the run is extended.
 */
export const BATCHES = 20;
const T_975_19 = 2.093; // Student t quantile, 19 degrees of freedom

/** What is summed per block of calls. */
export interface Sums {
  calls: number;
  answered: number;
  /** Answered within the service-level threshold. */
  inTime: number;
  abandoned: number;
  /** Sum of waits of answered calls (s). */
  answeredWait: number;
}

export interface Estimate {
  value: number;
  /** Half-width of the 95 % confidence interval. */
  halfWidth: number;
}

export interface CaseFigures {
  calls: number;
  /** Answered within t / all calls. */
  serviceLevel: Estimate;
  /** Answered within t / answered calls. */
  serviceLevelAnswered: Estimate;
  /** Mean wait of answered calls (s). */
  asa: Estimate;
  /** Abandoned / all calls. */
  pAbandon: Estimate;
}

export const emptySums = (): Sums => ({ calls: 0, answered: 0, inTime: 0, abandoned: 0, answeredWait: 0 });

function add(into: Sums, from: Sums): void {
  into.calls += from.calls;
  into.answered += from.answered;
  into.inTime += from.inTime;
  into.abandoned += from.abandoned;
  into.answeredWait += from.answeredWait;
}

/** Figures over all blocks that fit in BATCHES equal batches (the last few blocks are left out). */
export function figures(blocks: readonly Sums[]): CaseFigures | undefined {
  const perBatch = Math.floor(blocks.length / BATCHES);
  if (perBatch === 0) return undefined;
  const batches: Sums[] = [];
  const total = emptySums();
  for (let b = 0; b < BATCHES; b++) {
    const batch = emptySums();
    for (let i = b * perBatch; i < (b + 1) * perBatch; i++) add(batch, blocks[i]!);
    batches.push(batch);
    add(total, batch);
  }
  // The point estimate is the ratio of totals; the batch ratios give its spread.
  const estimate = (ratio: (s: Sums) => number): Estimate => {
    const values = batches.map(ratio);
    const mean = values.reduce((a, b) => a + b, 0) / BATCHES;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (BATCHES - 1);
    return { value: ratio(total), halfWidth: (T_975_19 * Math.sqrt(variance)) / Math.sqrt(BATCHES) };
  };
  return {
    calls: total.calls,
    serviceLevel: estimate((s) => s.inTime / s.calls),
    serviceLevelAnswered: estimate((s) => s.inTime / s.answered),
    asa: estimate((s) => s.answeredWait / s.answered),
    pAbandon: estimate((s) => s.abandoned / s.calls),
  };
}
