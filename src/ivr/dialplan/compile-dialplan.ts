import { createHash } from 'node:crypto';
import { isTimeZone } from '../../lib/index';
import { readCalendar } from './business-hours';
import type { DialplanProblem } from './errors';
import { describe, FieldChecker, formatKeyPath, isMapping } from './field-checker';
import { readNode, type DialplanLookups, type NodeContext } from './read-nodes';
import { exitsOf, WAITING_NODE_TYPES, type Calendar, type Dialplan, type DialplanNode, type NumberRoute } from './types';
import { parseYamlWithLines } from './yaml-source';

export interface CompileResult {
  /** Present when there is no error (warnings allowed). Deeply frozen. */
  readonly dialplan?: Dialplan;
  /** Errors and warnings, in file order. */
  readonly problems: readonly DialplanProblem[];
  /** Line of a key path in the file (for problems found later, across files); absent after a YAML syntax error. */
  readonly lineOf?: (path: readonly (string | number)[]) => number;
}

const TOP_KEYS = ['id', 'name', 'numbers', 'language', 'languages', 'timezone', 'calendars', 'maxSteps', 'start', 'onError', 'nodes'];
const DIALPLAN_ID = /^[a-z0-9][a-z0-9-]*$/;
const NODE_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const PHONE_NUMBER = /^\+?[0-9]{1,32}$/;
const DEFAULT_MAX_STEPS = 200;

/**
 * Reads one dialplan file's text into a validated, frozen Dialplan, or reports every problem it has with file, line
 * and reason. Checks against `lookups` the prompts and queues it names; what depends on other files (numbers used
 * twice, transfers to other dialplans) is DialplanSet's to check.
 */
export function compileDialplan(text: string, file: string, lookups: DialplanLookups): CompileResult {
  const parsed = parseYamlWithLines(text);
  if (!parsed.ok) {
    return { problems: parsed.errors.map((e) => ({ file, ...(e.line === undefined ? {} : { line: e.line }), path: '', reason: e.reason, severity: 'error' })) };
  }
  const checker = new FieldChecker();
  const dialplan = readDialplan(checker, parsed.value, file, lookups, parsed.lineOf, text);
  const problems = checker.findings
    .map((f): DialplanProblem => ({ file, line: parsed.lineOf(f.path), path: formatKeyPath(f.path), reason: f.reason, severity: f.severity }))
    .sort((a, b) => a.line! - b.line!);
  if (checker.hasErrors || dialplan === undefined) return { problems, lineOf: parsed.lineOf };
  return { dialplan: deepFreeze(dialplan), problems, lineOf: parsed.lineOf };
}

function readDialplan(
  checker: FieldChecker,
  value: unknown,
  file: string,
  lookups: DialplanLookups,
  lineOf: (path: readonly (string | number)[]) => number,
  text: string,
): Dialplan | undefined {
  const top = checker.mapping(value, [], TOP_KEYS, 'a dialplan');
  if (top === undefined) return undefined;
  const id = checker.string(top, 'id', [], { required: true, pattern: DIALPLAN_ID, patternText: 'lower-case letters, digits and -' }) ?? '';
  const name = checker.string(top, 'name', []) ?? id;

  const language = checker.string(top, 'language', [], { required: true });
  if (language !== undefined && !lookups.languages.includes(language)) {
    checker.error(['language'], `"${language}" is not a configured prompt language (${lookups.languages.join(', ')})`);
  }
  const languages = readLanguages(checker, top, language, lookups);

  const numbers = readNumbers(checker, top['numbers'], languages);

  const calendarsValue = top['calendars'];
  const calendars: Record<string, Calendar> = {};
  if (calendarsValue !== undefined && calendarsValue !== null) {
    if (!isMapping(calendarsValue)) checker.error(['calendars'], `must map calendar names to { hours, holidays } (got ${describe(calendarsValue)})`);
    else {
      for (const [calendarName, calendarValue] of Object.entries(calendarsValue)) {
        const calendar = readCalendar(checker, calendarName, calendarValue, ['calendars', calendarName]);
        if (calendar !== undefined) calendars[calendarName] = calendar;
      }
    }
  }
  const timezone = checker.string(top, 'timezone', []) ?? 'UTC';
  if (!isTimeZone(timezone)) checker.error(['timezone'], `unknown time zone "${timezone}" (an IANA name such as Asia/Taipei)`);
  else if (top['timezone'] === undefined && Object.keys(calendars).length > 0) {
    checker.warn(['calendars'], 'no timezone given: business hours are read in UTC');
  }

  const maxSteps = checker.integer(top, 'maxSteps', [], 10, 100000) ?? DEFAULT_MAX_STEPS;
  const start = checker.string(top, 'start', [], { required: true }) ?? '';
  const onError = checker.string(top, 'onError', [], { required: true }) ?? '';

  const ctx: NodeContext = {
    checker,
    lookups,
    languages,
    calendars: new Set(Object.keys(calendars)),
    onError,
    references: [],
  };
  const nodes: Record<string, DialplanNode> = {};
  const nodesValue = checker.required(top, 'nodes', []);
  if (nodesValue !== undefined && (!isMapping(nodesValue) || Object.keys(nodesValue).length === 0)) {
    checker.error(['nodes'], `must map node ids to nodes (got ${describe(nodesValue)})`);
  } else if (nodesValue !== undefined) {
    for (const [nodeId, nodeValue] of Object.entries(nodesValue as Record<string, unknown>)) {
      const at = ['nodes', nodeId];
      if (!NODE_ID.test(nodeId)) checker.error(at, `node id "${nodeId}" must start with a letter and hold only letters, digits, _ and -`);
      const node = readNode(ctx, nodeId, nodeValue, at, lineOf(at));
      if (node !== undefined) nodes[nodeId] = node;
    }
  }
  // A node that failed to read is already an error; naming it as a missing target too would only repeat that.
  const declared = new Set(isMapping(nodesValue) ? Object.keys(nodesValue) : []);
  for (const ref of ctx.references) {
    if (!declared.has(ref.target)) checker.error(ref.path, `no node "${ref.target}" in this dialplan`);
  }
  checkEntry(checker, 'start', start, declared, nodes);
  if (checkEntry(checker, 'onError', onError, declared, nodes)) {
    const type = nodes[onError]?.type;
    if (type !== undefined && type !== 'queue' && type !== 'hangup') {
      checker.error(['onError'], `must be a queue or hangup node, a fallback that cannot fail into silence ("${onError}" is ${type})`);
    }
  }
  if (checker.hasErrors) return undefined;

  checkGraph(checker, nodes, start, onError);
  return {
    id,
    name,
    file,
    version: createHash('sha256').update(text).digest('hex').slice(0, 12),
    numbers,
    language: language!,
    languages,
    timezone,
    calendars,
    maxSteps,
    start,
    onError,
    nodes,
  };
}

function readLanguages(checker: FieldChecker, top: Record<string, unknown>, language: string | undefined, lookups: DialplanLookups): string[] {
  const value = top['languages'];
  if (value === undefined || value === null) return language === undefined ? [] : [language];
  if (!Array.isArray(value) || value.length === 0 || value.some((l) => typeof l !== 'string')) {
    checker.error(['languages'], `must be a list of languages (got ${describe(value)})`);
    return language === undefined ? [] : [language];
  }
  const languages = value as string[];
  languages.forEach((l, i) => {
    if (!lookups.languages.includes(l)) checker.error(['languages', i], `"${l}" is not a configured prompt language (${lookups.languages.join(', ')})`);
  });
  if (language !== undefined && !languages.includes(language)) checker.error(['languages'], `must include the default language "${language}"`);
  // The default language first: it is what a prompt falls back to and what the list documents as primary.
  return language === undefined ? languages : [language, ...languages.filter((l) => l !== language)];
}

function readNumbers(checker: FieldChecker, value: unknown, languages: readonly string[]): NumberRoute[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    checker.error(['numbers'], `must be a list of numbers (got ${describe(value)})`);
    return [];
  }
  const seen = new Map<string, number>();
  return value.flatMap((item: unknown, i): NumberRoute[] => {
    const at = ['numbers', i];
    const entry = isMapping(item) ? checker.mapping(item, at, ['number', 'language'], 'number')! : { number: item };
    const number = checker.string(entry, 'number', at, { required: true, pattern: PHONE_NUMBER, patternText: 'digits with an optional leading + (quote it: "+886...")' });
    const language = checker.string(entry, 'language', at);
    if (language !== undefined && !languages.includes(language)) {
      checker.error([...at, 'language'], `"${language}" is not one of the dialplan's languages (${languages.join(', ')})`);
    }
    if (number === undefined) return [];
    const first = seen.get(number);
    if (first !== undefined) checker.error(at, `number ${number} is already listed at numbers[${first}]`);
    seen.set(number, i);
    return [language === undefined ? { number } : { number, language }];
  });
}

/** Whether an entry point names a node that exists (reporting when it does not). */
function checkEntry(checker: FieldChecker, key: string, id: string, declared: ReadonlySet<string>, nodes: Record<string, DialplanNode>): boolean {
  if (id === '') return false;
  if (!declared.has(id)) {
    checker.error([key], `no node "${id}" in this dialplan`);
    return false;
  }
  return nodes[id] !== undefined;
}

/**
 * Unreachable nodes are warnings (a node kept for later is fine). A loop is an error unless it passes a node that
 * waits for the caller (menu, collect, queue): otherwise the call would spin through it without end. Loops through
 * waiting nodes are bounded at run time by maxSteps.
 */
function checkGraph(checker: FieldChecker, nodes: Record<string, DialplanNode>, start: string, onError: string): void {
  const reached = new Set<string>();
  const pending = [start, onError];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (reached.has(id)) continue;
    reached.add(id);
    for (const { target } of exitsOf(nodes[id]!)) pending.push(target);
  }
  for (const id of Object.keys(nodes)) {
    if (!reached.has(id)) checker.warn(['nodes', id], `node "${id}" cannot be reached from start or onError`);
  }
  for (const loop of loopsWithoutWaiting(nodes)) {
    checker.error(['nodes', loop[0]!], `nodes ${loop.join(', ')} form a loop that passes no node waiting for the caller (${WAITING_NODE_TYPES.join(', ')})`);
  }
}

/** Strongly connected components (Tarjan) of the graph without waiting nodes that hold a cycle. */
function loopsWithoutWaiting(nodes: Record<string, DialplanNode>): string[][] {
  const passable = (id: string) => !WAITING_NODE_TYPES.includes(nodes[id]!.type);
  const successors = (id: string) => exitsOf(nodes[id]!).map((e) => e.target).filter(passable);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (id: string): void => {
    index.set(id, index.size);
    low.set(id, index.get(id)!);
    stack.push(id);
    onStack.add(id);
    for (const next of successors(id)) {
      if (!index.has(next)) {
        visit(next);
        low.set(id, Math.min(low.get(id)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(id, Math.min(low.get(id)!, index.get(next)!));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      if (component.length > 1 || successors(id).includes(id)) loops.push(component.reverse());
    }
  };
  for (const id of Object.keys(nodes).filter(passable)) if (!index.has(id)) visit(id);
  return loops;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
