import Redis from 'ioredis';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import { bucketOf, bucketsOf, BUCKET_MS } from './intervals';

/** What is counted per bucket: `<kind>|<subject>|<figure>` (kind q: queue, ch: channel, a: agent, d: disposition...). */
export type CountField = `${string}|${string}|${string}`;

/**
 * The reports' figures in Redis, shared by every onecc node: counters per 15-minute bucket (one hash per bucket,
 * incremented, so that nodes add up without coordination) and facts (survey answers, quality evaluations: one JSON
 * value each, indexed by time). Both expire after the retention period.
 */
export class ReportStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #retentionMs: number;

  constructor(redis: RedisTarget, keyTag: string, retentionDays: number, private readonly logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'reports: Redis connection error'));
    this.#prefix = `{${keyTag}}:report`;
    this.#retentionMs = retentionDays * 86_400_000;
  }

  /** Adds to counters, each in the bucket of its time. Failures are logged, never thrown: reporting must not break a contact. */
  async add(counts: readonly (readonly [at: number, field: CountField, n: number])[]): Promise<void> {
    if (counts.length === 0) return;
    // Plain commands, not a transaction: each increment stands alone, and auto-pipelining sends those of every
    // caller in the same tick in one write (thousands of counts a second under load).
    const writes: Promise<unknown>[] = [];
    const buckets = new Set<number>();
    for (const [at, field, n] of counts) {
      const bucket = bucketOf(at);
      buckets.add(bucket);
      writes.push(this.#redis.hincrby(this.#bucketKey(bucket), field, Math.round(n)));
    }
    for (const bucket of buckets) writes.push(this.#redis.pexpireat(this.#bucketKey(bucket), bucket + BUCKET_MS + this.#retentionMs));
    try {
      await Promise.all(writes);
    } catch (err) {
      this.logger.error({ err, counts: counts.length }, 'report figures not saved');
    }
  }

  /** The counters of every bucket in [from, to). */
  async counts(from: number, to: number): Promise<Map<number, Map<CountField, number>>> {
    const buckets = bucketsOf(from, to);
    const pipeline = this.#redis.pipeline();
    for (const bucket of buckets) pipeline.hgetall(this.#bucketKey(bucket));
    const replies = buckets.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const result = new Map<number, Map<CountField, number>>();
    replies.forEach(([err, hash], i) => {
      if (err) throw err;
      const fields = new Map<CountField, number>();
      for (const [field, value] of Object.entries(hash as Record<string, string>)) fields.set(field as CountField, Number(value));
      if (fields.size > 0) result.set(buckets[i]!, fields);
    });
    return result;
  }

  /** Writes (or rewrites: same id) a fact of `kind` at time `at`. */
  async putFact(kind: string, id: string, at: number, fact: unknown): Promise<void> {
    const expired = await this.#redis.zrangebyscore(this.#indexKey(kind), 0, Date.now() - this.#retentionMs);
    const multi = this.#redis.multi().hset(this.#factsKey(kind), id, JSON.stringify(fact)).zadd(this.#indexKey(kind), at, id);
    if (expired.length > 0) multi.hdel(this.#factsKey(kind), ...expired).zrem(this.#indexKey(kind), ...expired);
    await multi.exec();
  }

  /** The facts of `kind` whose time is in [from, to), oldest first. */
  async facts<T>(kind: string, from: number, to: number): Promise<T[]> {
    const ids = await this.#redis.zrangebyscore(this.#indexKey(kind), from, `(${to}`);
    if (ids.length === 0) return [];
    const texts = await this.#redis.hmget(this.#factsKey(kind), ...ids);
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as T]));
  }

  async fact<T>(kind: string, id: string): Promise<T | undefined> {
    const text = await this.#redis.hget(this.#factsKey(kind), id);
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /** Erases the facts of `kind` that `matches` (a customer's data deletion); returns how many. */
  async forgetFacts<T>(kind: string, matches: (fact: T) => boolean): Promise<number> {
    const doomed: string[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(this.#factsKey(kind), cursor, 'COUNT', 500);
      for (let i = 0; i < flat.length; i += 2) if (matches(JSON.parse(flat[i + 1]!) as T)) doomed.push(flat[i]!);
      cursor = next;
    } while (cursor !== '0');
    if (doomed.length > 0) await this.#redis.multi().hdel(this.#factsKey(kind), ...doomed).zrem(this.#indexKey(kind), ...doomed).exec();
    return doomed.length;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  #bucketKey(bucket: number): string {
    return `${this.#prefix}:b:${bucket}`;
  }

  #factsKey(kind: string): string {
    return `${this.#prefix}:${kind}`;
  }

  #indexKey(kind: string): string {
    return `${this.#prefix}:${kind}:at`;
  }
}
