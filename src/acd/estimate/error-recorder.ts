/**
 * The measured error of wait predictions: for each answered task, the wait predicted for it (typically at enqueue)
 * against the wait it actually had. Record WaitEstimate.answeredWaitMs: only answered tasks have an actual wait, and
 * waitMs (the wait if the caller stays) is longer by design when callers abandon. Plain data, so that the metrics
 * layer can export it (a Prometheus histogram takes `histogram` as it is: cumulative counts per upper bound, sum,
 * count).
 */

/** Upper bounds (ms) of the error histogram's buckets; the error is actual − predicted, so negative = early. */
export const DEFAULT_ERROR_BUCKETS_MS: readonly number[] = [
  -300_000, -120_000, -60_000, -30_000, -10_000, -5_000, -1_000, 0, 1_000, 5_000, 10_000, 30_000, 60_000, 120_000,
  300_000,
];

export interface WaitErrorSummary {
  /** Answered tasks recorded with a finite prediction. */
  count: number;
  /** Answered tasks whose prediction was Infinity (no slot staffed when predicted): not in any other figure. */
  unpredicted: number;
  /** Median and 90th percentile of |actual − predicted| over the last `window` records (NaN when none). */
  absErrorP50Ms: number;
  absErrorP90Ms: number;
  /** Median of actual − predicted over the same window: the bias (negative: predictions too long). */
  errorP50Ms: number;
  /** Every record since start, Prometheus style: counts of errors ≤ each upper bound; count and sum. */
  histogram: { upperBoundsMs: number[]; cumulativeCounts: number[]; count: number; sumMs: number };
}

export class WaitErrorRecorder {
  readonly #upperBounds: number[];
  readonly #bucketCounts: number[];
  #count = 0;
  #sumMs = 0;
  #unpredicted = 0;
  // Ring of the last `window` signed errors, for exact quantiles of recent predictions.
  readonly #recent: Float64Array;
  #recentNext = 0;

  /** bucketsMs: increasing upper bounds of the histogram; window: how many recent records the quantiles cover. */
  constructor(options: { bucketsMs?: readonly number[]; window?: number } = {}) {
    const bounds = [...(options.bucketsMs ?? DEFAULT_ERROR_BUCKETS_MS)];
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new RangeError('bucketsMs must be finite and strictly increasing');
    }
    const window = options.window ?? 10_000;
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer (got ${window})`);
    this.#upperBounds = bounds;
    this.#bucketCounts = new Array<number>(bounds.length).fill(0);
    this.#recent = new Float64Array(window);
  }

  /** A task was answered after actualMs in queue; predictedMs is the answered wait predicted for it. */
  record(predictedMs: number, actualMs: number): void {
    if (!(actualMs >= 0 && actualMs < Infinity)) throw new RangeError(`actualMs must be finite and ≥ 0 (got ${actualMs})`);
    if (predictedMs === Infinity) {
      this.#unpredicted++;
      return;
    }
    if (!(predictedMs >= 0 && predictedMs < Infinity)) throw new RangeError(`predictedMs must be ≥ 0 (got ${predictedMs})`);
    const error = actualMs - predictedMs;
    const bucket = this.#upperBounds.findIndex((bound) => error <= bound);
    if (bucket >= 0) this.#bucketCounts[bucket]!++;
    this.#recent[this.#recentNext++ % this.#recent.length] = error;
    this.#count++;
    this.#sumMs += error;
  }

  summary(): WaitErrorSummary {
    const n = Math.min(this.#count, this.#recent.length);
    const signed = this.#recent.slice(0, n).sort();
    const absolute = signed.map(Math.abs).sort();
    let cumulative = 0;
    return {
      count: this.#count,
      unpredicted: this.#unpredicted,
      absErrorP50Ms: quantile(absolute, 0.5),
      absErrorP90Ms: quantile(absolute, 0.9),
      errorP50Ms: quantile(signed, 0.5),
      histogram: {
        upperBoundsMs: [...this.#upperBounds],
        cumulativeCounts: this.#bucketCounts.map((c) => (cumulative += c)),
        count: this.#count,
        sumMs: this.#sumMs,
      },
    };
  }
}

/** Nearest-rank quantile of sorted values: the smallest value with at least q of them at or below it. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
