/**
 * Estimated wait of one waiting task from the live state of its queue, Erlang A style (M/M/N+M from the task's
 * point of view): the N slots that can serve it each finish a task at rate μ = 1/meanHandleMs, and each task waiting
 * ahead of it leaves (abandons) at rate θ = abandonRatePerMs. While i tasks are still ahead the next one ahead is
 * gone (answered or abandoned) at rate Nμ + iθ; once none is ahead, the next slot to free up is this task's. So the
 * wait, if the task itself stays, is a sum of exponentials with rates Nμ + iθ for i = tasks still waiting ahead
 * down to 0.
 *
 * What it does not see: tasks of higher priority that arrive later and go ahead, agents who log in or out, agents
 * shared with other queues taking those queues' tasks (the slots are treated as this queue's), non-exponential
 * handle times. The measured error (WaitErrorRecorder) shows what that costs.
 */

export interface LiveWaitInput {
  /**
   * Slots that can take this task's channel, summed over staffed eligible agents (available, reserved, busy or in
   * wrap-up; not not-ready, not logged out): an agent taking 3 chats counts 3 for a chat, an agent who may take
   * voice counts 1 for a call. Cross-channel rules apply (an agent on a call who may still take 2 chats counts 2).
   */
  slots: number;
  /** Of those slots, the ones holding a task now (reserved, busy or in wrap-up). Clamped to `slots`. */
  busySlots: number;
  /** Tasks still waiting that will be offered before this one (earlier, or of higher priority), on these slots. */
  tasksAhead: number;
  /**
   * Recent mean time a task keeps a slot, from offer accepted until the slot is free again (wrap-up included),
   * e.g. HandleTimeTracker.meanMs(). Must be > 0.
   */
  meanHandleMs: number;
  /**
   * Recent rate at which a waiting task abandons, per ms of waiting (1 / mean patience), e.g.
   * PatienceTracker.ratePerMs(). 0 when nobody abandons.
   */
  abandonRatePerMs: number;
}

export interface WaitEstimate {
  /**
   * Expected time from now until a slot takes this task, if the task waits that long: the figure to announce to a
   * caller who stays. 0 when a slot is free for it now; Infinity when no slot is staffed.
   */
  waitMs: number;
  /**
   * Expected wait given that the task is answered rather than abandoned: the prediction to record in
   * WaitErrorRecorder, which sees answered tasks only. Shorter than waitMs when θ > 0, since answered tasks are the
   * ones whose wait turned out short enough for their patience; against answered waits waitMs is biased long.
   */
  answeredWaitMs: number;
  /** Probability that the task abandons before a slot takes it (with the same θ for it as for those ahead). */
  abandonProbability: number;
}

/** The estimated wait of a task with `input.tasksAhead` tasks ahead of it. O(tasksAhead). */
export function estimateWait(input: LiveWaitInput): WaitEstimate {
  checkInput(input);
  if (!Number.isInteger(input.tasksAhead) || input.tasksAhead < 0) {
    throw new RangeError(`tasksAhead must be an integer ≥ 0 (got ${input.tasksAhead})`);
  }
  return estimateQueueWaits(input, input.tasksAhead + 1)[input.tasksAhead]!;
}

/**
 * The estimated waits of the first `count` tasks of a queue at once (element k: k tasks ahead, as estimateWait
 * with tasksAhead = k), for a snapshot of a whole queue in O(count). `input.tasksAhead` is ignored.
 */
export function estimateQueueWaits(input: LiveWaitInput, count: number): WaitEstimate[] {
  checkInput(input);
  const { slots, meanHandleMs, abandonRatePerMs: theta } = input;
  const free = slots - Math.min(input.busySlots, slots);
  const estimates: WaitEstimate[] = [];
  if (slots === 0) {
    const never = { waitMs: Infinity, answeredWaitMs: Infinity, abandonProbability: theta > 0 ? 1 : 0 };
    for (let k = 0; k < count; k++) estimates.push(never);
    return estimates;
  }
  const serviceRate = slots / meanHandleMs;
  let wait = 0;
  let answeredWait = 0;
  for (let k = 0; k < count; k++) {
    // The first `free` tasks go to free slots now; task k then has i = k − free tasks ahead that must go first.
    const i = k - free;
    if (i < 0) {
      estimates.push({ waitMs: 0, answeredWaitMs: 0, abandonProbability: 0 });
      continue;
    }
    // Stage "i ahead": left at rate Nμ + iθ; the task's own patience adds θ when we condition on it staying.
    wait += 1 / (serviceRate + i * theta);
    answeredWait += 1 / (serviceRate + (i + 1) * theta);
    // Π over stages of P(someone ahead leaves before this task does) telescopes to Nμ / (Nμ + (i+1)θ).
    const abandonProbability = 1 - serviceRate / (serviceRate + (i + 1) * theta);
    estimates.push({ waitMs: wait, answeredWaitMs: answeredWait, abandonProbability });
  }
  return estimates;
}

function checkInput(input: LiveWaitInput): void {
  const { slots, busySlots, meanHandleMs, abandonRatePerMs } = input;
  if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`slots must be an integer ≥ 0 (got ${slots})`);
  if (!Number.isInteger(busySlots) || busySlots < 0) throw new RangeError(`busySlots must be an integer ≥ 0 (got ${busySlots})`);
  if (!(meanHandleMs > 0 && meanHandleMs < Infinity)) throw new RangeError(`meanHandleMs must be finite and > 0 (got ${meanHandleMs})`);
  if (!(abandonRatePerMs >= 0 && abandonRatePerMs < Infinity)) {
    throw new RangeError(`abandonRatePerMs must be finite and ≥ 0 (got ${abandonRatePerMs})`);
  }
}
