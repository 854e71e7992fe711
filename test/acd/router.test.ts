import t from 'tap';
import { hasFreeSlot, occupancy } from '../../src/acd/capacity';
import { isReady, proficiency, Router } from '../../src/acd/router';
import { parseTargetExpression } from '../../src/acd/target-expression';
import { channels, type AgentRecord, type CrossChannelRule, type QueueDefinition, type RoutingStrategy, type TaskRecord } from '../../src/acd/types';
import { queue } from './fixtures';

const rules: CrossChannelRule[] = [{ whileOn: ['voice', 'video'], limits: { voice: 0, video: 0, chat: 2, email: 0 } }];
const skills = ['billing', 'sales', 'tech'];
const queues: QueueDefinition[] = [
  queue('li', 'billing >= 3', { strategy: 'longest-idle' }),
  queue('ms', 'billing or sales >= 2', { strategy: 'most-skilled' }),
  queue('rr', 'tech and lang:en', { strategy: 'round-robin' }),
  queue('lo', 'any', { strategy: 'least-occupied' }),
];

/** The best agent as the strategy defines it, by brute force over every agent: the router's heaps must agree. */
function reference(agents: Map<string, AgentRecord>, q: QueueDefinition, task: TaskRecord, now: number): string | undefined {
  const expression = parseTargetExpression(q.target);
  const key = (a: AgentRecord): [number, number] => {
    const idle = Math.max(a.idleSince, a.wrapUpUntil);
    const keys: Record<RoutingStrategy, [number, number]> = {
      'longest-idle': [idle, 0],
      'most-skilled': [-proficiency(a, expression), idle],
      'round-robin': [a.lastOfferAt, idle],
      'least-occupied': [occupancy(a), idle],
    };
    return keys[q.strategy];
  };
  const candidates = [...agents.values()].filter(
    (a) => a.presence !== 'logged-out' && expression.matches(a) && isReady(a, now) && hasFreeSlot(a, task.channel, rules) && !task.declinedBy.includes(a.id),
  );
  candidates.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka[0] - kb[0] || ka[1] - kb[1] || (a.id < b.id ? -1 : 1);
  });
  return candidates[0]?.id;
}

t.test('the router picks what a scan of every agent picks, through random changes of agents (lazy heaps, shared entries)', async (t) => {
  const router = new Router(queues, rules);
  const queueMap = new Map(queues.map((q) => [q.name, q]));
  const agents = new Map<string, AgentRecord>();
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let now = 1000;
  let mismatches = 0;
  for (let step = 0; step < 6000; step++) {
    const then = now;
    now += Math.floor(random() * 3);
    // Wrap-ups over: the engine re-applies those agents on their timer.
    for (const agent of agents.values()) if (agent.wrapUpUntil > then && agent.wrapUpUntil <= now) router.applyAgent(agent, agent, now);
    const id = `a${Math.floor(random() * 60)}`;
    const prev = agents.get(id);
    let next: AgentRecord | undefined;
    const r = random();
    if (!prev || r < 0.05) {
      const own: Record<string, number> = {};
      for (const s of skills) if (random() < 0.6) own[s] = 1 + Math.floor(random() * 5);
      next = {
        id, v: (prev?.v ?? 0) + 1, rev: `${step}`, presence: 'ready', reason: null, skills: own, languages: random() < 0.5 ? ['en'] : ['zh-TW'],
        capacity: { voice: 1, video: 1, chat: 3, email: 5 }, reserved: { voice: 0, video: 0, chat: 0, email: 0 }, busy: { voice: 0, video: 0, chat: 0, email: 0 },
        wrapUpUntil: 0, idleSince: now, lastOfferAt: 0,
      };
    } else if (r < 0.08) {
      next = { ...prev, v: prev.v + 1, presence: pick(['ready', 'not-ready', 'logged-out'] as const) };
    } else if (r < 0.5) {
      // An offer on a channel with a free slot, or one taken back.
      const c = pick(channels);
      const delta = hasFreeSlot(prev, c, rules) && random() < 0.6 ? 1 : prev.reserved[c] > 0 ? -1 : 0;
      next = { ...prev, v: prev.v + 1, reserved: { ...prev.reserved, [c]: prev.reserved[c] + delta }, lastOfferAt: delta > 0 ? now : prev.lastOfferAt };
    } else if (r < 0.75) {
      // An offer accepted, or a task completed (the agent idle again when it holds nothing, maybe wrapping up).
      const c = pick(channels);
      if (prev.reserved[c] > 0) next = { ...prev, v: prev.v + 1, reserved: { ...prev.reserved, [c]: prev.reserved[c] - 1 }, busy: { ...prev.busy, [c]: prev.busy[c] + 1 } };
      else if (prev.busy[c] > 0) {
        const busy = { ...prev.busy, [c]: prev.busy[c] - 1 };
        const free = channels.every((x) => busy[x] + prev.reserved[x] === 0);
        next = { ...prev, v: prev.v + 1, busy, idleSince: free ? now : prev.idleSince, wrapUpUntil: random() < 0.3 ? now + 5 : prev.wrapUpUntil };
      } else next = prev;
    } else {
      // Time passes: wrap-ups end (the engine re-applies the record then).
      next = prev;
    }
    if (next?.presence === 'logged-out') next = { ...next, reserved: { voice: 0, video: 0, chat: 0, email: 0 }, busy: { voice: 0, video: 0, chat: 0, email: 0 } };
    if (next) agents.set(id, next);
    router.applyAgent(prev, next, now);
    // Ask every queue and channel, with and without agents that declined.
    if (step % 7 === 0) {
      for (const q of queues) {
        for (const channel of channels) {
          const declinedBy = random() < 0.3 ? [...agents.keys()].filter(() => random() < 0.2) : [];
          const task = { id: `t${step}`, channel, queue: q.name, priority: 0, enqueuedAt: 0, widened: [], relaxedTarget: null, declinedBy, step: -1 } as unknown as TaskRecord;
          const match = router.bestAgentFor(task, agents, queueMap, now);
          const expected = reference(agents, q, task, now);
          if (match?.agent.id !== expected) {
            mismatches++;
            t.equal(match?.agent.id, expected, `step ${step}: ${q.name} ${channel}`);
          }
          if (match) {
            const free = [...agents.values()].filter((a) => a.presence !== 'logged-out' && parseTargetExpression(q.target).matches(a) && isReady(a, now) && hasFreeSlot(a, channel, rules)).length;
            const ready = [...agents.values()].filter((a) => a.presence !== 'logged-out' && parseTargetExpression(q.target).matches(a) && isReady(a, now)).length;
            if (match.decision.rejected.capacity !== ready - free) t.equal(match.decision.rejected.capacity, ready - free, `capacity rejections at step ${step}`);
          }
        }
      }
    }
  }
  t.equal(mismatches, 0);
});
