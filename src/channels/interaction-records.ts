import Redis from 'ioredis';
import type { InteractionHistory } from '../agents/index';
import type { Logger } from '../lib/index';

/** One interaction (a call, a video call, a chat, an email thread) as the operator and reporting see it afterwards. */
export interface InteractionRecord {
  readonly id: string;
  readonly channel: 'voice' | 'video' | 'chat' | 'email';
  /** inbound (a caller; the default) or outbound (onecc called: an agent's manual dial). */
  readonly direction?: 'inbound' | 'outbound';
  readonly startedAt: string;
  endedAt?: string;
  readonly trunk: string;
  readonly caller: string;
  readonly called: string;
  /** The outbound campaign that placed the call. */
  readonly campaign?: string;
  /** The dialplan that answered an inbound call. */
  readonly dialplan?: string;
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

/** Parts of a record that others add while its call goes on (an agent's wrap-up, callback attempts). */
type AppendedField = 'dispositions' | 'callbacks';
const appendedFields: readonly AppendedField[] = ['dispositions', 'callbacks'];

/**
 * Interaction records in Redis, so that every onecc node can answer a query about any call: one JSON value per
 * record and a time index, both expiring after the retention period. Dispositions and callback attempts are lists of
 * their own, appended to and merged in when a record is read, so that the call's own save never overwrites them.
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
        .set(`${this.#prefix}:${record.id}`, JSON.stringify({ ...record, dispositions: undefined, callbacks: undefined }), 'EX', this.retentionSeconds)
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
    return (await this.#load([id]))[0];
  }

  /** Adds an entry to one of a record's appended lists (the record itself may be written before or after). */
  async append<F extends AppendedField>(id: string, field: F, entry: NonNullable<InteractionRecord[F]>[number]): Promise<void> {
    try {
      await this.#redis.multi().rpush(`${this.#prefix}:${id}:${field}`, JSON.stringify(entry)).expire(`${this.#prefix}:${id}:${field}`, this.retentionSeconds).exec();
    } catch (err) {
      this.logger.error({ err, id, field }, 'interaction record entry not saved');
    }
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
    await this.append(id, 'dispositions', entry);
  }

  async #load(ids: string[]): Promise<InteractionRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline().mget(ids.map((id) => `${this.#prefix}:${id}`));
    for (const id of ids) for (const field of appendedFields) pipeline.lrange(`${this.#prefix}:${id}:${field}`, 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    const texts = replies[0]![1] as (string | null)[];
    const records: InteractionRecord[] = [];
    texts.forEach((text, i) => {
      if (text === null) return;
      const record = JSON.parse(text) as InteractionRecord;
      appendedFields.forEach((field, j) => {
        const entries = replies[1 + i * appendedFields.length + j]![1] as string[];
        if (entries.length > 0) (record as Record<AppendedField, unknown[]>)[field] = entries.map((e) => JSON.parse(e) as unknown);
      });
      records.push(record);
    });
    return records;
  }

  #byCustomer(customer: string): string {
    return `${this.#prefix}s-of:${customer}`;
  }

  /** Whether Redis answers a PING within `timeoutMs` (readiness). */
  async reachable(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.#redis.ping().then(() => true, () => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
