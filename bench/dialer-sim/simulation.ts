/**
 * A contact center's outbound day in simulated time, driven by the real pacing code (src/dialer/pacer.ts and
 * abandon-budget.ts): a carrier that answers with a given probability after a random ring (people and machines),
 * lets the others ring out, and agents who talk for a random handle time and wrap up. People who find no agent within
 * the connect time are abandoned (the safe-harbour message). The pacer sees only what the live campaign sees.
 */
import { AbandonBudget } from '../../src/dialer/abandon-budget';
import { Pacer } from '../../src/dialer/pacer';
import { Random } from '../acd-erlang/random';

export interface Scenario {
  readonly name: string;
  readonly mode: 'progressive' | 'predictive';
  readonly agents: number;
  readonly hours: number;
  /** The answer rate at simulated time t (ms). */
  readonly answerRate: (t: number) => number;
  readonly machineShare: number;
  /** Mean ring time before a call that nobody answers gives up (no answer). */
  readonly noAnswerMs: number;
  readonly handleMs: number;
  readonly wrapUpMs: number;
  /** People answer after a ring uniform in this range. */
  readonly answerAfterMs: readonly [number, number];
  /** From the answer to the AMD verdict (people) and to hanging up (machines). */
  readonly amdMs: number;
  readonly connectMs: number;
  readonly abandonLimit: number;
  readonly lineLimit: number;
  readonly seed: number;
}

export interface Result {
  readonly scenario: Scenario;
  readonly dialed: number;
  readonly answered: number;
  readonly machines: number;
  readonly people: number;
  readonly abandoned: number;
  /** Talk + wrap-up over logged-in time, after the first 10 minutes. */
  readonly occupancy: number;
  readonly talkMinutesPerAgentHour: number;
  readonly abandonRate: number;
  readonly abandonUpperBound: number;
}

type Event =
  | { at: number; kind: 'tick' }
  | { at: number; kind: 'answer'; call: number; person: boolean; dialedAt: number }
  | { at: number; kind: 'no-answer'; call: number; dialedAt: number }
  | { at: number; kind: 'verdict'; call: number; person: boolean }
  | { at: number; kind: 'give-up'; call: number }
  | { at: number; kind: 'talk-end'; agent: number; talkMs: number }
  | { at: number; kind: 'wrap-end'; agent: number; talkMs: number };

const TICK_MS = 500;
const WARM_UP_MS = 10 * 60_000;

/** Events in time order (a binary heap). */
class Agenda {
  readonly #heap: Event[] = [];
  push(e: Event): void {
    const h = this.#heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

export function simulate(s: Scenario): Result {
  const random = new Random(s.seed);
  const pacer = new Pacer({ abandonLimit: s.abandonLimit, handOffMs: s.amdMs });
  const budget = new AbandonBudget(30 * 86_400_000, s.abandonLimit);
  const agenda = new Agenda();
  const end = s.hours * 3_600_000;
  const ringing = new Map<number, number>(); // call → dialed at
  let screening = 0;
  const waiting: { call: number; deadline: number }[] = [];
  let free = s.agents;
  let talking = 0;
  const wrapEnds = new Map<number, number>(); // agent → wrap-up ends at
  let nextCall = 0;
  let nextAgent = 0;
  let busyMs = 0;
  let talkMs = 0;
  const counts = { dialed: 0, answered: 0, machines: 0, people: 0, abandoned: 0 };

  const connect = (now: number) => {
    free--;
    talking++;
    const talk = random.exponential(s.handleMs);
    agenda.push({ at: now + talk, kind: 'talk-end', agent: nextAgent++, talkMs: talk });
    pacer.observe({ kind: 'connected' });
    budget.record(now, false);
  };
  const account = (from: number, to: number, ms: number, talk: boolean) => {
    // Only the part after the warm-up counts.
    const counted = Math.max(0, Math.min(to, end) - Math.max(from, WARM_UP_MS));
    if (counted <= 0) return;
    const share = ms === 0 ? 0 : counted / (to - from);
    busyMs += ms * share;
    if (talk) talkMs += ms * share;
  };

  agenda.push({ at: 0, kind: 'tick' });
  for (let e = agenda.pop(); e !== undefined && e.at <= end; e = agenda.pop()) {
    const now = e.at;
    switch (e.kind) {
      case 'tick': {
        const n = pacer.callsToPlace({
          mode: s.mode,
          lineLimit: s.lineLimit,
          linesInUse: ringing.size + screening + waiting.length + talking,
          ringingAges: [...ringing.values()].map((at) => now - at),
          waitingPeople: waiting.length + screening,
          agentsFree: free,
          agentsTalking: talking,
          wrapUpEndsIn: [...wrapEnds.values()].map((at) => at - now),
        }, budget.status(now));
        for (let i = 0; i < n; i++) {
          const call = nextCall++;
          counts.dialed++;
          ringing.set(call, now);
          if (random.uniform() < s.answerRate(now)) {
            const [lo, hi] = s.answerAfterMs;
            agenda.push({ at: now + lo + random.uniform() * (hi - lo), kind: 'answer', call, person: random.uniform() >= s.machineShare, dialedAt: now });
          } else {
            agenda.push({ at: now + s.noAnswerMs * (0.75 + 0.5 * random.uniform()), kind: 'no-answer', call, dialedAt: now });
          }
        }
        agenda.push({ at: now + TICK_MS, kind: 'tick' });
        break;
      }
      case 'answer':
        ringing.delete(e.call);
        counts.answered++;
        screening++;
        pacer.observe({ kind: 'answered', afterMs: now - e.dialedAt, person: e.person });
        agenda.push({ at: now + s.amdMs, kind: 'verdict', call: e.call, person: e.person });
        break;
      case 'no-answer':
        ringing.delete(e.call);
        pacer.observe({ kind: 'unanswered', afterMs: now - e.dialedAt });
        break;
      case 'verdict':
        screening--;
        if (!e.person) {
          counts.machines++;
          break;
        }
        counts.people++;
        if (free > 0) connect(now);
        else {
          waiting.push({ call: e.call, deadline: now + s.connectMs });
          agenda.push({ at: now + s.connectMs, kind: 'give-up', call: e.call });
        }
        break;
      case 'give-up': {
        const i = waiting.findIndex((w) => w.call === e.call);
        if (i < 0) break; // an agent took them in time
        waiting.splice(i, 1);
        counts.abandoned++;
        pacer.observe({ kind: 'abandoned' });
        budget.record(now, true);
        break;
      }
      case 'talk-end':
        talking--;
        wrapEnds.set(e.agent, now + s.wrapUpMs);
        agenda.push({ at: now + s.wrapUpMs, kind: 'wrap-end', agent: e.agent, talkMs: e.talkMs });
        account(now - e.talkMs, now, e.talkMs, true);
        break;
      case 'wrap-end':
        wrapEnds.delete(e.agent);
        account(now - s.wrapUpMs, now, s.wrapUpMs, false);
        pacer.observe({ kind: 'handled', talkMs: e.talkMs, wrapUpMs: s.wrapUpMs });
        free++;
        if (waiting.length > 0) {
          waiting.shift();
          connect(now);
        }
        break;
    }
  }
  const loggedIn = s.agents * (end - WARM_UP_MS);
  const status = budget.status(end);
  return {
    scenario: s,
    ...counts,
    occupancy: busyMs / loggedIn,
    talkMinutesPerAgentHour: (talkMs / 60_000) / (loggedIn / 3_600_000),
    abandonRate: counts.people === 0 ? 0 : counts.abandoned / counts.people,
    abandonUpperBound: status.upperBound,
  };
}
