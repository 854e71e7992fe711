// The dialer's pacing and abandon budget, without calls (bench/dialer-sim runs them through a simulated day): the
// line limit holds whatever the estimates say, progressive keeps one call per free agent, predictive over-dials only
// while the budget can take an abandoned call, abandons make it careful and connections bolder, and the budget's
// window slides and counts AMD false positives.
import t from 'tap';
import { AbandonBudget, wilsonUpper } from '../../src/dialer/abandon-budget';
import { Pacer, type PacingState } from '../../src/dialer/pacer';

const idle: PacingState = { mode: 'predictive', lineLimit: 100, linesInUse: 0, ringingAges: [], waitingPeople: 0, agentsFree: 10, agentsTalking: 20, wrapUpEndsIn: [] };
/** A budget with room: 200 answered, 2 abandoned. */
function roomyBudget(now = 0): AbandonBudget {
  const budget = new AbandonBudget(3_600_000, 0.03);
  for (let i = 0; i < 200; i++) budget.record(now, i < 2);
  return budget;
}

t.test('the line limit holds, whatever the pacing', async (t) => {
  const pacer = new Pacer({ abandonLimit: 0.03 });
  const budget = roomyBudget().status(0);
  t.equal(pacer.callsToPlace({ ...idle, lineLimit: 5 }, budget), 5, 'predictive wants more; 5 lines');
  t.equal(pacer.callsToPlace({ ...idle, lineLimit: 5, linesInUse: 5 }, budget), 0, 'all lines in use');
  t.equal(pacer.callsToPlace({ ...idle, mode: 'agentless', lineLimit: 8, linesInUse: 3 }, budget), 5, 'agentless: the lines left');
  t.equal(pacer.callsToPlace({ ...idle, mode: 'preview' }, budget), 0, 'preview places no call itself');
});

t.test('progressive: one call per free agent, less people waiting and calls ringing', async (t) => {
  const pacer = new Pacer({ abandonLimit: 0.03 });
  t.equal(pacer.callsToPlace({ ...idle, mode: 'progressive', waitingPeople: 2, ringingAges: [1000, 2000] }, roomyBudget().status(0)), 6);
});

t.test('predictive over-dials only while the budget can take an abandoned call', async (t) => {
  const pacer = new Pacer({ abandonLimit: 0.03 });
  const overDialed = pacer.callsToPlace(idle, roomyBudget().status(0));
  t.ok(overDialed > 20, `10 free agents, ~21 % of calls answered by people: ${overDialed} calls`);
  const young = new AbandonBudget(3_600_000, 0.03);
  for (let i = 0; i < 20; i++) young.record(0, false);
  t.equal(pacer.callsToPlace(idle, young.status(0)), 10, '20 answers: one abandon would be 4.8 %: progressive');
  const spent = new AbandonBudget(3_600_000, 0.03);
  for (let i = 0; i < 100; i++) spent.record(0, i < 3);
  t.equal(pacer.callsToPlace(idle, spent.status(0)), 10, 'at the cap (3 of 100): progressive');
  const ringing = pacer.callsToPlace({ ...idle, ringingAges: Array.from({ length: 30 }, () => 1000) }, roomyBudget().status(0));
  t.ok(ringing < overDialed - 20, `calls already ringing count for the people they will bring (${ringing} more)`);
  const late = pacer.callsToPlace({ ...idle, ringingAges: Array.from({ length: 30 }, () => 60_000) }, roomyBudget().status(0));
  t.ok(late > ringing, `calls ringing for a minute bring few people (${late} more)`);
});

t.test('abandons make the pacer careful; connections make it bolder again', async (t) => {
  const pacer = new Pacer({ abandonLimit: 0.03 });
  const budget = roomyBudget().status(0);
  const before = pacer.callsToPlace(idle, budget);
  for (let i = 0; i < 20; i++) pacer.observe({ kind: 'abandoned' });
  const careful = pacer.callsToPlace(idle, budget);
  t.ok(careful < before, `after 20 abandons: ${careful} calls instead of ${before}`);
  for (let i = 0; i < 2000; i++) pacer.observe({ kind: 'connected' });
  t.ok(pacer.callsToPlace(idle, budget) > careful, 'after 2,000 connections: bolder');
  t.ok(pacer.estimates.reserve >= 0, 'the reserve never goes below zero');
});

t.test('estimates follow the calls', async (t) => {
  const pacer = new Pacer({ abandonLimit: 0.03 });
  for (let i = 0; i < 500; i++) pacer.observe(i % 10 === 0 ? { kind: 'answered', afterMs: 4000, person: true } : { kind: 'unanswered', afterMs: 20_000 });
  t.ok(Math.abs(pacer.estimates.answerRate - 0.1) < 0.05, `answer rate ${pacer.estimates.answerRate.toFixed(3)} ≈ 10 %`);
  for (let i = 0; i < 500; i++) pacer.observe({ kind: 'handled', talkMs: 60_000, wrapUpMs: 5000 });
  t.ok(Math.abs(pacer.estimates.handleMs - 60_000) < 1000, 'handle time learned');
});

t.test('the abandon budget: a sliding window, conservative at small counts, AMD false positives counted', async (t) => {
  t.ok(wilsonUpper(0, 10, 1.645) > 0.15, '0 of 10: the 95 % upper bound is above 15 %');
  t.ok(wilsonUpper(300, 10_000, 1.645) < 0.035, '300 of 10,000: below 3.5 %');
  const budget = new AbandonBudget(60_000, 0.03);
  budget.record(0, true);
  for (let i = 0; i < 40; i++) budget.record(30_000, false);
  t.match(budget.status(50_000), { answered: 41, abandoned: 1 });
  t.match(budget.status(61_000), { answered: 40, abandoned: 0, canRiskAbandon: true }, 'the abandon slid out of the window');
  budget.recordMachine(62_000, 0.5);
  const status = budget.status(62_000);
  t.equal(status.abandoned, 0.5, 'a machine verdict adds its false-positive share as abandoned');
  t.equal(status.answered, 40.5);
});
