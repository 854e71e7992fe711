import Redis from 'ioredis';
import { isTimeZone, OneccError, randomId, redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import { identity as checkedIdentity, parseIdentity, type Identity } from './identity';
import { ATTACH, LINK, MERGE, SPLIT } from './scripts';

export const preferredChannels = ['voice', 'sms', 'chat', 'email', 'video'] as const;
export type PreferredChannel = (typeof preferredChannels)[number];

/** One customer: who they are to onecc and how they want to be contacted. */
export interface CustomerProfile {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly name: string | null;
  readonly language: string | null;
  readonly preferredChannel: PreferredChannel | null;
  /** Never called or notified (the dialer skips them; GET /customers shows it). */
  readonly doNotContact: boolean;
  /** Consents by purpose (e.g. marketing, notifications, recording): true given, false withdrawn. */
  readonly consent: Record<string, boolean>;
  readonly crmId: string | null;
  /** IANA time zone (notifications keep their quiet hours in it); null: the centre's. */
  readonly timezone: string | null;
  /** Notification event type → the channels the customer wants it on, in order ([]: not at all); absent: the rule's. */
  readonly notifications: Record<string, string[]>;
  /** The business's own facts about the customer (tier, city...): what segments for one-to-many notifications select on. */
  readonly attributes: Record<string, string>;
  /** Other people the customer wants notified too ("me and my spouse"): not identities of theirs. */
  readonly contacts: NotificationContact[];
  readonly identities: Identity[];
}

/** A request followed across contacts and channels: one id while the customer keeps coming back about it. */
export interface CustomerCase {
  readonly id: string;
  readonly customer: string;
  readonly openedAt: string;
  readonly lastAt: string;
  readonly closedAt: string | null;
  readonly closedBy: string | null;
  /** Interaction ids, oldest first. */
  readonly interactions: string[];
}

export interface AuditEntry {
  readonly at: string;
  readonly action: string;
  readonly by: string;
  readonly [detail: string]: unknown;
}

/** What a new contact brings: its identities, strongest first (see attach), and what it says of the customer. */
export interface ContactIdentities {
  readonly interaction: string;
  readonly startedAt: number;
  readonly identities: readonly Identity[];
  readonly name?: string;
  readonly language?: string;
}

export interface Attachment {
  readonly customer: string;
  readonly case: string;
  /** created: a new customer; matched: an identity was known; known: this interaction was attached before. */
  readonly how: 'created' | 'matched' | 'known';
  /** Identities of the contact that belong to another customer (left there: merging is an operator's decision). */
  readonly conflicts: { identity: string; customer: string }[];
}

export class CustomerError extends OneccError {
  constructor(code: 'NOT_FOUND' | 'CONFLICT' | 'BAD_REQUEST', message: string) {
    super(code, message);
  }
}

export interface NotificationContact {
  readonly name: string;
  readonly phone: string | null;
  readonly email: string | null;
}

/** What CustomerStore.update may change. */
export interface ProfileChange {
  name?: string | null;
  language?: string | null;
  preferredChannel?: PreferredChannel | null;
  doNotContact?: boolean;
  consent?: Record<string, boolean>;
  crmId?: string | null;
  timezone?: string | null;
  notifications?: Record<string, string[]>;
  /** Merged into the profile's attributes; a null value removes one. */
  attributes?: Record<string, string | null>;
  /** Replaces the notification contacts. */
  contacts?: { name: string; phone?: string | null; email?: string | null }[];
}

/**
 * Customers in Redis, shared by every onecc node (src/customers/README.md): profiles, the identities that name
 * them, the timeline of their interactions, their cases, and an audit trail of every change to who is who. What
 * several nodes may race on runs in Lua (scripts.ts). Interaction records themselves are the channels'; this store
 * only indexes them.
 */
export class CustomerStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #run: (script: string, args: (string | number)[]) => Promise<unknown>;

  constructor(
    redis: RedisTarget,
    keyTag: string,
    private readonly options: { readonly caseIdleHours: number; readonly logger: Logger },
  ) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    this.#redis.on('error', (err) => options.logger.debug({ err: err.message }, 'customers: Redis connection error'));
    this.#prefix = `{${keyTag}}:cx:`;
    for (const [name, lua] of Object.entries({ attach: ATTACH, merge: MERGE, split: SPLIT, link: LINK })) this.#redis.defineCommand(`customers_${name}`, { numberOfKeys: 0, lua });
    this.#run = (script, args) => (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[`customers_${script}`]!(...args);
  }

  /**
   * The customer of a new contact: the one its first known identity names (identities strongest first: a CRM id,
   * then phone or email, then gateway ids), or a new one; identities not known yet are linked to them. The
   * interaction joins the customer's open case — one that had a contact within caseIdleHours and was not closed —
   * or opens a new one. Attaching the same interaction again changes nothing.
   */
  async attach(contact: ContactIdentities): Promise<Attachment> {
    const hints: Record<string, string> = {};
    if (contact.name) hints.name = contact.name.slice(0, 120);
    if (contact.language) hints.language = contact.language.slice(0, 35);
    const reply = (await this.#run('attach', [
      this.#prefix, customerId(), caseId(), contact.interaction, contact.startedAt, Date.now(), this.options.caseIdleHours * 3_600_000,
      JSON.stringify(hints), ...contact.identities,
    ])) as [string, string, Attachment['how'], string];
    const conflicts = JSON.parse(reply[3]) as unknown;
    return { customer: reply[0], case: reply[1], how: reply[2], conflicts: Array.isArray(conflicts) ? conflicts : [] };
  }

  /** The customer an identity names, if any. */
  async customerOf(identity: Identity): Promise<string | undefined> {
    return (await this.#redis.get(`${this.#prefix}i:${identity}`)) ?? undefined;
  }

  /** A customer's profile; a merged-away id gives the customer it was merged into. */
  async get(id: string): Promise<CustomerProfile | undefined> {
    for (let hops = 0; hops < 4; hops++) {
      const [fields, identities] = (await this.#redis.multi().hgetall(this.#key(id)).smembers(`${this.#key(id)}:ids`).exec())!.map((r) => r[1]) as [Record<string, string>, string[]];
      if (fields.id === undefined) return undefined;
      if (fields.mergedInto !== undefined) {
        id = fields.mergedInto;
        continue;
      }
      return {
        id: fields.id,
        createdAt: iso(fields.createdAt),
        updatedAt: iso(fields.updatedAt),
        name: fields.name ?? null,
        language: fields.language ?? null,
        preferredChannel: (fields.preferredChannel as PreferredChannel | undefined) ?? null,
        doNotContact: fields.doNotContact === '1',
        consent: fields.consent ? (JSON.parse(fields.consent) as Record<string, boolean>) : {},
        crmId: fields.crmId ?? null,
        timezone: fields.timezone ?? null,
        notifications: fields.notifications ? (JSON.parse(fields.notifications) as Record<string, string[]>) : {},
        attributes: fields.attributes ? (JSON.parse(fields.attributes) as Record<string, string>) : {},
        contacts: fields.contacts ? (JSON.parse(fields.contacts) as NotificationContact[]) : [],
        identities: (identities as Identity[]).sort(),
      };
    }
    return undefined;
  }

  /**
   * Whether the customer an identity names refuses this contact: they asked never to be contacted, or withdrew their
   * consent to `purpose` (null: no purpose checked).
   */
  async refusesContact(identity: Identity, purpose: string | null): Promise<boolean> {
    const id = await this.customerOf(identity);
    if (id === undefined) return false;
    const [doNotContact, consent] = await this.#redis.hmget(this.#key(id), 'doNotContact', 'consent');
    if (doNotContact === '1') return true;
    return purpose !== null && consent !== null && (JSON.parse(consent) as Record<string, boolean>)[purpose] === false;
  }

  /** Changes profile fields (checked here); each change is audited with who made it. */
  async update(id: string, change: ProfileChange, by: string): Promise<CustomerProfile> {
    const profile = await this.#live(id);
    const { set, unset } = profileFields(profile, change);
    if (Object.keys(set).length === 0 && unset.length === 0) return profile;
    const now = Date.now();
    const entry: AuditEntry = { at: new Date(now).toISOString(), action: 'updated', by, change: { ...change } };
    const tx = this.#redis.multi().hset(this.#key(profile.id), { ...set, updatedAt: String(now) });
    if (unset.length > 0) tx.hdel(this.#key(profile.id), ...unset);
    await tx.rpush(`${this.#key(profile.id)}:audit`, JSON.stringify({ ...entry, at: now })).exec();
    return (await this.get(profile.id))!;
  }

  /** A customer created by hand (e.g. imported from the CRM) with its identities, each checked and free. */
  async create(identities: readonly string[], change: ProfileChange, by: string): Promise<CustomerProfile> {
    const checked = identities.map(parseIdentity);
    // A bad field refuses the whole creation: nothing is written.
    profileFields(NEW_PROFILE, change);
    for (const identity of checked) {
      const owner = await this.customerOf(identity);
      if (owner !== undefined) throw new CustomerError('CONFLICT', `${identity} belongs to customer ${owner}`);
    }
    const id = customerId();
    const now = Date.now();
    await this.#redis.multi()
      .hset(this.#key(id), { id, createdAt: String(now), updatedAt: String(now), doNotContact: '0' })
      .zadd(`${this.#prefix}all`, now, id)
      .zadd(`${this.#prefix}active`, now, id)
      .rpush(`${this.#key(id)}:audit`, JSON.stringify({ at: now, action: 'created', by, identities: checked }))
      .exec();
    for (const identity of checked) await this.link(id, identity, by);
    return this.update(id, change, by);
  }

  /** Links an identity to a customer by hand; refused (CONFLICT) when it is another customer's. */
  async link(id: string, identity: Identity, by: string): Promise<void> {
    this.#ok(await this.#run('link', [this.#prefix, id, identity, Date.now(), by]));
  }

  /**
   * Merges `from` into `into` (see scripts.ts MERGE): refused with the reason for the same customer, an unknown or
   * merged one, or different CRM ids.
   */
  async merge(from: string, into: string, by: string, reason: string): Promise<CustomerProfile> {
    this.#ok(await this.#run('merge', [this.#prefix, from, into, Date.now(), by, reason]));
    return (await this.get(into))!;
  }

  /** Splits identities (and the interactions they brought, and any named) off into a new customer. */
  async split(from: string, identities: readonly Identity[], interactions: readonly string[], by: string, reason: string): Promise<{ customer: CustomerProfile; movedInteractions: string[] }> {
    if (identities.length === 0) throw new CustomerError('BAD_REQUEST', 'identities: the ones that belong to someone else (at least one)');
    const reply = this.#ok(await this.#run('split', [this.#prefix, from, customerId(), caseId(), Date.now(), by, reason, identities.length, ...identities, ...interactions]));
    const moved = JSON.parse(reply[2]!) as unknown;
    return { customer: (await this.get(reply[1]!))!, movedInteractions: Array.isArray(moved) ? (moved as string[]) : [] };
  }

  /**
   * Interaction ids on a customer's timeline, newest first. `id` is a live customer's (as get() and attachmentOf()
   * give it): a merged-away id has no timeline.
   */
  async timeline(id: string, limit: number, exclude?: string): Promise<string[]> {
    const ids = await this.#redis.zrevrange(`${this.#key(id)}:timeline`, 0, limit);
    return ids.filter((i) => i !== exclude).slice(0, limit);
  }

  /** The customer and case an interaction was attached to. */
  async attachmentOf(interaction: string): Promise<{ customer: string; case: string } | undefined> {
    const [customer, kase] = await this.#redis.hmget(`${this.#prefix}x:${interaction}`, 'customer', 'case');
    return customer && kase ? { customer, case: kase } : undefined;
  }

  /** A customer's cases, newest first. */
  async cases(id: string): Promise<CustomerCase[]> {
    const profile = await this.#live(id);
    const ids = await this.#redis.zrevrange(`${this.#key(profile.id)}:cases`, 0, -1);
    const cases = await Promise.all(ids.map((c) => this.case(c)));
    return cases.filter((c): c is CustomerCase => c !== undefined);
  }

  async case(id: string): Promise<CustomerCase | undefined> {
    const [fields, interactions] = (await this.#redis.multi().hgetall(`${this.#prefix}k:${id}`).zrange(`${this.#prefix}k:${id}:ix`, '0', '-1').exec())!.map((r) => r[1]) as [Record<string, string>, string[]];
    if (fields.id === undefined) return undefined;
    return {
      id, customer: fields.customer!, openedAt: iso(fields.openedAt), lastAt: iso(fields.lastAt),
      closedAt: fields.closedAt ? iso(fields.closedAt) : null, closedBy: fields.closedBy ?? null, interactions,
    };
  }

  /** Closes a case: the customer's next contact opens a new one. */
  async closeCase(customer: string, id: string, by: string): Promise<CustomerCase> {
    const found = await this.case(id);
    const profile = await this.#live(customer);
    if (found === undefined || found.customer !== profile.id) throw new CustomerError('NOT_FOUND', `no case ${id} of customer ${customer}`);
    if (found.closedAt !== null) return found;
    const now = Date.now();
    await this.#redis.multi()
      .hset(`${this.#prefix}k:${id}`, { closedAt: String(now), closedBy: by })
      .rpush(`${this.#key(profile.id)}:audit`, JSON.stringify({ at: now, action: 'case-closed', by, case: id }))
      .exec();
    return (await this.case(id))!;
  }

  async audit(id: string): Promise<AuditEntry[]> {
    const profile = await this.#live(id);
    const entries = await this.#redis.lrange(`${this.#key(profile.id)}:audit`, 0, -1);
    return entries.map((e) => {
      const entry = JSON.parse(e) as AuditEntry & { at: number };
      return { ...entry, at: iso(String(entry.at)) };
    });
  }

  /** Customers by creation time, newest first. */
  async list(limit: number): Promise<CustomerProfile[]> {
    const ids = await this.#redis.zrevrange(`${this.#prefix}all`, 0, limit - 1);
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((p): p is CustomerProfile => p !== undefined);
  }

  /**
   * Customers in the order they were created, from `after` on: `count` of them after the cursor (creation time, and
   * the ids at that very time already seen). A cursor survives customers being created or erased meanwhile.
   */
  async page(after: { readonly at: number; readonly seen: readonly string[] }, count: number): Promise<{ id: string; at: number }[]> {
    const flat = await this.#redis.zrangebyscore(`${this.#prefix}all`, after.at, '+inf', 'WITHSCORES', 'LIMIT', 0, count + after.seen.length);
    const seen = new Set(after.seen);
    const page: { id: string; at: number }[] = [];
    for (let i = 0; i < flat.length && page.length < count; i += 2) {
      const at = Number(flat[i + 1]);
      if (at === after.at && seen.has(flat[i]!)) continue;
      page.push({ id: flat[i]!, at });
    }
    return page;
  }

  /** Customers whose last contact (or creation, merge or split) was before `before` (ms), oldest first. */
  async idle(before: number, limit: number): Promise<string[]> {
    return this.#redis.zrangebyscore(`${this.#prefix}active`, '-inf', `(${before}`, 'LIMIT', 0, limit);
  }

  /**
   * Erases a customer from this store: profile, identities, timeline, cases, attachments, audit and the tombstones
   * of customers merged into them. Returns the interaction ids it indexed, for the caller to erase the records. An
   * anonymous line (customer id, time, who, counts) is kept in the erasure log, as proof of the erasure.
   */
  async erase(id: string, by: string): Promise<{ interactions: string[] }> {
    const profile = await this.#live(id);
    const key = this.#key(profile.id);
    const [interactions, cases, merged] = (await this.#redis.multi().zrange(`${key}:timeline`, '0', '-1').zrange(`${key}:cases`, '0', '-1').smembers(`${key}:merged`).exec())!.map((r) => r[1]) as [string[], string[], string[]];
    const keys = [
      key, `${key}:ids`, `${key}:timeline`, `${key}:cases`, `${key}:audit`, `${key}:merged`,
      ...profile.identities.map((i) => `${this.#prefix}i:${i}`),
      ...cases.flatMap((c) => [`${this.#prefix}k:${c}`, `${this.#prefix}k:${c}:ix`]),
      ...interactions.map((i) => `${this.#prefix}x:${i}`),
      ...merged.map((m) => this.#key(m)),
    ];
    const now = Date.now();
    await this.#redis.multi()
      .del(...keys)
      .zrem(`${this.#prefix}all`, profile.id, ...merged)
      .zrem(`${this.#prefix}active`, profile.id, ...merged)
      .rpush(`${this.#prefix}erasures`, JSON.stringify({ at: now, customer: profile.id, by, interactions: interactions.length, cases: cases.length }))
      .exec();
    return { interactions };
  }

  /** The erasure log: one anonymous line per erased customer. */
  async erasures(): Promise<unknown[]> {
    return (await this.#redis.lrange(`${this.#prefix}erasures`, 0, -1)).map((e) => JSON.parse(e) as unknown);
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  async #live(id: string): Promise<CustomerProfile> {
    const profile = await this.get(id);
    if (profile === undefined) throw new CustomerError('NOT_FOUND', `no customer ${id}`);
    return profile;
  }

  #ok(reply: unknown): string[] {
    const r = reply as string[];
    if (r[0] === 'err') throw new CustomerError(/^no customer/.test(r[1]!) ? 'NOT_FOUND' : 'CONFLICT', r[1]!);
    return r;
  }

  #key(id: string): string {
    return `${this.#prefix}c:${id}`;
  }
}

function customerId(): string {
  return `cu-${randomId(9)}`;
}

function caseId(): string {
  return `case-${randomId(9)}`;
}

function iso(ms: string | undefined): string {
  return new Date(Number(ms ?? 0)).toISOString();
}

/** Notification contacts, each with a name and a phone (E.164) or an email, checked as identities are. */
function checkContacts(value: unknown): NotificationContact[] {
  const bad = (why: string) => new CustomerError('BAD_REQUEST', `contacts: ${why}`);
  if (!Array.isArray(value) || value.length > 10) throw bad('a list of at most 10 {name, phone?, email?}');
  return value.map((c: unknown, i) => {
    const entry = c as { name?: unknown; phone?: unknown; email?: unknown } | null;
    if (typeof entry?.name !== 'string' || entry.name.trim() === '' || entry.name.length > 120) throw bad(`[${i}].name: 1-120 characters`);
    const address = (kind: 'phone' | 'email', v: unknown): string | null => {
      if (v === undefined || v === null) return null;
      try {
        return checkedIdentity(kind, String(v)).slice(kind.length + 1);
      } catch (err) {
        throw bad(`[${i}].${kind}: ${(err as Error).message}`);
      }
    };
    const phone = address('phone', entry.phone);
    const email = address('email', entry.email);
    if (phone === null && email === null) throw bad(`[${i}]: a phone or an email to reach them at`);
    return { name: entry.name.trim(), phone, email };
  });
}

/** A profile as it is before its first change. */
const NEW_PROFILE: CustomerProfile = {
  id: '', createdAt: '', updatedAt: '', name: null, language: null, preferredChannel: null, doNotContact: false, consent: {}, crmId: null,
  timezone: null, notifications: {}, attributes: {}, contacts: [], identities: [],
};

/** The hash fields a profile change sets and removes, each value checked (CustomerError BAD_REQUEST with the reason). */
function profileFields(profile: CustomerProfile, change: ProfileChange): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  const text = (field: 'name' | 'language' | 'crmId', value: string | null | undefined, max: number) => {
    if (value === undefined) return;
    if (value === null) return void unset.push(field);
    if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw new CustomerError('BAD_REQUEST', `${field}: a string of 1-${max} characters, or null`);
    set[field] = value.trim();
  };
  text('name', change.name, 120);
  text('language', change.language, 35);
  text('crmId', change.crmId, 128);
  if (change.crmId) checkedIdentity('crm', change.crmId);
  if (change.preferredChannel !== undefined) {
    if (change.preferredChannel === null) unset.push('preferredChannel');
    else if (!preferredChannels.includes(change.preferredChannel)) throw new CustomerError('BAD_REQUEST', `preferredChannel: one of ${preferredChannels.join(', ')}, or null`);
    else set.preferredChannel = change.preferredChannel;
  }
  if (change.doNotContact !== undefined) {
    if (typeof change.doNotContact !== 'boolean') throw new CustomerError('BAD_REQUEST', 'doNotContact: true or false');
    set.doNotContact = change.doNotContact ? '1' : '0';
  }
  if (change.consent !== undefined) {
    if (typeof change.consent !== 'object' || change.consent === null || Object.values(change.consent).some((v) => typeof v !== 'boolean')) {
      throw new CustomerError('BAD_REQUEST', 'consent: an object of purpose → true (given) or false (withdrawn)');
    }
    set.consent = JSON.stringify({ ...profile.consent, ...change.consent });
  }
  if (change.timezone !== undefined) {
    if (change.timezone === null) unset.push('timezone');
    else if (typeof change.timezone !== 'string' || !isTimeZone(change.timezone)) throw new CustomerError('BAD_REQUEST', `timezone: an IANA time zone (Europe/London), or null; got ${JSON.stringify(change.timezone)}`);
    else set.timezone = change.timezone;
  }
  if (change.notifications !== undefined) {
    const wanted = change.notifications;
    const ok = typeof wanted === 'object' && wanted !== null && !Array.isArray(wanted) &&
      Object.entries(wanted).every(([type, list]) => /^[A-Za-z0-9._-]{1,64}$/.test(type) && Array.isArray(list) && list.every((c) => typeof c === 'string' && /^[a-z]{1,16}$/.test(c)));
    if (!ok) throw new CustomerError('BAD_REQUEST', 'notifications: an object of event type → the channels wanted, in order ([]: none), e.g. {"flight.changed": ["sms", "email"]}');
    set.notifications = JSON.stringify({ ...profile.notifications, ...wanted });
  }
  if (change.attributes !== undefined) {
    const given = change.attributes;
    const ok = typeof given === 'object' && given !== null && !Array.isArray(given) &&
      Object.entries(given).every(([k, v]) => /^[A-Za-z0-9._-]{1,64}$/.test(k) && (v === null || (typeof v === 'string' && v.length <= 200)));
    if (!ok) throw new CustomerError('BAD_REQUEST', 'attributes: an object of name (letters, digits, . _ -) → text of at most 200 characters, or null to remove one');
    const merged: Record<string, string> = { ...profile.attributes };
    for (const [k, v] of Object.entries(given)) if (v === null) delete merged[k];
    else merged[k] = v;
    set.attributes = JSON.stringify(merged);
  }
  if (change.contacts !== undefined) set.contacts = JSON.stringify(checkContacts(change.contacts));
  return { set, unset };
}
