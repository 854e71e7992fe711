/**
 * What run.ts and the forked onecc (sut.ts) say to each other over Node's IPC channel. SIP and RTP go over UDP on
 * 127.0.0.1 only; this channel carries setup, the SUT's own timestamps of ACD events, and its counters.
 */

/** Given to sut.js as its one command-line argument (JSON). */
export interface SutSetup {
  /** A temporary directory of run.ts's: the dialplan, Redis data, recordings and the prompt cache go there. */
  dir: string;
  /** The DID the bench dialplan answers. */
  did: string;
  /** username = agent id; the password is derived from it (see agentPassword). */
  agents: string[];
  ringTimeoutSeconds: number;
  wrapUpSeconds: number;
  /** rtpengine's port range: every bridged call takes four ports. */
  rtpPortMin: number;
  rtpPortMax: number;
  logLevel: string;
}

export function agentPassword(agent: string): string {
  return `pw-${agent}`;
}

export type SutCommand =
  /** Log every agent whose phone has registered into the ACD, ready, with skill general. */
  | { type: 'login' }
  /** Counters now, and the ACD task timestamps since the last 'stats'. */
  | { type: 'stats' }
  /** The end-of-run check: what is still open on onecc's side. */
  | { type: 'final' };

/** When the SUT saw an ACD task event: `at` is ms since the epoch (performance.timeOrigin + now(), sub-ms). */
export interface TaskEvent {
  taskId: string;
  /** created: the caller left the IVR for the queue; offered: an agent was chosen (every offer, RONA included). */
  kind: 'created' | 'offered';
  at: number;
}

export interface SutCounters {
  /** VoiceChannel.activeCalls: answered calls onecc has not finished with. */
  activeCalls: number;
  /** MediaService.openCalls: calls open on rtpengine. */
  openMediaCalls: number;
  /** Callers waiting in the queue `general` (ACD snapshot). */
  waiting: number;
  tasksCreated: number;
  tasksOffered: number;
  tasksRejected: number;
  tasksAbandoned: number;
  tasksCompleted: number;
  /** Agents the voice channel made not-ready for not answering (RONA); the SUT makes them ready again after 1 s. */
  rona: number;
  /** Event-loop delay since the last 'stats' (2 ms resolution), ms. */
  loopDelayMs: { p50: number; p99: number; max: number };
  heapUsedMb: number;
}

export type SutMessage =
  | { type: 'ready'; sipPort: number; httpPort: number }
  /** heapAfterGcMb: V8 heap in use after a full GC (sut.js runs with --expose-gc), the baseline for 'final'. */
  | { type: 'logged-in'; agents: number; missing: string[]; heapAfterGcMb: number }
  | { type: 'stats'; counters: SutCounters; tasks: TaskEvent[] }
  | { type: 'final'; counters: SutCounters; agentStates: Record<string, number>; waitingTasks: number; heapAfterGcMb: number };
