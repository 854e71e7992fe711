import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { OneccError } from '../../lib/index';
import { MUSIC_ON_HOLD_FILE, PROMPT_FORMAT, PROMPT_NAMES, promptFile, type PromptName } from './catalog';
import { matchLanguage } from './language';
import { describeFormat, parseWav } from './wav';

/** media.prompts in the configuration. */
export interface PromptSettings {
  /** Holds `<language>/<name>.wav` and the music on hold; relative to the working directory unless absolute. */
  readonly dir: string;
  /** Every prompt must exist in each; the first is the default. */
  readonly languages: readonly string[];
}

/** One prompt file that cannot be played. `file` is the path as configured (dir joined with the file's place). */
export interface PromptProblem {
  readonly file: string;
  /** The language the file belongs to; absent for the music on hold. */
  readonly language?: string;
  /** `missing` when there is no such file; otherwise what is wrong with it. */
  readonly reason: string;
}

export const MISSING = 'missing';
const SETUP_HINT = 'the setup step (bash src/setup/build-prompts.sh, run by npm start and npm test) generates them';

export class PromptLibraryError extends OneccError {
  readonly problems: readonly PromptProblem[];

  constructor(problems: readonly PromptProblem[]) {
    super('PROMPTS_INVALID', problems.map((p) => `${p.file}: ${p.reason}`).join('\n'), { problems });
    this.problems = problems;
  }
}

/** Reads one prompt file's header: its duration if rtpengine can play it as a prompt, else what is wrong. */
function inspectFile(file: string): { durationMs: number } | { reason: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { reason: code === 'ENOENT' ? MISSING : `unreadable: ${(err as Error).message}` };
  }
  const info = parseWav(bytes);
  if ('reason' in info) return info;
  const { sampleRate, channels, bitsPerSample } = PROMPT_FORMAT;
  if (info.format !== 1 || info.sampleRate !== sampleRate || info.channels !== channels || info.bitsPerSample !== bitsPerSample) {
    return { reason: `${describeFormat(info)}, expected ${describeFormat({ format: 1, ...PROMPT_FORMAT })}` };
  }
  if (info.dataBytes === 0) return { reason: 'no audio (empty data chunk)' };
  return { durationMs: info.durationMs };
}

interface Inspection {
  /** Absolute path -> duration, for every good file. */
  readonly durations: Map<string, number>;
  readonly problems: PromptProblem[];
  /** Configured languages whose directory does not exist (their files are not listed one by one). */
  readonly missingLanguages: string[];
}

function inspectPrompts(settings: PromptSettings, cwd: string): Inspection {
  const durations = new Map<string, number>();
  const problems: PromptProblem[] = [];
  const missingLanguages: string[] = [];
  const check = (relative: string, language?: string): void => {
    const result = inspectFile(path.resolve(cwd, settings.dir, relative));
    if ('durationMs' in result) durations.set(path.resolve(cwd, settings.dir, relative), result.durationMs);
    else problems.push({ file: path.join(settings.dir, relative), reason: result.reason, ...(language === undefined ? {} : { language }) });
  };
  for (const language of settings.languages) {
    if (!statSync(path.resolve(cwd, settings.dir, language), { throwIfNoEntry: false })?.isDirectory()) {
      missingLanguages.push(language);
      continue;
    }
    for (const name of PROMPT_NAMES) check(promptFile(language, name), language);
  }
  check(MUSIC_ON_HOLD_FILE);
  return { durations, problems, missingLanguages };
}

/** The structural slice of onecc's configuration checkPrompts reads (src/media does not import src/config). */
export interface PromptsConfigView {
  readonly media: { readonly prompts: PromptSettings };
}

/** Issue in the shape of loadConfig's checks: a key path and a reason, reported against the key's file and line. */
export interface PromptConfigIssue {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/**
 * loadConfig check: every catalog prompt is a playable 8 kHz mono file in every configured language, so that a
 * missing prompt stops the start instead of failing a call. Missing files are listed per language in one issue.
 */
export function checkPrompts(config: PromptsConfigView, cwd: string = process.cwd()): PromptConfigIssue[] {
  const settings = config.media.prompts;
  const { problems, missingLanguages } = inspectPrompts(settings, cwd);
  const issues: PromptConfigIssue[] = missingLanguages.map((language) => ({
    path: ['media', 'prompts', 'languages', settings.languages.indexOf(language)],
    reason: `no prompts for ${language}: ${path.join(settings.dir, language)} does not exist; ${SETUP_HINT} for each media/text/<language>.yaml`,
  }));
  const missingByLanguage = new Map<string, string[]>();
  for (const problem of problems) {
    if (problem.reason === MISSING && problem.language !== undefined) {
      missingByLanguage.set(problem.language, [...(missingByLanguage.get(problem.language) ?? []), problem.file]);
    } else {
      issues.push({ path: ['media', 'prompts', 'dir'], reason: `${problem.file}: ${problem.reason}` });
    }
  }
  for (const [language, files] of missingByLanguage) {
    issues.push({
      path: ['media', 'prompts', 'dir'],
      reason: `${files.length} ${language} prompt file(s) missing: ${files.join(', ')}; ${SETUP_HINT}`,
    });
  }
  return issues;
}

/**
 * The prompt files of the configured languages, checked once at load. rtpengine opens the files itself, so
 * everything here hands out absolute paths.
 */
export class PromptLibrary {
  readonly dir: string;
  readonly languages: readonly string[];
  readonly #durations: ReadonlyMap<string, number>;

  private constructor(dir: string, languages: readonly string[], durations: ReadonlyMap<string, number>) {
    this.dir = dir;
    this.languages = languages;
    this.#durations = durations;
  }

  /** Checks every prompt file; throws PromptLibraryError listing every missing or unplayable one. */
  static load(settings: PromptSettings, cwd: string = process.cwd()): PromptLibrary {
    if (settings.languages.length === 0) throw new RangeError('PromptLibrary.load: no languages configured');
    const { durations, problems, missingLanguages } = inspectPrompts(settings, cwd);
    const all = [
      ...missingLanguages.map((language) => ({ file: path.join(settings.dir, language), language, reason: `${MISSING} (no prompts for ${language})` })),
      ...problems,
    ];
    if (all.length > 0) throw new PromptLibraryError(all);
    return new PromptLibrary(path.resolve(cwd, settings.dir), [...settings.languages], durations);
  }

  get defaultLanguage(): string {
    return this.languages[0]!;
  }

  /** The configured language that serves a caller's language tag (rules in language.ts); the default if none. */
  language(requested: string | undefined): string {
    return requested === undefined ? this.defaultLanguage : matchLanguage(requested, this.languages);
  }

  /** Absolute path of a prompt in the language that serves `language`. */
  resolve(name: PromptName, language?: string): string {
    return path.join(this.dir, promptFile(this.language(language), name));
  }

  /** Absolute paths of an announcement's prompts, in playing order. */
  resolveAll(names: readonly PromptName[], language?: string): string[] {
    return names.map((name) => this.resolve(name, language));
  }

  /** Playing time of one prompt, from its WAV header. */
  durationMs(name: PromptName, language?: string): number {
    return this.#durations.get(this.resolve(name, language))!;
  }

  /** Playing time of prompts played back to back. */
  totalDurationMs(names: readonly PromptName[], language?: string): number {
    return names.reduce((sum, name) => sum + this.durationMs(name, language), 0);
  }

  /** Absolute path of the music on hold (one loop; the media layer repeats it). */
  get musicOnHold(): string {
    return path.join(this.dir, MUSIC_ON_HOLD_FILE);
  }

  get musicOnHoldDurationMs(): number {
    return this.#durations.get(this.musicOnHold)!;
  }
}
