// The pacer: the line limit holds whatever it is told, progressive places one call per available agent, predictive
// over-dials only while every budget allows it, and abandons (its own, or the window's rate nearing the cap) slow it.
import t from 'tap';
import { AbandonBudget, Pacer, REGULATIONS, type PacingState } from '../../../src/dialer/pacing';

const HOUR = 3_600_000;
const idle: PacingState = {
  mode: 'predictive', lineLimit: 200, linesInUse: 30, ringingAges: [], screening: 0, waitingPeople: 0,
  agentsAvailable: 10, busyAgents: Array.from({ length: 20 }, () => ({ phase: 'talking' as const })),
};

/** A budget with `answered` connected calls of which `abandoned` abandoned, all at time 0. */
function budget(answered: number, abandoned: number, windowMs = HOUR): AbandonBudget {
  const b = new AbandonBudget({ windowMs, cap: 0.03 });
  for (let i = 0; i < answered; i++) b.record({ at: 0, kind: i < abandoned ? 'abandoned' : 'connected' });
  return b;
}

t.test('the line limit is never exceeded, whatever the mode and the state', async (t) => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n);
  };
  const pacer = new Pacer({ budgets: [budget(2000, 10)] });
  for (let i = 0; i < 2000; i++) {
    const lineLimit = rand(60);
    const state: PacingState = {
      mode: (['preview', 'progressive', 'predictive', 'agentless'] as const)[rand(4)]!,
      lineLimit, linesInUse: rand(70), ringingAges: Array.from({ length: rand(20) }, () => rand(30_000)),
      screening: rand(3), waitingPeople: rand(3), agentsAvailable: rand(40),
      busyAgents: Array.from({ length: rand(40) }, () => (rand(2) ? { phase: 'talking' as const } : { phase: 'wrap-up' as const, freeInMs: rand(10_000) })),
    };
    const n = pacer.callsToLaunch(state, 0);
    if (!(Number.isInteger(n) && n >= 0 && n <= Math.max(0, state.lineLimit - state.linesInUse))) {
      t.fail(`state ${JSON.stringify(state)} gave ${n}`);
      return;
    }
  }
  t.equal(pacer.callsToLaunch({ ...idle, lineLimit: 35 }, 0), 5, 'predictive wants more: the 5 lines left');
  t.equal(pacer.lastDecision.rule, 'line-limit');
  t.equal(pacer.callsToLaunch({ ...idle, lineLimit: 30 }, 0), 0, 'all lines in use');
  t.equal(pacer.callsToLaunch({ ...idle, mode: 'agentless', lineLimit: 38 }, 0), 8, 'agentless: the lines left');
  t.equal(pacer.callsToLaunch({ ...idle, mode: 'preview' }, 0), 0, 'preview: the agent places the call');
});

t.test('progressive: one call per available agent, less the calls in flight for them', async (t) => {
  const pacer = new Pacer();
  t.equal(pacer.callsToLaunch({ ...idle, mode: 'progressive' }, 0), 10);
  t.equal(pacer.callsToLaunch({ ...idle, mode: 'progressive', ringingAges: [1000, 2000], screening: 1, waitingPeople: 2 }, 0), 5);
  t.equal(pacer.callsToLaunch({ ...idle, mode: 'progressive', ringingAges: Array(12).fill(0) }, 0), 0, 'never negative');
});

t.test('predictive over-dials only while every budget allows it', async (t) => {
  const roomy = budget(3000, 30);
  const pacer = new Pacer({ budgets: [roomy] });
  const over = pacer.callsToLaunch(idle, 0);
  t.ok(over > 20, `10 free agents, ~21 % of calls answered by people: ${over} calls`);
  t.equal(pacer.lastDecision.rule, 'predictive');

  const young = new Pacer({ budgets: [budget(40, 0)] });
  t.equal(young.callsToLaunch(idle, 0), 10, '40 answers, none abandoned: not yet confident: progressive');
  t.equal(young.lastDecision.rule, 'budget-held');

  const spent = new Pacer({ budgets: [budget(1000, 30)] });
  t.equal(spent.callsToLaunch(idle, 0), 10, 'at the cap (30 of 1,000): progressive, dialing goes on');
  t.equal(spent.lastDecision.rule, 'budget-held');

  const centreSpent = new Pacer({ budgets: [roomy, budget(1000, 31)] });
  t.equal(centreSpent.callsToLaunch(idle, 0), 10, "the centre's budget spent holds the campaign back too");

  const ringing = pacer.callsToLaunch({ ...idle, ringingAges: Array(30).fill(1000), linesInUse: 60 }, 0);
  t.ok(ringing < over - 15, `30 calls just placed count for the people they will bring (${ringing} more)`);
  const late = pacer.callsToLaunch({ ...idle, ringingAges: Array(30).fill(60_000), linesInUse: 60 }, 0);
  t.ok(late > ringing, `calls ringing for a minute bring few people (${late} more)`);
  const wrapping = pacer.callsToLaunch({ ...idle, busyAgents: [...idle.busyAgents, ...Array(5).fill({ phase: 'wrap-up', freeInMs: 3000 })] }, 0);
  t.ok(wrapping > over, `agents about to free up count (${wrapping} with 5 wrap-ups ending in 3 s)`);
});

t.test('feedback: abandons slow predictive pacing, connections speed it up again', async (t) => {
  const pacer = new Pacer({ budgets: [budget(3000, 30)] });
  const before = pacer.callsToLaunch(idle, 0);
  for (let i = 0; i < 20; i++) pacer.observe({ kind: 'abandoned' });
  const careful = pacer.callsToLaunch(idle, 0);
  t.ok(careful < before, `after 20 abandons: ${careful} calls instead of ${before}`);
  for (let i = 0; i < 3000; i++) pacer.observe({ kind: 'connected' });
  t.ok(pacer.callsToLaunch(idle, 0) > careful, 'after 3,000 connections: bolder');
  t.ok(pacer.estimates.reserve >= 0);
});

t.test("feedback: the window's rate nearing the cap slows predictive pacing", async (t) => {
  const low = new Pacer({ budgets: [budget(5000, 50)] });
  const near = new Pacer({ budgets: [budget(5000, 125)] });
  const a = low.callsToLaunch(idle, 0);
  const b = near.callsToLaunch(idle, 0);
  t.ok(b < a, `window at 1 %: ${a} calls; at 2.5 %: ${b}`);
  t.ok(near.estimates.aimRate < low.estimates.aimRate, 'abandons it did not cause lower its aim');
});

t.test('estimates follow the outcomes; the aim follows the budget', async (t) => {
  const b = new AbandonBudget({ ...REGULATIONS.tsr });
  const pacer = new Pacer({ budgets: [b] });
  for (let i = 0; i < 500; i++) {
    pacer.observe(i % 10 === 0 ? { kind: 'answered', afterMs: 4000, person: i % 20 === 0 } : { kind: 'unanswered', afterMs: 20_000 });
  }
  t.ok(Math.abs(pacer.estimates.answerRate - 0.1) < 0.05, `answer rate ${pacer.estimates.answerRate.toFixed(3)} ≈ 10 %`);
  t.ok(Math.abs(pacer.estimates.personShare - 0.5) < 0.2, `person share ${pacer.estimates.personShare.toFixed(2)} ≈ 50 %`);
  t.equal(pacer.estimates.meanTimeToAnswerMs, 4000);
  for (let i = 0; i < 500; i++) pacer.observe({ kind: 'handled', talkMs: 60_000, wrapUpMs: 5000 });
  t.ok(Math.abs(pacer.estimates.meanTalkMs - 60_000) < 1000, 'talk time learned');
  for (let i = 0; i < 500; i++) b.record({ at: 0, kind: 'connected' });
  pacer.callsToLaunch(idle, 0);
  const early = pacer.estimates.aimRate;
  for (let i = 0; i < 5000; i++) b.record({ at: 0, kind: 'connected' });
  pacer.callsToLaunch(idle, 0);
  t.ok(pacer.estimates.aimRate > early, `more answers, tighter bound, higher aim: ${early.toFixed(4)} → ${pacer.estimates.aimRate.toFixed(4)}`);
  t.ok(pacer.estimates.aimRate < 0.03);
});
