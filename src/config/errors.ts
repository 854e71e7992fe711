import { OneccError } from '../lib/index';

/** One reason a configuration was refused, located at its source: a file and line, or an environment variable. */
export interface ConfigProblem {
  /** File path as given (`config/site.yaml`) or `env ONECC_SIP__TIMERS__T1`. */
  readonly source: string;
  /** 1-based line in a YAML file; absent for environment variables. */
  readonly line?: number;
  /** Dotted key path (`sip.listen[1].port`); empty for a problem with the whole source, such as a YAML syntax error. */
  readonly key: string;
  readonly reason: string;
}

/** The configuration cannot be used. The message has one line per problem: `source:line: key: reason`. */
export class ConfigError extends OneccError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super('CONFIG_INVALID', problems.map(formatProblem).join('\n'), { problems }, options);
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.source : `${p.source}:${p.line}`;
  return p.key === '' ? `${where}: ${p.reason}` : `${where}: ${p.key}: ${p.reason}`;
}
