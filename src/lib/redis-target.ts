import type { RedisOptions } from 'ioredis';

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the shared Redis is: one server at host:port, or, when `sentinels` are given, whichever server those
 * Sentinels name primary of the group `sentinelMaster` (host and port are then unused). Every store of onecc connects
 * through this, so a Sentinel failover moves all of them to the new primary.
 */
export interface RedisTarget extends RedisEndpoint {
  readonly sentinels?: readonly RedisEndpoint[];
  readonly sentinelMaster?: string;
}

/**
 * ioredis options for the target. With Sentinels it asks them for the primary on every (re)connection. A primary that
 * dies drops the connection; one demoted by a failover answers writes with READONLY and unblocks blocking reads with
 * UNBLOCKED: either reconnects (to the new primary) and resends the command. (ioredis's failoverDetector is not
 * used: a client closed while it subscribes leaves connections to the Sentinels retrying for ever.)
 */
export function redisConnectionOptions(target: RedisTarget): RedisOptions {
  if (target.sentinels === undefined || target.sentinels.length === 0) return { host: target.host, port: target.port };
  return {
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.sentinelMaster ?? 'onecc',
    reconnectOnError: (err) => (/^(READONLY|UNBLOCKED)/.test(err.message) ? 2 : false),
  };
}
