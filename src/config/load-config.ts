import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { yamlLineOf } from '../lib/index';
import { ConfigError, type ConfigProblem } from './errors';
import { configSchema, type ConfigIssue, type ConfigPath, type OneccConfig, type SchemaNode } from './schema';
import { formatPath, isMapping, validateConfig } from './validate';

export interface LoadConfigOptions {
  /** A YAML file merged over the defaults: mappings merge key by key, lists replace. */
  file?: string;
  /** Variables to read ONECC_* overrides from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /**
   * Checks that need knowledge the config layer does not have (queue expressions, prompt files), run on a
   * configuration that is otherwise valid; their issues are reported with file and line like any other.
   */
  checks?: readonly ((config: OneccConfig) => readonly ConfigIssue[])[];
}

export const ENV_PREFIX = 'ONECC_';
const ENV_SEPARATOR = '__';

/** A place values come from. A higher rank was applied later and wins. */
interface Source {
  readonly rank: number;
  readonly name: string;
  lineOf(path: ConfigPath): number | undefined;
}

/**
 * config/default.yaml, found relative to this file so that it works from src/config (ts-node, tests) and from
 * dist/src/config (compiled) alike.
 */
export function defaultConfigFile(): string {
  const candidates = [path.resolve(__dirname, '../../config/default.yaml'), path.resolve(__dirname, '../../../config/default.yaml')];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new ConfigError([{ source: candidates[0]!, key: '', reason: 'default configuration file not found' }]);
  }
  return found;
}

/**
 * Builds the configuration: config/default.yaml, then `file`, then ONECC_* variables (`ONECC_SIP__TIMERS__T1=400`;
 * `__` between levels, key names matched without regard to case or `_`, values read as YAML, so lists and mappings
 * take JSON or YAML flow text). Throws ConfigError naming source, line, key and reason for every problem found.
 */
export function loadConfig(opts: LoadConfigOptions = {}): OneccConfig {
  const defaultsFile = defaultConfigFile();
  const defaults = readYamlSource(defaultsFile, displayName(defaultsFile), 0);
  const merged: Record<string, unknown> = {};
  const origins = new Origins(defaults.source);
  overlay(merged, defaults.value, [], defaults.source, origins);
  if (opts.file !== undefined) {
    const user = readYamlSource(opts.file, opts.file, 1);
    overlay(merged, user.value, [], user.source, origins);
  }
  const problems: ConfigProblem[] = [];
  for (const override of envOverrides(opts.env ?? process.env, 2)) {
    if ('problem' in override) problems.push(override.problem);
    else overlay(merged, override.value, [], override.source, origins);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const issues = validateConfig(merged);
  if (issues.length > 0) throw new ConfigError(issues.map((issue) => origins.locate(issue)));
  const config = merged as OneccConfig;
  const checked = (opts.checks ?? []).flatMap((check) => check(config));
  if (checked.length > 0) throw new ConfigError(checked.map((issue) => origins.locate(issue)));
  return config;
}

function readYamlSource(file: string, name: string, rank: number): { value: Record<string, unknown>; source: Source } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ source: name, key: '', reason: `cannot read: ${(err as Error).message}` }], { cause: err });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => ({
        source: name,
        ...(err.linePos ? { line: err.linePos[0].line } : {}),
        key: '',
        reason: `YAML syntax error: ${yamlReason(err)}`,
      })),
    );
  }
  const source: Source = { rank, name, lineOf: (p) => yamlLineOf(doc, lineCounter, p) };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ source: name, key: '', reason: (err as Error).message }], { cause: err });
  }
  if (value === null || value === undefined) return { value: {}, source };
  if (!isMapping(value)) {
    throw new ConfigError([{ source: name, line: source.lineOf([]) ?? 1, key: '', reason: 'must hold a mapping of settings at the top level' }]);
  }
  return { value, source };
}

/** Deep merge where mappings merge and everything else (lists included) replaces; records who set what. */
function overlay(target: Record<string, unknown>, value: Record<string, unknown>, at: ConfigPath, source: Source, origins: Origins): void {
  for (const [key, child] of Object.entries(value)) {
    const keyPath = [...at, key];
    const current = target[key];
    if (isMapping(child) && isMapping(current)) {
      overlay(current, child, keyPath, source, origins);
    } else {
      target[key] = structuredClone(child);
      origins.set(keyPath, source);
    }
  }
}

/** Which source last set each key, so that an issue found after merging can be reported where it was written. */
class Origins {
  readonly #byPath = new Map<string, { path: ConfigPath; source: Source }>();

  constructor(private readonly base: Source) {}

  set(keyPath: ConfigPath, source: Source): void {
    for (const [id, o] of this.#byPath) {
      if (keyPath.every((seg, i) => o.path[i] === seg)) this.#byPath.delete(id);
    }
    this.#byPath.set(JSON.stringify(keyPath), { path: keyPath, source });
  }

  sourceOf(keyPath: ConfigPath): Source {
    for (let n = keyPath.length; n > 0; n--) {
      const o = this.#byPath.get(JSON.stringify(keyPath.slice(0, n)));
      if (o) return o.source;
    }
    return this.base;
  }

  locate(issue: ConfigIssue): ConfigProblem {
    let chosen: { path: ConfigPath; reason: string } = issue;
    for (const other of issue.also ?? []) {
      if (this.sourceOf(other.path).rank > this.sourceOf(chosen.path).rank) chosen = other;
    }
    const source = this.sourceOf(chosen.path);
    const line = source.lineOf(chosen.path);
    return { source: source.name, ...(line === undefined ? {} : { line }), key: formatPath(chosen.path), reason: chosen.reason };
  }
}

type EnvOverride = { value: Record<string, unknown>; source: Source } | { problem: ConfigProblem };

function envOverrides(env: Record<string, string | undefined>, firstRank: number): EnvOverride[] {
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && env[name] !== undefined)
    // A whole-mapping override (ONECC_SIP__TIMERS) goes first so that a single key (ONECC_SIP__TIMERS__T1) refines it.
    .sort((a, b) => a.split(ENV_SEPARATOR).length - b.split(ENV_SEPARATOR).length || a.localeCompare(b));
  return names.map((name, i) => envOverride(name, env[name]!, firstRank + i));
}

function envOverride(name: string, text: string, rank: number): EnvOverride {
  const source: Source = { rank, name: `env ${name}`, lineOf: () => undefined };
  const problem = (keyPath: ConfigPath, reason: string): EnvOverride => ({
    problem: { source: source.name, key: formatPath(keyPath), reason },
  });
  const normalize = (key: string) => key.toLowerCase().replaceAll('_', '');
  const keyPath: string[] = [];
  let node: SchemaNode = configSchema;
  for (const segment of name.slice(ENV_PREFIX.length).split(ENV_SEPARATOR)) {
    if (node.type !== 'object') {
      return problem(keyPath, node.type === 'array'
        ? `is a list: set it whole as JSON or YAML flow text, e.g. ${ENV_PREFIX}${keyPath.join(ENV_SEPARATOR).toUpperCase()}='[...]'`
        : 'has no sub-keys');
    }
    const key: string | undefined = Object.keys(node.fields).find((k) => normalize(k) === normalize(segment));
    if (key === undefined) {
      return problem([...keyPath, segment.toLowerCase()], `unknown key (expected one of: ${Object.keys(node.fields).join(', ')})`);
    }
    keyPath.push(key);
    node = node.fields[key]!;
  }
  let value: unknown;
  if (node.type === 'string') {
    // Free text stays as typed ("123" is a valid User-Agent); only a nullable key reads null/~/empty as null.
    value = node.nullable && /^(null|~|)$/.test(text.trim()) ? null : text;
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return problem(keyPath, `not valid YAML or JSON: ${yamlReason(doc.errors[0]!)}`);
    value = doc.toJS();
  }
  let nested = value;
  for (const key of [...keyPath].reverse()) nested = { [key]: nested };
  return { value: nested as Record<string, unknown>, source };
}

/** yaml's message without the position and source excerpt it appends; we print the position our own way. */
function yamlReason(err: Error): string {
  return err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function displayName(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
