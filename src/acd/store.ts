import { applyAgentOp, type AgentOp } from './agent-op';
import type { AcdEvent, AgentRecord, CrossChannelRule, TaskRecord } from './types';

/**
 * One atomic change. Agents change by operations applied to them as stored (agent-op.ts); tasks are written only if
 * the stored revision is still the one they were based on (`taskBases`, same order; "" = must not exist yet). A
 * task in state completed or abandoned is retired: removed from the live set and kept, for explain(), a while.
 */
export interface Change {
  readonly node: string;
  /** The agents as the change leaves them: as drafted (to commit) or as committed (read back from the log). */
  readonly agents: readonly AgentRecord[];
  /** The operations that make `agents`, same order; absent in changes read back from the log. */
  readonly agentOps?: readonly AgentOp[];
  /** Revision of the record each operation was drafted on ("" for a new agent): where the store still has it, the
   * drafted result is the result. */
  readonly agentBases?: readonly string[];
  readonly tasks: readonly TaskRecord[];
  readonly taskBases?: readonly string[];
  /** An event's `agent`/`task` is the very record of `agents`/`tasks` when the change touches it. */
  readonly events: readonly AcdEvent[];
}

/**
 * ok: written, `agents` as committed (absent when the change had been written already, by a resend); conflict:
 * nothing written; `agents`/`tasks` hold the stored record of every one the change touches (null: absent).
 */
export type CommitResult =
  | { readonly ok: true; readonly agents?: readonly AgentRecord[] }
  | { readonly ok: false; readonly agents: ReadonlyMap<string, AgentRecord | null>; readonly tasks: ReadonlyMap<string, TaskRecord | null> };

export type JoinResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly heldUntil: number }
  | { readonly ok: false; readonly node: string; readonly differing: readonly string[] };

/** Where the ACD's shared state lives: memory (one node, simulated time) or Redis (any number of nodes). */
export interface AcdStore {
  /** True when other nodes may write too: the engine then keeps a lease and follows their changes. */
  readonly shared: boolean;
  /** The cross-channel rules offers are checked against where the agents are stored. */
  useRules(rules: readonly CrossChannelRule[]): void;
  load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }>;
  commit(change: Change): Promise<CommitResult>;
  /**
   * Changes as committed by every node, in commit order. `resync` is called instead when changes were missed (the
   * log was trimmed past this node, or the store lost them): the engine then reloads.
   */
  follow(onChange: (change: Change) => void, resync: () => void): void;
  endedTask(id: string): Promise<TaskRecord | null>;
  /**
   * Erases the ended tasks whose attribute `attribute` is one of `values`, and whatever the store keeps of them
   * besides (the change log): a customer's data deletion. Returns how many tasks it erased.
   */
  forgetEndedTasks(attribute: string, values: readonly string[]): Promise<number>;
  /**
   * The node's first lease (lua/joinNode.lua): refused while another live process holds the id, or when a live node
   * routes with another configuration (`config`: setting key -> canonical JSON, see routingConfiguration()).
   */
  join(node: string, instance: string, until: number, now: number, config: Readonly<Record<string, string>>): Promise<JoinResult>;
  /** Extends the lease; false when another process holds the node id now (this one must stop). */
  renewLease(node: string, instance: string, until: number): Promise<boolean>;
  /** A clean close: gives up the node id (a restart takes it at once), keeps the lease (see lua/releaseNode.lua). */
  releaseNode(node: string, instance: string): Promise<void>;
  /** Nodes whose lease runs past `now`. */
  liveNodes(now: number): Promise<string[]>;
  /** Nodes whose lease ended before `now`. */
  expiredNodes(now: number): Promise<string[]>;
  forgetNode(node: string): Promise<void>;
  close(): Promise<void>;
}

function storedRev(map: ReadonlyMap<string, { rev: string }>, id: string): string {
  return map.get(id)?.rev ?? '';
}

/**
 * The store of a single node: no lease, no log, commits checked against the versions it holds like Redis does (so a
 * bug that would double-assign shows up in simulation too). Keeps the last `endedTasksKept` ended tasks for explain().
 */
export class MemoryStore implements AcdStore {
  readonly shared = false;
  readonly #agents = new Map<string, AgentRecord>();
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #ended = new Map<string, TaskRecord>();

  #rules: readonly CrossChannelRule[] = [];

  constructor(private readonly endedTasksKept = 10_000) {}

  useRules(rules: readonly CrossChannelRule[]): void {
    this.#rules = rules;
  }

  async load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }> {
    return { agents: [...this.#agents.values()], tasks: [...this.#tasks.values()] };
  }

  async commit(change: Change): Promise<CommitResult> {
    const conflict = (): CommitResult => ({
      ok: false,
      agents: new Map(change.agents.map((a) => [a.id, this.#agents.get(a.id) ?? null])),
      tasks: new Map(change.tasks.map((t) => [t.id, this.#tasks.get(t.id) ?? null])),
    });
    if (!change.tasks.every((t, i) => storedRev(this.#tasks, t.id) === change.taskBases?.[i])) return conflict();
    const agents: AgentRecord[] = [];
    const ops = change.agentOps ?? [];
    for (let i = 0; i < ops.length; i++) {
      const stored = this.#agents.get(ops[i]!.id);
      if ((stored?.rev ?? '') === change.agentBases?.[i]) {
        agents.push(change.agents[i]!);
        continue;
      }
      const result = applyAgentOp(stored, ops[i]!, this.#rules);
      if (!result.ok) return conflict();
      agents.push(result.agent);
    }
    for (const agent of agents) this.#agents.set(agent.id, agent);
    for (const task of change.tasks) {
      if (task.state === 'completed' || task.state === 'abandoned') {
        this.#tasks.delete(task.id);
        this.#ended.set(task.id, task);
        if (this.#ended.size > this.endedTasksKept) this.#ended.delete(this.#ended.keys().next().value!);
      } else {
        this.#tasks.set(task.id, task);
      }
    }
    return { ok: true, agents };
  }

  follow(): void {
    // Nobody else writes.
  }

  async endedTask(id: string): Promise<TaskRecord | null> {
    return this.#ended.get(id) ?? null;
  }

  async forgetEndedTasks(attribute: string, values: readonly string[]): Promise<number> {
    const wanted = new Set(values);
    let erased = 0;
    for (const [id, task] of this.#ended) {
      const value = task.attributes[attribute];
      if (value !== undefined && wanted.has(value)) {
        this.#ended.delete(id);
        erased++;
      }
    }
    return erased;
  }

  async join(): Promise<JoinResult> {
    return { ok: true };
  }

  async renewLease(): Promise<boolean> {
    return true;
  }

  async releaseNode(): Promise<void> {}

  async liveNodes(): Promise<string[]> {
    return [];
  }

  async expiredNodes(): Promise<string[]> {
    return [];
  }

  async forgetNode(): Promise<void> {}

  async close(): Promise<void> {}
}
