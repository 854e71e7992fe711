import type { KeyPath } from './yaml-source';

export interface Finding {
  readonly path: KeyPath;
  readonly reason: string;
  readonly severity: 'error' | 'warning';
}

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const DTMF_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'] as const;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/**
 * Reads fields of the plain YAML value and records every problem instead of stopping at the first, so that one load
 * reports all of a file's mistakes. Readers return undefined for a missing or bad value; callers substitute a
 * placeholder and carry on (the result is discarded when there is any error).
 */
export class FieldChecker {
  readonly findings: Finding[] = [];

  error(path: KeyPath, reason: string): void {
    this.findings.push({ path, reason, severity: 'error' });
  }

  warn(path: KeyPath, reason: string): void {
    this.findings.push({ path, reason, severity: 'warning' });
  }

  get hasErrors(): boolean {
    return this.findings.some((f) => f.severity === 'error');
  }

  /** A mapping whose keys are all in `allowed`; unknown keys are errors (they are usually typos). */
  mapping(value: unknown, path: KeyPath, allowed: readonly string[], what: string): Mapping | undefined {
    if (!isMapping(value)) {
      this.error(path, `${what} must be a mapping (got ${describe(value)})`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.error([...path, key], `unknown key "${key}" in ${what} (allowed: ${allowed.join(', ')})`);
    }
    return value;
  }

  required(obj: Mapping, key: string, path: KeyPath): unknown {
    if (obj[key] === undefined || obj[key] === null) {
      this.error(path, `"${key}" is required`);
      return undefined;
    }
    return obj[key];
  }

  string(obj: Mapping, key: string, path: KeyPath, opts: { required?: boolean; pattern?: RegExp; patternText?: string } = {}): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (opts.required) this.error(path, `"${key}" is required`);
      return undefined;
    }
    // YAML reads 1000 or 5 as numbers; where text is meant (numbers, DTMF keys, variable values) take them as written.
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || text === '') {
      this.error([...path, key], `must be non-empty text (got ${describe(value)})`);
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(text)) {
      this.error([...path, key], `must be ${opts.patternText ?? `text matching ${opts.pattern}`} (got ${describe(value)})`);
      return undefined;
    }
    return text;
  }

  integer(obj: Mapping, key: string, path: KeyPath, min: number, max: number): number | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.error([...path, key], `must be an integer from ${min} to ${max} (got ${describe(value)})`);
      return undefined;
    }
    return value;
  }

  boolean(obj: Mapping, key: string, path: KeyPath): boolean | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.error([...path, key], `must be true or false (got ${describe(value)})`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(obj: Mapping, key: string, path: KeyPath, choices: readonly T[]): T | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      this.error([...path, key], `must be one of ${choices.join(', ')} (got ${describe(value)})`);
      return undefined;
    }
    return value as T;
  }

  dtmfKey(value: unknown, path: KeyPath): string | undefined {
    const key = typeof value === 'number' ? String(value) : value;
    if (typeof key !== 'string' || !(DTMF_KEYS as readonly string[]).includes(key)) {
      this.error(path, `must be one DTMF key, 0-9, * or # (got ${describe(value)}; quote '*' and '#' in YAML)`);
      return undefined;
    }
    return key;
  }

  variableName(value: unknown, path: KeyPath): string | undefined {
    if (typeof value !== 'string' || !VARIABLE_NAME.test(value)) {
      this.error(path, `must be a variable name: a letter or _, then letters, digits or _ (got ${describe(value)})`);
      return undefined;
    }
    return value;
  }

  /** Text whose ${name} references must be well formed; returns the text unchanged. */
  template(value: string, path: KeyPath): string {
    for (const match of value.matchAll(/\$\{([^}]*)\}?/g)) {
      if (!match[0].endsWith('}')) this.error(path, `unclosed \${ in ${describe(value)}`);
      else if (!VARIABLE_NAME.test(match[1]!)) this.error(path, `\${${match[1]}} does not name a variable`);
    }
    return value;
  }

  /** A list of `T`, or one `T` standing for a list of one. */
  listOf<T>(value: unknown, path: KeyPath, read: (item: unknown, path: KeyPath) => T | undefined): T[] {
    const items = Array.isArray(value) ? value : [value];
    const results = items.map((item, i) => read(item, Array.isArray(value) ? [...path, i] : path));
    return results.filter((item): item is T => item !== undefined);
  }
}

/** `nodes.main.choices.1`, `nodes.survey.questions[0].prompt`. */
export function formatKeyPath(path: KeyPath): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}
