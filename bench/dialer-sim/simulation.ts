/**
 * A contact center's outbound day in simulated time, driven by the real pacing code (src/dialer/pacing: the Pacer and
 * the campaign's TSR and the centre's Ofcom AbandonBudgets): a carrier that answers with a given probability after a
 * random ring (people and machines), lets the others ring out, and agents who talk for a random handle time and wrap
 * up. People who find no agent within the connect time are abandoned (the safe-harbour message). The pacer sees only
 * what the live campaign sees: calls ringing and their ages, calls being screened, people waiting, free agents,
 * talking agents (not when their call will end) and wrapping-up agents (when their wrap-up ends); it learns from
 * outcomes as they are known (an answer's verdict comes after the AMD delay).
 */
import { AbandonBudget, Pacer, REGULATIONS, type BusyAgent } from '../../src/dialer/pacing';
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
  /** Share of people AMD classifies as machines and hangs up on (abandoned calls to the regulator). */
  readonly amdFalsePositive: number;
  /** Talk time distribution, mean handleMs. */
  readonly handleDistribution: 'exponential' | 'lognormal';
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
  /** The campaign budget's (30-day window) upper bound at the end. */
  readonly abandonUpperBound: number;
  /** The centre budget's (24 h) worst measured rate over the run, once it had 100 answers. */
  readonly worstCentreRate: number;
  /** The worst abandon rate over any 30 minutes after the warm-up (people abandoned / people answered). */
  readonly worst30MinRate: number;
  /** Abandon rate per half hour of the run. */
  readonly halfHourRates: readonly number[];
}

type Event =
  | { at: number; kind: 'tick' }
  | { at: number; kind: 'answer'; call: number; person: boolean; dialedAt: number }
  | { at: number; kind: 'no-answer'; call: number; dialedAt: number }
  | { at: number; kind: 'verdict'; call: number; person: boolean; dialedAt: number; answeredAt: number }
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
  // What the runtime would take as the AMD false-positive rate: people hung up on among machine verdicts.
  const personShare = 1 - s.machineShare;
  const fpShare = (personShare * s.amdFalsePositive) / (personShare * s.amdFalsePositive + s.machineShare);
  const campaignBudget = new AbandonBudget({ ...REGULATIONS.tsr, amdFalsePositiveRate: fpShare });
  const centreBudget = new AbandonBudget({ ...REGULATIONS.ofcom, amdFalsePositiveRate: fpShare });
  const budgets = [campaignBudget, centreBudget];
  const pacer = new Pacer({ budgets, handOffMs: s.amdMs, connectMs: s.connectMs });
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
  let worstCentreRate = 0;
  const counts = { dialed: 0, answered: 0, machines: 0, people: 0, abandoned: 0 };
  // People answered and abandoned per minute (by the minute of the verdict and of the abandon).
  const perMinute = { people: new Array<number>(Math.ceil(end / 60_000) + 1).fill(0), abandoned: new Array<number>(Math.ceil(end / 60_000) + 1).fill(0) };
  const sigma = 0.8; // lognormal shape: coefficient of variation ~0.95
  const talkTime = (): number => s.handleDistribution === 'exponential'
    ? random.exponential(s.handleMs)
    : Math.exp(Math.log(s.handleMs) - (sigma * sigma) / 2 + sigma * normal(random));

  const connect = (now: number) => {
    free--;
    talking++;
    const talk = talkTime();
    agenda.push({ at: now + talk, kind: 'talk-end', agent: nextAgent++, talkMs: talk });
    pacer.observe({ kind: 'connected' });
    for (const b of budgets) b.record({ at: now, kind: 'connected' });
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
  for (let e = agenda.pop(); e !== undefined; e = agenda.pop()) {
    const now = e.at;
    if (now > end) {
      // Past the end nothing happens, but calls still talking or wrapping up count up to the end.
      if (e.kind === 'talk-end') account(now - e.talkMs, now, e.talkMs, true);
      if (e.kind === 'wrap-end') account(now - s.wrapUpMs, now, s.wrapUpMs, false);
      continue;
    }
    switch (e.kind) {
      case 'tick': {
        const busyAgents: BusyAgent[] = [];
        for (let i = 0; i < talking; i++) busyAgents.push({ phase: 'talking' });
        for (const at of wrapEnds.values()) busyAgents.push({ phase: 'wrap-up', freeInMs: at - now });
        const n = pacer.callsToLaunch({
          mode: s.mode,
          lineLimit: s.lineLimit,
          linesInUse: ringing.size + screening + waiting.length + talking,
          ringingAges: [...ringing.values()].map((at) => now - at),
          screening,
          waitingPeople: waiting.length,
          agentsAvailable: free,
          busyAgents,
        }, now);
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
        if (now >= WARM_UP_MS && Math.floor(now / 60_000) !== Math.floor((now - TICK_MS) / 60_000)) {
          const c = centreBudget.status(now);
          if (c.answered >= 100) worstCentreRate = Math.max(worstCentreRate, c.rate);
        }
        agenda.push({ at: now + TICK_MS, kind: 'tick' });
        break;
      }
      case 'answer':
        ringing.delete(e.call);
        counts.answered++;
        screening++;
        agenda.push({ at: now + s.amdMs, kind: 'verdict', call: e.call, person: e.person, dialedAt: e.dialedAt, answeredAt: now });
        break;
      case 'no-answer':
        ringing.delete(e.call);
        pacer.observe({ kind: 'unanswered', afterMs: now - e.dialedAt });
        break;
      case 'verdict': {
        screening--;
        if (e.person) {
          counts.people++;
          perMinute.people[Math.floor(now / 60_000)]!++;
        } else counts.machines++;
        // AMD's verdict: a machine, or a person taken for one (hung up on: abandoned, for the regulator and here).
        const heardPerson = e.person && random.uniform() >= s.amdFalsePositive;
        pacer.observe({ kind: 'answered', afterMs: e.answeredAt - e.dialedAt, person: heardPerson });
        if (!heardPerson) {
          if (e.person) {
            counts.abandoned++;
            perMinute.abandoned[Math.floor(now / 60_000)]!++;
          }
          for (const b of budgets) b.record({ at: now, kind: 'machine' });
          break;
        }
        if (free > 0) connect(now);
        else {
          waiting.push({ call: e.call, deadline: now + s.connectMs });
          agenda.push({ at: now + s.connectMs, kind: 'give-up', call: e.call });
        }
        break;
      }
      case 'give-up': {
        const i = waiting.findIndex((w) => w.call === e.call);
        if (i < 0) break; // an agent took them in time
        waiting.splice(i, 1);
        counts.abandoned++;
        perMinute.abandoned[Math.floor(now / 60_000)]!++;
        pacer.observe({ kind: 'abandoned' });
        for (const b of budgets) b.record({ at: now, kind: 'abandoned' });
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
  let worst30MinRate = 0;
  for (let m = WARM_UP_MS / 60_000; m + 30 <= end / 60_000; m++) {
    let people = 0;
    let abandoned = 0;
    for (let i = m; i < m + 30; i++) {
      people += perMinute.people[i]!;
      abandoned += perMinute.abandoned[i]!;
    }
    if (people > 0) worst30MinRate = Math.max(worst30MinRate, abandoned / people);
  }
  const halfHourRates: number[] = [];
  for (let m = 0; m + 30 <= end / 60_000; m += 30) {
    const people = perMinute.people.slice(m, m + 30).reduce((a, b) => a + b, 0);
    const abandoned = perMinute.abandoned.slice(m, m + 30).reduce((a, b) => a + b, 0);
    halfHourRates.push(people > 0 ? abandoned / people : 0);
  }
  const loggedIn = s.agents * (end - WARM_UP_MS);
  const status = campaignBudget.status(end);
  return {
    scenario: s,
    ...counts,
    occupancy: busyMs / loggedIn,
    talkMinutesPerAgentHour: (talkMs / 60_000) / (loggedIn / 3_600_000),
    abandonRate: counts.people === 0 ? 0 : counts.abandoned / counts.people,
    abandonUpperBound: status.upperBound,
    worstCentreRate,
    worst30MinRate,
    halfHourRates,
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(random.uniform())) * Math.cos(2 * Math.PI * random.uniform());
}
