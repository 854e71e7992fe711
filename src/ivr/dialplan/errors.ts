import { OneccError } from '../../lib/index';

/** One thing wrong (or worth a warning) in a dialplan file. */
export interface DialplanProblem {
  readonly file: string;
  /** 1-based; absent when the file could not be read at all. */
  readonly line?: number;
  /** Dotted path to the offending key (`nodes.main.choices.1`); empty for the whole file. */
  readonly path: string;
  readonly reason: string;
  readonly severity: 'error' | 'warning';
}

export function formatDialplanProblem(p: DialplanProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  const level = p.severity === 'warning' ? 'warning: ' : '';
  return p.path === '' ? `${where}: ${level}${p.reason}` : `${where}: ${level}${p.path}: ${p.reason}`;
}

/** Dialplans that cannot be used. The message has one line per problem, `file:line: path: reason`. */
export class DialplanError extends OneccError {
  readonly problems: readonly DialplanProblem[];

  constructor(problems: readonly DialplanProblem[]) {
    super('IVR_DIALPLAN_INVALID', problems.map(formatDialplanProblem).join('\n'), { problems });
    this.problems = problems;
  }
}
