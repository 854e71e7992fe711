import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { InvalidStateError, silentLogger, TypedEmitter, type Logger } from '../../lib/index';
import { compileDialplan } from './compile-dialplan';
import { DialplanError, formatDialplanProblem, type DialplanProblem } from './errors';
import { formatKeyPath } from './field-checker';
import type { DialplanLookups } from './read-nodes';
import type { Dialplan } from './types';

export interface DialplanSetOptions {
  /** Folder whose `*.yaml` files are the dialplans (subfolders and other files are ignored). */
  readonly dir: string;
  readonly lookups: DialplanLookups;
  readonly logger?: Logger;
  /** Watch the folder and reload on change. Default true. */
  readonly watch?: boolean;
  /** Quiet time after the last change before reloading: editors write a file in several steps. Default 200 ms. */
  readonly debounceMs?: number;
}

/** What a call to a number gets: the dialplan, and the language it starts in. */
export interface DialplanRoute {
  readonly dialplan: Dialplan;
  readonly language: string;
}

export type DialplanSetEvents = {
  /** A new dialplan, or a new version of one, serves calls from now on. */
  loaded: [dialplan: Dialplan];
  /** A file was deleted: its dialplan serves no new call. */
  removed: [file: string, dialplanId: string];
  /** A change was refused; the version before it (if any) goes on serving. */
  rejected: [file: string, problems: readonly DialplanProblem[]];
  close: [];
};

interface AcceptedFile {
  readonly text: string;
  readonly dialplan: Dialplan;
  readonly lineOf: (path: readonly (string | number)[]) => number;
}

/**
 * Every dialplan of a folder, with numbers mapped to dialplans. Reloads on change: a valid new version replaces the
 * old for new calls, and calls in progress keep the frozen object they started with; an invalid version (or one that
 * clashes with another file) is refused, logged with file:line, and the old version stays.
 */
export class DialplanSet extends TypedEmitter<DialplanSetEvents> {
  readonly dir: string;
  readonly #lookups: DialplanLookups;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  #accepted = new Map<string, AcceptedFile>();
  #byId = new Map<string, Dialplan>();
  #byNumber = new Map<string, DialplanRoute>();
  /** Last refusal per file (text and reasons), so that an unrelated event does not log it again. */
  readonly #refused = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Loads every file; throws DialplanError naming every problem of every file if any is invalid. */
  static load(options: DialplanSetOptions): DialplanSet {
    return new DialplanSet(options);
  }

  private constructor(options: DialplanSetOptions) {
    const logger = options.logger ?? silentLogger();
    super(logger);
    this.dir = options.dir;
    this.#lookups = options.lookups;
    this.#logger = logger;
    this.#debounceMs = options.debounceMs ?? 200;
    this.#loadAll();
    if (options.watch ?? true) {
      this.#watcher = watch(this.dir, (_event, name) => {
        if (name === null || isDialplanFile(name)) this.#scheduleReload();
      });
      this.#watcher.on('error', (err) => this.#logger.error({ err, dir: this.dir }, 'dialplan folder watch failed; reload stops'));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The dialplan answering `number` (as the trunk delivers it, compared exactly), or undefined: answer 404. */
  route(number: string): DialplanRoute | undefined {
    this.#assertOpen();
    return this.#byNumber.get(number);
  }

  /** A dialplan by id (for transfers between dialplans). */
  get(id: string): Dialplan | undefined {
    this.#assertOpen();
    return this.#byId.get(id);
  }

  dialplans(): readonly Dialplan[] {
    this.#assertOpen();
    return [...this.#byId.values()];
  }

  /** Reads the folder again now (the watcher calls this after its debounce; SIGHUP may too). */
  reload(): void {
    this.#assertOpen();
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
    const texts = readFolder(this.dir);
    const files = [...new Set([...this.#accepted.keys(), ...texts.keys()])].sort();
    for (const file of files) {
      const text = texts.get(file);
      const current = this.#accepted.get(file);
      if (text === current?.text) continue;
      if (text === undefined) this.#tryRemove(file, current!);
      else this.#tryReplace(file, text);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reloadTimer);
    this.#watcher?.close();
    this.safeEmit('close');
  }

  #loadAll(): void {
    const problems: DialplanProblem[] = [];
    const accepted = new Map<string, AcceptedFile>();
    for (const [file, text] of readFolder(this.dir)) {
      const result = compileDialplan(text, file, this.#lookups);
      problems.push(...result.problems);
      if (result.dialplan !== undefined) accepted.set(file, { text, dialplan: result.dialplan, lineOf: result.lineOf! });
    }
    problems.push(...crossFileProblems(accepted));
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new DialplanError(errors);
    for (const warning of problems) this.#logger.warn(formatDialplanProblem(warning));
    this.#install(accepted);
  }

  #tryReplace(file: string, text: string): void {
    const result = compileDialplan(text, file, this.#lookups);
    let problems = result.problems.filter((p) => p.severity === 'error');
    if (problems.length === 0) {
      const candidate = new Map(this.#accepted);
      // Last, so that a clash is reported in this file rather than in the one that was there first.
      candidate.delete(file);
      candidate.set(file, { text, dialplan: result.dialplan!, lineOf: result.lineOf! });
      problems = crossFileProblems(candidate);
      if (problems.length === 0) {
        for (const warning of result.problems) this.#logger.warn(formatDialplanProblem(warning));
        this.#refused.delete(file);
        this.#install(candidate);
        this.#logger.info({ file, dialplan: result.dialplan!.id, version: result.dialplan!.version }, 'dialplan loaded');
        this.safeEmit('loaded', result.dialplan!);
        return;
      }
    }
    this.#refuse(file, text, problems);
  }

  #tryRemove(file: string, current: AcceptedFile): void {
    const candidate = new Map(this.#accepted);
    candidate.delete(file);
    const problems = crossFileProblems(candidate);
    if (problems.length > 0) {
      this.#refuse(file, '', problems);
      return;
    }
    this.#refused.delete(file);
    this.#install(candidate);
    this.#logger.info({ file, dialplan: current.dialplan.id }, 'dialplan removed');
    this.safeEmit('removed', file, current.dialplan.id);
  }

  #refuse(file: string, text: string, problems: readonly DialplanProblem[]): void {
    const key = `${text}\n${problems.map(formatDialplanProblem).join('\n')}`;
    if (this.#refused.get(file) === key) return;
    this.#refused.set(file, key);
    const kept = this.#accepted.get(file);
    const outcome = kept === undefined ? 'not loaded' : `version ${kept.dialplan.version} stays in service`;
    this.#logger.error(`dialplan change refused, ${outcome}:\n${problems.map(formatDialplanProblem).join('\n')}`);
    this.safeEmit('rejected', file, problems);
  }

  /** Swaps in new maps; the Dialplan objects themselves are never changed, so calls holding one are unaffected. */
  #install(accepted: Map<string, AcceptedFile>): void {
    const byId = new Map<string, Dialplan>();
    const byNumber = new Map<string, DialplanRoute>();
    for (const { dialplan } of accepted.values()) {
      byId.set(dialplan.id, dialplan);
      for (const route of dialplan.numbers) byNumber.set(route.number, { dialplan, language: route.language ?? dialplan.language });
    }
    this.#accepted = accepted;
    this.#byId = byId;
    this.#byNumber = byNumber;
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => {
      try {
        this.reload();
      } catch (err) {
        this.#logger.error({ err, dir: this.dir }, 'dialplan reload failed; the loaded dialplans stay in service');
      }
    }, this.#debounceMs);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('DialplanSet is closed', { dir: this.dir });
  }
}

function isDialplanFile(name: string): boolean {
  return name.endsWith('.yaml') && !name.startsWith('.');
}

/** file path (dir joined with the name) -> text, for every dialplan file in `dir`, in name order. */
function readFolder(dir: string): Map<string, string> {
  const unreadable = (file: string, err: unknown) =>
    new DialplanError([{ file, path: '', reason: `cannot read: ${(err as Error).message}`, severity: 'error' }]);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw unreadable(dir, err);
  }
  const texts = new Map<string, string>();
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile() || !isDialplanFile(entry.name)) continue;
    const file = path.join(dir, entry.name);
    try {
      texts.set(file, readFileSync(file, 'utf8'));
    } catch (err) {
      // Deleted between listing and reading: it is gone, as the next event will say.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(file, err);
    }
  }
  return texts;
}

/**
 * What no single file can know: two files with one dialplan id or one number, and transfers to dialplans that do
 * not exist. Reported in the later file (Map order), with its line.
 */
function crossFileProblems(files: ReadonlyMap<string, AcceptedFile>): DialplanProblem[] {
  const problems: DialplanProblem[] = [];
  const idOwner = new Map<string, string>();
  const numberOwner = new Map<string, string>();
  const error = (file: string, accepted: AcceptedFile, keyPath: (string | number)[], reason: string) =>
    problems.push({ file, line: accepted.lineOf(keyPath), path: formatKeyPath(keyPath), reason, severity: 'error' });
  for (const [file, accepted] of files) {
    const { dialplan } = accepted;
    const idFile = idOwner.get(dialplan.id);
    if (idFile !== undefined) error(file, accepted, ['id'], `dialplan id "${dialplan.id}" is already used by ${idFile}`);
    else idOwner.set(dialplan.id, file);
    dialplan.numbers.forEach((route, i) => {
      const numberFile = numberOwner.get(route.number);
      if (numberFile !== undefined) error(file, accepted, ['numbers', i], `number ${route.number} is already answered by ${numberFile}`);
      else numberOwner.set(route.number, file);
    });
  }
  for (const [file, accepted] of files) {
    for (const node of Object.values(accepted.dialplan.nodes)) {
      if (node.type === 'transfer' && node.to.kind === 'dialplan' && !idOwner.has(node.to.dialplan)) {
        error(file, accepted, ['nodes', node.id, 'to', 'dialplan'], `no dialplan "${node.to.dialplan}" is loaded`);
      }
    }
  }
  return problems;
}
