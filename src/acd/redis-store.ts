import Redis from 'ioredis';
import { RateLimitedLog, randomId, redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';
import { AcdError, AcdErrorCode } from './errors';
import { AcdKeys } from './keys';
import { loadScripts, type AcdScripts } from './scripts';
import { OnlineReplicas } from './online-replicas';
import { ReplicaWait } from './replica-wait';
import type { AcdStore, Change, CommitResult, JoinResult } from './store';
import type { AcdEvent, AgentRecord, CrossChannelRule, TaskRecord } from './types';

export interface RedisStoreOptions {
  /** One Redis, or the primary its Sentinels name. */
  readonly redis: RedisTarget;
  /**
   * A change counts as committed once this many replicas have it too (WAIT), or every replica the primary has online
   * if fewer are: set it to the number of replicas, so that whichever one a Sentinel failover promotes has every change
   * a node already acted on (with 2 replicas and 1 here, it may promote the other). Default 0 (one Redis).
   */
  readonly waitReplicas?: number;
  /**
   * How long one WAIT lasts. A commit whose replicas are still short waits again (a lagging replica of a loaded
   * primary), WAIT_ROUNDS times at most, then goes on, logging that the change is on the primary only. Default 1 s.
   */
  readonly waitTimeoutMs?: number;
  /** Hash tag of every key (`{onecc}:acd:...`): one tenant or deployment per tag. */
  readonly keyTag: string;
  /** The change log is trimmed to about this many entries; a node further behind reloads. Default 100,000. */
  readonly logLength?: number;
  /** load() (the engine's start) fails if Redis does not answer within this. Default 10 s. */
  readonly loadTimeoutMs?: number;
  /** How long ended tasks stay queryable (explain()). Default one day. */
  readonly endedTaskRetentionSeconds?: number;
  readonly logger: Logger;
}

/** Events travel with the records of their change; in the log they refer to them by position instead of copying. */
type LoggedEvent = Omit<AcdEvent, 'task' | 'agent'> & { task?: number | TaskRecord; agent?: number | AgentRecord };

const FOLLOW_BLOCK_MS = 1000;
const FOLLOW_BATCH = 1000;
/** Log entries applied in one go before the node's own routing and replies get a turn (a batch can take 100 ms). */
const FOLLOW_SLICE = 50;
/** Tokens of committed changes not yet seen in the log; past this many (entries read before their reply) they are dropped. */
const ACKED_KEPT = 10_000;
/** WAITs of waitTimeoutMs a commit makes for replicas that lag before it goes on without them. */
const WAIT_ROUNDS = 5;

/**
 * ACD state in Redis: agents and tasks as JSON records with versions in hashes, written only by the commitChange
 * script; a stream of committed changes, numbered, that every node follows; node leases in a sorted set.
 */
export class RedisStore implements AcdStore {
  readonly shared = true;
  readonly #keys: AcdKeys;
  readonly #redis: Redis;
  readonly #follower: Redis;
  readonly #scripts: AcdScripts;
  /** Node leases on a connection of their own: a renewal must not wait behind commits and their WAITs. */
  readonly #leases: Redis;
  readonly #leaseScripts: AcdScripts;
  readonly #logLength: number;
  readonly #retentionSeconds: number;
  readonly #logger: Logger;
  #rulesJson = '[]';
  readonly #loadTimeoutMs: number;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  readonly #unreplicatedLog: RateLimitedLog;
  readonly #onlineReplicas: OnlineReplicas | undefined;
  readonly #replicaWait: ReplicaWait | undefined;
  #lastId = '0-0';
  #lastSeq = 0;
  /** Bumped by every load(): a batch read before it is stale, and must not move the cursor back. */
  #cursorEpoch = 0;
  #following = false;
  #closed = false;
  /**
   * Each change carries a token, first in its published JSON. The node applied the changes it got a reply for
   * already, so the log's copy of those is skipped unparsed; any other change of its own (outcome unknown after a lost
   * connection) is applied from the log like anyone's.
   */
  readonly #tokenPrefix = `${randomId(8)}.`;
  #tokenCounter = 0;
  #acked = new Set<string>();

  constructor(options: RedisStoreOptions) {
    this.#keys = new AcdKeys(options.keyTag);
    this.#logger = options.logger;
    // Commands queue while Redis is away and go out on reconnect; a change resent that way is recognised by the
    // script (reply 2), so a lost reply never turns into a lost or doubled change.
    const connection = redisConnectionOptions(options.redis);
    this.#redis = new Redis({ ...connection, enableAutoPipelining: true, maxRetriesPerRequest: null, lazyConnect: false });
    this.#follower = new Redis({ ...connection, maxRetriesPerRequest: null });
    this.#leases = new Redis({ ...connection, maxRetriesPerRequest: null });
    for (const connection of [this.#redis, this.#follower, this.#leases]) {
      connection.on('error', (err) => this.#logger.warn({ err: err.message }, 'redis connection error'));
    }
    this.#scripts = loadScripts(this.#redis);
    this.#leaseScripts = loadScripts(this.#leases);
    this.#logLength = options.logLength ?? 100_000;
    this.#retentionSeconds = options.endedTaskRetentionSeconds ?? 86_400;
    this.#loadTimeoutMs = options.loadTimeoutMs ?? 10_000;
    this.#waitReplicas = options.waitReplicas ?? 0;
    this.#waitTimeoutMs = options.waitTimeoutMs ?? 1000;
    this.#unreplicatedLog = new RateLimitedLog(this.#logger, 1);
    if (this.#waitReplicas > 0) {
      this.#onlineReplicas = new OnlineReplicas(options.redis, this.#logger);
      this.#replicaWait = new ReplicaWait(this.#redis, () => this.#replicasWanted(), this.#waitTimeoutMs);
    }
  }

  /** Replicas a commit waits for now: waitReplicas, or fewer while the primary has fewer online. */
  #replicasWanted(): number {
    const online = this.#onlineReplicas?.count ?? this.#waitReplicas;
    if (online < this.#waitReplicas) {
      this.#unreplicatedLog.warn({ online, wanted: this.#waitReplicas }, `the Redis primary has ${online} of ${this.#waitReplicas} replica(s) online: ACD changes are on those only`);
    }
    return Math.min(this.#waitReplicas, online);
  }

  useRules(rules: readonly CrossChannelRule[]): void {
    this.#rulesJson = JSON.stringify(rules);
  }

  async load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }> {
    return this.#answerInTime(this.#load());
  }

  /** What the engine's start waits for fails after loadTimeoutMs, naming the Redis, instead of queueing for ever. */
  async #answerInTime<T>(reply: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const { host, port, sentinels, name } = this.#redis.options;
        const where = sentinels ? `the primary of "${name}" (Sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(', ')})` : `Redis at ${host}:${port}`;
        reject(new AcdError(AcdErrorCode.store, `${where} did not answer within ${this.#loadTimeoutMs} ms`, { host, port }));
      }, this.#loadTimeoutMs);
    });
    try {
      return await Promise.race([reply, limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }> {
    const k = this.#keys;
    const replies = await this.#redis.multi().xrevrange(k.log, '+', '-', 'COUNT', 1).get(k.sequence).hvals(k.agents).hvals(k.tasks).exec();
    const [last, seq, agents, tasks] = replies!.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [[string, string[]][], string | null, string[], string[]];
    this.#lastId = last[0]?.[0] ?? '0-0';
    this.#lastSeq = Number(seq ?? 0);
    this.#cursorEpoch++;
    return { agents: agents.map(parseAgent), tasks: tasks.map((t) => JSON.parse(t) as TaskRecord) };
  }

  async commit(change: Change): Promise<CommitResult> {
    const k = this.#keys;
    const keys = [k.agents, k.tasks, k.taskRevisions, k.log, k.sequence];
    const ops = change.agentOps ?? [];
    const token = this.#tokenPrefix + (this.#tokenCounter++).toString(36);
    const taskJsons = change.tasks.map((task) => JSON.stringify(task));
    const args: (string | number)[] = [encodeChange(change, token, taskJsons), this.#logLength, this.#retentionSeconds, ops.length, change.tasks.length, this.#rulesJson];
    for (const op of ops) args.push(op.id, JSON.stringify(op));
    change.tasks.forEach((task, i) => {
      const ends = task.state === 'completed' || task.state === 'abandoned';
      args.push(task.id, change.taskBases![i]!, task.rev, taskJsons[i]!, ends ? '1' : '0');
      if (ends) keys.push(k.endedTask(task.id));
    });
    const reply = (await this.#scripts.commitChange(keys, args)) as (number | string)[];
    if (this.#replicaWait && reply[0] !== 0) await this.#replicated(this.#replicaWait, this.#replicaWait.epoch);
    if (reply[0] === 1) {
      // (A resend answered 2 wrote nothing now: its entry, under the first send's token, is applied from the log.)
      if (this.#acked.size >= ACKED_KEPT) this.#acked = new Set();
      this.#acked.add(token);
      return { ok: true, agents: (reply.slice(1) as string[]).map(parseAgent) };
    }
    if (reply[0] === 2) {
      // Written by an earlier send whose reply was lost: the agents as stored now (they may have moved on since; the
      // engine keeps the newer), so that the node does not keep its drafted guess of them.
      if (ops.length === 0) return { ok: true };
      const stored = await this.#redis.hmget(k.agents, ...ops.map((op) => op.id));
      return stored.every((json) => json !== null) ? { ok: true, agents: stored.map((json) => parseAgent(json!)) } : { ok: true };
    }
    const stored = reply.slice(1) as string[];
    return {
      ok: false,
      agents: new Map(ops.map((op, i) => [op.id, stored[i] ? parseAgent(stored[i]) : null])),
      tasks: new Map(change.tasks.map((t, i) => [t.id, stored[ops.length + i] ? (JSON.parse(stored[ops.length + i]!) as TaskRecord) : null])),
    };
  }

  /**
   * Resolves once the wanted replicas have the write answered in `epoch`: WAITs again while a replica lags (or while the
   * count of online ones has not yet dropped for one that went away), WAIT_ROUNDS times at most, then goes on with a
   * warning. Throws when the connection was lost first: the engine resends the change, which the next primary either
   * recognises (reply 2) or applies; it is never acted on as if it were safe.
   */
  async #replicated(replicaWait: ReplicaWait, epoch: number): Promise<void> {
    for (let round = 1; ; round++) {
      const count = await replicaWait.after(epoch);
      if (count === 'lost') throw new Error('the Redis connection was lost before the change was known to be on a replica; resending');
      if (count.replicas >= count.wanted) return;
      if (round === WAIT_ROUNDS) {
        this.#unreplicatedLog.warn(count, `ACD change on the Redis primary but not on ${count.wanted} replica(s) within ${WAIT_ROUNDS * this.#waitTimeoutMs} ms: a failover now could lose it`);
        return;
      }
    }
  }

  follow(onChange: (change: Change) => void, resync: () => void): void {
    if (this.#following) throw new Error('RedisStore.follow: already following');
    this.#following = true;
    void this.#followLoop(onChange, resync);
  }

  async #followLoop(onChange: (change: Change) => void, resync: () => void): Promise<void> {
    while (!this.#closed) {
      let batch: [string, [string, string[]][]][] | null;
      const epoch = this.#cursorEpoch;
      try {
        batch = (await this.#follower.xread('COUNT', FOLLOW_BATCH, 'BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', this.#keys.log, this.#lastId)) as typeof batch;
      } catch (err) {
        if (this.#closed) return;
        this.#logger.warn({ err: (err as Error).message }, 'reading the ACD change log failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      let applied = 0;
      for (const [id, fields] of batch?.[0]?.[1] ?? []) {
        if (++applied % FOLLOW_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        if (this.#closed) return;
        // A reload took the records as of a later point of the log: go on from there.
        if (epoch !== this.#cursorEpoch) break;
        this.#lastId = id;
        const seq = Number(fields[fields.indexOf('s') + 1]);
        const gap = seq !== this.#lastSeq + 1;
        this.#lastSeq = seq;
        if (gap) {
          this.#logger.warn({ seq }, 'ACD change log skipped entries (trimmed past this node); reloading');
          resync();
          continue;
        }
        const token = tokenOf(fields[fields.indexOf('p') + 1]!);
        if (token !== undefined && this.#acked.delete(token)) continue;
        try {
          onChange(decodeChange(fields));
        } catch (err) {
          this.#logger.error({ err }, 'applying a logged ACD change failed');
        }
      }
    }
  }

  async endedTask(id: string): Promise<TaskRecord | null> {
    const json = (await this.#redis.hget(this.#keys.tasks, id)) ?? (await this.#redis.get(this.#keys.endedTask(id)));
    return json === null ? null : (JSON.parse(json) as TaskRecord);
  }

  /**
   * Ended task records are found by scanning (an erasure is rare; live tasks are never touched); log entries are
   * deleted when they mention one of the values (unique ids, such as interaction ids). A node that had not read
   * those entries yet sees a gap and reloads, as after a trim.
   */
  async forgetEndedTasks(attribute: string, values: readonly string[]): Promise<number> {
    if (values.length === 0) return 0;
    const wanted = new Set(values);
    let erased = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', this.#keys.endedTask('*'), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const json = await this.#redis.get(key);
        const value = json === null ? undefined : (JSON.parse(json) as TaskRecord).attributes[attribute];
        if (value !== undefined && wanted.has(value)) erased += await this.#redis.del(key);
      }
    } while (cursor !== '0');
    let from = '-';
    for (;;) {
      const entries = await this.#redis.xrange(this.#keys.log, from, '+', 'COUNT', 1000);
      const mentioning = entries.filter(([, fields]) => fields.some((f) => f.includes(attribute) && values.some((v) => f.includes(v)))).map(([id]) => id);
      if (mentioning.length > 0) await this.#redis.xdel(this.#keys.log, ...mentioning);
      if (entries.length < 1000) break;
      from = `(${entries.at(-1)![0]}`;
    }
    return erased;
  }

  async join(node: string, instance: string, until: number, now: number, config: Readonly<Record<string, string>>): Promise<JoinResult> {
    const k = this.#keys;
    const reply = (await this.#answerInTime(this.#leaseScripts.joinNode([k.nodes, k.nodeInstances, k.nodeConfigs], [node, instance, until, now, JSON.stringify(config)]))) as string[];
    if (reply[0] === 'ok') return { ok: true };
    if (reply[0] === 'held') return { ok: false, heldUntil: Number(reply[2]) };
    return { ok: false, node: reply[1]!, differing: reply.slice(2) };
  }

  async renewLease(node: string, instance: string, until: number): Promise<boolean> {
    return (await this.#leaseScripts.renewLease([this.#keys.nodes, this.#keys.nodeInstances], [node, instance, until])) === 1;
  }

  async releaseNode(node: string, instance: string): Promise<void> {
    await this.#leaseScripts.releaseNode([this.#keys.nodeInstances], [node, instance]);
  }

  async liveNodes(now: number): Promise<string[]> {
    return this.#leases.zrangebyscore(this.#keys.nodes, `(${now}`, '+inf');
  }

  async expiredNodes(now: number): Promise<string[]> {
    return this.#leases.zrangebyscore(this.#keys.nodes, '-inf', `(${now}`);
  }

  async forgetNode(node: string): Promise<void> {
    const k = this.#keys;
    await this.#leases.multi().zrem(k.nodes, node).hdel(k.nodeInstances, node).hdel(k.nodeConfigs, node).exec();
  }

  /** Redis's count of commands processed, for benchmarks (INFO stats). */
  async commandsProcessed(): Promise<number> {
    const info = await this.#redis.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#follower.disconnect();
    this.#onlineReplicas?.close();
    // QUIT lets replies in flight arrive; without a connection it would wait in the offline queue for ever.
    await Promise.all([this.#redis, this.#leases].map(async (connection) => {
      if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    }));
  }
}

/** The change as published, its token first so that tokenOf() finds it without parsing; tasks as already encoded. */
function encodeChange(change: Change, token: string, taskJsons: readonly string[]): string {
  const events: LoggedEvent[] = change.events.map((event) => {
    const logged: LoggedEvent = { ...event } as LoggedEvent;
    if ('task' in event) {
      const i = change.tasks.indexOf(event.task);
      if (i >= 0) logged.task = i;
    }
    if ('agent' in event) {
      const i = change.agents.indexOf(event.agent);
      if (i >= 0) logged.agent = i;
    }
    return logged;
  });
  return `{"c":${JSON.stringify(token)},"node":${JSON.stringify(change.node)},"tasks":[${taskJsons.join(',')}],"events":${JSON.stringify(events)}}`;
}

const TOKEN_START = '{"c":"';

function tokenOf(published: string): string | undefined {
  if (!published.startsWith(TOKEN_START)) return undefined;
  const end = published.indexOf('"', TOKEN_START.length);
  return end < 0 ? undefined : published.slice(TOKEN_START.length, end);
}

/** A log entry: s (sequence), p (the change, agents by position), a1..aN (the agents as committed). */
function decodeChange(fields: string[]): Change {
  const raw = JSON.parse(fields[fields.indexOf('p') + 1]!) as { node: string; tasks: TaskRecord[]; events: LoggedEvent[] };
  const agents: AgentRecord[] = [];
  for (let i = 0; i < fields.length; i += 2) if (/^a\d+$/.test(fields[i]!)) agents[Number(fields[i]!.slice(1)) - 1] = parseAgent(fields[i + 1]!);
  const events = raw.events.map((event) => {
    const decoded = { ...event } as Record<string, unknown>;
    if (typeof event.task === 'number') decoded.task = raw.tasks[event.task];
    if (typeof event.agent === 'number') decoded.agent = agents[event.agent];
    return decoded as unknown as AcdEvent;
  });
  return { node: raw.node, agents, tasks: raw.tasks, events };
}

/** An agent record as Lua's cjson wrote it: an empty list comes back as an empty object. */
function parseAgent(json: string): AgentRecord {
  const agent = JSON.parse(json) as AgentRecord & { languages: unknown };
  return Array.isArray(agent.languages) ? agent : { ...agent, languages: [] };
}
