import { InvalidStateError, randomId, silentLogger, TypedEmitter, type Logger } from '../lib/index';
import { assertValidSettings, routingConfiguration, type AcdSettings } from './acd-settings';
import { applyAgentOp, type AgentOp } from './agent-op';
import { hasFreeSlot, noTasks, slotsHeld } from './capacity';
import { SimulatedClock, systemClock, type AcdClock, type TimerHandle } from './clock';
import { AcdError, AcdErrorCode } from './errors';
import { estimateWait, HandleTimeTracker, PatienceTracker, WaitErrorRecorder, type WaitErrorSummary, type WaitEstimate } from './estimate/index';
import { isReady, Router, type Match } from './router';
import { MemoryStore, type AcdStore, type Change, type CommitResult } from './store';
import {
  channels,
  type AcdEvent,
  type AcdEventType,
  type AgentProfile,
  type AgentRecord,
  type AgentState,
  type Channel,
  type Decision,
  type EscalationStep,
  type QueueDefinition,
  type TaskRecord,
} from './types';

export interface AcdEngineOptions {
  readonly settings: AcdSettings;
  /** Default: a MemoryStore (one node). Use a RedisStore for several nodes and for state that outlives the process. */
  readonly store?: AcdStore;
  /** Default: systemClock. A SimulatedClock makes advanceTo() available. */
  readonly clock?: AcdClock;
  /** Stable across restarts lets a node pick up its own offers and timers at once; default: random per process. */
  readonly nodeId?: string;
  readonly logger?: Logger;
  /** Mean handle time assumed by the wait estimate before any task of the queue was handled. Default 180 s. */
  readonly defaultHandleMs?: number;
}

export interface EnqueueRequest {
  /** Default: a random id. */
  readonly id?: string;
  readonly channel: Channel;
  readonly queue: string;
  /** Higher is served first; default 0. */
  readonly priority?: number;
  readonly attributes?: Readonly<Record<string, string>>;
  /**
   * Offer the new task to this agent first (a transfer to them): at once if they are ready with a free slot for the
   * channel, whatever the queue's target; if they cannot take it now, or decline or let the offer time out, it waits
   * in its queue like any other.
   */
  readonly offerTo?: string;
}

export interface QueueSnapshot {
  readonly queue: string;
  /** Tasks in the queue not yet accepted (waiting or offered). */
  readonly waiting: number;
  readonly offered: number;
  /** Age (ms) of the oldest task not yet accepted; 0 when none. */
  readonly longestWaitMs: number;
  /** Agents eligible for the queue's own target, by state. */
  readonly agents: Record<AgentState, number>;
  /** Since the start of the current day (UTC) of the clock. */
  readonly today: {
    readonly answered: number;
    readonly answeredWithinTarget: number;
    readonly abandoned: number;
    /** Answered within target / (answered + abandoned), in % (null before the first); abandons count against. */
    readonly serviceLevelPercent: number | null;
  };
  readonly serviceLevelTarget: QueueDefinition['serviceLevel'];
  /** Predicted (at enqueue) against actual waits of answered tasks. */
  readonly waitErrors: WaitErrorSummary;
}

/** One map entry per event type, plus `event` for all of them. */
export type AcdEngineEvents = { [K in AcdEventType]: [Extract<AcdEvent, { type: K }>] } & {
  event: [AcdEvent];
  close: [];
  /** This node took over a dead node (the tasks it adopted, maybe none): the channels and the agent feed decide what
   * becomes of the customers and agents who were there. */
  'node-lost': [{ readonly node: string; readonly adopted: readonly string[] }];
};

interface QueueStats {
  day: number;
  answered: number;
  answeredWithinTarget: number;
  abandoned: number;
  readonly handleTimes: HandleTimeTracker;
  readonly patience: PatienceTracker;
  readonly waitErrors: WaitErrorRecorder;
}

/** A change being built: agents as operations and their expected results, tasks as new records, events. */
type Draft = { agents: AgentRecord[]; agentOps: AgentOp[]; agentBases: string[]; tasks: TaskRecord[]; events: AcdEvent[]; refused?: string };
type AgentChange = Omit<AgentOp, 'id' | 'rev' | 'now'>;
const newDraft = (): Draft => ({ agents: [], agentOps: [], agentBases: [], tasks: [], events: [] });

const DAY_MS = 86_400_000;
const COMMAND_ATTEMPTS = 20;
/** How long a change whose outcome is unknown (connection lost before the reply) is resent before giving up. */
const RESEND_FOR_MS = 30_000;
/** Ended tasks remembered per generation: between this many and twice this many are remembered at any time. */
const ENDED_VERSIONS_KEPT = 200_000;

/**
 * The ACD: agents, queues, tasks and the offers between them, on a store shared by every onecc node.
 *
 * Each node keeps a replica of all live agents and tasks and decides locally (router.ts); each decision is
 * committed to the store as one atomic, version-checked change (for Redis, one Lua script), so two nodes can never
 * both win the same agent slot or the same task. Losing a race refreshes the replica from the store and routes
 * again. Commands (login, accept, complete ...) work the same way from any node.
 *
 * Routing runs on two triggers: a task becomes routable (its owner node looks for the best agent) and an agent gets
 * a free slot (every node looks for the best of the tasks it owns). Offers, escalation and max-wait timers run on
 * the clock given, so the same engine runs in real or simulated time (advanceTo()).
 */
export class AcdEngine extends TypedEmitter<AcdEngineEvents> {
  readonly nodeId: string;
  readonly settings: AcdSettings;
  readonly #store: AcdStore;
  readonly #clock: AcdClock;
  readonly #logger: Logger;
  readonly #router: Router;
  readonly #queues: ReadonlyMap<string, QueueDefinition>;
  readonly #skills: ReadonlySet<string>;
  readonly #languages: ReadonlySet<string>;
  readonly #defaultHandleMs: number;

  readonly #agents = new Map<string, AgentRecord>();
  readonly #tasks = new Map<string, TaskRecord>();
  /**
   * Version at which recently ended tasks ended, so that a late copy from the log does not bring one back. Two
   * generations, the older dropped whole when the newer fills: evicting one entry at a time from the front of a Map
   * makes V8 walk the deleted entries on every eviction (90–400 µs a call once 200,000 are kept).
   */
  #endedVersions = new Map<string, number>();
  #endedVersionsOld = new Map<string, number>();
  /** Records applied locally whose commit has not succeeded yet. */
  readonly #speculative = new WeakSet<object>();
  readonly #taskTimers = new Map<string, TimerHandle>();
  readonly #wrapUpTimers = new Map<string, TimerHandle>();
  readonly #predictedWait = new Map<string, number>();
  /** Waiting tasks per queue and channel, by priority: how many are ahead of a new task, without a scan. */
  readonly #waitingByPriority = new Map<string, Map<number, number>>();
  readonly #stats = new Map<string, QueueStats>();

  readonly #dirtyTasks = new Set<string>();
  readonly #dirtyAgents = new Set<string>();
  #drainScheduled = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  #leaseTimer: TimerHandle | undefined;
  #started = false;
  readonly #revPrefix = `${randomId(6)}.`;
  /** This process among all that ever ran as nodeId: who holds the node's lease. */
  readonly #instance = randomId();
  #joined = false;
  /** Another process took this node id: nothing of ours may touch it any more. */
  #fenced = false;
  #revCounter = 0;
  #closed = false;

  constructor(options: AcdEngineOptions) {
    const logger = (options.logger ?? silentLogger()).child({ module: 'acd' });
    super(logger);
    assertValidSettings(options.settings);
    this.settings = options.settings;
    this.nodeId = options.nodeId ?? randomId();
    this.#store = options.store ?? new MemoryStore();
    this.#clock = options.clock ?? systemClock;
    this.#logger = logger.child({ node: this.nodeId });
    this.#queues = new Map(options.settings.queues.map((q) => [q.name, q]));
    this.#skills = new Set(options.settings.skills);
    this.#languages = new Set(options.settings.languages);
    this.#router = new Router(options.settings.queues, options.settings.crossChannel);
    this.#store.useRules(options.settings.crossChannel);
    this.#defaultHandleMs = options.defaultHandleMs ?? 180_000;
  }

  /** Loads the shared state, follows other nodes' changes, takes a lease and resumes this node's timers. */
  async start(): Promise<void> {
    this.#assertOpen();
    if (this.#started) return;
    this.#started = true;
    if (this.#store.shared) await this.#join();
    await this.#reload();
    this.#store.follow(
      (change) => this.#applyRemote(change),
      () => void this.#reloadSurely(),
    );
    if (this.#store.shared) await this.#keepLease();
  }

  /** Stops timers and the store. Pending commands reject; later calls throw InvalidStateError. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of [...this.#taskTimers.values(), ...this.#wrapUpTimers.values()]) this.#clock.clearTimer(timer);
    this.#taskTimers.clear();
    this.#wrapUpTimers.clear();
    if (this.#leaseTimer) this.#clock.clearTimer(this.#leaseTimer);
    await Promise.allSettled([...this.#inFlight]);
    if (this.#joined && !this.#fenced) await this.#store.releaseNode(this.nodeId, this.#instance).catch((err: unknown) => this.#logger.warn({ err }, 'node id not released: a restart waits for its lease'));
    await this.#store.close();
    this.safeEmit('close');
  }

  // ---- agents -------------------------------------------------------------------------------------------------------

  /** Logs an agent in (or updates the profile of one logged in), ready or not-ready (reason "login"). */
  async login(agentId: string, profile: AgentProfile, initial: 'ready' | 'not-ready' = 'ready'): Promise<AgentRecord> {
    this.#checkProfile(agentId, profile);
    return this.#command((now, draft) => {
      const prev = this.#agents.get(agentId);
      const capacity = { ...(profile.capacity ?? this.settings.defaultCapacity) };
      const base: AgentRecord = prev ?? {
        id: agentId, v: 0, rev: '', presence: 'logged-out', reason: null, skills: {}, languages: [], capacity,
        reserved: { ...noTasks }, busy: { ...noTasks }, wrapUpUntil: 0, idleSince: now, lastOfferAt: 0,
      };
      for (const c of channels) {
        if (slotsHeld(base, c) > capacity[c]) {
          throw new AcdError(AcdErrorCode.invalidProfile, `agent ${agentId} holds ${slotsHeld(base, c)} ${c} tasks, more than the new capacity ${capacity[c]}`, { agentId });
        }
      }
      this.#putAgent(draft, base, {
        create: prev ? undefined : base,
        set: { skills: { ...profile.skills }, languages: [...profile.languages], capacity, presence: initial, reason: initial === 'ready' ? null : 'login' },
        idleIfBecomesReady: true,
      });
      return draft.agents[0]!;
    });
  }

  /** Logs an agent out; their open offers go back to the queue. Refused while they handle a task. */
  async logout(agentId: string): Promise<AgentRecord> {
    return this.#command((now, draft) => {
      const agent = this.#agent(agentId);
      if (channels.some((c) => agent.busy[c] > 0)) {
        throw new AcdError(AcdErrorCode.wrongState, `agent ${agentId} is handling tasks; complete them before logging out`, { agentId });
      }
      const offers = [...this.#tasks.values()].filter((t) => t.state === 'offered' && t.offer?.agentId === agentId);
      const reserved: Partial<Record<Channel, number>> = {};
      for (const task of offers) {
        reserved[task.channel] = (reserved[task.channel] ?? 0) - 1;
        this.#putTask(draft, task, { state: 'waiting', offer: null }, (next, at, node) => ({ type: 'task-requeued', node, at, task: next, reason: `agent ${agentId} logged out` }));
      }
      this.#putAgent(draft, agent, { set: { presence: 'logged-out', reason: null, wrapUpUntil: 0 }, reserved, requireNoBusy: true });
      void now;
      return draft.agents[0]!;
    });
  }

  /** Makes the agent ready for offers; also ends a wrap-up early. */
  async setReady(agentId: string): Promise<AgentRecord> {
    return this.#command((now, draft) => {
      const agent = this.#agent(agentId);
      if (agent.presence === 'logged-out') throw new AcdError(AcdErrorCode.wrongState, `agent ${agentId} is logged out`, { agentId });
      void now;
      this.#putAgent(draft, agent, { set: { presence: 'ready', reason: null, wrapUpUntil: 0 }, idleIfBecomesReady: true });
      return draft.agents[0]!;
    });
  }

  /** Takes the agent out of routing with a reason code; offers already made stay open until answered or timed out. */
  async setNotReady(agentId: string, reason: string): Promise<AgentRecord> {
    return this.#command((_now, draft) => {
      const agent = this.#agent(agentId);
      if (agent.presence === 'logged-out') throw new AcdError(AcdErrorCode.wrongState, `agent ${agentId} is logged out`, { agentId });
      this.#putAgent(draft, agent, { set: { presence: 'not-ready', reason } });
      return draft.agents[0]!;
    });
  }

  // ---- tasks --------------------------------------------------------------------------------------------------------

  /**
   * Puts a task in a queue; routing starts at once. A full queue sends it to its fallback (refused with
   * ACD_QUEUE_FULL when there is none).
   */
  async enqueue(request: EnqueueRequest): Promise<TaskRecord> {
    const id = request.id ?? randomId();
    if (!channels.includes(request.channel)) throw new AcdError(AcdErrorCode.invalidProfile, `unknown channel "${request.channel}"`, { taskId: id });
    let predicted = 0;
    const task = await this.#command((now, draft) => {
      if (this.#tasks.has(id)) throw new AcdError(AcdErrorCode.duplicateTask, `task ${id} is already queued`, { taskId: id });
      const queue = this.#placeable(this.#queue(request.queue));
      const created: TaskRecord = {
        id, v: 1, rev: this.#nextRev(), channel: request.channel, attributes: { ...request.attributes }, priority: request.priority ?? 0,
        enqueuedAt: now, queue: queue.name, queuedAt: now, step: -1, widened: [], relaxedTarget: null, state: 'waiting',
        offer: null, agentId: null, acceptedAt: 0, declinedBy: [], owner: this.nodeId, decision: null, endedAt: 0, endReason: null,
      };
      // The prediction published for this task, made before it is routed: its error is measured when it is answered.
      predicted = this.#estimate(created, this.#aheadOfNewTask(created)).waitMs;
      draft.events.push({ type: 'task-created', node: this.nodeId, at: now, task: created });
      const direct = request.offerTo === undefined ? undefined : this.#agents.get(request.offerTo);
      if (direct === undefined || !isReady(direct, now) || !hasFreeSlot(direct, created.channel, this.settings.crossChannel)) {
        draft.tasks.push(created);
        return created;
      }
      // Created and offered in one commit: no other agent can be matched to it in between.
      this.#putAgent(draft, direct, { reserved: { [created.channel]: 1 }, set: { lastOfferAt: now }, offer: created.channel });
      const offeredTo = draft.agents[0]!;
      const offered: TaskRecord = {
        ...created,
        state: 'offered',
        offer: { id: this.#nextRev(), agentId: direct.id, node: this.nodeId, at: now, expiresAt: now + this.settings.offerTimeoutSeconds * 1000 },
        decision: {
          at: now, trigger: 'transfer', step: -1, queue: queue.name, expression: `agent ${direct.id}`, via: 'own-queue', strategy: queue.strategy,
          considered: 1, rejected: { proficiency: 0, state: 0, capacity: 0, declined: 0 }, agentId: direct.id, tieBreak: 'transferred to this agent',
        },
      };
      draft.tasks.push(offered);
      draft.events.push({ type: 'task-offered', node: this.nodeId, at: now, task: offered, agent: offeredTo });
      return offered;
    });
    this.#predictedWait.set(id, predicted);
    return task;
  }

  /** The agent takes the task offered to them. */
  async accept(taskId: string, agentId: string): Promise<TaskRecord> {
    return this.#command((now, draft) => {
      const task = this.#offeredTo(taskId, agentId);
      const agent = this.#agent(agentId);
      this.#putAgent(draft, agent, { reserved: { [task.channel]: -1 }, busy: { [task.channel]: 1 } });
      const assignee = draft.agents[0]!;
      return this.#putTask(draft, task, { state: 'assigned', offer: null, agentId, acceptedAt: now }, (next, at, node) => ({ type: 'task-accepted', node, at, task: next, agent: assignee }));
    });
  }

  /** The agent turns the offer down: the task goes back to its place in the queue and is not offered to them again. */
  async reject(taskId: string, agentId: string): Promise<TaskRecord> {
    return this.#command((_now, draft) => this.#withdrawOffer(draft, this.#offeredTo(taskId, agentId), 'rejected'));
  }

  /** The agent finished the task; wrap-up starts for the channel's configured time. */
  async complete(taskId: string): Promise<TaskRecord> {
    return this.#command((now, draft) => {
      const task = this.#task(taskId);
      if (task.state !== 'assigned') throw new AcdError(AcdErrorCode.wrongState, `task ${taskId} is ${task.state}, not assigned`, { taskId });
      const agent = this.#agent(task.agentId!);
      const wrapUpMs = this.settings.wrapUpSeconds[task.channel] * 1000;
      this.#putAgent(draft, agent, { busy: { [task.channel]: -1 }, wrapUpAtLeast: wrapUpMs > 0 ? now + wrapUpMs : undefined, idleIfFree: true });
      const handler = draft.agents[0]!;
      return this.#putTask(draft, task, { state: 'completed', endedAt: now, endReason: 'completed' }, (next, at, node) => ({ type: 'task-completed', node, at, task: next, agent: handler }));
    });
  }

  /** The customer left (or the channel gave up) before the task was accepted. */
  async abandon(taskId: string, reason = 'customer-left'): Promise<TaskRecord> {
    return this.#command((now, draft) => {
      const task = this.#task(taskId);
      if (task.state === 'assigned') throw new AcdError(AcdErrorCode.wrongState, `task ${taskId} is assigned; complete it instead`, { taskId });
      return this.#endUnanswered(draft, task, now, reason);
    });
  }

  /**
   * The task carries on in another form — a callback, a chat that becomes a call — keeping its queue entry: enqueue
   * time, priority, escalation step. An open offer is withdrawn (the new form is offered afresh).
   */
  async continueAs(taskId: string, change: { readonly channel?: Channel; readonly attributes?: Readonly<Record<string, string>> }): Promise<TaskRecord> {
    if (change.channel !== undefined && !channels.includes(change.channel)) throw new AcdError(AcdErrorCode.invalidProfile, `unknown channel "${change.channel}"`, { taskId });
    return this.#command((_now, draft) => {
      const task = this.#task(taskId);
      if (task.state === 'assigned') throw new AcdError(AcdErrorCode.wrongState, `task ${taskId} is assigned; it has no queue place to keep`, { taskId });
      if (task.state === 'offered') this.#releaseOfferSlot(draft, task);
      const patch = { state: 'waiting' as const, offer: null, channel: change.channel ?? task.channel, attributes: { ...task.attributes, ...change.attributes }, declinedBy: [] };
      return this.#putTask(draft, task, patch, (next, at, node) => ({ type: 'task-requeued', node, at, task: next, reason: 'continued' }));
    });
  }

  // ---- queries ------------------------------------------------------------------------------------------------------

  agent(agentId: string): AgentRecord {
    return this.#agent(agentId);
  }

  agentState(agentId: string): AgentState {
    return agentState(this.#agent(agentId), this.#clock.now());
  }

  /** A live task (waiting, offered or assigned). */
  task(taskId: string): TaskRecord {
    return this.#task(taskId);
  }

  /** Live tasks, for adapters and tests. */
  tasks(): IterableIterator<TaskRecord> {
    return this.#tasks.values();
  }

  agents(): IterableIterator<AgentRecord> {
    return this.#agents.values();
  }

  /** The agents (logged in) whom the queue's target expression lets take its tasks, whatever their state now. */
  agentsOf(queueName: string): AgentRecord[] {
    return this.#router.eligibleAgentIds(this.#queue(queueName)).map((id) => this.#agents.get(id)!);
  }

  /** 1-based place among the queue's waiting tasks in service order (priority, then enqueue time); 0 once offered. */
  position(taskId: string): number {
    const task = this.#task(taskId);
    return task.state === 'waiting' ? this.#tasksAhead(task) + 1 : 0;
  }

  /** Estimated wait of a waiting task from live state (Erlang A style, see estimate/wait.ts); 0 once offered. */
  estimatedWait(taskId: string): WaitEstimate {
    const task = this.#task(taskId);
    if (task.state !== 'waiting') return { waitMs: 0, answeredWaitMs: 0, abandonProbability: 0 };
    return this.#estimate(task, this.#tasksAhead(task));
  }

  /**
   * A node draining: hands the waiting tasks it owns, oldest first, to the other live nodes in turn. They route them
   * and run their timers from then on, each task keeping its place (enqueue time, priority, step); the channel here
   * keeps the customer and takes the offer whichever node makes it. Returns how many went; none without another node.
   */
  async handOver(): Promise<number> {
    const others = (await this.#store.liveNodes(this.#clock.now())).filter((node) => node !== this.nodeId);
    if (others.length === 0) return 0;
    const waiting = [...this.#tasks.values()].filter((t) => t.owner === this.nodeId && t.state === 'waiting').sort((a, b) => a.enqueuedAt - b.enqueuedAt);
    let handed = 0;
    for (const [i, { id }] of waiting.entries()) {
      const went = await this.#command((_now, draft) => {
        const task = this.#tasks.get(id);
        if (!task || task.owner !== this.nodeId || task.state !== 'waiting') return false;
        this.#putTask(draft, task, { owner: others[i % others.length]! }, (next, at, node) => ({ type: 'task-requeued', node, at, task: next, reason: `node ${this.nodeId} draining: handed to ${next.owner}` }));
        return true;
      });
      if (went) handed++;
    }
    this.#logger.info({ handed, to: others }, 'draining: waiting tasks handed to the other nodes');
    return handed;
  }

  /** Erases ended tasks by an attribute's values (a customer's data deletion; see AcdStore.forgetEndedTasks). */
  forgetEndedTasks(attribute: string, values: readonly string[]): Promise<number> {
    return this.#store.forgetEndedTasks(attribute, values);
  }

  /** Why the task's latest offer went where it went; works for ended tasks while the store keeps them. */
  async explain(taskId: string): Promise<Decision | null> {
    const live = this.#tasks.get(taskId);
    if (live) return live.decision;
    const ended = await this.#store.endedTask(taskId);
    if (!ended) throw new AcdError(AcdErrorCode.unknownTask, `unknown task ${taskId}`, { taskId });
    return ended.decision;
  }

  queueSnapshot(name: string): QueueSnapshot {
    const queue = this.#queue(name);
    const now = this.#clock.now();
    let waiting = 0;
    let offered = 0;
    let oldest = now;
    for (const task of this.#tasks.values()) {
      if (task.queue !== name || task.state === 'assigned') continue;
      if (task.state === 'waiting') waiting++;
      else offered++;
      oldest = Math.min(oldest, task.enqueuedAt);
    }
    const agents: Record<AgentState, number> = { 'logged-out': 0, available: 0, reserved: 0, busy: 0, 'wrap-up': 0, 'not-ready': 0 };
    for (const id of this.#router.eligibleAgentIds(queue)) agents[agentState(this.#agents.get(id)!, now)]++;
    const stats = this.#statsOf(name, now);
    const finished = stats.answered + stats.abandoned;
    return {
      queue: name, waiting, offered, longestWaitMs: now - oldest, agents,
      today: {
        answered: stats.answered, answeredWithinTarget: stats.answeredWithinTarget, abandoned: stats.abandoned,
        serviceLevelPercent: finished === 0 ? null : (100 * stats.answeredWithinTarget) / finished,
      },
      serviceLevelTarget: queue.serviceLevel,
      waitErrors: stats.waitErrors.summary(),
    };
  }

  // ---- simulated time -----------------------------------------------------------------------------------------------

  /**
   * Simulated time only: fires every timer due by `t` (the engine's and any the driver set on the same clock), each
   * followed by all the routing it causes, then leaves the clock at t.
   */
  async advanceTo(t: number): Promise<void> {
    const clock = this.#clock;
    if (!(clock instanceof SimulatedClock)) throw new InvalidStateError('advanceTo needs a SimulatedClock');
    await this.settled();
    while (await clock.fireNext(t)) await this.settled();
    await clock.advanceTo(t);
  }

  /** Resolves once no routing is pending and no commit is in flight. */
  async settled(): Promise<void> {
    while (this.#drainScheduled || this.#inFlight.size > 0) {
      if (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      else await Promise.resolve();
    }
  }

  // ---- commands: build a change from the replica, commit it, retry on a lost race ---------------------------------

  async #command<R>(build: (now: number, draft: Draft) => R): Promise<R> {
    this.#assertOpen();
    for (let attempt = 1; ; attempt++) {
      const draft = newDraft();
      const result = build(this.#clock.now(), draft);
      if (draft.refused !== undefined) {
        // The replica can be briefly inconsistent while a change of ours that lost a race is in flight (a newer
        // record from the log waits behind our unconfirmed one): let those settle, then build again.
        if (attempt < COMMAND_ATTEMPTS && this.#inFlight.size > 0) {
          await Promise.allSettled([...this.#inFlight]);
          continue;
        }
        throw new AcdError(AcdErrorCode.wrongState, draft.refused, {});
      }
      if (await this.#commit(draft, true)) return result;
      // Lost a race: the replica now holds the stored records, unless changes of ours based on older ones are still
      // in flight; let them land so that the next attempt starts from what the store has.
      if (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      // On a hot record (an agent with many slots, written by several nodes) back off a little, at random, so that
      // the retries of different writers spread out.
      if (attempt > 2 && this.#store.shared) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 2));
      if (attempt === COMMAND_ATTEMPTS) {
        throw new AcdError(AcdErrorCode.contention, `gave up after ${attempt} conflicting attempts`, { agents: draft.agents.map((a) => a.id), tasks: draft.tasks.map((t) => t.id) });
      }
    }
  }

  /**
   * Applies the draft to the replica at once (so that decisions made meanwhile see it), then commits it. On a lost
   * race the replica takes the store's records; on a store error it goes back to what it was, and `throwOnError`
   * decides whether the caller hears of it.
   */
  async #commit(draft: Draft, throwOnError: boolean): Promise<boolean> {
    if (draft.refused !== undefined) return false;
    const before = {
      agents: draft.agents.map((a) => this.#agents.get(a.id)),
      tasks: draft.tasks.map((t) => this.#tasks.get(t.id)),
    };
    for (const agent of draft.agents) this.#speculate(agent, () => this.#setAgent(agent));
    for (const task of draft.tasks) this.#speculate(task, () => this.#setTask(task));
    const change: Change = {
      node: this.nodeId, agents: draft.agents, agentOps: draft.agentOps, agentBases: draft.agentBases, tasks: draft.tasks, events: draft.events,
      taskBases: before.tasks.map((t) => t?.rev ?? ''),
    };
    const pending = this.#commitSurely(change);
    this.#inFlight.add(pending);
    try {
      const result = await pending;
      if (result.ok) {
        // Agents as the store made them (other nodes' operations may have landed in between), events with them.
        const committed = new Map<AgentRecord, AgentRecord>();
        result.agents?.forEach((agent, i) => {
          const drafted = draft.agents[i]!;
          committed.set(drafted, agent);
          const local = this.#agents.get(agent.id);
          // Usually the store made exactly what was drafted: then only the record object changes, not the indices.
          if (local === drafted && sameState(drafted, agent)) this.#agents.set(agent.id, agent);
          else if (local === drafted || (local?.v ?? 0) <= agent.v) this.#setAgent(agent);
        });
        for (const event of draft.events) {
          const agent = 'agent' in event ? committed.get(event.agent) : undefined;
          this.#publish(agent ? ({ ...event, agent } as AcdEvent) : event);
        }
        return true;
      }
      for (const [id, current] of result.agents) this.#adoptStored(this.#agents.get(id), current, (r) => this.#setAgent(r, id));
      for (const [id, current] of result.tasks) this.#adoptStored(this.#tasks.get(id), current, (r) => this.#setTask(r, id));
      return false;
    } catch (err) {
      draft.agents.forEach((agent, i) => this.#speculative.has(this.#agents.get(agent.id) ?? {}) && this.#setAgent(before.agents[i], agent.id));
      draft.tasks.forEach((task, i) => this.#speculative.has(this.#tasks.get(task.id) ?? {}) && this.#setTask(before.tasks[i], task.id));
      if (throwOnError) throw err instanceof AcdError ? err : new AcdError(AcdErrorCode.store, `store: ${(err as Error).message}`, {}, { cause: err });
      this.#logger.warn({ err }, 'commit failed; routing will be retried');
      return false;
    } finally {
      this.#inFlight.delete(pending);
      for (const agent of draft.agents) this.#speculative.delete(agent);
      for (const task of draft.tasks) this.#speculative.delete(task);
    }
  }

  /**
   * The store's answer to the change, resending it while the outcome is unknown (the connection dropped before the
   * reply): the store recognises a change it already wrote by its revisions, so resending never applies it twice.
   */
  async #commitSurely(change: Change): Promise<CommitResult> {
    const deadline = Date.now() + RESEND_FOR_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#store.commit(change);
      } catch (err) {
        if (this.#closed || Date.now() > deadline || (err instanceof Error && /CAPACITY/.test(err.message))) throw err;
        this.#logger.warn({ err: (err as Error).message, attempt }, 'commit outcome unknown; resending');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * attempt)));
      }
    }
  }

  #nextRev(): string {
    return this.#revPrefix + (this.#revCounter++).toString(36);
  }

  #speculate(record: object, apply: () => void): void {
    this.#speculative.add(record);
    apply();
  }

  /** After a lost race: the stored record wins over our unconfirmed one, or over an older one. */
  #adoptStored<R extends { v: number }>(local: R | undefined, stored: R | null, set: (r: R | undefined) => void): void {
    if (stored === null) {
      set(undefined);
    } else if (!local || this.#speculative.has(local) || stored.v >= local.v) {
      set(stored);
    }
  }

  /** A change committed by any node, from the store's log. Our own come back too: versions make them no-ops. */
  #applyRemote(change: Change): void {
    if (this.#closed) return;
    for (const agent of change.agents) {
      const local = this.#agents.get(agent.id);
      if (!local || agent.v > local.v || (agent.v === local.v && this.#speculative.has(local))) this.#setAgent(agent);
    }
    for (const task of change.tasks) {
      const local = this.#tasks.get(task.id);
      if (local) {
        if (task.v > local.v || (task.v === local.v && this.#speculative.has(local))) this.#setTask(task);
      } else if (this.#endedVersion(task.id) < task.v) {
        this.#setTask(task);
      }
    }
    if (change.node !== this.nodeId) for (const event of change.events) this.#publish(event);
  }

  /** After missed changes: reloads until the store answers (a failover can drop the first try's connection). */
  async #reloadSurely(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        await this.#reload();
        return;
      } catch (err) {
        if (this.#closed) return;
        this.#logger.warn({ err: (err as Error).message, attempt }, 'reload after missed changes failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * attempt)));
      }
    }
  }

  async #reload(): Promise<void> {
    const { agents, tasks } = await this.#store.load();
    // A commit of ours can land between the store's read and now: never go back to an older version of a record.
    for (const agent of agents) if ((this.#agents.get(agent.id)?.v ?? 0) <= agent.v) this.#setAgent(agent);
    for (const task of tasks) if ((this.#tasks.get(task.id)?.v ?? 0) <= task.v) this.#setTask(task);
  }

  // ---- the replica: every change to an agent or task passes here ----------------------------------------------------

  #setAgent(next: AgentRecord | undefined, id = next!.id): void {
    const prev = this.#agents.get(id);
    const now = this.#clock.now();
    if (next) this.#agents.set(id, next);
    else this.#agents.delete(id);
    this.#router.applyAgent(prev, next, now);
    const wrapTimer = this.#wrapUpTimers.get(id);
    if (wrapTimer && wrapTimer.at !== next?.wrapUpUntil) {
      this.#clock.clearTimer(wrapTimer);
      this.#wrapUpTimers.delete(id);
    }
    if (next && next.wrapUpUntil > now && !this.#wrapUpTimers.has(id)) {
      this.#wrapUpTimers.set(id, this.#clock.setTimer(next.wrapUpUntil, () => this.#wrapUpEnded(id)));
    }
    if (next && isReady(next, now) && channels.some((c) => hasFreeSlot(next, c, this.settings.crossChannel))) this.#markDirty(this.#dirtyAgents, id);
  }

  #setTask(next: TaskRecord | undefined, id = next!.id): void {
    const prev = this.#tasks.get(id);
    if (prev?.state === 'waiting') this.#countWaiting(prev, -1);
    if (next?.state === 'waiting') this.#countWaiting(next, 1);
    const ended = !next || next.state === 'completed' || next.state === 'abandoned';
    if (ended) {
      this.#tasks.delete(id);
      // Gone from the store (a lost race can tell us so before the log does): older copies must not bring it back.
      const endedAt = next?.v ?? prev?.v;
      if (endedAt !== undefined) this.#rememberEnded(id, endedAt);
    } else {
      this.#tasks.set(id, next);
    }
    this.#router.applyTask(prev, ended ? undefined : next, this.#queues);
    this.#armTaskTimer(ended ? undefined : next, id);
    if (!ended && next.state === 'waiting' && next.owner === this.nodeId) this.#markDirty(this.#dirtyTasks, id);
  }

  #countWaiting(task: TaskRecord, delta: number): void {
    const key = `${task.queue}\u0000${task.channel}`;
    let counts = this.#waitingByPriority.get(key);
    if (!counts) this.#waitingByPriority.set(key, (counts = new Map()));
    const n = (counts.get(task.priority) ?? 0) + delta;
    if (n === 0) counts.delete(task.priority);
    else counts.set(task.priority, n);
  }

  /** Waiting tasks of the queue and channel a task arriving now would wait behind: those of its priority or higher. */
  #aheadOfNewTask(task: TaskRecord): number {
    let ahead = 0;
    for (const [priority, n] of this.#waitingByPriority.get(`${task.queue}\u0000${task.channel}`) ?? []) if (priority >= task.priority) ahead += n;
    return ahead;
  }

  #rememberEnded(id: string, v: number): void {
    // The log delivers within seconds; this many ended tasks cover far longer than that at any realistic rate.
    if (this.#endedVersions.size >= ENDED_VERSIONS_KEPT && !this.#endedVersions.has(id)) {
      this.#endedVersionsOld = this.#endedVersions;
      this.#endedVersions = new Map();
    }
    this.#endedVersions.set(id, v);
  }

  /** The version at which the task ended, if it ended recently; 0 if not remembered. */
  #endedVersion(id: string): number {
    return this.#endedVersions.get(id) ?? this.#endedVersionsOld.get(id) ?? 0;
  }

  /** Wrap-up over: the agent is routable again. Every node sees the same time, so each re-indexes on its own. */
  #wrapUpEnded(id: string): void {
    this.#wrapUpTimers.delete(id);
    const agent = this.#agents.get(id);
    if (!agent) return;
    this.#setAgent(agent);
    this.#publish({ type: 'agent-state-changed', node: this.nodeId, at: this.#clock.now(), agent, state: agentState(agent, this.#clock.now()) });
  }

  // ---- routing ------------------------------------------------------------------------------------------------------

  #markDirty(set: Set<string>, id: string): void {
    set.add(id);
    if (this.#drainScheduled || this.#closed || !this.#started) return;
    this.#drainScheduled = true;
    queueMicrotask(() => this.#drain());
  }

  /** Routes everything marked since the last drain. Commits go out without waiting for each other (pipelined). */
  #drain(): void {
    this.#drainScheduled = false;
    if (this.#closed) return;
    const now = this.#clock.now();
    while (this.#dirtyTasks.size > 0 || this.#dirtyAgents.size > 0) {
      for (const id of this.#dirtyTasks) {
        this.#dirtyTasks.delete(id);
        const task = this.#tasks.get(id);
        if (!task || task.state !== 'waiting' || task.owner !== this.nodeId) continue;
        const match = this.#router.bestAgentFor(task, this.#agents, this.#queues, now);
        if (match) this.#reserve(match, now);
      }
      for (const id of this.#dirtyAgents) {
        this.#dirtyAgents.delete(id);
        const agent = this.#agents.get(id);
        if (!agent) continue;
        const match = this.#router.bestTaskFor(agent, this.#tasks, this.#queues, now, (owner) => owner === this.nodeId);
        if (match) this.#reserve(match, now);
      }
    }
  }

  #reserve({ agent, task, decision }: Match, now: number): void {
    const offer = { id: this.#nextRev(), agentId: agent.id, node: this.nodeId, at: now, expiresAt: now + this.settings.offerTimeoutSeconds * 1000 };
    const draft = newDraft();
    this.#putAgent(draft, agent, { reserved: { [task.channel]: 1 }, set: { lastOfferAt: now }, offer: task.channel });
    if (draft.refused) return;
    const offeredTo = draft.agents[0]!;
    this.#putTask(draft, task, { state: 'offered', offer, decision }, (next, at, node) => ({ type: 'task-offered', node, at, task: next, agent: offeredTo }));
    // A lost race re-marks the task or agent through the replica update; a store error is retried a little later.
    void this.#commit(draft, false).then((ok) => {
      if (!ok && this.#tasks.get(task.id)?.state === 'waiting' && !this.#closed) {
        this.#clock.setTimer(this.#clock.now() + 50, () => this.#markDirty(this.#dirtyTasks, task.id));
      }
    });
  }

  // ---- timers of the tasks this node owns ---------------------------------------------------------------------------

  /** One timer per task: its offer's expiry if this node made the offer, else its next escalation step or max wait. */
  #armTaskTimer(task: TaskRecord | undefined, id: string): void {
    const old = this.#taskTimers.get(id);
    const due = task ? this.#nextDue(task) : undefined;
    if (old && old.at === due?.at) return;
    if (old) {
      this.#clock.clearTimer(old);
      this.#taskTimers.delete(id);
    }
    if (due) this.#taskTimers.set(id, this.#clock.setTimer(due.at, () => this.#taskTimerFired(id)));
  }

  #nextDue(task: TaskRecord): { at: number } | undefined {
    if (task.state === 'offered' && task.offer?.node === this.nodeId) return { at: task.offer.expiresAt };
    if (task.state !== 'waiting' || task.owner !== this.nodeId) return undefined;
    const queue = this.#queues.get(task.queue);
    if (!queue) {
      this.#logger.error({ taskId: task.id, queue: task.queue }, 'task in a queue this node does not know: not routed');
      return undefined;
    }
    const step = queue.escalation[task.step + 1];
    const stepAt = step ? task.queuedAt + step.afterSeconds * 1000 : Infinity;
    const maxWaitAt = queue.maxWaitSeconds > 0 ? task.queuedAt + queue.maxWaitSeconds * 1000 : Infinity;
    const at = Math.min(stepAt, maxWaitAt);
    return at === Infinity ? undefined : { at };
  }

  async #taskTimerFired(id: string): Promise<void> {
    this.#taskTimers.delete(id);
    if (this.#closed) return;
    try {
      await this.#command((now, draft) => {
        const task = this.#tasks.get(id);
        if (!task) return;
        if (task.state === 'offered' && task.offer?.node === this.nodeId && task.offer.expiresAt <= now) {
          this.#withdrawOffer(draft, task, 'timeout');
        } else if (task.state === 'waiting' && task.owner === this.nodeId) {
          this.#escalate(draft, task, now);
        }
      });
    } catch (err) {
      this.#logger.warn({ err, taskId: id }, 'task timer: change not committed; retrying');
      this.#taskTimers.set(id, this.#clock.setTimer(this.#clock.now() + 1000, () => this.#taskTimerFired(id)));
    }
  }

  /** Max wait first (it ends the task's time in this queue), else every escalation step now due, in order. */
  #escalate(draft: Draft, task: TaskRecord, now: number): void {
    const queue = this.#queues.get(task.queue)!;
    if (queue.maxWaitSeconds > 0 && now >= task.queuedAt + queue.maxWaitSeconds * 1000) {
      const fallback = queue.fallback === null ? undefined : this.#queues.get(queue.fallback);
      if (fallback) {
        this.#putTask(draft, task, moveTo(fallback, now), (next, at, node) => ({ type: 'task-requeued', node, at, task: next, reason: `max wait in ${queue.name}: moved to ${fallback.name}` }));
      } else {
        this.#endUnanswered(draft, task, now, 'max-wait');
      }
      return;
    }
    let next: TaskRecord = task;
    const taken: EscalationStep[] = [];
    for (let i = task.step + 1; i < queue.escalation.length; i++) {
      const step = queue.escalation[i]!;
      if (now < task.queuedAt + step.afterSeconds * 1000) break;
      taken.push(step);
      next = { ...next, step: i };
      if (step.action === 'relax') next = { ...next, relaxedTarget: step.value };
      else if (step.action === 'widen' && !next.widened.includes(step.value!)) next = { ...next, widened: [...next.widened, step.value!] };
      else if (step.action === 'raise-priority') next = { ...next, priority: next.priority + Number(step.value) };
      else if (step.action === 'overflow') {
        next = { ...next, ...moveTo(this.#queues.get(step.value!)!, now) };
        break;
      }
    }
    if (taken.length === 0) return;
    const updated = { ...next, v: task.v + 1, rev: this.#nextRev() };
    draft.tasks.push(updated);
    for (const step of taken) {
      draft.events.push({ type: 'task-escalated', node: this.nodeId, at: now, task: updated, step });
      if (step.action === 'offer-callback') draft.events.push({ type: 'callback-offered', node: this.nodeId, at: now, task: updated });
    }
  }

  // ---- leases: a node that stops renewing loses its offers and its tasks to the others ------------------------------

  /**
   * Takes this node's lease, or refuses to start: while another process holds the node id (a restarted node waits up
   * to two leases for its previous instance's to run out; a live duplicate keeps renewing and is refused), or when a
   * live node routes with another configuration, naming the keys that differ.
   */
  async #join(): Promise<void> {
    const leaseMs = this.settings.nodeLeaseSeconds * 1000;
    const config = routingConfiguration(this.settings);
    const giveUpAt = Date.now() + 2 * leaseMs;
    for (let waited = false; ; waited = true) {
      const now = this.#clock.now();
      const joined = await this.#store.join(this.nodeId, this.#instance, now + leaseMs, now, config);
      if (joined.ok) {
        this.#joined = true;
        return;
      }
      if ('differing' in joined) {
        const keys = joined.differing.map((key) => `acd.${key}`).join(', ');
        throw new AcdError(AcdErrorCode.configMismatch, `node ${this.nodeId} routes with another configuration than live node ${joined.node}: ${keys} differ; every node sharing this Redis needs the same acd settings`, {
          node: joined.node, differing: joined.differing,
        });
      }
      if (Date.now() > giveUpAt) {
        throw new AcdError(AcdErrorCode.nodeIdHeld, `node id ${this.nodeId} is held by another running onecc (its lease keeps being renewed, now until ${new Date(joined.heldUntil).toISOString()}); give each node its own acd.nodeId`, {
          node: this.nodeId,
        });
      }
      if (!waited) this.#logger.warn({ heldUntil: joined.heldUntil }, 'node id held by a previous instance: waiting for its lease to run out');
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, leaseMs / 4)));
    }
  }

  async #keepLease(): Promise<void> {
    const leaseMs = this.settings.nodeLeaseSeconds * 1000;
    const tick = async (): Promise<void> => {
      if (this.#closed) return;
      const now = this.#clock.now();
      try {
        if (!(await this.#store.renewLease(this.nodeId, this.#instance, now + leaseMs))) {
          // Our lease ran out (this process stalled) and another process took the node id: two may never route as one.
          this.#logger.error({ node: this.nodeId }, 'ACD node id taken over by another process: this node stops routing');
          this.#fenced = true;
          await this.close();
          return;
        }
        for (const dead of await this.#store.expiredNodes(now)) if (dead !== this.nodeId) await this.#takeOver(dead);
      } catch (err) {
        this.#logger.warn({ err }, 'lease renewal or sweep failed');
      }
      if (!this.#closed) this.#leaseTimer = this.#clock.setTimer(this.#clock.now() + leaseMs / 3, tick);
    };
    await tick();
  }

  /** Withdraws the dead node's offers (no RONA: the agent did nothing wrong) and adopts its tasks, in their places. */
  async #takeOver(dead: string): Promise<void> {
    const orphans = [...this.#tasks.values()].filter((t) => t.owner === dead || t.offer?.node === dead);
    this.#logger.warn({ dead, tasks: orphans.length }, 'node lease expired: taking over its offers and tasks');
    const adopted = new Set<string>();
    for (const orphan of orphans) {
      await this.#command((_now, draft) => {
        const task = this.#tasks.get(orphan.id);
        if (!task || (task.owner !== dead && task.offer?.node !== dead)) return;
        const owner = task.owner === dead ? this.nodeId : task.owner;
        if (task.state === 'offered' && task.offer?.node === dead) this.#withdrawOffer(draft, task, 'node-lost', { owner });
        else this.#putTask(draft, task, { owner });
        if (owner === this.nodeId) adopted.add(task.id);
      });
    }
    await this.#store.forgetNode(dead);
    this.safeEmit('node-lost', { node: dead, adopted: [...adopted] });
  }

  // ---- building changes ---------------------------------------------------------------------------------------------

  /** Adds an operation on the agent, and its result on the record as this node has it, to the draft. */
  #putAgent(draft: Draft, agent: AgentRecord, change: AgentChange): void {
    const now = this.#clock.now();
    const op: AgentOp = { ...change, id: agent.id, rev: this.#nextRev(), now };
    const result = applyAgentOp(change.create ? undefined : agent, op, this.settings.crossChannel);
    if (!result.ok) {
      draft.refused ??= result.reason;
      return;
    }
    draft.agentOps.push(op);
    draft.agentBases.push(change.create ? '' : agent.rev);
    draft.agents.push(result.agent);
    const before = agentState(agent, now);
    const after = agentState(result.agent, now);
    // A new not-ready reason is news too (supervisors, reports of time not ready by reason).
    const newReason = after === 'not-ready' && agent.reason !== result.agent.reason;
    if (before !== after || newReason || change.create) draft.events.push({ type: 'agent-state-changed', node: this.nodeId, at: now, agent: result.agent, state: after });
  }

  /** Adds the task's next version to the draft, and the event `event` makes of it. */
  #putTask(draft: Draft, task: TaskRecord, patch: Partial<TaskRecord>, event?: (next: TaskRecord, at: number, node: string) => AcdEvent): TaskRecord {
    const next: TaskRecord = { ...task, ...patch, v: task.v + 1, rev: this.#nextRev() };
    draft.tasks.push(next);
    if (event) draft.events.push(event(next, this.#clock.now(), this.nodeId));
    return next;
  }

  /** Drafts the agent's record with the task's offer slot given back (and `patch`); undefined if the agent is gone. */
  #releaseOfferSlot(draft: Draft, task: TaskRecord, set?: AgentChange['set']): AgentRecord | undefined {
    const agent = this.#agents.get(task.offer!.agentId);
    if (!agent) return undefined;
    this.#putAgent(draft, agent, { set, reserved: { [task.channel]: -1 } });
    return draft.agents.at(-1);
  }

  /** The offered task goes back to its place; the agent's slot is freed (and on timeout, RONA: not-ready). */
  #withdrawOffer(draft: Draft, task: TaskRecord, reason: 'rejected' | 'timeout' | 'node-lost', patch: Partial<TaskRecord> = {}): TaskRecord {
    const agentId = task.offer!.agentId;
    const agent = this.#releaseOfferSlot(draft, task, reason === 'timeout' ? { presence: 'not-ready', reason: this.settings.ronaReason } : undefined);
    const declinedBy = reason === 'node-lost' ? task.declinedBy : [...task.declinedBy, agentId];
    return this.#putTask(draft, task, { state: 'waiting', offer: null, declinedBy, ...patch }, (next, at, node) =>
      agent ? { type: 'task-rejected', node, at, task: next, agent, reason } : { type: 'task-requeued', node, at, task: next, reason: `offer to ${agentId} withdrawn (${reason})` },
    );
  }

  #endUnanswered(draft: Draft, task: TaskRecord, now: number, reason: string): TaskRecord {
    if (task.state === 'offered') this.#releaseOfferSlot(draft, task);
    return this.#putTask(draft, task, { state: 'abandoned', offer: null, endedAt: now, endReason: reason }, (next, at, node) => ({ type: 'task-abandoned', node, at, task: next }));
  }

  // ---- events and statistics ----------------------------------------------------------------------------------------

  #publish(event: AcdEvent): void {
    this.#count(event);
    this.safeEmit(event.type, event as never);
    this.safeEmit('event', event);
  }

  #count(event: AcdEvent): void {
    if (event.type !== 'task-accepted' && event.type !== 'task-abandoned' && event.type !== 'task-completed') return;
    const task = event.task;
    if (!this.#queues.has(task.queue)) return;
    const stats = this.#statsOf(task.queue, event.at);
    if (event.type === 'task-completed') {
      stats.handleTimes.record(event.at - task.acceptedAt + this.settings.wrapUpSeconds[task.channel] * 1000);
      return;
    }
    const waited = event.at - task.enqueuedAt;
    stats.patience.record(waited, event.type === 'task-abandoned');
    const predicted = this.#predictedWait.get(task.id);
    this.#predictedWait.delete(task.id);
    if (event.type === 'task-abandoned') {
      stats.abandoned++;
      return;
    }
    stats.answered++;
    if (waited <= this.#queues.get(task.queue)!.serviceLevel.seconds * 1000) stats.answeredWithinTarget++;
    if (predicted !== undefined) stats.waitErrors.record(predicted, waited);
  }

  #statsOf(queue: string, now: number): QueueStats {
    const day = Math.floor(now / DAY_MS);
    let stats = this.#stats.get(queue);
    if (!stats) {
      stats = { day, answered: 0, answeredWithinTarget: 0, abandoned: 0, handleTimes: new HandleTimeTracker(), patience: new PatienceTracker(), waitErrors: new WaitErrorRecorder() };
      this.#stats.set(queue, stats);
    } else if (stats.day !== day) {
      Object.assign(stats, { day, answered: 0, answeredWithinTarget: 0, abandoned: 0 });
    }
    return stats;
  }

  #estimate(task: TaskRecord, tasksAhead: number): WaitEstimate {
    const { slots, busySlots } = this.#router.slotsFor(task, this.#queues);
    const stats = this.#statsOf(task.queue, this.#clock.now());
    return estimateWait({
      slots,
      busySlots,
      tasksAhead,
      meanHandleMs: stats.handleTimes.meanMs() ?? this.#defaultHandleMs,
      abandonRatePerMs: stats.patience.ratePerMs() ?? 0,
    });
  }

  // ---- lookups and checks -------------------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the ACD engine is closed');
  }

  #agent(id: string): AgentRecord {
    const agent = this.#agents.get(id);
    if (!agent) throw new AcdError(AcdErrorCode.unknownAgent, `unknown agent ${id}`, { agentId: id });
    return agent;
  }

  #task(id: string): TaskRecord {
    const task = this.#tasks.get(id);
    if (!task) throw new AcdError(AcdErrorCode.unknownTask, `unknown task ${id} (never queued, or ended)`, { taskId: id });
    return task;
  }

  #queue(name: string): QueueDefinition {
    const queue = this.#queues.get(name);
    if (!queue) throw new AcdError(AcdErrorCode.unknownQueue, `unknown queue "${name}"`, { queue: name });
    return queue;
  }

  /** The queue itself, or its fallback chain while full. */
  #placeable(queue: QueueDefinition): QueueDefinition {
    const seen = new Set<string>();
    for (let q = queue; ; ) {
      if (q.maxSize === 0 || this.#liveIn(q.name) < q.maxSize) return q;
      seen.add(q.name);
      const fallback = q.fallback === null ? undefined : this.#queues.get(q.fallback);
      if (!fallback || seen.has(fallback.name)) {
        throw new AcdError(AcdErrorCode.queueFull, `queue "${queue.name}" is full (${queue.maxSize} tasks)${seen.size > 1 ? ', and so is its fallback chain' : ''}`, { queue: queue.name });
      }
      q = fallback;
    }
  }

  /** Waiting tasks of the same queue and channel that will be offered first. O(tasks). */
  #tasksAhead(task: TaskRecord): number {
    let ahead = 0;
    for (const other of this.#tasks.values()) {
      if (other.queue === task.queue && other.state === 'waiting' && other.channel === task.channel && other.id !== task.id && servedBefore(other, task)) ahead++;
    }
    return ahead;
  }

  #liveIn(queue: string): number {
    let n = 0;
    for (const task of this.#tasks.values()) if (task.queue === queue && task.state !== 'assigned') n++;
    return n;
  }

  #offeredTo(taskId: string, agentId: string): TaskRecord {
    const task = this.#task(taskId);
    this.#agent(agentId);
    if (task.state !== 'offered' || task.offer?.agentId !== agentId) {
      const now = task.state === 'offered' ? `offered to ${task.offer!.agentId}` : task.state;
      throw new AcdError(AcdErrorCode.wrongState, `task ${taskId} is not offered to agent ${agentId} (it is ${now})`, { taskId, agentId });
    }
    return task;
  }

  #checkProfile(agentId: string, profile: AgentProfile): void {
    const bad = (reason: string) => new AcdError(AcdErrorCode.invalidProfile, `agent ${agentId}: ${reason}`, { agentId });
    for (const [skill, level] of Object.entries(profile.skills)) {
      if (!this.#skills.has(skill)) throw new AcdError(AcdErrorCode.unknownSkill, `agent ${agentId}: unknown skill "${skill}"`, { agentId, skill });
      if (!Number.isInteger(level) || level < 1 || level > 10) throw bad(`proficiency in ${skill} must be an integer 1-10 (got ${level})`);
    }
    for (const language of profile.languages) if (!this.#languages.has(language)) throw bad(`unknown language "${language}"`);
    if (profile.capacity) {
      for (const c of channels) {
        const n = profile.capacity[c];
        if (!Number.isInteger(n) || n < 0 || n > 100) throw bad(`capacity for ${c} must be an integer 0-100 (got ${n})`);
      }
    }
  }
}

/** The state people see, derived from presence, wrap-up, offers and tasks in hand. */
export function agentState(agent: AgentRecord, now: number): AgentState {
  if (agent.presence === 'logged-out') return 'logged-out';
  if (agent.presence === 'not-ready') return 'not-ready';
  if (agent.wrapUpUntil > now) return 'wrap-up';
  if (channels.some((c) => agent.reserved[c] > 0)) return 'reserved';
  if (channels.some((c) => agent.busy[c] > 0)) return 'busy';
  return 'available';
}

/** Into another queue, keeping enqueue time and priority; escalation starts over there. */
function moveTo(queue: QueueDefinition, now: number): Partial<TaskRecord> {
  return { queue: queue.name, queuedAt: now, step: -1, widened: [], relaxedTarget: null };
}

/** Same routing-relevant state (the profile aside, which operations on slots never change). */
function sameState(a: AgentRecord, b: AgentRecord): boolean {
  return a.v === b.v && a.presence === b.presence && a.wrapUpUntil === b.wrapUpUntil && a.idleSince === b.idleSince && a.lastOfferAt === b.lastOfferAt &&
    channels.every((c) => a.reserved[c] === b.reserved[c] && a.busy[c] === b.busy[c] && a.capacity[c] === b.capacity[c]);
}

function servedBefore(a: TaskRecord, b: TaskRecord): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.enqueuedAt !== b.enqueuedAt ? a.enqueuedAt < b.enqueuedAt : a.id < b.id;
}
