/**
 * Wait estimation for the ACD, free of Redis: Erlang C/A formulas, the estimated wait of one task from live queue
 * state, trackers for the recent handle time and patience it needs, and the recorder of its measured error.
 *
 * Typical use by the engine, per queue (and channel): record every freed slot's handle time in a HandleTimeTracker
 * and every answered or abandoned task's time in queue in a PatienceTracker; to answer "how long for this task",
 * call estimateWait with the eligible slots, how many are busy, the tasks ahead, meanMs() and ratePerMs(); when the
 * task is answered, record the answeredWaitMs predicted for it and its actual wait in a WaitErrorRecorder.
 */
export { erlangA, erlangB, erlangC, type ErlangInput, type ErlangResult } from './erlang';
export { estimateWait, estimateQueueWaits, type LiveWaitInput, type WaitEstimate } from './wait';
export { HandleTimeTracker, PatienceTracker } from './trackers';
export { WaitErrorRecorder, DEFAULT_ERROR_BUCKETS_MS, type WaitErrorSummary } from './error-recorder';
