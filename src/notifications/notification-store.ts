import Redis from 'ioredis';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import type { NotificationChannel } from './rules';

export type NotificationState = 'scheduled' | 'waiting' | 'sent' | 'confirmed' | 'declined' | 'handed-off' | 'unconfirmed' | 'failed' | 'expired';
export const finalStates: readonly NotificationState[] = ['sent', 'confirmed', 'declined', 'handed-off', 'unconfirmed', 'failed', 'expired'];

/** One try on one channel: queued when it became current, then sent (the webhook took it), delivered, answered... */
export interface NotificationAttempt {
  readonly channel: NotificationChannel;
  readonly to: string;
  readonly queuedAt: string;
  sentAt?: string;
  deliveredAt?: string;
  answeredAt?: string;
  /** sent, delivered, confirmed, declined, unconfirmed, failed, expired */
  outcome?: string;
  /** Webhook tries on this channel. */
  tries: number;
  detail?: string;
}

export interface Notification {
  readonly id: string;
  readonly rule: string;
  readonly event: { readonly id: string | null; readonly type: string; readonly payload: Readonly<Record<string, string>> };
  readonly customer: string;
  /** As it was when the event came: templates' {{customer.name}}. */
  readonly customerName: string | null;
  /** One of the customer's identities, which links the notification's interaction record to them. */
  readonly customerIdentity: string | null;
  readonly language: string;
  /** The channels to try, with the customer's address on each, in order. */
  readonly plan: readonly { readonly channel: NotificationChannel; readonly to: string }[];
  /** The rule's priority (0–9): the higher go first when more are due than can be sent at once. */
  readonly priority: number;
  /** Index in `plan` of the channel now tried. */
  current: number;
  state: NotificationState;
  readonly createdAt: string;
  readonly expiresAt: number;
  attempts: NotificationAttempt[];
  /** The customer's reply, when they answered. */
  answer?: string;
  /** The message a rule sends once its notification ended (followUp): its own text, no confirmation asked. */
  readonly followUp?: true;
  /** Bumped by every write: a write based on an older copy is refused (two nodes, a reply and a timeout). */
  v: number;
}

// Takes up to ARGV[2] due members (due by ARGV[1]) and leases each until ARGV[3]: moved from `due` to `leased` by
// this script alone, so that two nodes never work on the same one; a lease that ends (its node died) puts the member
// back (KEYS[1] due, KEYS[2] leased). Members are "<priority>|<id>" (a job's: its id, priority 0): among the first
// 4 × ARGV[2] due, the highest priority go first, then the longest due.
const CLAIM = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], ARGV[1], m)
end
local count = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, count * 4)
local ranked = {}
for i, m in ipairs(due) do ranked[i] = {m = m, p = tonumber(string.match(m, '^(%d)|')) or 0, i = i} end
table.sort(ranked, function(a, b) if a.p ~= b.p then return a.p > b.p end return a.i < b.i end)
local taken = {}
for k = 1, math.min(count, #ranked) do
  local m = ranked[k].m
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[3], m)
  taken[k] = m
end
return taken
`;

// Writes ARGV[2] (JSON) at KEYS[1] if the stored version is ARGV[1] (0: must not exist), ends its lease (KEYS[3])
// and schedules it (member ARGV[5]) at ARGV[4] in KEYS[2] (or not at all: ''); returns 1, or 0 when the version did
// not match.
const PUT = `
local stored = redis.call('GET', KEYS[1])
local v = stored and cjson.decode(stored).v or 0
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[5])
if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[5]) else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return 1
`;

/**
 * A one-to-many send: one event for every customer of a segment, walked in creation order from a cursor that is
 * saved after each batch, so that a node taking the job over (its holder died, or onecc restarted) goes on from there.
 */
export interface SegmentJob {
  readonly id: string;
  readonly event: { readonly id: string; readonly type: string; readonly payload: Readonly<Record<string, string>> };
  readonly segment: { readonly language?: string; readonly attributes: Readonly<Record<string, string>> };
  cursor: { at: number; seen: string[] };
  /** Customers looked at, in the segment, notifications made, and skips by reason. */
  scanned: number;
  matched: number;
  made: number;
  skipped: Record<string, number>;
  state: 'running' | 'done';
  readonly createdAt: string;
  finishedAt?: string;
}

/**
 * Notifications in Redis, shared by every onecc node: one JSON value each (versioned), a schedule of when each is
 * next due (to send, to retry, to stop waiting for a confirmation), leases on the ones being worked on, the
 * de-duplication keys and daily caps, and the dead-letter list of events that could not be taken.
 */
export class NotificationStore {
  readonly #redis: Redis;
  readonly #p: string;

  constructor(redis: RedisTarget, keyTag: string, private readonly retentionMs: number, logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'notifications: Redis connection error'));
    this.#redis.defineCommand('ntClaim', { numberOfKeys: 2, lua: CLAIM });
    this.#redis.defineCommand('ntPut', { numberOfKeys: 3, lua: PUT });
    this.#p = `{${keyTag}}:nt:`;
  }

  async get(id: string): Promise<Notification | undefined> {
    const text = await this.#redis.get(`${this.#p}n:${id}`);
    return text === null ? undefined : (JSON.parse(text) as Notification);
  }

  /** Writes `n` if nobody wrote it since it was read (its `v`); true when written. Schedules it at `dueAt`, or not. */
  async put(n: Notification, dueAt: number | null): Promise<boolean> {
    const based = n.v;
    const next = { ...n, v: based + 1 };
    const put = (this.#redis as Redis & { ntPut(...args: (string | number)[]): Promise<number> }).ntPut;
    const written = (await put.call(this.#redis, `${this.#p}n:${n.id}`, `${this.#p}due`, `${this.#p}leased`, based, JSON.stringify(next), this.retentionMs, dueAt === null ? '' : dueAt, `${n.priority}|${n.id}`)) === 1;
    if (written) n.v = based + 1;
    return written;
  }

  /** Due notifications' ids, highest priority first, leased to the caller until `leaseUntil`. */
  async claim(now: number, count: number, leaseUntil: number): Promise<string[]> {
    const members = await (this.#redis as Redis & { ntClaim(due: string, leased: string, now: number, count: number, until: number): Promise<string[]> }).ntClaim(`${this.#p}due`, `${this.#p}leased`, now, count, leaseUntil);
    return members.map((m) => m.slice(m.indexOf('|') + 1));
  }

  /** Takes a de-duplication key for `ttlMs`; false when it was taken already (the notification was sent). */
  async takeDedupKey(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(`${this.#p}dedup:${key}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  /** Counts one more against a daily cap; false (and not counted) when the cap is reached. */
  async underCap(key: string, cap: number, day: string): Promise<boolean> {
    const k = `${this.#p}cap:${key}:${day}`;
    const n = (await this.#redis.multi().incr(k).expire(k, 2 * 86_400).exec())![0]![1] as number;
    if (n <= cap) return true;
    await this.#redis.decr(k);
    return false;
  }

  /** One more send on `channel` in the second of `now`; false when that second's `limit` is used up (every node counts). */
  async underRate(channel: string, limit: number, now: number): Promise<boolean> {
    const key = `${this.#p}rate:${channel}:${Math.floor(now / 1000)}`;
    const [[, n]] = (await this.#redis.multi().incr(key).pexpire(key, 2000).exec()) as [[unknown, number], unknown];
    return n <= limit;
  }

  /** The customer was reached by the rule's notification at `at` (kept `ttlMs`): what their next contact is checked against. */
  async reached(customer: string, rule: string, at: number, ttlMs: number): Promise<void> {
    const key = `${this.#p}reached:${customer}`;
    await this.#redis.multi().zadd(key, at, rule).pexpire(key, ttlMs).exec();
  }

  /** When the rule last reached the customer, forgetting it (an inbound contact is counted against it once). */
  async takeReached(customer: string, rule: string): Promise<number | undefined> {
    const key = `${this.#p}reached:${customer}`;
    const [[, score]] = (await this.#redis.multi().zscore(key, rule).zrem(key, rule).exec()) as [[unknown, string | null], unknown];
    return score === null ? undefined : Number(score);
  }

  /** Erases notifications by id, from the schedule too, and the customer's reach record. */
  async forget(customer: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const members = await Promise.all(ids.map((id) => this.get(id).then((n) => (n ? `${n.priority}|${n.id}` : undefined))));
    const known = members.filter((m): m is string => m !== undefined);
    const multi = this.#redis.multi().del(...ids.map((id) => `${this.#p}n:${id}`), `${this.#p}reached:${customer}`);
    if (known.length > 0) multi.zrem(`${this.#p}due`, ...known).zrem(`${this.#p}leased`, ...known);
    await multi.exec();
  }

  /** Keeps an event that could not be taken, with the reason, under `id`. */
  async deadLetter(id: string, entry: { readonly at: string; readonly reason: string; readonly event: unknown }): Promise<void> {
    await this.#redis.multi().hset(`${this.#p}dead`, id, JSON.stringify({ id, ...entry })).zadd(`${this.#p}dead:at`, Date.parse(entry.at), id).exec();
  }

  async deadLetters(limit: number): Promise<unknown[]> {
    const ids = await this.#redis.zrevrange(`${this.#p}dead:at`, 0, limit - 1);
    if (ids.length === 0) return [];
    return (await this.#redis.hmget(`${this.#p}dead`, ...ids)).flatMap((t) => (t === null ? [] : [JSON.parse(t) as unknown]));
  }

  async deadLetterById(id: string): Promise<{ id: string; event: unknown } | undefined> {
    const text = await this.#redis.hget(`${this.#p}dead`, id);
    return text === null ? undefined : (JSON.parse(text) as { id: string; event: unknown });
  }

  async forgetDeadLetter(id: string): Promise<void> {
    await this.#redis.multi().hdel(`${this.#p}dead`, id).zrem(`${this.#p}dead:at`, id).exec();
  }

  /** Makes a segment job unless one with its id exists (the same event sent again); true when made. */
  async createJob(job: SegmentJob, dueAt: number): Promise<boolean> {
    const made = (await this.#redis.set(`${this.#p}job:${job.id}`, JSON.stringify(job), 'PX', this.retentionMs, 'NX')) === 'OK';
    if (made) await this.#redis.zadd(`${this.#p}jobs`, dueAt, job.id);
    return made;
  }

  async getJob(id: string): Promise<SegmentJob | undefined> {
    const text = await this.#redis.get(`${this.#p}job:${id}`);
    return text === null ? undefined : (JSON.parse(text) as SegmentJob);
  }

  /** A due job, leased until `leaseUntil`, or undefined. */
  async claimJob(now: number, leaseUntil: number): Promise<string | undefined> {
    const claim = (this.#redis as Redis & { ntClaim(due: string, leased: string, now: number, count: number, until: number): Promise<string[]> }).ntClaim;
    return (await claim.call(this.#redis, `${this.#p}jobs`, `${this.#p}jobs:leased`, now, 1, leaseUntil))[0];
  }

  /** Saves the job's progress and ends its lease: due again at `dueAt` (more to do), or never (done). */
  async saveJob(job: SegmentJob, dueAt: number | null): Promise<void> {
    const multi = this.#redis.multi().set(`${this.#p}job:${job.id}`, JSON.stringify(job), 'PX', this.retentionMs).zrem(`${this.#p}jobs:leased`, job.id);
    if (dueAt === null) multi.zrem(`${this.#p}jobs`, job.id);
    else multi.zadd(`${this.#p}jobs`, dueAt, job.id);
    await multi.exec();
  }

  close(): void {
    this.#redis.disconnect();
  }
}
