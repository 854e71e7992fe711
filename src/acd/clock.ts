/**
 * Time as the ACD sees it. The engine never reads Date.now() or calls setTimeout itself: with `systemClock` it runs in
 * real time; with a `SimulatedClock` the same engine runs in simulated time as fast as the CPU allows.
 */
export interface AcdClock {
  /** Milliseconds; any epoch, as long as it never goes back. */
  now(): number;
  /** Runs `fire` at `at` (clock ms) or as soon after as possible. A returned promise is awaited by simulated clocks. */
  setTimer(at: number, fire: () => void | Promise<void>): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly at: number;
}

/** Wall-clock time and Node timers. */
export const systemClock: AcdClock = {
  now: () => Date.now(),
  setTimer(at, fire) {
    const timeout = setTimeout(() => void fire(), Math.max(0, at - Date.now()));
    return { at, timeout } as TimerHandle;
  },
  clearTimer(handle) {
    clearTimeout((handle as TimerHandle & { timeout: NodeJS.Timeout }).timeout);
  },
};

interface SimTimer extends TimerHandle {
  readonly seq: number;
  readonly fire: () => void | Promise<void>;
  cancelled: boolean;
}

/**
 * Simulated time: nothing happens until the driver calls `advanceTo(t)`, which fires every timer due by t in time
 * order (ties in the order they were set), awaiting each before the next, then leaves the clock at t. There are no
 * real sleeps and no macrotasks, so a simulation runs millions of events a minute.
 */
export class SimulatedClock implements AcdClock {
  #now: number;
  #seq = 0;
  readonly #heap: SimTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fire: () => void | Promise<void>): TimerHandle {
    const timer: SimTimer = { at: Math.max(at, this.#now), seq: this.#seq++, fire, cancelled: false };
    this.#push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as SimTimer).cancelled = true;
  }

  /** Time of the earliest pending timer, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0]?.at;
  }

  /** Fires every timer due by `t` (including ones those timers set), then sets the clock to `t`. */
  async advanceTo(t: number): Promise<void> {
    while (await this.fireNext(t));
    this.#now = t;
  }

  /** Fires the earliest timer due by `t`, moving the clock to its time; false when none is due. */
  async fireNext(t: number): Promise<boolean> {
    if (t < this.#now) throw new RangeError(`simulated time cannot go back (now ${this.#now}, asked ${t})`);
    for (;;) {
      const next = this.#heap[0];
      if (next === undefined || next.at > t) return false;
      this.#pop();
      if (next.cancelled) continue;
      this.#now = next.at;
      await next.fire();
      return true;
    }
  }

  #before(a: SimTimer, b: SimTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: SimTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
