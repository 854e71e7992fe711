import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TypedEmitter, type Logger } from '../../lib';
import { MediaError } from '../errors';
import type { NgClient } from '../ng/ng-client';

export interface RtpengineProcessOptions {
  readonly binary: string;
  readonly ngHost: string;
  readonly ngPort: number;
  readonly interface: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly dtmfDestination: { readonly host: string; readonly port: number };
  /** rtpengine writes its pcaps and metadata here. */
  readonly recordingDir: string;
  readonly rtpTimeoutSeconds: number;
  readonly logLevel: number;
  readonly restartDelayMs: number;
  /** How long a fresh process may take to answer `ping`. */
  readonly readyTimeoutMs?: number;
}

type ProcessEvents = {
  /** The process exited unexpectedly; every call it carried is gone. */
  exited: [info: { code: number | null; signal: NodeJS.Signals | null }];
  /** A replacement process answers ping. */
  restarted: [];
};

/**
 * One rtpengine that onecc runs itself (media.engine embedded), in userspace forwarding mode. It is started with
 * `--config-file=none` so that the Debian package's /etc/rtpengine/rtpengine.conf (kernel table, CLI port) does not
 * leak in, restarted after `restartDelayMs` whenever it exits, and its log goes to onecc's log.
 */
export class RtpengineProcess extends TypedEmitter<ProcessEvents> {
  #child: ChildProcess | undefined;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;

  constructor(
    private readonly options: RtpengineProcessOptions,
    private readonly ng: NgClient,
    private readonly logger: Logger,
  ) {
    super(logger);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the process and resolves once it answers `ping`; rejects if it exits or stays silent. */
  async start(): Promise<void> {
    this.#stopping = false;
    this.#spawn();
    await this.#waitReady();
  }

  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and does not restart it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  }

  args(): string[] {
    const o = this.options;
    const ng = o.ngHost.includes(':') ? `[${o.ngHost}]:${o.ngPort}` : `${o.ngHost}:${o.ngPort}`;
    const dtmf = o.dtmfDestination.host.includes(':')
      ? `[${o.dtmfDestination.host}]:${o.dtmfDestination.port}`
      : `${o.dtmfDestination.host}:${o.dtmfDestination.port}`;
    return [
      '--config-file=none',
      '--foreground',
      '--table=-1',
      `--interface=${o.interface}`,
      `--listen-ng=${ng}`,
      `--port-min=${o.portMin}`,
      `--port-max=${o.portMax}`,
      `--dtmf-log-dest=${dtmf}`,
      `--recording-dir=${o.recordingDir}`,
      '--recording-method=pcap',
      `--timeout=${o.rtpTimeoutSeconds}`,
      // A deleted call disappears at once: onecc never reuses a call id, and `list` then shows only live calls.
      '--delete-delay=0',
      '--log-stderr',
      '--no-log-timestamps',
      `--log-level=${o.logLevel}`,
    ];
  }

  #spawn(): void {
    mkdirSync(this.options.recordingDir, { recursive: true });
    // Its own process group: a Ctrl-C meant for onecc must not kill it before onecc has deleted its calls.
    const child = spawn(this.options.binary, this.args(), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.#child = child;
    const log = this.logger.child({ rtpengine: `${this.options.ngHost}:${this.options.ngPort}`, pid: child.pid });
    createInterface({ input: child.stderr! }).on('line', (line) => logLine(log, line));
    child.on('error', (err) => log.error({ err }, `rtpengine could not be started (${this.options.binary})`));
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#stopping) return;
      log.error({ code, signal }, `rtpengine exited unexpectedly; restarting in ${this.options.restartDelayMs} ms`);
      this.safeEmit('exited', { code, signal });
      this.#restartTimer = setTimeout(() => void this.#restart(), this.options.restartDelayMs);
    });
  }

  async #restart(): Promise<void> {
    if (this.#stopping) return;
    this.#restarts++;
    this.#spawn();
    try {
      await this.#waitReady();
      this.logger.warn({ rtpengine: this.ng.address, restarts: this.#restarts }, 'rtpengine restarted and answers ping');
      this.safeEmit('restarted');
    } catch (err) {
      // #spawn's exit handler schedules the next attempt when the process died; a hung one is killed so that it does.
      this.logger.error({ err }, 'restarted rtpengine is not answering');
      this.#child?.kill('SIGKILL');
    }
  }

  async #waitReady(): Promise<void> {
    const child = this.#child;
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 10_000);
    for (;;) {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        throw new MediaError('NO_RTPENGINE', `rtpengine ${this.ng.address} exited during start-up (see its log lines above)`);
      }
      try {
        // Pings before the process listens fail by design; they are not failures worth a metric.
        await this.ng.command('ping', {}, { timeoutMs: 100, unobserved: true });
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new MediaError('NO_RTPENGINE', `rtpengine ${this.ng.address} did not answer ping within ${this.options.readyTimeoutMs ?? 10_000} ms of starting`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}

/** rtpengine writes "[core] WARNING: [callid]: text"; keep its severity, and keep routine lines at debug. */
function logLine(log: Logger, line: string): void {
  const severity = /\b(ERR|CRIT|ALERT|EMERG|WARNING|NOTICE|INFO|DEBUG)\b/.exec(line)?.[1];
  if (severity === 'ERR' || severity === 'CRIT' || severity === 'ALERT' || severity === 'EMERG') log.error(line);
  else if (severity === 'WARNING') log.warn(line);
  else log.debug(line);
}
