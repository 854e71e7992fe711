import { hasFreeSlot, occupancy, slotsHeld } from './capacity';
import { IndexedHeap } from './indexed-heap';
import { LazyHeap } from './lazy-heap';
import { parseTargetExpression, type TargetExpression } from './target-expression';
import {
  channels,
  routingStrategies,
  type AgentRecord,
  type Channel,
  type CrossChannelRule,
  type Decision,
  type PerChannel,
  type QueueDefinition,
  type RoutingStrategy,
  type TaskRecord,
} from './types';

/** A (queue, expression) pair tasks wait on and agents are matched against; its strategy is the queue's. */
interface Target {
  readonly queue: QueueDefinition;
  readonly expression: TargetExpression;
  /** Logged-in agents whose skills satisfy the expression, and those of them ready (not not-ready, not in wrap-up). */
  eligible: number;
  ready: number;
  /** Over staffed eligible agents (presence ready, wrap-up included): slots per channel, and those holding work. */
  readonly staffedSlots: PerChannel<number>;
  readonly busySlots: PerChannel<number>;
  /**
   * By channel index (the hot path indexes arrays, not per-channel records): ready eligible agents with a free slot on
   * the channel, best first by the queue's strategy (dead entries too), and how many live entries each heap holds.
   */
  readonly agents: LazyHeap<AgentEntry>[];
  readonly free: number[];
  /** Waiting tasks on the channel, highest priority then oldest first. */
  readonly tasks: PerChannel<IndexedHeap<TaskEntry>>;
}

interface AgentEligibility {
  readonly profile: string;
  /** The record the heaps were last updated from. */
  indexed: AgentRecord;
  readonly targets: Target[];
  /** Its targets by strategy, in the order of routingStrategies. */
  readonly byStrategy: Target[][];
  /** The agent's proficiency for each most-skilled target, same order. */
  readonly proficiencies: number[];
  /** By channel index: the keys and entries the agent is in its targets' heaps with, null while not there. */
  readonly entries: (ChannelEntries | null)[];
  /** What the agent added to its targets' counters, so that exactly that is taken back on the next change. */
  ready: boolean;
  readonly staffed: PerChannel<number>;
  readonly busy: PerChannel<number>;
}

/** Whether entries are still the agent's current ones: cleared once, it takes them out of every heap they are in. */
interface Liveness {
  live: boolean;
}

interface AgentEntry {
  readonly id: string;
  /** Strategy keys, compared in order; lower is better. */
  readonly primary: number;
  readonly secondary: number;
  readonly liveness: Liveness;
}

/** An agent's place on one channel: its keys, and per strategy (routingStrategies order) the liveness of its entries. */
interface ChannelEntries {
  readonly idle: number;
  readonly lastOfferAt: number;
  readonly occupancy: number;
  readonly liveness: Liveness[];
}

interface TaskEntry {
  readonly id: string;
  readonly priority: number;
  readonly enqueuedAt: number;
  readonly owner: string;
}

export interface Match {
  readonly agent: AgentRecord;
  readonly task: TaskRecord;
  readonly decision: Decision;
}

const agentBefore = (a: AgentEntry, b: AgentEntry) =>
  a.primary !== b.primary ? a.primary < b.primary : a.secondary !== b.secondary ? a.secondary < b.secondary : a.id < b.id;
const entryAlive = (e: AgentEntry) => e.liveness.live;
const MOST_SKILLED = routingStrategies.indexOf('most-skilled');
const ROUND_ROBIN = routingStrategies.indexOf('round-robin');
const LEAST_OCCUPIED = routingStrategies.indexOf('least-occupied');
const channelIndex = Object.fromEntries(channels.map((c, i) => [c, i])) as Record<Channel, number>;
const taskBefore = (a: TaskEntry, b: TaskEntry) =>
  a.priority !== b.priority ? a.priority > b.priority : a.enqueuedAt !== b.enqueuedAt ? a.enqueuedAt < b.enqueuedAt : a.id < b.id;

const perChannel = <T>(make: () => T): PerChannel<T> => ({ voice: make(), video: make(), chat: make(), email: make() });

/**
 * The matching policy and its indices. It mirrors the node's replica of agents and tasks (the engine reports every
 * change through applyAgent/applyTask) and answers "best agent for this task" and "best task for this agent" from
 * per-target heaps, so each decision costs O(log n) in the number of agents and tasks, plus one step per target.
 */
export class Router {
  readonly #targets = new Map<string, Target>();
  /** Targets each logged-in agent's skills satisfy; recomputed when the profile changes. */
  readonly #agentTargets = new Map<string, AgentEligibility>();
  #loggedIn = 0;

  constructor(
    queues: readonly QueueDefinition[],
    private readonly rules: readonly CrossChannelRule[],
  ) {
    for (const queue of queues) {
      this.#target(queue, queue.target);
      for (const step of queue.escalation) if (step.action === 'relax' && step.value !== null) this.#target(queue, step.value);
    }
  }

  /** Where the task may be matched, own queue (possibly relaxed) first, then widened queues. */
  targetsOf(task: TaskRecord, queues: ReadonlyMap<string, QueueDefinition>): { target: Target; via: Decision['via'] }[] {
    const own = queues.get(task.queue);
    // A task stored by a node whose configuration had a queue this one lacks: it waits, unrouted, until an operator moves it.
    if (!own) return [];
    const result: { target: Target; via: Decision['via'] }[] = [{ target: this.#target(own, task.relaxedTarget ?? own.target), via: 'own-queue' }];
    for (const name of task.widened) {
      const queue = queues.get(name);
      if (queue) result.push({ target: this.#target(queue, queue.target), via: 'widened' });
    }
    return result;
  }

  /**
   * Keeps the indices in step with one agent's record (undefined: absent). `now` decides whether wrap-up is over.
   * Only what changed is touched: entries are replaced only in the heaps of strategies whose key changed, and an agent
   * leaving a channel's heaps costs one flag per strategy, not a removal from each heap.
   */
  applyAgent(prev: AgentRecord | undefined, next: AgentRecord | undefined, now: number): void {
    const id = (prev ?? next)!.id;
    const before = this.#agentTargets.get(id);
    let after: AgentEligibility | undefined;
    if (next && next.presence !== 'logged-out') {
      const sameProfile = before !== undefined && sameSkills(before.indexed, next);
      const profile = sameProfile ? before.profile : profileKey(next);
      after = before && before.profile === profile ? before : this.#eligibility(profile, next);
    }
    if (before && before !== after) {
      this.#loggedIn--;
      for (const t of before.targets) {
        t.eligible--;
        if (before.ready) t.ready--;
        for (const c of channels) {
          t.staffedSlots[c] -= before.staffed[c];
          t.busySlots[c] -= before.busy[c];
        }
      }
      for (let ci = 0; ci < channels.length; ci++) this.#leave(before, ci);
      this.#agentTargets.delete(id);
    }
    if (!after || !next) return;
    if (after !== before) {
      this.#agentTargets.set(id, after);
      this.#loggedIn++;
      for (const t of after.targets) t.eligible++;
    }
    // Counters for snapshots and the wait estimate: apply the difference from what this agent added last time.
    const ready = isReady(next, now);
    const staffed = next.presence === 'ready';
    const wrappingUp = next.wrapUpUntil > now;
    if (ready !== after.ready) for (const t of after.targets) t.ready += ready ? 1 : -1;
    after.ready = ready;
    for (const c of channels) {
      const staffedSlots = staffed ? next.capacity[c] : 0;
      const busySlots = staffed ? (wrappingUp ? next.capacity[c] : Math.min(next.capacity[c], slotsHeld(next, c))) : 0;
      const dStaffed = staffedSlots - after.staffed[c];
      const dBusy = busySlots - after.busy[c];
      if (dStaffed !== 0 || dBusy !== 0) {
        for (const t of after.targets) {
          t.staffedSlots[c] += dStaffed;
          t.busySlots[c] += dBusy;
        }
      }
      after.staffed[c] = staffedSlots;
      after.busy[c] = busySlots;
    }
    // The heaps: an agent is in a (target, channel) heap while ready with a free slot on that channel.
    for (let ci = 0; ci < channels.length; ci++) {
      if (ready && hasFreeSlot(next, channels[ci]!, this.rules)) this.#place(after, next, ci);
      else this.#leave(after, ci);
    }
    after.indexed = next;
  }

  #eligibility(profile: string, agent: AgentRecord): AgentEligibility {
    const targets = [...this.#targets.values()].filter((t) => t.expression.matches(agent));
    const byStrategy = routingStrategies.map((strategy) => targets.filter((t) => t.queue.strategy === strategy));
    return {
      profile, indexed: agent, targets, byStrategy, proficiencies: byStrategy[MOST_SKILLED]!.map((t) => proficiency(agent, t.expression)),
      ready: false, staffed: perChannel(() => 0), busy: perChannel(() => 0), entries: channels.map(() => null),
    };
  }

  /** Into the channel's heaps, or moved there where a strategy's key changed. */
  #place(eligibility: AgentEligibility, agent: AgentRecord, ci: number): void {
    const was = eligibility.entries[ci]!;
    const idle = idleKey(agent);
    const lastOfferAt = agent.lastOfferAt;
    const occupied = occupancy(agent);
    if (was && was.idle === idle && was.lastOfferAt === lastOfferAt && was.occupancy === occupied) return;
    if (!was) for (const t of eligibility.targets) t.free[ci]++;
    const liveness: Liveness[] = [];
    for (let s = 0; s < routingStrategies.length; s++) {
      // Every strategy ranks by idle time, first or as the tie-break; two also by another key.
      const keep = was !== null && was.idle === idle && (s === ROUND_ROBIN ? was.lastOfferAt === lastOfferAt : s === LEAST_OCCUPIED ? was.occupancy === occupied : true);
      if (keep) {
        liveness.push(was.liveness[s]!);
        continue;
      }
      if (was) was.liveness[s]!.live = false;
      const alive: Liveness = { live: true };
      liveness.push(alive);
      const targets = eligibility.byStrategy[s]!;
      // Strategies other than most-skilled rank the agent alike in every target: one entry serves all their heaps.
      const shared = s === MOST_SKILLED ? undefined : agentEntry(s, 0, agent.id, idle, lastOfferAt, occupied, alive);
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        const heap = t.agents[ci]!;
        heap.push(shared ?? agentEntry(s, eligibility.proficiencies[i]!, agent.id, idle, lastOfferAt, occupied, alive));
        if (heap.length > 2 * t.free[ci]! + 16) heap.compact();
      }
    }
    eligibility.entries[ci] = { idle, lastOfferAt, occupancy: occupied, liveness };
  }

  /** Out of the channel's heaps: the entries die where they are. */
  #leave(eligibility: AgentEligibility, ci: number): void {
    const was = eligibility.entries[ci];
    if (!was) return;
    for (const liveness of was.liveness) liveness.live = false;
    for (const t of eligibility.targets) t.free[ci]--;
    eligibility.entries[ci] = null;
  }

  applyTask(prev: TaskRecord | undefined, next: TaskRecord | undefined, queues: ReadonlyMap<string, QueueDefinition>): void {
    if (prev && prev.state === 'waiting') for (const { target } of this.targetsOf(prev, queues)) target.tasks[prev.channel].delete(prev.id);
    if (next && next.state === 'waiting') {
      const entry = { id: next.id, priority: next.priority, enqueuedAt: next.enqueuedAt, owner: next.owner };
      for (const { target } of this.targetsOf(next, queues)) target.tasks[next.channel].upsert(entry);
    }
  }

  /** The best agent for a waiting task, or null when no eligible agent has a free slot now. */
  bestAgentFor(task: TaskRecord, agents: ReadonlyMap<string, AgentRecord>, queues: ReadonlyMap<string, QueueDefinition>, now: number): Match | null {
    for (const { target, via } of this.targetsOf(task, queues)) {
      const ci = channelIndex[task.channel];
      const declinedBy = task.declinedBy;
      const onlyOne = declinedBy.length === 0 && target.free[ci] === 1;
      let declined = 0;
      let chosen: AgentEntry | undefined;
      let runnerUp: AgentEntry | undefined;
      target.agents[ci]!.walk((entry) => {
        if (declinedBy.length > 0 && declinedBy.includes(entry.id)) {
          declined++;
          return true;
        }
        if (chosen) {
          runnerUp = entry;
          return false;
        }
        chosen = entry;
        return !onlyOne;
      });
      if (!chosen) continue;
      const agent = agents.get(chosen.id)!;
      return { agent, task, decision: this.#decision(target, via, task, agent, 'task-routable', declined, tieBreak(target.queue.strategy, chosen, runnerUp), now) };
    }
    return null;
  }

  /**
   * The best waiting task (highest priority, then longest waiting) this agent may take now, among tasks `mine`
   * accepts (the engine passes "owned by this node"), or null.
   */
  bestTaskFor(agent: AgentRecord, tasks: ReadonlyMap<string, TaskRecord>, queues: ReadonlyMap<string, QueueDefinition>, now: number, mine: (owner: string) => boolean): Match | null {
    const eligible = this.#agentTargets.get(agent.id);
    if (!eligible || !isReady(agent, now)) return null;
    let best: { entry: TaskEntry; target: Target; others: number } | undefined;
    for (const c of channels) {
      if (!hasFreeSlot(agent, c, this.rules)) continue;
      for (const target of eligible.targets) {
        const heap = target.tasks[c];
        let entry = heap.peek();
        if (entry === undefined) continue;
        if (!mine(entry.owner) || tasks.get(entry.id)!.declinedBy.includes(agent.id)) {
          entry = undefined;
          for (const candidate of heap.ordered()) {
            if (mine(candidate.owner) && !tasks.get(candidate.id)!.declinedBy.includes(agent.id)) {
              entry = candidate;
              break;
            }
          }
          if (entry === undefined) continue;
        }
        if (!best || taskBefore(entry, best.entry)) best = { entry, target, others: heap.size - 1 };
      }
    }
    if (!best) return null;
    const task = tasks.get(best.entry.id)!;
    const via = this.targetsOf(task, queues).find((t) => t.target === best.target)?.via ?? 'own-queue';
    const tie = `agent became available: highest priority (${task.priority}), then longest waiting (since ${task.enqueuedAt}) of the tasks it may take`;
    return { agent, task, decision: this.#decision(best.target, via, task, agent, 'agent-available', 0, tie, now) };
  }

  #decision(target: Target, via: Decision['via'], task: TaskRecord, agent: AgentRecord, trigger: Decision['trigger'], declined: number, tie: string, now: number): Decision {
    const free = target.free[channelIndex[task.channel]]!;
    return {
      at: now,
      trigger,
      step: task.step,
      queue: target.queue.name,
      expression: target.expression.source,
      via,
      strategy: target.queue.strategy,
      considered: this.#loggedIn,
      rejected: {
        proficiency: this.#loggedIn - target.eligible,
        state: target.eligible - target.ready,
        capacity: target.ready - free,
        declined,
      },
      agentId: agent.id,
      tieBreak: tie,
    };
  }

  #target(queue: QueueDefinition, source: string): Target {
    const key = `${queue.name}\u0000${source}`;
    let target = this.#targets.get(key);
    if (!target) {
      target = {
        queue,
        expression: parseTargetExpression(source),
        eligible: 0,
        ready: 0,
        staffedSlots: perChannel(() => 0),
        busySlots: perChannel(() => 0),
        agents: channels.map(() => new LazyHeap<AgentEntry>(agentBefore, entryAlive)),
        free: channels.map(() => 0),
        tasks: perChannel(() => new IndexedHeap<TaskEntry>((e) => e.id, taskBefore)),
      };
      this.#targets.set(key, target);
    }
    return target;
  }

  /** Slots of staffed agents eligible for the task's own target on its channel, and how many hold work: the wait estimate's N. */
  slotsFor(task: TaskRecord, queues: ReadonlyMap<string, QueueDefinition>): { slots: number; busySlots: number } {
    const target = this.targetsOf(task, queues)[0]?.target;
    if (!target) return { slots: 0, busySlots: 0 };
    return { slots: target.staffedSlots[task.channel], busySlots: target.busySlots[task.channel] };
  }

  /** Agents eligible for a queue's own target, for snapshots. */
  eligibleAgentIds(queue: QueueDefinition): string[] {
    const target = this.#target(queue, queue.target);
    return [...this.#agentTargets].filter(([, e]) => e.targets.includes(target)).map(([id]) => id);
  }
}

/**
 * Same skills and languages, without building profile keys: records from the log are new objects every time, and
 * the profile almost never changes. Key order may differ (cjson); a false "different" only costs a profileKey().
 */
function sameSkills(a: AgentRecord, b: AgentRecord): boolean {
  if (a.skills === b.skills && a.languages === b.languages) return true;
  if (a.languages.length !== b.languages.length || a.languages.some((l, i) => b.languages[i] !== l)) return false;
  let count = 0;
  for (const skill in a.skills) {
    if (a.skills[skill] !== b.skills[skill]) return false;
    count++;
  }
  for (const _ in b.skills) count--;
  return count === 0;
}

/** Skills and languages in a canonical form: records decoded from Redis (cjson) list keys in any order. */
function profileKey(agent: AgentRecord): string {
  const skills = Object.keys(agent.skills).sort().map((skill) => `${skill}=${agent.skills[skill]}`);
  return `${skills.join(',')}|${[...agent.languages].sort().join(',')}`;
}

/** Ready to be offered work: logged in, not not-ready, wrap-up over. */
export function isReady(agent: AgentRecord, now: number): boolean {
  return agent.presence === 'ready' && agent.wrapUpUntil <= now;
}

function idleKey(agent: AgentRecord): number {
  return Math.max(agent.idleSince, agent.wrapUpUntil);
}

/** Sum of the agent's levels in the skills the expression names: the most-skilled key. */
export function proficiency(agent: AgentRecord, expression: TargetExpression): number {
  let sum = 0;
  for (const skill of expression.skills) sum += agent.skills[skill] ?? 0;
  return sum;
}

function agentEntry(strategy: number, skill: number, id: string, idle: number, lastOfferAt: number, occupied: number, liveness: Liveness): AgentEntry {
  switch (strategy) {
    case MOST_SKILLED:
      return { id, primary: -skill, secondary: idle, liveness };
    case ROUND_ROBIN:
      return { id, primary: lastOfferAt, secondary: idle, liveness };
    case LEAST_OCCUPIED:
      return { id, primary: occupied, secondary: idle, liveness };
    default:
      return { id, primary: idle, secondary: 0, liveness };
  }
}

function tieBreak(strategy: RoutingStrategy, chosen: AgentEntry, next: AgentEntry | undefined): string {
  const versus = (what: (e: AgentEntry) => string) => (next ? `; next best ${next.id}: ${what(next)}` : '; the only candidate');
  switch (strategy) {
    case 'longest-idle':
      return `longest idle: idle since ${chosen.primary}${versus((e) => `idle since ${e.primary}`)}`;
    case 'most-skilled':
      return `most skilled (level sum ${-chosen.primary}), then longest idle (since ${chosen.secondary})${versus((e) => `level sum ${-e.primary}, idle since ${e.secondary}`)}`;
    case 'round-robin':
      return `round robin: last offered at ${chosen.primary}${versus((e) => `last offered at ${e.primary}`)}`;
    case 'least-occupied':
      return `least occupied (${(chosen.primary * 100).toFixed(0)} % of capacity in use), then longest idle${versus((e) => `${(e.primary * 100).toFixed(0)} % in use`)}`;
  }
}
