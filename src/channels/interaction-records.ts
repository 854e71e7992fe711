import Redis from 'ioredis';
import type { InteractionHistory } from '../agents/index';
import type { Logger } from '../lib/index';

/** One interaction (a call today; chats and videos later) as the operator and reporting see it afterwards. */
export interface InteractionRecord {
  readonly id: string;
  readonly channel: 'voice';
  readonly startedAt: string;
  endedAt?: string;
  readonly trunk: string;
  readonly caller: string;
  readonly called: string;
  readonly dialplan: string;
  /** Every leg: the caller's, each agent phone that answered, a transfer target, the customer called back. */
  readonly legs: { readonly kind: 'caller' | 'agent' | 'transfer' | 'customer'; readonly callId?: string; readonly agentId?: string; readonly target?: string; readonly at: string }[];
  /** The IVR's path (nodes with times, inputs, queues, variables, errors), as the runner recorded it. */
  ivr?: unknown;
  /** How the call ended: completed, abandoned, rejected, failed... */
  outcome?: string;
  agentId?: string;
  survey?: Record<string, string>;
  recording?: string;
  /** The calls back to a caller who chose a callback, one per attempt. */
  callbacks?: CallbackAttemptRecord[];
  /** What the agents who handled it closed it with (agent feed wrap-up). */
  dispositions?: { readonly agentId: string; readonly taskId: string; readonly disposition: string; readonly notes?: string; readonly at: string }[];
}

/** One call back to the customer: the agent who took it and how it went. */
export interface CallbackAttemptRecord {
  readonly attempt: number;
  readonly agentId: string;
  readonly at: string;
  /** connected, busy, no-answer, declined, agent-hung-up, failed */
  outcome: string;
  connectedAt?: string;
  endedAt?: string;
}

/**
 * Interaction records in Redis, so that every onecc node can answer a query about any call: one JSON value per
 * record and a time index, both expiring after the retention period.
 */
export class InteractionRecords implements InteractionHistory {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: { host: string; port: number }, keyTag: string, private readonly retentionSeconds: number, private readonly logger: Logger) {
    this.#redis = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'interaction records: Redis connection error'));
    this.#prefix = `{${keyTag}}:interaction`;
  }

  /** Writes (or rewrites) a record. Failures are logged, never thrown: a record must not break a call. */
  async save(record: InteractionRecord): Promise<void> {
    try {
      await this.#redis
        .multi()
        .set(`${this.#prefix}:${record.id}`, JSON.stringify(record), 'EX', this.retentionSeconds)
        .zadd(`${this.#prefix}s`, Date.parse(record.startedAt), record.id)
        .zremrangebyscore(`${this.#prefix}s`, 0, Date.now() - this.retentionSeconds * 1000)
        // The customer's history (screen pop): their interactions by time, expiring with the newest.
        .zadd(this.#byCustomer(record.caller), Date.parse(record.startedAt), record.id)
        .zremrangebyscore(this.#byCustomer(record.caller), 0, Date.now() - this.retentionSeconds * 1000)
        .expire(this.#byCustomer(record.caller), this.retentionSeconds)
        .exec();
    } catch (err) {
      this.logger.error({ err, id: record.id }, 'interaction record not saved');
    }
  }

  async get(id: string): Promise<InteractionRecord | undefined> {
    const text = await this.#redis.get(`${this.#prefix}:${id}`);
    return text === null ? undefined : (JSON.parse(text) as InteractionRecord);
  }

  /** The most recent records first. */
  async recent(limit: number): Promise<InteractionRecord[]> {
    return this.#load(await this.#redis.zrevrange(`${this.#prefix}s`, 0, Math.max(0, limit - 1)));
  }

  /** The customer's most recent interactions, newest first. */
  async previous(customer: string, limit: number): Promise<InteractionRecord[]> {
    return this.#load(await this.#redis.zrevrange(this.#byCustomer(customer), 0, Math.max(0, limit - 1)));
  }

  async disposition(id: string, entry: NonNullable<InteractionRecord['dispositions']>[number]): Promise<void> {
    const record = await this.get(id);
    if (record === undefined) return;
    record.dispositions = [...(record.dispositions ?? []), entry];
    await this.save(record);
  }

  async #load(ids: string[]): Promise<InteractionRecord[]> {
    if (ids.length === 0) return [];
    const texts = await this.#redis.mget(ids.map((id) => `${this.#prefix}:${id}`));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as InteractionRecord);
  }

  #byCustomer(customer: string): string {
    return `${this.#prefix}s-of:${customer}`;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
