import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import type { PhoneConfig } from '../../config/index';
import { InvalidStateError, OneccError, redisConnectionOptions, TypedEmitter, type Logger, type RedisTarget } from '../../lib/index';

/** The transports drachtio reports in `req.protocol`. */
export type SipTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** One registered device (RFC 3261 §10 binding), as stored in Redis. */
export interface Binding {
  readonly username: string;
  /** The Contact URI as the device registered it. */
  readonly uri: string;
  readonly expiresAt: number;
  readonly transport: SipTransport;
  /** Where the REGISTER came from: what reaches a device behind NAT, or over its own connection. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly callId: string;
  readonly cseq: number;
  readonly userAgent: string | undefined;
}

/** A device to ring: INVITE `uri`, sent through `proxy` when given (drachtio-srf createUAC's `proxy` option). */
export interface PhoneDevice {
  readonly username: string;
  readonly agentId: string;
  readonly uri: string;
  /**
   * sip:<source address>:<source port>;transport=<t>, set when the Contact alone does not reach the device: over
   * TCP/TLS/WS/WSS (the device's own connection is the way back; a WebSocket Contact's host is a made-up .invalid
   * name) and over UDP when the Contact's host:port is not where the REGISTER came from (NAT).
   */
  readonly proxy: string | undefined;
  readonly transport: SipTransport;
  readonly expiresAt: number;
  readonly userAgent: string | undefined;
}

export interface PhoneDirectoryEvents {
  [event: string]: unknown[];
  /** The agent's first device registered (its first binding, on whichever node made it). */
  agentOnline: [agentId: string];
  /** The agent's last binding was removed or found expired. */
  agentOffline: [agentId: string];
  close: [];
}

export interface PhoneDirectoryOptions {
  phones: readonly PhoneConfig[];
  /** The Redis every onecc node shares (acd.redis). */
  redis: RedisTarget;
  /** Hash tag of the keys ({tag}:voice:...), as the ACD's acd.redis.keyTag. */
  keyTag: string;
  /** A Redis command unanswered this long fails with PhoneDirectoryError. */
  commandTimeoutMs: number;
  /** How often expired bindings are removed (and agentOffline emitted). */
  sweepIntervalMs?: number;
  logger: Logger;
}

/** Redis failed or did not answer in time. */
export class PhoneDirectoryError extends OneccError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super('VOICE_PHONE_DIRECTORY', message, context, { cause });
  }
}

/** One agent's bindings and the version they were read at, for replaceBindings' compare-and-set. */
export interface AgentBindings {
  readonly agentId: string;
  readonly version: string;
  readonly bindings: readonly Binding[];
}

const MAX_ATTEMPTS = 5;
// Keeps an agent's hash this long past its last expiry so that a sweep, not Redis' TTL, removes it (and emits
// agentOffline); the TTL only collects what no node swept.
const KEY_GRACE_MS = 60_000;

/*
 * replaceBindings: KEYS[1] the agent's bindings hash (field "<username> <contact uri>" → JSON Binding, field "#v" its
 * version), KEYS[2] the sorted set of agents by earliest expiry. ARGV: now ms, agent id, expected version ("" for
 * any), grace ms, number of fields to delete, those fields, then field/value pairs to set.
 * Removes expired bindings on the way. Returns {-1} when the version moved (read again), else {bindings before,
 * bindings after}: the caller whose change took an agent from 0 to some, or some to 0, announces it.
 */
const REPLACE_BINDINGS_LUA = `
local version = redis.call('HGET', KEYS[1], '#v') or '0'
if ARGV[3] ~= '' and ARGV[3] ~= version then return {-1} end
local now = tonumber(ARGV[1])
local before = redis.call('HLEN', KEYS[1])
if before > 0 then before = before - 1 end
local ndel = tonumber(ARGV[5])
for i = 1, ndel do redis.call('HDEL', KEYS[1], ARGV[5 + i]) end
for i = 6 + ndel, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local all = redis.call('HGETALL', KEYS[1])
local after, earliest, latest = 0, nil, nil
for i = 1, #all, 2 do
  if all[i] ~= '#v' then
    local expires = cjson.decode(all[i + 1]).expiresAt
    if expires <= now then
      redis.call('HDEL', KEYS[1], all[i])
    else
      after = after + 1
      if earliest == nil or expires < earliest then earliest = expires end
      if latest == nil or expires > latest then latest = expires end
    end
  end
end
if after == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[1], '#v', tostring(tonumber(version) + 1))
  redis.call('PEXPIREAT', KEYS[1], latest + tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[2], earliest, ARGV[2])
end
return {before, after}
`;
const REPLACE_COMMAND = `voiceReplaceBindings:${createHash('sha1').update(REPLACE_BINDINGS_LUA).digest('hex').slice(0, 8)}`;

/**
 * Agents' phones: the SIP users of voice.phones, which agent each rings for, and their registered devices. Bindings
 * live in Redis, one hash per agent, so every onecc node sees every phone and ringing an agent is one read.
 */
export class PhoneDirectory extends TypedEmitter<PhoneDirectoryEvents> {
  readonly #users: ReadonlyMap<string, PhoneConfig>;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #expiryKey: string;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #sweepTimer: NodeJS.Timeout;
  #sweeping = false;
  #closed = false;

  constructor(options: PhoneDirectoryOptions) {
    super(options.logger);
    if (!/^[A-Za-z0-9_.-]+$/.test(options.keyTag)) throw new RangeError(`key tag must be letters, digits, _ . - (got "${options.keyTag}")`);
    this.#users = new Map(options.phones.map((phone) => [phone.username, phone]));
    this.#prefix = `{${options.keyTag}}:voice:`;
    this.#expiryKey = `${this.#prefix}expiries`;
    this.#timeoutMs = options.commandTimeoutMs;
    this.#log = options.logger.child({ component: 'phone-directory' });
    this.#redis = new Redis({ ...redisConnectionOptions(options.redis), commandTimeout: options.commandTimeoutMs, maxRetriesPerRequest: 1 });
    this.#redis.on('error', (err: Error) => this.#log.warn({ err: err.message }, 'redis connection error'));
    this.#redis.defineCommand(REPLACE_COMMAND, { lua: REPLACE_BINDINGS_LUA, numberOfKeys: 2 });
    this.#sweepTimer = setInterval(() => void this.#sweep(), options.sweepIntervalMs ?? 1000);
    this.#sweepTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The agent a SIP user rings for; undefined for a user not in voice.phones. */
  agentOf(username: string): string | undefined {
    return this.#users.get(username)?.agent;
  }

  /** The password of a SIP user (digest), undefined for an unknown one. */
  passwordOf(username: string): string | undefined {
    return this.#users.get(username)?.password;
  }

  /** The devices to ring for an agent: every unexpired binding of every user mapped to it. */
  async devicesOf(agentId: string): Promise<PhoneDevice[]> {
    const { bindings } = await this.#read(agentId);
    return bindings.filter((binding) => this.agentOf(binding.username) === agentId).map((binding) => toDevice(binding, agentId));
  }

  /** The unexpired bindings of one SIP user. */
  async bindingsOf(username: string): Promise<Binding[]> {
    const agentId = this.agentOf(username);
    if (agentId === undefined) return [];
    return (await this.#read(agentId)).bindings.filter((binding) => binding.username === username);
  }

  /** An agent's bindings (expired ones left out) with the version replaceBindings compares. */
  async #read(agentId: string): Promise<AgentBindings> {
    this.#assertOpen();
    const fields = await this.#command('read bindings', { agentId }, () => this.#redis.hgetall(this.#agentKey(agentId)));
    const now = Date.now();
    const bindings: Binding[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (field === '#v') continue;
      const binding = JSON.parse(value) as Binding;
      if (binding.expiresAt > now) bindings.push(binding);
    }
    return { agentId, version: fields['#v'] ?? '0', bindings };
  }

  /**
   * Applies one REGISTER's outcome to the bindings read as `read`: `change` gets them and returns the bindings to
   * remove and to add or refresh, or a value to return as is (a refusal). Read again and retried when another
   * request changed the agent meanwhile.
   */
  async updateBindings<R>(
    agentId: string,
    change: (current: AgentBindings) => { remove: readonly Binding[]; put: readonly Binding[] } | { refused: R },
  ): Promise<{ current: readonly Binding[] } | { refused: R }> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const read = await this.#read(agentId);
      const outcome = change(read);
      if ('refused' in outcome) return outcome;
      const fields = outcome.remove.map(fieldOf);
      const args: (string | number)[] = [Date.now(), agentId, read.version, KEY_GRACE_MS, fields.length, ...fields];
      for (const binding of outcome.put) args.push(fieldOf(binding), JSON.stringify(binding));
      const reply = await this.#replace(agentId, read.version, args);
      if (reply[0] === -1) continue;
      this.#announce(agentId, reply);
      const removed = new Set(fields);
      const put = new Set(outcome.put.map(fieldOf));
      return { current: [...read.bindings.filter((b) => !removed.has(fieldOf(b)) && !put.has(fieldOf(b))), ...outcome.put] };
    }
    throw new PhoneDirectoryError(`bindings of agent ${agentId} kept changing under ${MAX_ATTEMPTS} attempts`, { agentId });
  }

  /** Idempotent: stops sweeping and closes the Redis connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#redis.disconnect();
    this.safeEmit('close');
  }

  /** Removes expired bindings of every agent whose earliest expiry has passed; emits agentOffline for emptied ones. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      const due = await this.#command('find expired bindings', {}, () => this.#redis.zrangebyscore(this.#expiryKey, '-inf', Date.now(), 'LIMIT', 0, 500));
      for (const agentId of due) {
        if (this.#closed) return;
        this.#announce(agentId, await this.#replace(agentId, '', [Date.now(), agentId, '', KEY_GRACE_MS, 0]));
      }
    } catch (err) {
      if (!this.#closed) this.#log.warn({ err }, 'sweeping expired bindings failed; next round retries');
    } finally {
      this.#sweeping = false;
    }
  }

  #announce(agentId: string, [before, after]: number[]): void {
    if (before === 0 && after! > 0) this.safeEmit('agentOnline', agentId);
    else if (before! > 0 && after === 0) this.safeEmit('agentOffline', agentId);
  }

  #replace(agentId: string, version: string, args: (string | number)[]): Promise<number[]> {
    const run = (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<number[]>>)[REPLACE_COMMAND]!;
    return this.#command('write bindings', { agentId, version }, () => run.call(this.#redis, this.#agentKey(agentId), this.#expiryKey, ...args));
  }

  async #command<T>(what: string, context: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await run();
    } catch (err) {
      const { host, port } = this.#redis.options;
      throw new PhoneDirectoryError(`Redis at ${host}:${port}: ${what} failed after ${Date.now() - started} ms (limit ${this.#timeoutMs} ms)`, { ...context, host, port }, err);
    }
  }

  #agentKey(agentId: string): string {
    return `${this.#prefix}agent:${agentId}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('phone directory is closed');
  }
}

function fieldOf(binding: Binding): string {
  return `${binding.username} ${binding.uri}`;
}

function toDevice(binding: Binding, agentId: string): PhoneDevice {
  return {
    username: binding.username,
    agentId,
    uri: binding.uri,
    proxy: needsProxy(binding) ? `sip:${hostPort(binding.sourceAddress, binding.sourcePort)};transport=${binding.transport}` : undefined,
    transport: binding.transport,
    expiresAt: binding.expiresAt,
    userAgent: binding.userAgent,
  };
}

function needsProxy(binding: Binding): boolean {
  if (binding.transport !== 'udp') return true;
  const contact = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(binding.uri);
  if (!contact) return true;
  const host = contact[1]!.replace(/^\[|\]$/g, '');
  return host !== binding.sourceAddress || Number(contact[2] ?? 5060) !== binding.sourcePort;
}

function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}
