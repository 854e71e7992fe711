import Redis from 'ioredis';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import type { Contact } from './contacts';

/** A contact as the store keeps it: the imported row and how calling it went so far. */
export interface StoredContact extends Contact {
  readonly attempts: number;
  readonly lastOutcome: string | null;
}

/** One call to a contact, as reports and the operator see it afterwards. */
export interface AttemptRecord {
  readonly campaign: string;
  readonly contact: string;
  readonly number: string;
  readonly attempt: number;
  readonly at: string;
  /** answered-human, machine, busy, no-answer, failed, abandoned, dnc, ... */
  readonly outcome: string;
  readonly agentId?: string;
  readonly amd?: { readonly kind: string; readonly reason: string; readonly atMs: number };
  readonly interaction?: string;
  readonly endedAt?: string;
}

// Takes up to ARGV[2] contacts due by ARGV[1] (ms): removed from the due set by this script alone, so that two
// onecc nodes never claim the same contact. KEYS[1] due zset, KEYS[2] contacts hash.
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local row = redis.call('HGET', KEYS[2], id)
  if row then table.insert(out, row) end
end
return out
`;

const ATTEMPTS_KEPT = 100_000;

/**
 * A campaign's contacts in Redis, shared by every onecc node: each contact's row and attempt count (a hash), when
 * each is next due (a sorted set: claimed atomically, so no contact is dialed twice at once), do-not-call sets (the
 * centre's and the campaign's), and the attempt log.
 */
export class ContactStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: RedisTarget, keyTag: string, private readonly logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'dialer contacts: Redis connection error'));
    this.#redis.defineCommand('claimContacts', { numberOfKeys: 2, lua: CLAIM });
    this.#prefix = `{${keyTag}}:dialer`;
  }

  /** Adds contacts due now; a contact already there keeps its attempts and schedule. Returns how many were new. */
  async import(campaign: string, contacts: readonly Contact[], now: number): Promise<number> {
    let added = 0;
    for (let i = 0; i < contacts.length; i += 500) {
      const batch = contacts.slice(i, i + 500);
      const multi = this.#redis.multi();
      for (const contact of batch) multi.hsetnx(this.#key(campaign, 'contacts'), contact.id, JSON.stringify({ ...contact, attempts: 0, lastOutcome: null }));
      const results = (await multi.exec()) ?? [];
      const fresh = batch.filter((_, j) => results[j]?.[1] === 1);
      added += fresh.length;
      if (fresh.length > 0) await this.#redis.zadd(this.#key(campaign, 'due'), ...fresh.flatMap((c) => [now, c.id]));
    }
    return added;
  }

  /** Numbers never to call: the centre's list (campaign undefined) or one campaign's. */
  async addDnc(numbers: readonly string[], campaign?: string): Promise<void> {
    if (numbers.length === 0) return;
    const key = campaign === undefined ? `${this.#prefix}:dnc` : this.#key(campaign, 'dnc');
    for (let i = 0; i < numbers.length; i += 1000) await this.#redis.sadd(key, ...numbers.slice(i, i + 1000));
  }

  async isDnc(campaign: string, number: string): Promise<boolean> {
    const [centre, own] = await Promise.all([this.#redis.sismember(`${this.#prefix}:dnc`, number), this.#redis.sismember(this.#key(campaign, 'dnc'), number)]);
    return centre === 1 || own === 1;
  }

  /** Up to `count` contacts due by `now`, each taken off the due set (by this node only). */
  async claim(campaign: string, count: number, now: number): Promise<StoredContact[]> {
    if (count <= 0) return [];
    const rows = (await (this.#redis as unknown as { claimContacts(k1: string, k2: string, now: number, n: number): Promise<string[]> }).claimContacts(
      this.#key(campaign, 'due'), this.#key(campaign, 'contacts'), now, count,
    )) ?? [];
    return rows.map((row) => JSON.parse(row) as StoredContact);
  }

  /** Puts a claimed contact back, due at `dueAt` (outside its window now; the campaign paused). */
  async postpone(campaign: string, id: string, dueAt: number): Promise<void> {
    await this.#redis.zadd(this.#key(campaign, 'due'), dueAt, id);
  }

  /** Records an attempt's outcome on the contact and in the log; `retryAt` schedules the next one (else it is done). */
  async finish(contact: StoredContact, record: AttemptRecord, retryAt: number | undefined): Promise<void> {
    const campaign = record.campaign;
    const updated: StoredContact = { ...contact, attempts: record.attempt, lastOutcome: record.outcome };
    const multi = this.#redis.multi()
      .hset(this.#key(campaign, 'contacts'), contact.id, JSON.stringify(updated))
      .lpush(this.#key(campaign, 'attempts'), JSON.stringify(record))
      .ltrim(this.#key(campaign, 'attempts'), 0, ATTEMPTS_KEPT - 1);
    if (retryAt !== undefined) multi.zadd(this.#key(campaign, 'due'), retryAt, contact.id);
    try {
      await multi.exec();
    } catch (err) {
      this.logger.error({ err, record }, 'dialer attempt not recorded');
    }
  }

  /** The latest attempts, newest first. */
  async attempts(campaign: string, limit: number): Promise<AttemptRecord[]> {
    return (await this.#redis.lrange(this.#key(campaign, 'attempts'), 0, limit - 1)).map((row) => JSON.parse(row) as AttemptRecord);
  }

  async contact(campaign: string, id: string): Promise<StoredContact | undefined> {
    const row = await this.#redis.hget(this.#key(campaign, 'contacts'), id);
    return row === null ? undefined : (JSON.parse(row) as StoredContact);
  }

  /** Contacts in the list, and those due for a call (now or later). */
  async counts(campaign: string): Promise<{ contacts: number; scheduled: number }> {
    const [contacts, scheduled] = await Promise.all([this.#redis.hlen(this.#key(campaign, 'contacts')), this.#redis.zcard(this.#key(campaign, 'due'))]);
    return { contacts, scheduled };
  }

  /** Appends an abandoned call's audit record (kept with the campaign's records). */
  async audit(campaign: string, record: unknown): Promise<void> {
    await this.#redis.lpush(this.#key(campaign, 'abandons'), JSON.stringify(record)).catch((err) => this.logger.error({ err, record }, 'abandon audit record not written'));
  }

  async abandons(campaign: string, limit: number): Promise<unknown[]> {
    return (await this.#redis.lrange(this.#key(campaign, 'abandons'), 0, limit - 1)).map((row) => JSON.parse(row) as unknown);
  }

  /**
   * Forgets these numbers in a campaign: contacts, schedule and attempt records (a customer's data deletion). The
   * abandoned-call audit records stay: the regulator's record the centre is obliged to keep. Returns contacts removed.
   */
  async forgetNumbers(campaign: string, numbers: readonly string[]): Promise<number> {
    if (numbers.length === 0) return 0;
    const doomed = new Set(numbers);
    const rows = await this.#redis.lrange(this.#key(campaign, 'attempts'), 0, -1);
    const multi = this.#redis.multi().hdel(this.#key(campaign, 'contacts'), ...numbers).zrem(this.#key(campaign, 'due'), ...numbers);
    for (const row of rows) if (doomed.has((JSON.parse(row) as AttemptRecord).number)) multi.lrem(this.#key(campaign, 'attempts'), 0, row);
    const replies = (await multi.exec()) ?? [];
    return Number(replies[0]?.[1] ?? 0);
  }

  close(): void {
    this.#redis.disconnect();
  }

  #key(campaign: string, what: string): string {
    return `${this.#prefix}:${campaign}:${what}`;
  }
}
