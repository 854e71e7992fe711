/**
 * The ACD's concurrency check, shared by the tests that run it on one Redis, across a Redis restart and across a
 * Sentinel failover: several engines route the same tasks while agents flip between ready and not-ready.
 */
import type { Test } from 'tap';
import { AcdEngine, RedisStore, agentState, channels, type AcdEvent, type AgentRecord, type AcdSettings } from '../../src/acd/index';
import { capacityViolation } from '../../src/acd/capacity';
import { silentLogger, type RedisTarget } from '../../src/lib/index';
import { queue, settings } from './fixtures';

export const QUEUES = [queue('billing', 'billing >= 3'), queue('sales', 'sales'), queue('both', 'billing >= 5 and sales >= 5', { escalation: [{ afterSeconds: 1, action: 'relax', value: 'billing or sales' }] })];

export function node(redis: RedisTarget, nodeId: string, tag: string, extra: Partial<AcdSettings> = {}, storeOptions: { waitReplicas?: number } = {}): AcdEngine {
  const store = new RedisStore({ redis, keyTag: tag, logger: silentLogger(), ...storeOptions });
  return new AcdEngine({ settings: settings(QUEUES, extra), store, nodeId });
}

export async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const random = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

/**
 * Three engines on one Redis route the same tasks to the same agents while agents flip between ready and not-ready
 * and some offers are rejected. Each node accepts the offers it made; every agent record any node ever sees must be
 * within capacity, and every task must be accepted exactly once and completed.
 */
export async function race(
  t: Test,
  redis: RedisTarget,
  options: { tasks: number; tag: string; waitReplicas?: number; during?: (progress: () => number) => Promise<void> },
): Promise<void> {
  const engines = ['n1', 'n2', 'n3'].map((id) => node(redis, id, options.tag, {}, { waitReplicas: options.waitReplicas }));
  await Promise.all(engines.map((e) => e.start()));
  const accepted = new Map<string, number>();
  const completed = new Set<string>();
  const violations: string[] = [];
  const failures: string[] = [];
  const rand = random(7);
  const check = (agent: AgentRecord) => {
    const why = capacityViolation(agent);
    if (why) violations.push(`${agent.id} v${agent.v}: ${why}`);
  };
  for (const engine of engines) {
    engine.on('event', (e: AcdEvent) => {
      if ('agent' in e) check(e.agent);
    });
    engine.on('task-offered', (e) => {
      if (e.node !== engine.nodeId) return;
      const reject = rand() < 0.1;
      setTimeout(() => {
        const answer = reject ? engine.reject(e.task.id, e.agent.id) : engine.accept(e.task.id, e.agent.id);
        answer
          .then(() => {
            if (reject) return;
            accepted.set(e.task.id, (accepted.get(e.task.id) ?? 0) + 1);
            setTimeout(() => {
              engine.complete(e.task.id).then(
                () => completed.add(e.task.id),
                (err: Error) => failures.push(`complete ${e.task.id}: ${err.message}`),
              );
            }, 5 + rand() * 20);
          })
          .catch((err: { code?: string; message: string }) => {
            // An offer withdrawn meanwhile (the agent logged out, or a lease ran out) is a normal outcome.
            if (err.code !== 'ACD_WRONG_STATE' && err.code !== 'ACD_UNKNOWN_TASK') failures.push(`${reject ? 'reject' : 'accept'} ${e.task.id}: ${err.message}`);
          });
      }, rand() * 5);
    });
  }
  const agents = 40;
  for (let i = 0; i < agents; i++) {
    const profile = { skills: { billing: 1 + (i % 10), sales: 1 + ((i * 3) % 10) }, languages: ['en'] };
    await engines[i % 3]!.login(`a${i}`, profile);
  }
  let flipCount = 0;
  const flip = (): Promise<unknown> => {
    const engine = engines[flipCount++ % 3]!;
    const agent = `a${Math.floor(rand() * agents)}`;
    return (agentState(engine.agent(agent), Date.now()) === 'not-ready' ? engine.setReady(agent) : engine.setNotReady(agent, 'break')).catch(() => undefined);
  };
  // Flips while tasks arrive (one per ten tasks, whatever the machine's speed), and more while they are handled.
  let flipping = true;
  const flips = (async () => {
    while (flipping) {
      await flip();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const kinds = ['billing', 'sales', 'both'];
  const enqueues: Promise<unknown>[] = [];
  for (let i = 0; i < options.tasks; i++) {
    enqueues.push(engines[i % 3]!.enqueue({ id: `t${i}`, channel: channels[i % 4]!, queue: kinds[i % 3]! }));
    if (i % 10 === 0) enqueues.push(flip());
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(enqueues);
  if (options.during) await options.during(() => completed.size);
  await until('most tasks completed while agents flip', () => completed.size >= options.tasks * 0.8 || failures.length > 0, 40_000);
  flipping = false;
  await flips;
  // Agents come back from breaks and from RONA (an offer can time out while Redis is away): nothing else may stall.
  const comeBack = setInterval(() => {
    for (let i = 0; i < agents; i++) if (agentState(engines[0]!.agent(`a${i}`), Date.now()) === 'not-ready') void engines[0]!.setReady(`a${i}`).catch(() => undefined);
  }, 200);
  await until(`all ${options.tasks} tasks completed (${completed.size} so far)`, () => completed.size === options.tasks || failures.length > 0, 40_000).finally(() => clearInterval(comeBack));
  t.same(failures, [], 'no command failed');
  await Promise.all(engines.map((e) => e.settled()));
  t.same([...accepted.values()].filter((n) => n !== 1), [], 'no task accepted twice');
  t.equal(accepted.size, options.tasks, 'every task accepted');
  t.same(violations, [], 'no agent record out of capacity bounds, on any node');
  t.ok(flipCount >= options.tasks / 10, `${flipCount} agent state flips during the run`);
  // Each node's replica follows the others' commits through the log: on a loaded machine it may trail by a moment.
  await until('every replica caught up (no live task)', () => engines.every((e) => [...e.tasks()].length === 0), 10_000).catch(() => undefined);
  for (const engine of engines) {
    t.same([...engine.tasks()].map((task) => `${task.id} ${task.state} v${task.v} owner ${task.owner}`), [], `${engine.nodeId}: no live task left`);
    t.same([...engine.agents()].filter((a) => channels.some((c) => a.reserved[c] + a.busy[c] !== 0)).map((a) => a.id), [], `${engine.nodeId}: every slot free`);
  }
  await Promise.all(engines.map((e) => e.close()));
}

