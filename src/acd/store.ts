import type { AcdEvent, AgentRecord, TaskRecord } from './types';

/**
 * One atomic change: every record is written only if the stored revision is still the one it was based on
 * (`bases`, same order; "" = must not exist yet). A task record in state completed or abandoned is retired: removed
 * from the live set and kept, for explain(), as an ended task for a while.
 */
export interface Change {
  readonly node: string;
  readonly agents: readonly AgentRecord[];
  readonly tasks: readonly TaskRecord[];
  readonly events: readonly AcdEvent[];
  /** Absent in changes read back from the log, which are applied, not checked. */
  readonly bases?: { readonly agents: readonly string[]; readonly tasks: readonly string[] };
}

/**
 * ok: written (or found already written, when a command is resent after a reconnect);
 * conflict: nothing written; `current` holds the stored version of every record of the change (null: absent).
 */
export type CommitResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly agents: ReadonlyMap<string, AgentRecord | null>; readonly tasks: ReadonlyMap<string, TaskRecord | null> };

/** Where the ACD's shared state lives: memory (one node, simulated time) or Redis (any number of nodes). */
export interface AcdStore {
  /** True when other nodes may write too: the engine then keeps a lease and follows their changes. */
  readonly shared: boolean;
  load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }>;
  commit(change: Change): Promise<CommitResult>;
  /**
   * Changes as committed by every node, in commit order. `resync` is called instead when changes were missed (the
   * log was trimmed past this node, or the store lost them): the engine then reloads.
   */
  follow(onChange: (change: Change) => void, resync: () => void): void;
  endedTask(id: string): Promise<TaskRecord | null>;
  renewLease(node: string, until: number): Promise<void>;
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

  constructor(private readonly endedTasksKept = 10_000) {}

  async load(): Promise<{ agents: AgentRecord[]; tasks: TaskRecord[] }> {
    return { agents: [...this.#agents.values()], tasks: [...this.#tasks.values()] };
  }

  async commit(change: Change): Promise<CommitResult> {
    const fresh =
      change.agents.every((a, i) => storedRev(this.#agents, a.id) === change.bases?.agents[i]) &&
      change.tasks.every((t, i) => storedRev(this.#tasks, t.id) === change.bases?.tasks[i]);
    if (!fresh) {
      return {
        ok: false,
        agents: new Map(change.agents.map((a) => [a.id, this.#agents.get(a.id) ?? null])),
        tasks: new Map(change.tasks.map((t) => [t.id, this.#tasks.get(t.id) ?? null])),
      };
    }
    for (const agent of change.agents) this.#agents.set(agent.id, agent);
    for (const task of change.tasks) {
      if (task.state === 'completed' || task.state === 'abandoned') {
        this.#tasks.delete(task.id);
        this.#ended.set(task.id, task);
        if (this.#ended.size > this.endedTasksKept) this.#ended.delete(this.#ended.keys().next().value!);
      } else {
        this.#tasks.set(task.id, task);
      }
    }
    return { ok: true };
  }

  follow(): void {
    // Nobody else writes.
  }

  async endedTask(id: string): Promise<TaskRecord | null> {
    return this.#ended.get(id) ?? null;
  }

  async renewLease(): Promise<void> {}

  async expiredNodes(): Promise<string[]> {
    return [];
  }

  async forgetNode(): Promise<void> {}

  async close(): Promise<void> {}
}
