/** The messages between bench/agent-feed's driver (run.ts) and its system under test (sut.ts), over fork IPC. */

/** The supervisors' API key (the bench's own configuration; nothing secret). */
export const SUPERVISOR_KEY = 'bench-supervisor-key-0123456789';

export interface DriveOptions {
  /** New chat tasks per second. */
  readonly rate: number;
  /** Mean of the exponential time from an agent accepting a task to its completion. */
  readonly handleMs: number;
  /** Agents flipping between not-ready and ready, per second. */
  readonly flipsPerSecond: number;
}

export interface SutReady {
  readonly type: 'ready';
  readonly port: number;
  /** A feed token per agent, a0 first. */
  readonly tokens: readonly string[];
}

export type SutMessage =
  | SutReady
  | { readonly type: 'memory'; readonly rss: number; readonly heapUsed: number; readonly connections: number; readonly cpu: NodeJS.CpuUsage }
  | { readonly type: 'stopped' };
