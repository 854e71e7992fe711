import t from 'tap';
import { erlangA, erlangB, erlangC, type ErlangInput } from '../../src/acd/estimate/index';

/**
 * The second method: the M/M/N+M birth-death chain solved directly (products of rates, small N, plain arithmetic),
 * then the tagged caller's fate integrated as an ODE (RK4) over "tasks ahead of it" — no closed forms shared with
 * the implementation. θ = 0 gives M/M/N.
 */
function direct(input: ErlangInput): { pWait: number; pAbandon: number; sl: number; slAnswered: number; asa: number; meanQueue: number } {
  const { arrivalRate: lambda, agents: n, slThreshold } = input;
  const mu = 1 / input.meanHandleTime;
  const theta = input.meanPatience === undefined ? 0 : 1 / input.meanPatience;
  const pi: number[] = [1];
  for (let k = 1; k < 4000; k++) pi.push((pi[k - 1]! * lambda) / (Math.min(k, n) * mu + Math.max(0, k - n) * theta));
  const total = pi.reduce((a, b) => a + b, 0);
  const p = pi.map((x) => x / total);
  const pWait = p.slice(n).reduce((a, b) => a + b, 0);
  const meanQueue = p.reduce((sum, x, k) => sum + x * Math.max(0, k - n), 0);
  // ahead[i]: probability (jointly with the arrival's start state) that the tagged caller is still waiting with i ahead.
  let ahead = p.slice(n, n + 400);
  const maxRate = n * mu + ahead.length * theta;
  // A step that divides slThreshold exactly, so that "answered by t" is read at t.
  const stepsToThreshold = Math.max(1, Math.ceil((slThreshold * maxRate) / 0.02));
  const h = slThreshold > 0 ? slThreshold / stepsToThreshold : 0.02 / maxRate;
  let answered = 0;
  let answeredWaitSum = 0;
  let answeredByT = slThreshold > 0 ? NaN : 0;
  const deriv = (x: number[]): number[] =>
    x.map((v, i) => -(n * mu + i * theta + theta) * v + (i + 1 < x.length ? (n * mu + (i + 1) * theta) * x[i + 1]! : 0));
  for (let step = 0; ; step++) {
    const time = step * h;
    if (step === stepsToThreshold && slThreshold > 0) answeredByT = answered;
    const mass = ahead.reduce((a, b) => a + b, 0);
    if (mass < 1e-12 && !Number.isNaN(answeredByT)) break;
    const k1 = deriv(ahead);
    const k2 = deriv(ahead.map((v, i) => v + (h / 2) * k1[i]!));
    const k3 = deriv(ahead.map((v, i) => v + (h / 2) * k2[i]!));
    const k4 = deriv(ahead.map((v, i) => v + h * k3[i]!));
    // Flux into service is Nμ·ahead[0]; Simpson over the step with the RK4 stage values of ahead[0].
    const a0 = ahead[0]!;
    const aMid = a0 + (h / 2) * (k1[0]! + k2[0]!) / 2;
    const next = ahead.map((v, i) => v + (h / 6) * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!));
    const a1 = next[0]!;
    answered += (h / 6) * n * mu * (a0 + 4 * aMid + a1);
    answeredWaitSum += (h / 6) * n * mu * (time * a0 + 4 * (time + h / 2) * aMid + (time + h) * a1);
    ahead = next;
  }
  const pAnswered = 1 - pWait + answered;
  return {
    pWait,
    pAbandon: theta * meanQueue / lambda, // flow balance: abandonments per time = θ E[Q]
    sl: 1 - pWait + answeredByT,
    slAnswered: (1 - pWait + answeredByT) / pAnswered,
    asa: answeredWaitSum / pAnswered,
    meanQueue,
  };
}

t.test('Erlang B and C by hand: 2 Erlangs on 3 agents', async (t) => {
  // Σ_{k≤3} 2^k/k! = 1 + 2 + 2 + 4/3 = 19/3, so B = (4/3)/(19/3) = 4/19; C = 3B/(3 − 2(1 − B)) = 4/9.
  t.ok(Math.abs(erlangB(3, 2) - 4 / 19) < 1e-15);
  const c = erlangC({ arrivalRate: 2, meanHandleTime: 1, agents: 3, slThreshold: 1 });
  t.ok(Math.abs(c.pWait - 4 / 9) < 1e-15);
  t.ok(Math.abs(c.asa - 4 / 9) < 1e-15, 'ASA = C / (Nμ − λ)');
  t.ok(Math.abs(c.serviceLevel - (1 - (4 / 9) * Math.exp(-1))) < 1e-15);
  t.ok(Math.abs(c.meanQueueLength - (4 / 9) * 2) < 1e-14, 'E[Q] = C ρ/(1−ρ)');
  t.equal(c.pAbandon, 0);
});

t.test('Erlang A by hand: M/M/1+M with λ = μ = θ = 1', async (t) => {
  // π_{1+j}/π_1 = 1/(j+1)!, π_0/π_1 = 1: P(wait) = (e−1)/e; E[Q] = (1/e) Σ j/(j+1)! = 1/e = P(abandon) (θE[Q]/λ).
  const a = erlangA({ arrivalRate: 1, meanHandleTime: 1, agents: 1, meanPatience: 1, slThreshold: 0 });
  t.ok(Math.abs(a.pWait - (1 - 1 / Math.E)) < 1e-14, `pWait ${a.pWait}`);
  t.ok(Math.abs(a.pAbandon - 1 / Math.E) < 1e-14, `pAbandon ${a.pAbandon}`);
  t.ok(Math.abs(a.meanQueueLength - 1 / Math.E) < 1e-14);
  t.ok(Math.abs(a.serviceLevel - 1 / Math.E) < 1e-14, 'SL at t = 0 is P(no wait)');
});

const CASES: Array<[string, ErlangInput]> = [
  ['Erlang C, 10 agents at 90 %', { arrivalRate: 0.5, meanHandleTime: 18, agents: 10, slThreshold: 20 }],
  ['Erlang C, 20 agents at 70 %', { arrivalRate: 14 / 180, meanHandleTime: 180, agents: 20, slThreshold: 20 }],
  ['Erlang A, 10 agents at 90 % offered, patience 2 AHT', { arrivalRate: 0.05, meanHandleTime: 180, agents: 10, meanPatience: 360, slThreshold: 20 }],
  ['Erlang A, overloaded 120 %', { arrivalRate: 12 / 300, meanHandleTime: 300, agents: 10, meanPatience: 120, slThreshold: 30 }],
  ['Erlang A, impatient callers', { arrivalRate: 1, meanHandleTime: 4, agents: 5, meanPatience: 1, slThreshold: 0.5 }],
];

for (const [name, input] of CASES) {
  t.test(`${name}: formulas match the directly solved chain`, async (t) => {
    const got = input.meanPatience === undefined ? erlangC(input) : erlangA(input);
    const want = direct(input);
    const close = (a: number, b: number, tol: number, what: string): void => {
      t.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    };
    close(got.pWait, want.pWait, 1e-12, 'pWait');
    close(got.pAbandon, want.pAbandon, 1e-12, 'pAbandon');
    close(got.meanQueueLength, want.meanQueue, 1e-12, 'meanQueueLength');
    // The ODE is accurate to ~1e-8 at this step.
    close(got.serviceLevel, want.sl, 1e-7, 'serviceLevel');
    close(got.serviceLevelAnswered, want.slAnswered, 1e-7, 'serviceLevelAnswered');
    close(got.asa, want.asa, 1e-7, 'asa');
    // Little's law ties the mean wait of every caller to the mean queue length.
    close(got.meanWait * input.arrivalRate, got.meanQueueLength, 1e-12, 'Little');
  });
}

t.test('a meanPatience of Infinity is Erlang C, and a very patient Erlang A approaches it', async (t) => {
  const input = { arrivalRate: 0.5, meanHandleTime: 18, agents: 10, slThreshold: 20 };
  t.same(erlangA({ ...input, meanPatience: Infinity }), erlangC(input));
  const a = erlangA({ ...input, meanPatience: 1e7 });
  const c = erlangC(input);
  t.ok(Math.abs(a.serviceLevel - c.serviceLevel) < 1e-4, `${a.serviceLevel} vs ${c.serviceLevel}`);
  t.ok(Math.abs(a.asa - c.asa) / c.asa < 1e-3, `${a.asa} vs ${c.asa}`);
});

t.test('thousands of agents: finite, in range, continuous in the load', async (t) => {
  const base = { meanHandleTime: 300, agents: 5000, slThreshold: 20 };
  const c = erlangC({ ...base, arrivalRate: 4950 / 300 });
  t.ok(c.pWait > 0 && c.pWait < 1, `pWait ${c.pWait}`);
  t.ok(c.serviceLevel > 0 && c.serviceLevel < 1);
  const a = erlangA({ ...base, arrivalRate: 4950 / 300, meanPatience: 1e9 });
  t.ok(Math.abs(a.pWait - c.pWait) < 1e-4, `${a.pWait} vs ${c.pWait}`);
  t.ok(Math.abs(a.serviceLevel - c.serviceLevel) < 1e-4, `${a.serviceLevel} vs ${c.serviceLevel}`);
  // Overloaded by 10 %: about the excess abandons (fluid limit), nobody else.
  const over = erlangA({ ...base, arrivalRate: 5500 / 300, meanPatience: 180 });
  t.ok(Math.abs(over.pAbandon - 500 / 5500) < 0.005, `pAbandon ${over.pAbandon}`);
  t.ok(over.occupancy < 1 && over.occupancy > 0.99);
  // Lightly loaded: Erlang B underflows, C must come out 0, not NaN.
  const idle = erlangC({ ...base, arrivalRate: 10 / 300 });
  t.equal(idle.pWait, 0);
  t.equal(idle.serviceLevel, 1);
});

t.test('bad input is refused', async (t) => {
  const ok = { arrivalRate: 1, meanHandleTime: 1, agents: 2, slThreshold: 1 };
  t.throws(() => erlangC({ ...ok, arrivalRate: 2 }), RangeError, 'load = agents has no steady state');
  t.throws(() => erlangC({ ...ok, agents: 1.5 }), RangeError);
  t.throws(() => erlangA({ ...ok, meanHandleTime: 0, meanPatience: 5 }), RangeError);
  t.throws(() => erlangA({ ...ok, meanPatience: 0 }), RangeError);
  t.doesNotThrow(() => erlangA({ ...ok, arrivalRate: 5, meanPatience: 5 }), 'Erlang A has a steady state above load = agents');
});
