/*
 * The ACD's vocabulary: channels, agents, queues, tasks, offers and the explanation every routing decision carries.
 * Records are plain JSON-able objects: the same shape lives in the node's memory, in Redis and in published events.
 */

export const channels = ['voice', 'video', 'chat', 'email'] as const;
export type Channel = (typeof channels)[number];
export type PerChannel<T> = Record<Channel, T>;

/**
 * While the agent holds (is offered or handles) any task on one of `whileOn`, the agent takes at most `limits[c]`
 * tasks of channel c in all. "While on voice or video, no new voice/video but up to 2 chats" is
 * `{ whileOn: [voice, video], limits: { voice: 0, video: 0, chat: 2, email: 0 } }` (0 only forbids *new* ones: the
 * task that triggered the rule is already counted).
 */
export interface CrossChannelRule {
  readonly whileOn: readonly Channel[];
  readonly limits: PerChannel<number>;
}

/** What an agent brings when logging in. Skills and languages must be known to the ACD (config acd.skills/languages). */
export interface AgentProfile {
  /** skill → proficiency 1–10 */
  readonly skills: Readonly<Record<string, number>>;
  readonly languages: readonly string[];
  /** Defaults to the ACD's default capacity. */
  readonly capacity?: PerChannel<number>;
}

/** How the agent presents itself; routing also needs a free slot, and no wrap-up. */
export type Presence = 'logged-out' | 'ready' | 'not-ready';

/** The state shown to people and published: derived from presence, wrap-up, reservations and assigned tasks. */
export type AgentState = 'logged-out' | 'available' | 'reserved' | 'busy' | 'wrap-up' | 'not-ready';

export interface AgentRecord {
  readonly id: string;
  /** Increases by one with every change: which of two copies is newer. */
  readonly v: number;
  /** Unique to this version (writer + counter): a write is checked against the revision it was based on. */
  readonly rev: string;
  readonly presence: Presence;
  /** Reason code while not-ready (e.g. "break", "rona"); null otherwise. */
  readonly reason: string | null;
  readonly skills: Readonly<Record<string, number>>;
  readonly languages: readonly string[];
  readonly capacity: PerChannel<number>;
  /** Offers outstanding per channel (each holds one capacity slot). */
  readonly reserved: PerChannel<number>;
  /** Tasks being handled per channel. */
  readonly busy: PerChannel<number>;
  /** Time (clock ms) wrap-up ends; 0 when not in wrap-up. */
  readonly wrapUpUntil: number;
  /** Time the agent last became free of all work or ready: the longest-idle key. */
  readonly idleSince: number;
  /** Time of the agent's last offer: the round-robin key. */
  readonly lastOfferAt: number;
}

export type RoutingStrategy = 'longest-idle' | 'most-skilled' | 'round-robin' | 'least-occupied';
export const routingStrategies: readonly RoutingStrategy[] = ['longest-idle', 'most-skilled', 'round-robin', 'least-occupied'];

export type EscalationAction = 'relax' | 'widen' | 'raise-priority' | 'overflow' | 'offer-callback';
export const escalationActions: readonly EscalationAction[] = ['relax', 'widen', 'raise-priority', 'overflow', 'offer-callback'];

/**
 * One escalation step, taken `afterSeconds` after the task entered its queue:
 * relax: `value` is the target expression from now on (usually lower levels);
 * widen: `value` is another queue whose agents may now take the task too (the task stays in its queue);
 * raise-priority: `value` (an integer) is added to the priority;
 * overflow: the task moves to queue `value`, keeping its enqueue time and priority;
 * offer-callback: the channel is asked (event `callback-offered`) to offer the customer a callback.
 */
export interface EscalationStep {
  readonly afterSeconds: number;
  readonly action: EscalationAction;
  readonly value: string | null;
}

export interface QueueDefinition {
  readonly name: string;
  /** e.g. `billing >= 5 and lang:zh-TW`; see target-expression.ts */
  readonly target: string;
  readonly strategy: RoutingStrategy;
  /** Service level: `percent` % answered within `seconds`. */
  readonly serviceLevel: { readonly percent: number; readonly seconds: number };
  /** A task waiting longer goes to `fallback` (or is abandoned with reason max-wait); 0: no limit. */
  readonly maxWaitSeconds: number;
  /** Tasks beyond this go to `fallback` (or are refused); 0: no limit. */
  readonly maxSize: number;
  readonly fallback: string | null;
  readonly escalation: readonly EscalationStep[];
}

export type TaskState = 'waiting' | 'offered' | 'assigned' | 'completed' | 'abandoned';

/** A live reservation: one task, one agent slot, until accepted, rejected or timed out. */
export interface Offer {
  readonly id: string;
  readonly agentId: string;
  /** The onecc node that made it; its lease covers the offer. */
  readonly node: string;
  readonly at: number;
  readonly expiresAt: number;
}

export interface TaskRecord {
  readonly id: string;
  readonly v: number;
  readonly rev: string;
  readonly channel: Channel;
  readonly attributes: Readonly<Record<string, string>>;
  /** Higher is served first. */
  readonly priority: number;
  /** When the task first entered a queue; it keeps it through overflow, callback and channel change. */
  readonly enqueuedAt: number;
  readonly queue: string;
  /** When it entered `queue` (differs from enqueuedAt after an overflow): escalation and max wait count from here. */
  readonly queuedAt: number;
  /** Index of the last escalation step taken; -1 before the first. */
  readonly step: number;
  /** Queues widened to by escalation (their agents may take the task too). */
  readonly widened: readonly string[];
  /** The expression in force after relax steps; null: the queue's own target. */
  readonly relaxedTarget: string | null;
  readonly state: TaskState;
  readonly offer: Offer | null;
  /** The agent handling it once accepted, and when. */
  readonly agentId: string | null;
  readonly acceptedAt: number;
  /** Agents who rejected the task or let an offer time out: it is not offered to them again. */
  readonly declinedBy: readonly string[];
  /** The onecc node that runs its timers (escalation, max wait); taken over by another node if it dies. */
  readonly owner: string;
  /** Why the latest offer went where it went. */
  readonly decision: Decision | null;
  readonly endedAt: number;
  /** Why it ended (abandoned: caller-hung-up, max-wait, queue-full ...). */
  readonly endReason: string | null;
}

/** Why an offer went to that agent. Every offer carries one; `AcdEngine.explain()` returns it for any task. */
export interface Decision {
  readonly at: number;
  /** What started the decision (transfer: an agent handed the task to this one, EnqueueRequest.offerTo). */
  readonly trigger: 'task-routable' | 'agent-available' | 'transfer';
  /** Escalation step in force (-1: none yet). */
  readonly step: number;
  readonly queue: string;
  /** The expression the agent matched, and whether it was the task's own queue or a widened one. */
  readonly expression: string;
  readonly via: 'own-queue' | 'widened';
  readonly strategy: RoutingStrategy;
  /** Logged-in agents considered for the matched target. */
  readonly considered: number;
  /** How many were passed over and why. */
  readonly rejected: {
    /** Their skills/levels/languages do not satisfy the expression. */
    readonly proficiency: number;
    /** Not ready, or in wrap-up. */
    readonly state: number;
    /** No free slot for this channel (capacity or cross-channel rule). */
    readonly capacity: number;
    /** Declined this task before. */
    readonly declined: number;
  };
  readonly agentId: string;
  /** The tie-break in words, e.g. "longest idle: idle since 1712.3 s, next best ag-7 since 1714.0 s". */
  readonly tieBreak: string;
}

/** Everything the ACD publishes (Redis stream and the engine's local emitter). `node` is the node that committed it. */
export type AcdEvent =
  | { readonly type: 'task-created'; readonly node: string; readonly at: number; readonly task: TaskRecord }
  | { readonly type: 'task-offered'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly agent: AgentRecord }
  | { readonly type: 'task-accepted'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly agent: AgentRecord }
  | { readonly type: 'task-rejected'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly agent: AgentRecord; readonly reason: 'rejected' | 'timeout' | 'node-lost' }
  | { readonly type: 'task-requeued'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly reason: string }
  | { readonly type: 'task-escalated'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly step: EscalationStep }
  | { readonly type: 'callback-offered'; readonly node: string; readonly at: number; readonly task: TaskRecord }
  | { readonly type: 'task-abandoned'; readonly node: string; readonly at: number; readonly task: TaskRecord }
  | { readonly type: 'task-completed'; readonly node: string; readonly at: number; readonly task: TaskRecord; readonly agent: AgentRecord }
  | { readonly type: 'agent-state-changed'; readonly node: string; readonly at: number; readonly agent: AgentRecord; readonly state: AgentState };

export type AcdEventType = AcdEvent['type'];
