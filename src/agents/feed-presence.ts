import Redis from 'ioredis';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../lib/index';

/** KEYS[1] agent -> node hash. ARGV: agent, node. Forgets the agent only if that node still holds its session. */
const LEFT_LUA = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

/**
 * Which node holds each agent's feed session, in Redis: when a node dies with agents connected to it, the node that
 * takes over its work gives them the resume grace a node gives its own dropped connections, and makes those who did
 * not reconnect anywhere not-ready, instead of leaving them available with nobody at the desk.
 */
export class FeedPresence {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: RedisTarget, keyTag: string, logger: Logger) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'agent feed presence: Redis connection error'));
    this.#key = `{${keyTag}}:agents:feed-sessions`;
  }

  async connected(agentId: string, node: string): Promise<void> {
    await this.#redis.hset(this.#key, agentId, node);
  }

  async left(agentId: string, node: string): Promise<void> {
    await this.#redis.eval(LEFT_LUA, 1, this.#key, agentId, node);
  }

  async nodeOf(agentId: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#key, agentId)) ?? undefined;
  }

  async agentsOn(node: string): Promise<string[]> {
    const all = await this.#redis.hgetall(this.#key);
    return Object.keys(all).filter((agentId) => all[agentId] === node);
  }

  close(): void {
    this.#redis.disconnect();
  }
}
