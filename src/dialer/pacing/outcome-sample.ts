/**
 * The last `size` values of a duration (time to answer, ring time before no answer), kept sorted as well so that
 * the share above any t is a binary search: the pacer's empirical distribution. Until `minimum` values are in, a
 * prior exponential with mean `priorMeanMs` stands in.
 */
export class OutcomeSample {
  readonly #ring: number[] = [];
  readonly #sorted: number[] = [];
  #next = 0;

  constructor(
    private readonly priorMeanMs: number,
    private readonly size = 200,
    private readonly minimum = 20,
  ) {}

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.#ring.length < this.size) this.#ring.push(ms);
    else {
      const old = this.#ring[this.#next]!;
      this.#ring[this.#next] = ms;
      this.#next = (this.#next + 1) % this.size;
      this.#sorted.splice(this.#lowerBound(old), 1);
    }
    this.#sorted.splice(this.#lowerBound(ms), 0, ms);
  }

  get count(): number {
    return this.#ring.length;
  }

  mean(): number {
    if (this.#ring.length < this.minimum) return this.priorMeanMs;
    return this.#ring.reduce((a, b) => a + b, 0) / this.#ring.length;
  }

  /** P(duration > t). */
  survival(t: number): number {
    if (this.#ring.length < this.minimum) return Math.exp(-Math.max(0, t) / this.priorMeanMs);
    // Index of the first value > t.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return (this.#sorted.length - lo) / this.#sorted.length;
  }

  #lowerBound(v: number): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
