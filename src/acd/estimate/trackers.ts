/**
 * Recent handle time and patience, the μ and θ of the wait estimate, from what actually happened: sums in which a
 * sample's weight halves with every `halfLifeSamples` samples recorded after it, so the figures follow a change of
 * traffic and do not drift with old data.
 *
 * Why count and not time: the estimate's error comes mostly from how many samples the mean rests on. With a time
 * half-life a small queue averages a few dozen calls, and that noise is not harmless: a run of long calls is also
 * what made the queue long right now, so a noisy mean overstates the wait exactly when many callers are asking
 * (measured in bench/acd-erlang: a 30-minute half-life on 3 agents at 40 calls/h biased predictions by −5.2 s of an
 * 81 s mean wait; a 1000-sample half-life by −0.3 s).
 */

/** Two sums decayed alike per sample; their ratio is a decay-weighted mean. */
class DecayingRatio {
  #numerator = 0;
  #denominator = 0;
  readonly #keep: number;

  constructor(halfLifeSamples: number) {
    if (!(halfLifeSamples > 0)) throw new RangeError(`halfLifeSamples must be > 0 (got ${halfLifeSamples})`);
    this.#keep = 2 ** (-1 / halfLifeSamples);
  }

  add(numerator: number, denominator: number): void {
    this.#numerator = this.#numerator * this.#keep + numerator;
    this.#denominator = this.#denominator * this.#keep + denominator;
  }

  /** numerator / denominator, or undefined while the denominator is 0. */
  ratio(): number | undefined {
    return this.#denominator > 0 ? this.#numerator / this.#denominator : undefined;
  }
}

/** Decay-weighted mean handle time (offer accepted until the slot is free again, wrap-up included). */
export class HandleTimeTracker {
  readonly #mean: DecayingRatio;

  /** halfLifeSamples: after how many newer handle times a handle time weighs half (default 1000). */
  constructor(halfLifeSamples = 1000) {
    this.#mean = new DecayingRatio(halfLifeSamples);
  }

  /** One task's handle time, recorded when its slot is free again. */
  record(handleMs: number): void {
    if (!(handleMs >= 0 && handleMs < Infinity)) throw new RangeError(`handleMs must be finite and ≥ 0 (got ${handleMs})`);
    this.#mean.add(handleMs, 1);
  }

  /** The mean, or undefined before the first sample (the caller then falls back to a configured handle time). */
  meanMs(): number | undefined {
    return this.#mean.ratio();
  }
}

/**
 * Decay-weighted abandonment rate θ of waiting tasks: abandonments divided by the total time tasks spent waiting,
 * answered or abandoned. That is the maximum-likelihood rate of exponential patience when an answered task's
 * patience is known only to exceed its wait (Erlang A's θ = P(abandon) / E[wait]).
 */
export class PatienceTracker {
  readonly #rate: DecayingRatio;

  /** halfLifeSamples: after how many newer tasks a task's wait weighs half (default 1000). */
  constructor(halfLifeSamples = 1000) {
    this.#rate = new DecayingRatio(halfLifeSamples);
  }

  /** One task's time in queue, recorded when it was answered (abandoned false) or abandoned. */
  record(waitedMs: number, abandoned: boolean): void {
    if (!(waitedMs >= 0 && waitedMs < Infinity)) throw new RangeError(`waitedMs must be finite and ≥ 0 (got ${waitedMs})`);
    this.#rate.add(abandoned ? 1 : 0, waitedMs);
  }

  /** Abandonments per ms of waiting (0 when nobody abandoned), or undefined before any waiting time was recorded. */
  ratePerMs(): number | undefined {
    return this.#rate.ratio();
  }
}
