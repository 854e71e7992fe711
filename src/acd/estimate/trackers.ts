/**
 * Recent handle time and patience, the μ and θ of the wait estimate, from what actually happened: sums in which a
 * sample's weight halves every `halfLifeMs` of (injected) time, so the figures follow a change of traffic within a
 * few half-lives and do not drift with old data. Times are whatever clock the caller runs on (ms).
 */

/** Two sums decayed alike; their ratio is a decay-weighted mean. Samples may arrive slightly out of time order. */
class DecayingRatio {
  #numerator = 0;
  #denominator = 0;
  #atMs = -Infinity;
  readonly #halfLifeMs: number;

  constructor(halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new RangeError(`halfLifeMs must be > 0 (got ${halfLifeMs})`);
    this.#halfLifeMs = halfLifeMs;
  }

  add(nowMs: number, numerator: number, denominator: number): void {
    let weight = 1;
    if (nowMs >= this.#atMs) {
      const decay = this.#atMs === -Infinity ? 0 : 2 ** (-(nowMs - this.#atMs) / this.#halfLifeMs);
      this.#numerator *= decay;
      this.#denominator *= decay;
      this.#atMs = nowMs;
    } else {
      weight = 2 ** (-(this.#atMs - nowMs) / this.#halfLifeMs);
    }
    this.#numerator += weight * numerator;
    this.#denominator += weight * denominator;
  }

  /** numerator / denominator, or undefined while the denominator is 0. */
  ratio(): number | undefined {
    return this.#denominator > 0 ? this.#numerator / this.#denominator : undefined;
  }
}

/** Decay-weighted mean handle time (offer accepted until the slot is free again, wrap-up included). */
export class HandleTimeTracker {
  readonly #mean: DecayingRatio;

  /** halfLifeMs: how fast old handle times stop counting (default 30 minutes). */
  constructor(halfLifeMs = 30 * 60_000) {
    this.#mean = new DecayingRatio(halfLifeMs);
  }

  /** One task's handle time, recorded when its slot is free again at nowMs. */
  record(nowMs: number, handleMs: number): void {
    if (!(handleMs >= 0 && handleMs < Infinity)) throw new RangeError(`handleMs must be finite and ≥ 0 (got ${handleMs})`);
    this.#mean.add(nowMs, handleMs, 1);
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

  /** halfLifeMs: how fast old waits stop counting (default 30 minutes). */
  constructor(halfLifeMs = 30 * 60_000) {
    this.#rate = new DecayingRatio(halfLifeMs);
  }

  /** One task's time in queue, recorded when it was answered (abandoned false) or abandoned, at nowMs. */
  record(nowMs: number, waitedMs: number, abandoned: boolean): void {
    if (!(waitedMs >= 0 && waitedMs < Infinity)) throw new RangeError(`waitedMs must be finite and ≥ 0 (got ${waitedMs})`);
    this.#rate.add(nowMs, abandoned ? 1 : 0, waitedMs);
  }

  /** Abandonments per ms of waiting (0 when nobody abandoned), or undefined before any waiting time was recorded. */
  ratePerMs(): number | undefined {
    return this.#rate.ratio();
  }
}
