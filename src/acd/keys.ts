import { KEY_TAG } from './acd-settings';

/**
 * Every Redis key of the ACD. All share one hash tag, `{<tag>}`, so that each Lua script's keys live in one Redis
 * Cluster slot; the tag also separates tenants (or test runs) on one Redis.
 */
export class AcdKeys {
  readonly agents: string;
  readonly tasks: string;
  readonly taskRevisions: string;
  readonly log: string;
  readonly sequence: string;
  readonly nodes: string;
  readonly nodeInstances: string;
  readonly nodeConfigs: string;
  readonly #prefix: string;

  constructor(tag: string) {
    if (!KEY_TAG.test(tag)) throw new RangeError(`key tag must be letters, digits, _ . - (got "${tag}")`);
    this.#prefix = `{${tag}}:acd:`;
    this.agents = `${this.#prefix}agents`;
    this.tasks = `${this.#prefix}tasks`;
    this.taskRevisions = `${this.#prefix}task-revisions`;
    this.log = `${this.#prefix}log`;
    this.sequence = `${this.#prefix}log-seq`;
    this.nodes = `${this.#prefix}nodes`;
    this.nodeInstances = `${this.#prefix}node-instances`;
    this.nodeConfigs = `${this.#prefix}node-configs`;
  }

  endedTask(id: string): string {
    return `${this.#prefix}ended:${id}`;
  }
}
