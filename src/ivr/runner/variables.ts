import { calendarState, type Condition, type Dialplan } from '../dialplan/index';

/** A call's variables: text only; a name that is not set is absent (never ''). */
export type Variables = Map<string, string>;

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `${name}` references filled in from `variables`; an unset variable gives ''. `encode` is applied to each value
 * (encodeURIComponent for URLs) and never to the template's own text.
 */
export function substitute(template: string, variables: Variables, encode: (value: string) => string = (v) => v): string {
  return template.replace(REFERENCE, (_, name: string) => encode(variables.get(name) ?? ''));
}

/** Whether a branch condition holds. An unset variable equals nothing, is in nothing and matches nothing. */
export function conditionHolds(condition: Condition, variables: Variables, dialplan: Dialplan, now: Date): boolean {
  if (condition.kind === 'hours') {
    const state = calendarState(dialplan.calendars[condition.calendar]!, dialplan.timezone, now);
    // "closed holds on holidays too, holiday only on them" (dialplans/README.md, Calendars).
    return condition.is === 'closed' ? state !== 'open' : state === condition.is;
  }
  const value = variables.get(condition.variable);
  switch (condition.kind) {
    case 'exists':
      return (value !== undefined) === condition.exists;
    case 'equals':
      return value !== undefined && value === condition.value;
    case 'in':
      return value !== undefined && condition.values.includes(value);
    case 'matches':
      return value !== undefined && new RegExp(condition.pattern).test(value);
  }
}

/** The value at a dotted path of a JSON document, as text; undefined when absent or null. */
export function jsonPathValue(document: unknown, dottedPath: string): string | undefined {
  let at: unknown = document;
  for (const key of dottedPath.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  if (at === null || at === undefined) return undefined;
  return typeof at === 'object' ? JSON.stringify(at) : String(at);
}
