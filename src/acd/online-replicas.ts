import Redis from 'ioredis';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';

const POLL_MS = 500;

/**
 * How many replicas the primary has online now (INFO replication), polled on a connection of its own: the commit
 * connection may be blocked in a WAIT. A commit waits for min(waitReplicas, online): every replica Sentinel could
 * promote has the change, and after a failover left fewer replicas, commits do not wait out their timeout for one
 * that is gone.
 */
export class OnlineReplicas {
  readonly #redis: Redis;
  readonly #timer: NodeJS.Timeout;
  #count: number | undefined;
  #closed = false;

  constructor(target: RedisTarget, logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(target), maxRetriesPerRequest: 1 });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'replica monitor connection error'));
    // A new primary (failover) is counted at once, not up to a poll later.
    this.#redis.on('ready', () => void this.#poll());
    this.#timer = setInterval(() => void this.#poll(), POLL_MS);
    this.#timer.unref();
  }

  /** Online replicas at the last poll; undefined until the first answer. */
  get count(): number | undefined {
    return this.#count;
  }

  async #poll(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready') return;
    try {
      const info = await this.#redis.info('replication');
      this.#count = countOnline(info);
    } catch {
      // Primary away: keep the last count until the next one answers.
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#redis.disconnect();
  }
}

/** `slaveN:ip=...,port=...,state=online,offset=...,lag=0` lines whose state is online. */
export function countOnline(info: string): number {
  return info.split('\n').filter((line) => /^slave\d+:/.test(line) && /(^|,)state=online(,|$)/.test(line.slice(line.indexOf(':') + 1).trim())).length;
}
