/**
 * What run.ts and its child processes (generator workers, the onecc system under test) say to each other over
 * Node's IPC channel. Nothing here is SIP: SIP goes over UDP on loopback only.
 */

/** Given to a generator worker as its one command-line argument (JSON). */
export interface WorkerSetup {
  id: number;
  /** Distinguishes this run's Call-IDs from any earlier run's that might still be retransmitted. */
  runId: string;
  host: string;
  port: number;
  /** A call that has no 200 to its INVITE (or to its BYE) this long after sending it is failed. */
  timeoutMs: number;
  /** Time between the ACK and the BYE; 0 sends the BYE right after the ACK. */
  holdMs: number;
}

export type WorkerCommand =
  /** Start placing calls: open-loop at `rate` calls/s, or closed-loop keeping `concurrency` calls in progress. */
  | { type: 'load'; rate: number }
  | { type: 'load'; concurrency: number }
  /** The measured window starts now: only calls started from here on are counted. */
  | { type: 'mark' }
  /** The window ends: start no more calls, let every call in progress finish or fail, then report. */
  | { type: 'stop' }
  | { type: 'exit' };

export type WorkerMessage = { type: 'ready'; port: number } | { type: 'report'; report: WorkerReport };

/** One worker's account of one measured window. Latencies are in microseconds. */
export interface WorkerReport {
  id: number;
  windowMs: number;
  /** INVITEs first sent within the window. */
  started: number;
  /** Calls started within the window whose BYE got its 200. */
  completed: number;
  /** Calls started within the window that did not complete: by reason ("timeout-setup", "timeout-teardown", "487 INVITE"...). */
  failed: Record<string, number>;
  setupUs: number[];
  teardownUs: number[];
  /** Retransmissions this worker sent (INVITE Timer A, BYE Timer E) and 2xx retransmissions it received (answered with the ACK again). */
  retransmitted: { invite: number; bye: number; ok200Received: number };
  /** Requests the system under test sent us (a BYE after an ACK timeout, say); each got a 200. */
  peerRequests: number;
  /** How late the worst INVITE left against its open-loop schedule (0 in closed-loop mode). */
  maxLagMs: number;
  datagramsSent: number;
  datagramsReceived: number;
  /** process.cpuUsage() over the window, microseconds. */
  cpuUserUs: number;
  cpuSystemUs: number;
}

/** What the onecc system under test reports once it listens. */
export type SutMessage =
  | { type: 'ready'; sipPort: number; drachtioPort: number; secret: string }
  | { type: 'app-ready' }
  | {
      type: 'stats';
      /** Calls the UAS answered and Dialogs ended by a BYE, since start; createUAS failures. */
      answered: number;
      ended: number;
      errors: number;
      /** monitorEventLoopDelay (2 ms resolution) since the last mark: how long ready work waited for the loop. */
      loopDelayMs: { p50: number; p99: number; max: number };
      /** process.memoryUsage() at the end of the window: V8 heap in use, and Buffer/ArrayBuffer memory outside it. */
      heapUsedMb: number;
      arrayBuffersMb: number;
    };

/** What run.ts says to an onecc process: 'mark' resets the loop-delay histogram, 'stats' asks for a SutMessage. */
export type SutCommand = { type: 'mark' } | { type: 'stats' };
