/**
 * A throwaway redis-server for tests and benchmarks: 127.0.0.1 only, a free port, its own temp dir, removed on stop.
 * With `appendOnly`, every write is fsynced before Redis replies (appendfsync always), so a restart loses nothing
 * acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { acceptsTcp, freeTcpPort } from '../../src/lib';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RedisServerOptions {
  readonly appendOnly?: boolean;
  /** Starts as a replica of that server (a Sentinel may promote it). */
  readonly replicaOf?: { readonly host: string; readonly port: number };
  readonly binary?: string;
  /** How long start() waits for Redis to accept connections. Default 10 s. */
  readonly startTimeoutMs?: number;
}

export class RedisServer {
  readonly host = '127.0.0.1';
  port = 0;
  readonly dir: string;
  #process: ChildProcess | undefined;

  constructor(private readonly options: RedisServerOptions = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'onecc-redis-'));
  }

  /** Starts it (again, on the same port and data dir after stop({ keepData: true })). */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freeTcpPort();
    const args = ['--bind', this.host, '--port', String(this.port), '--dir', this.dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
    // A primary otherwise waits 5 s for more replicas before it starts a (diskless) full sync.
    args.push('--repl-diskless-sync-delay', '0');
    if (this.options.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    if (this.options.replicaOf) args.push('--replicaof', this.options.replicaOf.host, String(this.options.replicaOf.port));
    const child = spawn(this.options.binary ?? '/usr/bin/redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#process = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
    while (!(await acceptsTcp(this.host, this.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not accept connections on ${this.port} within the time limit: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Freezes it (SIGSTOP) or lets it go on (SIGCONT): a replica that stops acknowledging, without a disconnect. */
  pause(paused: boolean): void {
    this.#process?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Stops it: SIGKILL by default (a crash), SIGTERM for a clean shutdown. Removes the data dir unless keepData. */
  async stop(options: { signal?: NodeJS.Signals; keepData?: boolean } = {}): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(options.signal ?? 'SIGKILL');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (!options.keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
