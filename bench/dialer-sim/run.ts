/**
 * bench/dialer-sim: progressive and predictive pacing side by side in simulated time (simulation.ts), for the
 * issue's case, with the real pacing code (src/dialer/pacing) — 50 agents, 25 % answer rate, 20 s ring before no answer, 180 s handle time, 10 s wrap-up — and for
 * the answer rate falling from 30 % to 15 % halfway through. Prints occupancy, talk minutes per agent-hour and the
 * abandon rate (with its 95 % upper bound) per run and seed, and whether predictive meets the target: occupancy
 * ≥ 90 % with abandons ≤ 3 %.
 *
 *   npm run build && node dist/bench/dialer-sim/run.js [--hours 8] [--seeds 3] [--amd-false-positive 0.02]
 *     [--handle exponential|lognormal]
 */
import { simulate, type Result, type Scenario } from './simulation';

function arg(name: string, fallback: number, zeroOk = false): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroOk)) throw new Error(`--${name} must be a positive number`);
  return value;
}

function handleDistribution(): 'exponential' | 'lognormal' {
  const i = process.argv.indexOf('--handle');
  const value = i >= 0 ? process.argv[i + 1] : 'exponential';
  if (value !== 'exponential' && value !== 'lognormal') throw new Error('--handle must be exponential or lognormal');
  return value;
}

const hours = arg('hours', 8);
const seeds = arg('seeds', 3);
const base = {
  agents: 50, hours, machineShare: 0.15, noAnswerMs: 20_000, handleMs: 180_000, wrapUpMs: 10_000,
  answerAfterMs: [3000, 15_000] as const, amdMs: 1800, connectMs: 2000, abandonLimit: 0.03, lineLimit: 200,
  amdFalsePositive: arg('amd-false-positive', 0, true), handleDistribution: handleDistribution(),
};
const cases: { name: string; answerRate: (t: number) => number }[] = [
  { name: '25 % answer rate', answerRate: () => 0.25 },
  { name: '30 % → 15 % halfway', answerRate: (t) => (t < (hours * 3_600_000) / 2 ? 0.3 : 0.15) },
];

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
console.log(`dialer-sim: ${base.agents} agents, ${hours} h simulated per run, ${seeds} seeds; handle ${base.handleMs / 1000} s, wrap-up ${base.wrapUpMs / 1000} s, no answer after ~${base.noAnswerMs / 1000} s, ${pct(base.machineShare)} of answers machines, connect within ${base.connectMs / 1000} s`);
console.log(`pacing: src/dialer/pacing (the live code); budgets: the campaign's TSR (30 days) and the centre's Ofcom (24 h), 95 % Wilson bounds; AMD false positives ${pct(base.amdFalsePositive)} of people; talk time ${base.handleDistribution}`);
console.log('case                 | mode        | seed | dialed | answered | people | abandoned | abandon rate (95 % upper) | worst 24 h | worst 30 min | occupancy | talk min / agent-hour');
let met = true;
const started = performance.now();
for (const c of cases) {
  for (const mode of ['progressive', 'predictive'] as const) {
    const results: Result[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const scenario: Scenario = { ...base, name: c.name, mode, answerRate: c.answerRate, seed };
      const r = simulate(scenario);
      results.push(r);
      console.log(`${c.name.padEnd(20)} | ${mode.padEnd(11)} | ${String(seed).padStart(4)} | ${String(r.dialed).padStart(6)} | ${String(r.answered).padStart(8)} | ${String(r.people).padStart(6)} | ${String(r.abandoned).padStart(9)} | ${`${pct(r.abandonRate)} (${pct(r.abandonUpperBound)})`.padStart(25)} | ${pct(r.worstCentreRate).padStart(10)} | ${pct(r.worst30MinRate).padStart(12)} | ${pct(r.occupancy).padStart(9)} | ${r.talkMinutesPerAgentHour.toFixed(1).padStart(5)}`);
    }
    const worstOccupancy = Math.min(...results.map((r) => r.occupancy));
    const worstAbandon = Math.max(...results.map((r) => r.abandonRate));
    if (mode === 'predictive') {
      const ok = worstOccupancy >= 0.9 && worstAbandon <= 0.03;
      met &&= ok;
      console.log(`  → predictive, ${c.name}: worst occupancy ${pct(worstOccupancy)}, worst abandon rate ${pct(worstAbandon)}: target ${ok ? 'met' : 'NOT met'}`);
    } else {
      console.log(`  → progressive, ${c.name}: worst occupancy ${pct(worstOccupancy)}, worst abandon rate ${pct(worstAbandon)}`);
    }
  }
}
console.log(`target (predictive occupancy ≥ 90 % and abandon ≤ 3 %, in both cases, every seed): ${met ? 'met' : 'NOT met'}; ${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
