import { AcdErrorCode, AcdError, TargetExpressionError } from './errors';
import { parseTargetExpression } from './target-expression';
import { channels, type CrossChannelRule, type PerChannel, type QueueDefinition } from './types';

/** How the ACD routes: the engine's settings, the `acd` configuration section minus where Redis is. */
export interface AcdSettings {
  readonly skills: readonly string[];
  readonly languages: readonly string[];
  /** Capacity of an agent whose profile gives none. */
  readonly defaultCapacity: PerChannel<number>;
  readonly crossChannel: readonly CrossChannelRule[];
  /** Wrap-up after a task of that channel completes; the agent takes no task meanwhile. */
  readonly wrapUpSeconds: PerChannel<number>;
  /** An offer not accepted within this is withdrawn and the agent goes not-ready with `ronaReason`. */
  readonly offerTimeoutSeconds: number;
  readonly ronaReason: string;
  /** A node that has not renewed its lease for this long is dead: its offers are withdrawn, its tasks adopted. */
  readonly nodeLeaseSeconds: number;
  readonly queues: readonly QueueDefinition[];
}

/** The `acd` section of onecc's configuration, as src/acd reads it (it may not import src/config). */
export interface AcdConfigSection extends AcdSettings {
  readonly enabled: boolean;
  readonly redis: { readonly host: string; readonly port: number; readonly keyTag: string };
  readonly endedTaskRetentionSeconds: number;
}

export const KEY_TAG = /^[A-Za-z0-9_.-]+$/;

/**
 * The settings every node sharing one store must agree on (a node routing with other queues or skills would make
 * other decisions on the same tasks), as setting key (`queues.<name>` per queue) -> canonical JSON.
 */
export function routingConfiguration(settings: AcdSettings): Record<string, string> {
  const config: Record<string, string> = {
    skills: canonicalJson([...settings.skills].sort()),
    languages: canonicalJson([...settings.languages].sort()),
  };
  for (const key of ['defaultCapacity', 'crossChannel', 'wrapUpSeconds', 'offerTimeoutSeconds', 'ronaReason', 'nodeLeaseSeconds'] as const) config[key] = canonicalJson(settings[key]);
  for (const queue of settings.queues) config[`queues.${queue.name}`] = canonicalJson(queue);
  return config;
}

/** JSON with object keys sorted: equal values, equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export interface AcdConfigIssue {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/**
 * What the config schema cannot see: target expressions that do not parse or name unknown skills or languages,
 * queue references (fallback, widen, overflow) to queues that do not exist, duplicate queue names, escalation values
 * of the wrong kind. Paths start at the configuration root (`acd.queues[2].target`), so the loader can name file
 * and line.
 */
export function checkAcdConfig(acd: AcdSettings & { readonly redis?: { readonly keyTag: string } }): AcdConfigIssue[] {
  const issues: AcdConfigIssue[] = [];
  if (acd.redis && !KEY_TAG.test(acd.redis.keyTag)) {
    issues.push({ path: ['acd', 'redis', 'keyTag'], reason: `must be letters, digits, _ . - (it goes inside a Redis hash tag) (got "${acd.redis.keyTag}")` });
  }
  const vocabulary = { skills: new Set(acd.skills), languages: new Set(acd.languages) };
  const names = new Map<string, number>();
  acd.queues.forEach((queue, i) => {
    const first = names.get(queue.name);
    if (first !== undefined) issues.push({ path: ['acd', 'queues', i, 'name'], reason: `queue "${queue.name}" is already defined by acd.queues[${first}]` });
    else names.set(queue.name, i);
  });
  const expression = (path: (string | number)[], queue: string, source: string) => {
    try {
      parseTargetExpression(source, vocabulary);
    } catch (err) {
      if (!(err instanceof TargetExpressionError)) throw err;
      issues.push({ path, reason: `queue "${queue}": ${err.message}` });
    }
  };
  const queueRef = (path: (string | number)[], queue: string, ref: string | null, what: string) => {
    if (ref === null || ref === '') issues.push({ path, reason: `queue "${queue}": ${what} needs a queue name` });
    else if (!names.has(ref)) issues.push({ path, reason: `queue "${queue}": ${what} names unknown queue "${ref}"` });
    else if (ref === queue) issues.push({ path, reason: `queue "${queue}": ${what} names the queue itself` });
  };
  acd.queues.forEach((queue, i) => {
    const at = ['acd', 'queues', i];
    expression([...at, 'target'], queue.name, queue.target);
    if (queue.fallback !== null) queueRef([...at, 'fallback'], queue.name, queue.fallback, 'fallback');
    let previous = -1;
    queue.escalation.forEach((step, j) => {
      const stepAt = [...at, 'escalation', j];
      if (step.afterSeconds <= previous) {
        issues.push({ path: [...stepAt, 'afterSeconds'], reason: `queue "${queue.name}": escalation steps must come in increasing afterSeconds (${step.afterSeconds} after ${previous})` });
      }
      previous = step.afterSeconds;
      switch (step.action) {
        case 'relax':
          if (step.value === null) issues.push({ path: [...stepAt, 'value'], reason: `queue "${queue.name}": relax needs a target expression` });
          else expression([...stepAt, 'value'], queue.name, step.value);
          break;
        case 'widen':
        case 'overflow':
          queueRef([...stepAt, 'value'], queue.name, step.value, step.action);
          break;
        case 'raise-priority':
          if (step.value === null || !/^[1-9][0-9]{0,5}$/.test(step.value)) {
            issues.push({ path: [...stepAt, 'value'], reason: `queue "${queue.name}": raise-priority needs a positive integer (got ${JSON.stringify(step.value)})` });
          }
          break;
        case 'offer-callback':
          if (step.value !== null) issues.push({ path: [...stepAt, 'value'], reason: `queue "${queue.name}": offer-callback takes no value (use null)` });
          break;
      }
    });
  });
  acd.crossChannel.forEach((rule, i) => {
    if (rule.whileOn.length === 0) issues.push({ path: ['acd', 'crossChannel', i, 'whileOn'], reason: 'must name at least one channel' });
  });
  return issues;
}

/** Throws the first issue as an AcdError: for engines built without going through the configuration loader. */
export function assertValidSettings(settings: AcdSettings): void {
  const [issue] = checkAcdConfig(settings);
  if (issue !== undefined) {
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
    throw new AcdError(AcdErrorCode.invalidExpression, `${where}: ${issue.reason}`, { path: issue.path });
  }
  for (const c of channels) {
    if (settings.defaultCapacity[c] < 0) throw new AcdError(AcdErrorCode.invalidProfile, `default capacity for ${c} is negative`);
  }
}
