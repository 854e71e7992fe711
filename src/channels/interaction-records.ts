import Redis from 'ioredis';
import type { InteractionHistory, ScreenPop } from '../agents/index';
import type { CustomerStore } from '../customers/index';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import type { ReportRecorder, SurveyResponse } from '../reports/index';

/** One interaction (a call, a video call, a chat, an email thread) as the operator and reporting see it afterwards. */
export interface InteractionRecord {
  readonly id: string;
  /** notification: a proactive notification (src/notifications), whatever channels it went out on. */
  readonly channel: 'voice' | 'video' | 'chat' | 'email' | 'notification';
  /** inbound (a caller; the default) or outbound (onecc called: an agent's manual dial). */
  readonly direction?: 'inbound' | 'outbound';
  readonly startedAt: string;
  endedAt?: string;
  readonly trunk: string;
  readonly caller: string;
  readonly called: string;
  /** The customer (src/customers) and the case this interaction belongs to, set as the record is first saved. */
  customer?: string;
  case?: string;
  /** The customer's name as they gave it (chat, video), for their profile. */
  readonly name?: string;
  /** Identities the channel learnt of the customer (`email:...`, `phone:...`, `connector:<gateway>:<id>`). */
  readonly identities?: readonly string[];
  /** The queue that handled it (the last one it waited in). */
  queue?: string;
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
  /** A notification's rule, event, attempts per channel and the customer's answer. */
  notification?: unknown;
  /** Survey answers by the dialplan's variable names (voice), or csat (chat). */
  survey?: Record<string, string>;
  /** The satisfaction survey's answers on any channel, as reports read them. */
  feedback?: Feedback;
  recording?: string;
  /** The calls back to a caller who chose a callback, one per attempt. */
  callbacks?: CallbackAttemptRecord[];
  /** What the agents who handled it closed it with (agent feed wrap-up). */
  dispositions?: { readonly agentId: string; readonly taskId: string; readonly disposition: string; readonly notes?: string; readonly at: string }[];
}

/** CSAT 1–5, NPS 0–10, and a comment written (chat) or recorded (voice: a file in the recording directory). */
export interface Feedback {
  readonly at: string;
  readonly csat?: number;
  readonly nps?: number;
  readonly comment?: string;
  readonly commentRecording?: string;
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

/** Sets a record's customer and case (CustomerLinker). */
export interface RecordLinker {
  link(record: InteractionRecord): Promise<void>;
}

/** Parts of a record that others add while its call goes on (an agent's wrap-up, callback attempts). */
type AppendedField = 'dispositions' | 'callbacks';
const appendedFields: readonly AppendedField[] = ['dispositions', 'callbacks'];

/**
 * Interaction records in Redis, so that every onecc node can answer a query about any call: one JSON value per
 * record and a time index, both expiring after the retention period. Dispositions and callback attempts are lists of
 * their own, appended to and merged in when a record is read, so that the call's own save never overwrites them.
 * A record's first save links it to its customer and case (CustomerLinker); the customer's timeline is the customer
 * store's.
 */
export class InteractionRecords implements InteractionHistory {
  readonly #redis: Redis;
  readonly #prefix: string;
  #customers: { readonly store: CustomerStore; readonly linker: RecordLinker } | undefined;
  #reports: ReportRecorder | undefined;
  readonly #dispositionListeners: ((customer: string, disposition: string, at: number) => Promise<void>)[] = [];

  constructor(redis: RedisTarget, keyTag: string, private readonly retentionSeconds: number, private readonly logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'interaction records: Redis connection error'));
    this.#prefix = `{${keyTag}}:interaction`;
  }

  /** Links records to customers from now on. */
  useCustomers(store: CustomerStore, linker: RecordLinker): void {
    this.#customers = { store, linker };
  }

  /** Told of every inbound interaction's disposition with its customer (notifications: calls avoided). */
  onDisposition(listener: (customer: string, disposition: string, at: number) => Promise<void>): void {
    this.#dispositionListeners.push(listener);
  }

  /** Reports survey answers and dispositions from now on. */
  useReports(reports: ReportRecorder): void {
    this.#reports = reports;
  }

  /** Writes (or rewrites) a record. Failures are logged, never thrown: a record must not break a call. */
  async save(record: InteractionRecord): Promise<void> {
    if (record.customer === undefined && this.#customers) await this.#customers.linker.link(record);
    if (record.feedback !== undefined) await this.#reportFeedback(record);
    try {
      await this.#redis
        .multi()
        .set(`${this.#prefix}:${record.id}`, JSON.stringify({ ...record, dispositions: undefined, callbacks: undefined }), 'EX', this.retentionSeconds)
        .zadd(`${this.#prefix}s`, Date.parse(record.startedAt), record.id)
        .zremrangebyscore(`${this.#prefix}s`, 0, Date.now() - this.retentionSeconds * 1000)
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

  /** Records by id (those still kept), in the order given. */
  async many(ids: readonly string[]): Promise<InteractionRecord[]> {
    return this.#load([...ids]);
  }

  /**
   * The screen pop of a task: its interaction's customer (profile, case) and their latest other interactions, newest
   * first. Nothing when the interaction has no customer (yet).
   */
  async screenPop(attributes: Readonly<Record<string, string>>, limit: number): Promise<ScreenPop> {
    const interaction = attributes.interaction;
    if (!this.#customers || interaction === undefined) return { customer: null, previousInteractions: [] };
    const { store } = this.#customers;
    const attached = await store.attachmentOf(interaction);
    if (attached === undefined) return { customer: null, previousInteractions: [] };
    const [profile, ids] = await Promise.all([store.get(attached.customer), store.timeline(attached.customer, limit, interaction)]);
    return {
      customer: profile ? { id: profile.id, name: profile.name, language: profile.language, identities: profile.identities, case: attached.case, doNotContact: profile.doNotContact } : null,
      previousInteractions: await this.#load(ids),
    };
  }

  /** Erases records and their appended lists (a customer's data deletion). */
  async erase(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const keys = ids.flatMap((id) => [`${this.#prefix}:${id}`, ...appendedFields.map((f) => `${this.#prefix}:${id}:${f}`)]);
    await this.#redis.multi().del(...keys).zrem(`${this.#prefix}s`, ...ids).exec();
    await this.#reports?.forgetSurveys(ids);
  }

  /** An agent's wrap-up of the interaction; `queue` (the task's) is what the disposition is reported under. */
  async disposition(id: string, entry: NonNullable<InteractionRecord['dispositions']>[number] & { readonly queue?: string }): Promise<void> {
    const { queue, ...kept } = entry;
    await this.append(id, 'dispositions', kept);
    await this.#reports?.disposition(Date.parse(entry.at), queue ?? 'none', entry.disposition).catch((err: unknown) => this.logger.error({ err, id }, 'disposition not reported'));
    if (!this.#reports && this.#dispositionListeners.length === 0) return;
    const record = await this.get(id);
    // A survey answered before the wrap-up is reported under the disposition too.
    if (record?.feedback !== undefined) await this.#reportFeedback(record);
    if (record?.customer !== undefined && record.direction !== 'outbound') {
      for (const listener of this.#dispositionListeners) await listener(record.customer, entry.disposition, Date.parse(entry.at)).catch((err: unknown) => this.logger.error({ err, id }, 'disposition listener failed'));
    }
  }

  /** The record's survey answers as a report fact, with its dispositions (from the stored list when not in hand). */
  async #reportFeedback(record: InteractionRecord): Promise<void> {
    if (!this.#reports || record.feedback === undefined || record.channel === 'notification') return;
    try {
      const dispositions = record.dispositions ?? (await this.#redis.lrange(`${this.#prefix}:${record.id}:dispositions`, 0, -1)).map((e) => JSON.parse(e) as { disposition: string });
      const { feedback } = record;
      const ivr = record.ivr as { steps?: { node: string }[] } | undefined;
      const response: SurveyResponse = {
        interaction: record.id, at: Date.parse(feedback.at), channel: record.channel, queue: record.queue ?? null, agentId: record.agentId ?? null,
        dispositions: [...new Set(dispositions.map((d) => d.disposition))],
        ivrNodes: [...new Set((ivr?.steps ?? []).map((s) => s.node))],
        customer: record.customer ?? null,
        csat: feedback.csat ?? null, nps: feedback.nps ?? null, comment: feedback.comment ?? null, commentRecording: feedback.commentRecording ?? null,
      };
      await this.#reports.survey(response);
    } catch (err) {
      this.logger.error({ err, id: record.id }, 'survey answers not reported');
    }
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
