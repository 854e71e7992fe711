/**
 * Erlang C (M/M/N) and Erlang A (M/M/N+M, Palm; Garnett, Mandelbaum and Reiman 2002) steady-state measures.
 *
 * Any time unit will do as long as every input uses the same one (seconds, say). Calls arrive as a Poisson process
 * (rate `arrivalRate`), handle times are exponential (mean `meanHandleTime`), `agents` identical servers answer first
 * come first served, and in Erlang A every waiting caller gives up after an exponential patience (mean
 * `meanPatience`). Everything is computed in log space relative to the probability of "all agents busy, nobody
 * waiting", so thousands of agents neither overflow nor underflow.
 *
 * How a caller who finds j others waiting fares (Erlang A, rates μ = 1/meanHandleTime, θ = 1/meanPatience): the
 * queue ahead of it shrinks at rate Nμ + iθ while i are ahead, and it leaves itself at rate θ. So it is answered
 * with probability Nμ / (Nμ + (j+1)θ); given that it is, its wait is a sum of exponentials with rates Nμ + (i+1)θ,
 * i = 0..j, which is −ln(X)/θ for X ~ Beta(Nμ/θ + 1, j + 1): P(wait > t) = P(K ≤ j) for K negative binomial with
 * r = Nμ/θ + 1 and success probability e^(−θt). All sums below are of positive terms.
 */

export interface ErlangInput {
  /** Calls per time unit (λ). */
  arrivalRate: number;
  /** Mean handle time (1/μ): the time an agent is kept from the next call, wrap-up included. */
  meanHandleTime: number;
  /** Agents (N), a positive integer. */
  agents: number;
  /** Service-level threshold t: a call answered within t counts as in service level. */
  slThreshold: number;
  /** Erlang A only: mean patience (1/θ) of a waiting caller. Infinity means nobody abandons (Erlang C). */
  meanPatience?: number;
}

export interface ErlangResult {
  /** Offered load λ/μ in Erlangs. */
  load: number;
  /** Carried load per agent: λ(1 − P(abandon))/(Nμ). */
  occupancy: number;
  /** Probability that a call finds every agent busy and has to wait. */
  pWait: number;
  /** Probability that a call abandons before it is answered (0 in Erlang C). */
  pAbandon: number;
  /** Service level over all calls: P(answered within slThreshold). Abandoned calls count against it. */
  serviceLevel: number;
  /** Service level over answered calls: P(answered within slThreshold | answered). Equal to serviceLevel in Erlang C. */
  serviceLevelAnswered: number;
  /** Average speed of answer: mean wait of answered calls (those answered at once count with 0). */
  asa: number;
  /** Mean time in queue over all calls, answered or abandoned (an abandoned call counts the time until it left). */
  meanWait: number;
  /** Time-average number of calls waiting. */
  meanQueueLength: number;
}

/** Erlang A; with meanPatience Infinity (or absent) it is Erlang C. */
export function erlangA(input: ErlangInput): ErlangResult {
  const { arrivalRate: lambda, meanHandleTime, agents: n, slThreshold: t } = input;
  const meanPatience = input.meanPatience ?? Infinity;
  check(input);
  if (meanPatience === Infinity) return erlangC(input);
  const mu = 1 / meanHandleTime;
  const theta = 1 / meanPatience;
  const load = lambda / mu;
  if (lambda === 0) return idle(load);

  // log q_j = log(π_{N+j}/π_N) = Σ_{i=1..j} log(λ / (Nμ + iθ)), kept until the terms past the mode stop counting.
  const logQ: number[] = [0];
  let logSumQueued = -Infinity; // log Σ_{j≥1} q_j
  for (let j = 1; ; j++) {
    const next = logQ[j - 1]! + Math.log(lambda / (n * mu + j * theta));
    logQ.push(next);
    logSumQueued = logAddExp(logSumQueued, next);
    if (lambda < n * mu + j * theta && next - logSumQueued < LOG_NEGLIGIBLE) break;
    if (j > MAX_QUEUE_TERMS) throw new RangeError(`erlangA: queue distribution needs more than ${MAX_QUEUE_TERMS} terms`);
  }
  // Normalizer relative to π_N: Σ_{n≤N} π_n/π_N = 1/ErlangB(N, load), plus the waiting states j ≥ 1.
  const logZ = logAddExp(logInverseErlangB(n, load), logSumQueued);
  const pWait = Math.exp(logAddExp(0, logSumQueued) - logZ);

  // K ~ NegBin(r = Nμ/θ + 1, p = e^{−θt}): log pmf step and log P(K ≤ j) accumulated as j grows.
  const r = (n * mu) / theta + 1;
  const logOneMinusP = t > 0 ? Math.log(-Math.expm1(-theta * t)) : -Infinity;
  let logPmf = -r * theta * t;
  let logCdf = logPmf;

  let pAbandon = 0;
  let answeredWaitSum = 0;
  let answeredLateSum = 0;
  let waitSum = 0;
  let queueSum = 0;
  let meanStageSum = 0; // Σ_{i=0..j} 1/(Nμ + (i+1)θ): mean wait of an answered caller who found j waiting
  for (let j = 0; j < logQ.length; j++) {
    if (j > 0) {
      logPmf += Math.log((r + j - 1) / j) + logOneMinusP;
      logCdf = logAddExp(logCdf, logPmf);
    }
    const w = Math.exp(logQ[j]! - logZ); // P(an arrival finds all agents busy and j waiting)
    const out = n * mu + (j + 1) * theta;
    const answered = (n * mu) / out;
    meanStageSum += 1 / out;
    pAbandon += w * (1 - answered);
    answeredWaitSum += w * answered * meanStageSum;
    answeredLateSum += w * answered * Math.min(1, Math.exp(logCdf)); // P(K ≤ j) = P(wait > t | answered, j)
    waitSum += (w * (j + 1)) / out;
    queueSum += w * j;
  }
  const pAnswered = 1 - pAbandon;
  const answeredInTime = pAnswered - answeredLateSum;
  return {
    load,
    occupancy: (lambda * pAnswered) / (n * mu),
    pWait,
    pAbandon,
    serviceLevel: answeredInTime,
    serviceLevelAnswered: answeredInTime / pAnswered,
    asa: answeredWaitSum / pAnswered,
    meanWait: waitSum,
    meanQueueLength: queueSum,
  };
}

/** Erlang C: nobody abandons, so the offered load must be below the number of agents. meanPatience is ignored. */
export function erlangC(input: ErlangInput): ErlangResult {
  check(input);
  const { arrivalRate: lambda, meanHandleTime, agents: n, slThreshold: t } = input;
  const mu = 1 / meanHandleTime;
  const load = lambda / mu;
  if (lambda === 0) return idle(load);
  if (load >= n) throw new RangeError(`erlangC: offered load ${load} Erlangs needs more than ${n} agents`);
  const rho = load / n;
  // C = 1 / ((1 − ρ)/B + ρ), written with log(1/B) so that a tiny B (many idle agents) gives C → 0, not NaN.
  const inverseB = Math.exp(logInverseErlangB(n, load));
  const pWait = 1 / ((1 - rho) * inverseB + rho);
  const drain = n * mu - lambda;
  const serviceLevel = 1 - pWait * Math.exp(-drain * t);
  const asa = pWait / drain;
  return {
    load,
    occupancy: rho,
    pWait,
    pAbandon: 0,
    serviceLevel,
    serviceLevelAnswered: serviceLevel,
    asa,
    meanWait: asa,
    meanQueueLength: (pWait * rho) / (1 - rho),
  };
}

/** Erlang B blocking probability of `servers` servers at `load` Erlangs. */
export function erlangB(servers: number, load: number): number {
  return Math.exp(-logInverseErlangB(servers, load));
}

// A term this far (natural log) below the running sum changes it by less than 1e-18 relative.
const LOG_NEGLIGIBLE = Math.log(1e-18);
// Bounds the loop when λ ≫ Nμ and θ is tiny (mode of the queue length ~ (λ − Nμ)/θ).
const MAX_QUEUE_TERMS = 20_000_000;

/**
 * log(1/B(N, a)) = log Σ_{k=0..N} (a^k/k!)/(a^N/N!), by the recursion 1/B(k) = 1 + (k/a)/B(k−1) in log space:
 * log(1/B(k)) = softplus(log(k/a) + log(1/B(k−1))).
 */
function logInverseErlangB(servers: number, load: number): number {
  let logInv = 0;
  for (let k = 1; k <= servers; k++) {
    const x = Math.log(k / load) + logInv;
    logInv = x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
  }
  return logInv;
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

function idle(load: number): ErlangResult {
  return {
    load, occupancy: 0, pWait: 0, pAbandon: 0, serviceLevel: 1, serviceLevelAnswered: 1, asa: 0, meanWait: 0,
    meanQueueLength: 0,
  };
}

function check(input: ErlangInput): void {
  const { arrivalRate, meanHandleTime, agents, slThreshold, meanPatience } = input;
  if (!Number.isInteger(agents) || agents < 1) throw new RangeError(`agents must be a positive integer (got ${agents})`);
  if (!(arrivalRate >= 0 && arrivalRate < Infinity)) throw new RangeError(`arrivalRate must be finite and ≥ 0 (got ${arrivalRate})`);
  if (!(meanHandleTime > 0 && meanHandleTime < Infinity)) {
    throw new RangeError(`meanHandleTime must be finite and > 0 (got ${meanHandleTime})`);
  }
  if (!(slThreshold >= 0)) throw new RangeError(`slThreshold must be ≥ 0 (got ${slThreshold})`);
  if (meanPatience !== undefined && !(meanPatience > 0)) throw new RangeError(`meanPatience must be > 0 (got ${meanPatience})`);
}
