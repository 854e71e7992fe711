/**
 * A throwaway Redis replication group watched by real redis-sentinel processes (Debian's redis-sentinel), all on
 * 127.0.0.1: one primary, `replicas` replicas, `sentinels` Sentinels with quorum 2 and a 1 s down-after, so that a
 * killed primary is replaced within a few seconds. Everything is removed on stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { acceptsTcp, freeTcpPort, type RedisTarget } from '../../src/lib';
import { RedisServer } from './redis-server';

export const SENTINEL_MASTER = 'onecc';

export class SentinelGroup {
  readonly servers: RedisServer[] = [];
  readonly sentinelPorts: number[] = [];
  readonly #sentinels: ChildProcess[] = [];
  readonly #dir = mkdtempSync(path.join(tmpdir(), 'onecc-sentinel-'));

  constructor(private readonly options: { replicas?: number; sentinels?: number } = {}) {}

  /** What onecc connects with: the Sentinels and the group name. */
  get target(): RedisTarget {
    return { host: '127.0.0.1', port: 0, sentinels: this.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), sentinelMaster: SENTINEL_MASTER };
  }

  async start(): Promise<void> {
    const primary = new RedisServer();
    await primary.start();
    this.servers.push(primary);
    for (let i = 0; i < (this.options.replicas ?? 2); i++) {
      const replica = new RedisServer({ replicaOf: { host: primary.host, port: primary.port } });
      await replica.start();
      this.servers.push(replica);
    }
    for (let i = 0; i < (this.options.sentinels ?? 3); i++) {
      const port = await freeTcpPort();
      const conf = path.join(this.#dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its own file as it learns the group: each one needs a writable copy.
      writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${this.#dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`, '',
      ].join('\n'));
      const child = spawn('/usr/bin/redis-sentinel', [conf], { stdio: ['ignore', 'ignore', 'ignore'] });
      this.#sentinels.push(child);
      this.sentinelPorts.push(port);
      const deadline = Date.now() + 10_000;
      while (!(await acceptsTcp('127.0.0.1', port))) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-sentinel on ${port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    // A replica that has not finished its first sync holds nothing, and Sentinel would still promote it.
    for (const replica of this.servers.slice(1)) await this.#until(`${replica.port} synced with the primary`, () => this.#synced(replica), 30_000);
    // Ready once every Sentinel knows every replica (they learn them from the primary's INFO, every 10 s at first).
    await this.#until('the Sentinels see every replica', async () => {
      const counts = await Promise.all(this.sentinelPorts.map((port) => this.#ask(port, 'REPLICAS').then((r) => (r as unknown[]).length)));
      return counts.every((n) => n === this.servers.length - 1);
    }, 30_000);
  }

  /** The port of the server the Sentinels now call primary. */
  async primaryPort(): Promise<number> {
    const [, port] = (await this.#ask(this.sentinelPorts[0]!, 'GET-MASTER-ADDR-BY-NAME')) as [string, string];
    return Number(port);
  }

  /** Kills the primary (SIGKILL) and resolves once the Sentinels have promoted another server. */
  async killPrimary(): Promise<{ killedPort: number; newPort: number; failoverMs: number }> {
    const killedPort = await this.primaryPort();
    const started = Date.now();
    await this.servers.find((s) => s.port === killedPort)!.stop({ keepData: true });
    let newPort = killedPort;
    await this.#until('a replica promoted', async () => (newPort = await this.primaryPort().catch(() => killedPort)) !== killedPort, 30_000);
    return { killedPort, newPort, failoverMs: Date.now() - started };
  }

  /** Starts the killed servers again; the Sentinels make each a replica of the current primary. Resolves once synced. */
  async restartKilled(): Promise<void> {
    for (const server of this.servers.filter((s) => !s.running)) {
      await server.start();
      await this.#until(`${server.port} a replica again`, () => this.#synced(server), 30_000);
    }
  }

  async stop(): Promise<void> {
    for (const child of this.#sentinels) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(this.servers.map((s) => s.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #synced(server: RedisServer): Promise<boolean> {
    const probe = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await probe.connect();
      return /role:slave[\s\S]*master_link_status:up/.test(await probe.info('replication'));
    } finally {
      probe.disconnect();
    }
  }

  async #ask(port: number, ...args: string[]): Promise<unknown> {
    const sentinel = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await sentinel.connect();
      return await sentinel.call('SENTINEL', args[0]!, SENTINEL_MASTER, ...args.slice(1));
    } finally {
      sentinel.disconnect();
    }
  }

  async #until(what: string, done: () => Promise<boolean>, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
