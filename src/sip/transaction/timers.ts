/** RFC 3261 §17.1.1.1 T1 (RTT estimate), T2 (max retransmit interval), T4 (max time a message stays in the network). */
export interface TimerSettings {
  t1: number;
  t2: number;
  t4: number;
}

export const DEFAULT_TIMERS: TimerSettings = { t1: 500, t2: 4000, t4: 5000 };

/**
 * The durations of RFC 3261 Table 4 (and RFC 6026's L and M) for one transport. Retransmission timers
 * (A, E, G) only run on unreliable transports; the wait-for-retransmission timers (D, I, J, K) are zero
 * on reliable ones.
 */
export interface TimerDurations {
  A: number;
  B: number;
  D: number;
  E: number;
  F: number;
  G: number;
  H: number;
  I: number;
  J: number;
  K: number;
  L: number;
  M: number;
  T2: number;
}

export function timerDurations({ t1, t2, t4 }: TimerSettings, reliable: boolean): TimerDurations {
  return {
    A: t1,
    B: 64 * t1,
    D: reliable ? 0 : Math.max(32_000, 64 * t1),
    E: t1,
    F: 64 * t1,
    G: t1,
    H: 64 * t1,
    I: reliable ? 0 : t4,
    J: reliable ? 0 : 64 * t1,
    K: reliable ? 0 : t4,
    L: 64 * t1,
    M: 64 * t1,
    T2: t2,
  };
}
