/**
 * One case in simulated time: Poisson arrivals, exponential handle times and patience, every routing decision made
 * by the ACD engine under test. The bench's events (arrival, end of handling, patience running out) are timers on
 * the engine's own SimulatedClock, so the engine's timers and the bench's run on one calendar, in time order.
 */
import type { SimulatedClock, TimerHandle } from '../../src/acd/clock';
import type { WaitErrorSummary } from '../../src/acd/estimate/index';
import { Random } from './random';
import { BATCHES, emptySums, figures, type CaseFigures, type Sums } from './stats';

export interface Case {
  name: string;
  /** Calls per hour. */
  callsPerHour: number;
  /** Mean handle time, s. */
  ahtSeconds: number;
  agents: number;
  /** Mean patience, s; Infinity: nobody abandons (Erlang C). */
  patienceSeconds: number;
  /** Service-level threshold, s. */
  slSeconds: number;
}

/** What the bench needs from the ACD: one queue, `agents` agents logged in and ready, one voice call per agent. */
export interface AcdUnderTest {
  /** The engine's clock: the bench sets its own timers on it. */
  readonly clock: SimulatedClock;
  /** Fires every timer due by t (the engine's and the bench's, in time order) with the routing each causes. */
  advanceTo(t: number): Promise<void>;
  /** A call enters the queue at clock.now(). Offers it causes are reported through `onOffer`, before this resolves. */
  enqueue(taskId: string): Promise<void>;
  /** The call's patience ran out while it waited. */
  abandon(taskId: string): Promise<void>;
  /** The agent takes the offered call (no ringing: answered at the instant of the offer). */
  accept(taskId: string, agentId: string): Promise<void>;
  /** The agent finished the call (no wrap-up) and is ready for the next one. */
  complete(taskId: string, agentId: string): Promise<void>;
  /** Set once by the bench: called for every offer the engine makes. */
  onOffer: (taskId: string, agentId: string) => void;
  /** The engine's own measured error of its wait estimate (predicted at enqueue against actual, answered calls). */
  waitErrors(): WaitErrorSummary;
}

export interface RunOptions {
  seed: number;
  /** Calls that are simulated but not measured while the queue fills up from empty. */
  warmupCalls: number;
  /** Calls per block; blocks are grouped into the batches of the confidence interval. */
  blockCalls: number;
  minCalls: number;
  maxCalls: number;
  /** Stop once the 95 % half-width of every service-level and abandonment figure is below this (a fraction). */
  targetHalfWidth: number;
  /** Wall-clock time (Date.now()) by which to stop, with the whole batches done by then. */
  deadline: number;
  /** Called when the run is extended: calls so far and the widest half-width. */
  progress?: (calls: number, halfWidth: number) => void;
}

export interface RunResult {
  figures: CaseFigures;
  /** Bench events simulated (arrivals, ends of handling, abandonments), warm-up and unmeasured tail included. */
  events: number;
  /** The engine's measured error of its wait estimate over the whole run, warm-up included. */
  estimateError: WaitErrorSummary;
  /** Why the run stopped where it did. */
  stoppedBy: 'target' | 'max-calls' | 'time';
}

interface Call {
  index: number;
  arrivedAt: number;
  patienceTimer: TimerHandle | null;
}

export async function runCase(acd: AcdUnderTest, c: Case, options: RunOptions): Promise<RunResult> {
  const { clock } = acd;
  const random = new Random(options.seed);
  const meanInterarrivalMs = 3_600_000 / c.callsPerHour;
  const ahtMs = c.ahtSeconds * 1000;
  const patienceMs = c.patienceSeconds * 1000;
  const slMs = c.slSeconds * 1000;

  const waiting = new Map<string, Call>();
  // Measured calls are summed per block of blockCalls arrivals; a block is done when every call in it has been
  // answered or abandoned. Arrivals never pause (a pause would drain the queue and bias what follows): the run
  // just stops once the blocks wanted are done.
  const blocks: Sums[] = [];
  const unresolved: number[] = [];
  let done = 0; // blocks[0..done) are done
  let arrivals = 0;
  // Whole batches only (stats.ts cuts the blocks into BATCHES batches): a multiple of BATCHES blocks, 2 at least each.
  const wholeBatches = (calls: number): number => Math.max(2, Math.ceil(calls / options.blockCalls / BATCHES)) * BATCHES;
  let targetBlocks = wholeBatches(options.minCalls);
  let events = 0;
  const offers: Array<[string, string]> = [];

  const blockIndex = (call: Call): number =>
    call.index < options.warmupCalls ? -1 : Math.floor((call.index - options.warmupCalls) / options.blockCalls);
  const resolved = (call: Call): void => {
    const b = blockIndex(call);
    if (b < 0) return;
    unresolved[b]!--;
    while (done < blocks.length && unresolved[done] === 0 && blocks[done]!.calls === options.blockCalls) done++;
  };

  acd.onOffer = (taskId, agentId) => offers.push([taskId, agentId]);

  const settleOffers = async (): Promise<void> => {
    while (offers.length > 0) {
      const [taskId, agentId] = offers.shift()!;
      const call = waiting.get(taskId);
      if (!call) throw new Error(`offer of ${taskId}, which is not waiting`);
      waiting.delete(taskId);
      if (call.patienceTimer) clock.clearTimer(call.patienceTimer);
      await acd.accept(taskId, agentId);
      const now = clock.now();
      const waited = now - call.arrivedAt;
      const block = blocks[blockIndex(call)];
      if (block) {
        block.answered++;
        block.answeredWait += waited / 1000;
        if (waited <= slMs) block.inTime++;
      }
      resolved(call);
      const handleMs = random.exponential(ahtMs);
      clock.setTimer(now + handleMs, async () => {
        events++;
        await acd.complete(taskId, agentId);
        await settleOffers();
      });
    }
  };

  const arrive = async (): Promise<void> => {
    events++;
    const now = clock.now();
    const index = arrivals++;
    const taskId = `t${index}`;
    const call: Call = { index, arrivedAt: now, patienceTimer: null };
    const b = blockIndex(call);
    if (b >= 0) {
      if (b === blocks.length) {
        blocks.push(emptySums());
        unresolved.push(0);
      }
      blocks[b]!.calls++;
      unresolved[b]!++;
    }
    waiting.set(taskId, call);
    if (patienceMs < Infinity) {
      call.patienceTimer = clock.setTimer(now + random.exponential(patienceMs), async () => {
        events++;
        waiting.delete(taskId);
        const block = blocks[blockIndex(call)];
        if (block) block.abandoned++;
        resolved(call);
        await acd.abandon(taskId);
        await settleOffers();
      });
    }
    await acd.enqueue(taskId);
    await settleOffers();
    clock.setTimer(now + random.exponential(meanInterarrivalMs), arrive);
  };

  const checked = { at: Date.now(), arrivals: 0 };
  clock.setTimer(clock.now() + random.exponential(meanInterarrivalMs), arrive);
  const maxBlocks = Math.max(targetBlocks, Math.floor(options.maxCalls / options.blockCalls / BATCHES) * BATCHES);
  for (;;) {
    while (done < targetBlocks) {
      const at = clock.nextTimerAt();
      if (at === undefined) throw new Error('simulation stalled: no event pending');
      await acd.advanceTo(at);
    }
    const f = figures(blocks.slice(0, targetBlocks))!;
    const widest = Math.max(f.serviceLevel.halfWidth, f.serviceLevelAnswered.halfWidth, f.pAbandon.halfWidth);
    // Blocks that fit in the time left at the pace since the last check (10 % kept for the tail of calls still
    // waiting): the recent pace, as the engine's cost per call need not stay what it was at the start.
    const now = Date.now();
    const pace = (arrivals - checked.arrivals) / Math.max(1, now - checked.at);
    checked.arrivals = arrivals;
    checked.at = now;
    const timeBlocks = Math.floor((arrivals + 0.9 * pace * (options.deadline - now) - options.warmupCalls) / options.blockCalls / BATCHES) * BATCHES;
    const stoppedBy = widest <= options.targetHalfWidth ? 'target' : targetBlocks >= maxBlocks ? 'max-calls' : timeBlocks <= targetBlocks ? 'time' : undefined;
    if (stoppedBy) return { figures: f, events, estimateError: acd.waitErrors(), stoppedBy };
    options.progress?.(f.calls, widest);
    // The half-width shrinks as 1/sqrt(calls): extend to where it should meet the target, with 20 % to spare.
    const wanted = f.calls * (widest / options.targetHalfWidth) ** 2 * 1.2;
    targetBlocks = Math.min(maxBlocks, timeBlocks, Math.max(wholeBatches(wanted), targetBlocks + BATCHES));
  }
}
