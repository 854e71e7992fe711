import t from 'tap';
import { erlangA, estimateQueueWaits, estimateWait, type LiveWaitInput } from '../../src/acd/estimate/index';

/** Seeded uniform (0, 1) generator (mulberry32), so a failure is reproducible. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (((x ^ (x >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

const base: LiveWaitInput = { slots: 2, busySlots: 2, tasksAhead: 1, meanHandleMs: 100, abandonRatePerMs: 0.01 };

t.test('by hand: 2 busy slots of mean 100 ms, one task ahead, θ = 0.01/ms', async (t) => {
  // Nμ = 0.02/ms. Stages: 1 ahead (rate 0.02 + 0.01), then 0 ahead (rate 0.02).
  const e = estimateWait(base);
  t.ok(Math.abs(e.waitMs - (1 / 0.03 + 1 / 0.02)) < 1e-12, `waitMs ${e.waitMs}`);
  t.ok(Math.abs(e.answeredWaitMs - (1 / 0.04 + 1 / 0.03)) < 1e-12, `answeredWaitMs ${e.answeredWaitMs}`);
  t.ok(Math.abs(e.abandonProbability - 0.5) < 1e-15, 'Nμ/(Nμ + 2θ) = 0.02/0.04 answered');
});

t.test('no abandonment: k − free + 1 departures of the whole pool', async (t) => {
  const input = { slots: 10, busySlots: 8, tasksAhead: 0, meanHandleMs: 60_000, abandonRatePerMs: 0 };
  const waits = estimateQueueWaits(input, 6).map((e) => e.waitMs);
  t.same(waits, [0, 0, 6_000, 12_000, 18_000, 24_000], 'two free slots take the first two; then one per 6 s');
  t.equal(estimateWait({ ...input, tasksAhead: 4 }).abandonProbability, 0);
  t.equal(estimateWait({ ...input, busySlots: 12, tasksAhead: 0 }).waitMs, 6_000, 'busySlots clamped to slots');
});

t.test('nobody staffed: an infinite wait, abandoned for sure if anyone abandons', async (t) => {
  t.same(estimateWait({ ...base, slots: 0, busySlots: 0 }), { waitMs: Infinity, answeredWaitMs: Infinity, abandonProbability: 1 });
  t.equal(estimateWait({ ...base, slots: 0, busySlots: 0, abandonRatePerMs: 0 }).abandonProbability, 0);
});

t.test('estimateQueueWaits gives estimateWait for every position', async (t) => {
  const input = { slots: 7, busySlots: 5, tasksAhead: 0, meanHandleMs: 240_000, abandonRatePerMs: 1 / 90_000 };
  const all = estimateQueueWaits(input, 40);
  for (let k = 0; k < 40; k++) t.same(all[k], estimateWait({ ...input, tasksAhead: k }));
});

t.test('a Monte Carlo run of the live situation agrees with the estimate', async (t) => {
  // The situation itself, simulated: every busy slot finishes after an exponential time (memoryless, so the
  // residual is exponential too), every waiting task has its own exponential patience, first come first served.
  const input = { slots: 6, busySlots: 6, tasksAhead: 8, meanHandleMs: 180_000, abandonRatePerMs: 1 / 120_000 };
  const random = uniform(6);
  const exp = (mean: number): number => -mean * Math.log(random());
  const runs = 40_000;
  let offeredSum = 0; // the time until a slot would take the task if it never gave up
  let answered = 0;
  let answeredSum = 0;
  for (let r = 0; r < runs; r++) {
    const slotFree = Array.from({ length: input.slots }, () => exp(input.meanHandleMs));
    const patience = Array.from({ length: input.tasksAhead + 1 }, () => exp(1 / input.abandonRatePerMs));
    let start = 0;
    for (let task = 0; task <= input.tasksAhead; task++) {
      // The next slot to free up goes to the first task still there; earlier-leaving tasks skip their turn.
      const slot = slotFree.indexOf(Math.min(...slotFree));
      const at = slotFree[slot]!;
      if (task < input.tasksAhead && patience[task]! < at) continue;
      if (task === input.tasksAhead) start = at;
      else slotFree[slot] = at + exp(input.meanHandleMs);
    }
    offeredSum += start;
    if (patience[input.tasksAhead]! > start) {
      answered++;
      answeredSum += start;
    }
  }
  const e = estimateWait(input);
  const offered = offeredSum / runs;
  t.ok(Math.abs(offered - e.waitMs) / e.waitMs < 0.01, `waitMs ${e.waitMs} vs simulated ${offered}`);
  t.ok(Math.abs(answeredSum / answered - e.answeredWaitMs) / e.answeredWaitMs < 0.015,
    `answeredWaitMs ${e.answeredWaitMs} vs simulated ${answeredSum / answered}`);
  t.ok(Math.abs(1 - answered / runs - e.abandonProbability) < 0.01,
    `abandonProbability ${e.abandonProbability} vs simulated ${1 - answered / runs}`);
});

t.test('averaged over the stationary queue an arrival finds, the estimate is Erlang A', async (t) => {
  const erlang = { arrivalRate: 0.05, meanHandleTime: 180, agents: 10, meanPatience: 360, slThreshold: 20 };
  const { arrivalRate: lambda, agents: n } = erlang;
  const mu = 1 / erlang.meanHandleTime;
  const theta = 1 / erlang.meanPatience;
  // Stationary M/M/N+M probabilities of n in system, by products of rates.
  const pi = [1];
  for (let k = 1; k < 2000; k++) pi.push((pi[k - 1]! * lambda) / (Math.min(k, n) * mu + Math.max(0, k - n) * theta));
  const total = pi.reduce((a, b) => a + b, 0);
  const live = { slots: n, busySlots: n, tasksAhead: 0, meanHandleMs: erlang.meanHandleTime, abandonRatePerMs: theta };
  const estimates = estimateQueueWaits(live, pi.length - n);
  let pAnswered = 1 - pi.slice(n).reduce((a, b) => a + b, 0) / total;
  let answeredWait = 0;
  for (let j = 0; j < estimates.length; j++) {
    const p = pi[n + j]! / total;
    pAnswered += p * (1 - estimates[j]!.abandonProbability);
    answeredWait += p * (1 - estimates[j]!.abandonProbability) * estimates[j]!.answeredWaitMs;
  }
  const a = erlangA(erlang);
  t.ok(Math.abs(1 - pAnswered - a.pAbandon) < 1e-12, `pAbandon ${a.pAbandon} vs ${1 - pAnswered}`);
  t.ok(Math.abs(answeredWait / pAnswered - a.asa) < 1e-9, `asa ${a.asa} vs ${answeredWait / pAnswered}`);
});

t.test('bad input is refused', async (t) => {
  t.throws(() => estimateWait({ ...base, tasksAhead: -1 }), RangeError);
  t.throws(() => estimateWait({ ...base, slots: 1.5 }), RangeError);
  t.throws(() => estimateWait({ ...base, meanHandleMs: 0 }), RangeError);
  t.throws(() => estimateWait({ ...base, abandonRatePerMs: NaN }), RangeError);
});
