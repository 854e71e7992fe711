import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { acceptsTcp, freeTcpPort } from './ports';

export interface EmbeddedRedisOptions {
  readonly binary: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly dataDir: string;
  readonly startTimeoutMs?: number;
  readonly restartDelayMs?: number;
}

/**
 * The redis-server a single-machine onecc runs itself (acd.redis.embedded): bound to the configured address, with
 * an append-only file so that queued tasks and phone registrations survive a restart, and restarted if it exits.
 */
export class EmbeddedRedis {
  #child: ChildProcess | undefined;
  #port = 0;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EmbeddedRedisOptions, private readonly logger: Logger) {}

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    this.#port = this.options.port === 0 ? await freeTcpPort(this.options.host) : this.options.port;
    if (await acceptsTcp(this.options.host, this.#port)) {
      throw new Error(`acd.redis.embedded: something already listens on ${this.options.host}:${this.#port}; set acd.redis.embedded to false to use it, or pick another port`);
    }
    mkdirSync(this.options.dataDir, { recursive: true });
    await this.#spawnAndWait();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  }

  async #spawnAndWait(): Promise<void> {
    const args = [
      '--bind', this.options.host, '--port', String(this.#port), '--dir', path.resolve(this.options.dataDir),
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--loglevel', 'warning',
    ];
    // Its own process group: a Ctrl-C meant for onecc must not stop Redis before onecc has finished with it.
    const child = spawn(this.options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.#child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
      this.logger.warn({ redis: chunk.toString().trim() }, 'redis-server');
    });
    child.on('error', (err) => this.logger.error({ err }, `redis-server could not be started (${this.options.binary})`));
    child.on('exit', (code, signal) => {
      if (this.#child !== child || this.#stopping) return;
      this.logger.error({ code, signal }, 'embedded redis-server exited; restarting');
      this.#restartTimer = setTimeout(() => {
        this.#spawnAndWait().catch((err) => this.logger.error({ err }, 'embedded redis-server did not come back'));
      }, this.options.restartDelayMs ?? 1000);
    });
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
    while (!(await acceptsTcp(this.options.host, this.#port))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited during start-up: ${stderr.trim()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not accept connections on ${this.options.host}:${this.#port} in time: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
