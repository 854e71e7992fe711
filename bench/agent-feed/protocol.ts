/** The messages between bench/agent-feed's driver (run.ts) and its system under test (sut.ts), over fork IPC. */

/** The supervisors' API key (the bench's own configuration; nothing secret). */
export const SUPERVISOR_KEY = 'bench-supervisor-key-0123456789';

/** What run.ts tells sut.js on its command line. */
export interface SutSetup {
  readonly agents: number;
  readonly queues: number;
  readonly store: 'memory' | 'redis';
  /** For redis-server's files; run.ts owns (and removes) it. */
  readonly dir: string;
}

export interface DriveOptions {
  /** New chat tasks per second. */
  readonly rate: number;
  /** Mean of the exponential time from an agent accepting a task to its completion. */
  readonly handleMs: number;
  /** Agents flipping between not-ready and ready, per second. */
  readonly flipsPerSecond: number;
}

export type SutCommand =
  /** `gc`: a full GC first, for the heap figure; never during the measured window (it would stall the feed). */
  | { readonly type: 'probe'; readonly gc: boolean }
  | { readonly type: 'go'; readonly options: DriveOptions }
  | { readonly type: 'stop' };

export interface SutReady {
  readonly type: 'ready';
  readonly port: number;
  /** A feed token per agent, a0 first. */
  readonly tokens: readonly string[];
}

export interface SutProbe {
  readonly type: 'probe';
  readonly rss: number;
  readonly heapUsed: number;
  /** WebSocket connections the feed holds. */
  readonly connections: number;
  readonly cpu: NodeJS.CpuUsage;
  /** The driver's counts so far, and tasks not yet accepted now: agents keep up when `waiting` stays small. */
  readonly enqueued: number;
  readonly completed: number;
  readonly waiting: number;
  /** Event-loop delay since the previous probe (ms; 1 ms resolution): how long a ready socket could wait. */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

/**
 * When the engine emitted its events, sent every 100 ms: `pairs` is at, emitted, at, emitted... (ms since the
 * epoch). The events of one change share their `at`, so that identifies them on the clients' side.
 */
export interface SutEmitted {
  readonly type: 'emitted';
  readonly pairs: readonly number[];
}

export type SutMessage = SutReady | SutProbe | SutEmitted | { readonly type: 'stopped' };
