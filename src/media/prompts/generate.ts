import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { OneccError } from '../../lib/index';
import { isPromptName, MUSIC_ON_HOLD_FILE, PROMPT_FORMAT, PROMPT_NAMES, promptFile, type PromptName } from './catalog';
import { synthesizeMusicOnHold } from './music-on-hold';
import { encodeWav, parseWav } from './wav';

/*
 * Builds the prompt files from media/text/<language>.yaml: espeak-ng speaks each text, sox trims the silence around
 * it, resamples to 8 kHz mono 16-bit and normalizes the peak to -3 dBFS. A manifest (<outDir>/.manifest.json) records
 * for every file it wrote a hash of what went in (text, voice, speed, tool versions, sox effects) and of the file;
 * a file is rebuilt only when what goes in changes, and a file the manifest does not know (or whose bytes changed
 * since) is someone's recording and is never touched.
 */

export const MANIFEST_FILE = '.manifest.json';

/**
 * sox effects after espeak-ng: trim silence at both ends, telephone rate, -3 dBFS peak, a breath of silence back.
 * The IVR's text prompts use them too, so that they sound like the catalog.
 */
export const SOX_EFFECTS = ['silence', '1', '0.01', '0.1%', 'reverse', 'silence', '1', '0.01', '0.1%', 'reverse', 'rate', '8000', 'norm', '-3', 'pad', '0.03', '0.08'];
export const SOX_OUTPUT = ['-b', '16', '-e', 'signed-integer', '-c', '1'];

export interface LanguageTexts {
  readonly language: string;
  readonly file: string;
  /** espeak-ng voice (`espeak-ng --voices`) and speed in words per minute. */
  readonly voice: string;
  readonly speed: number;
  readonly prompts: Readonly<Record<PromptName, string>>;
}

/** A text file lacks a prompt, names one the catalog does not have, or has no voice. Lists every such problem. */
export class PromptTextError extends OneccError {
  constructor(readonly problems: readonly string[]) {
    super('PROMPT_TEXT_INVALID', problems.join('\n'), { problems });
  }
}

/** espeak-ng or sox is missing or failed. */
export class PromptToolError extends OneccError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROMPT_TOOL_FAILED', message, {}, options);
  }
}

/** Every media/text/<language>.yaml, checked against the catalog: each must have exactly the catalog's prompts. */
export function readPromptTexts(textDir: string): LanguageTexts[] {
  const problems: string[] = [];
  const texts: LanguageTexts[] = [];
  const files = readdirSync(textDir).filter((name) => name.endsWith('.yaml')).sort();
  if (files.length === 0) problems.push(`${textDir}: no <language>.yaml text files`);
  for (const name of files) {
    const file = path.join(textDir, name);
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    const { voice, speed, prompts } = (doc ?? {}) as { voice?: unknown; speed?: unknown; prompts?: unknown };
    const before = problems.length;
    if (typeof voice !== 'string' || voice === '') problems.push(`${file}: voice: an espeak-ng voice name is required`);
    if (!Number.isInteger(speed) || (speed as number) < 80 || (speed as number) > 450) {
      problems.push(`${file}: speed: must be an integer from 80 to 450 (words per minute)`);
    }
    if (typeof prompts !== 'object' || prompts === null) {
      problems.push(`${file}: prompts: a mapping of prompt name to text is required`);
      continue;
    }
    const entries = prompts as Record<string, unknown>;
    for (const key of Object.keys(entries)) {
      if (!isPromptName(key)) problems.push(`${file}: prompts.${key}: not a prompt of the catalog (src/media/prompts/catalog.ts)`);
    }
    for (const prompt of PROMPT_NAMES) {
      const text = entries[prompt];
      if (typeof text !== 'string' && typeof text !== 'number') problems.push(`${file}: prompts.${prompt}: text missing`);
      else if (String(text).trim() === '') problems.push(`${file}: prompts.${prompt}: text is empty`);
    }
    if (problems.length > before) continue;
    const checked = Object.fromEntries(PROMPT_NAMES.map((prompt) => [prompt, String(entries[prompt]).trim()]));
    texts.push({ language: name.slice(0, -'.yaml'.length), file, voice: voice as string, speed: speed as number, prompts: checked as Record<PromptName, string> });
  }
  if (problems.length > 0) throw new PromptTextError(problems);
  return texts;
}

/** Runs a tool; resolves with its stdout, rejects with a PromptToolError naming the tool and saying what failed. */
function run(tool: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'ENOENT' ? `${tool} is not installed (Debian package ${tool}; as root: bash src/setup/install-deps.sh runtime)` : `${tool}: ${err.message}`;
      reject(new PromptToolError(reason, { cause: err }));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new PromptToolError(`${tool} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    // A tool that exits before reading its input fails through its exit code, not through EPIPE here.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Manifest {
  /** File (relative to the prompts directory) -> hash of its inputs and of the bytes written. */
  files: Record<string, { source: string; sha256: string }>;
}

async function readManifest(outDir: string): Promise<Manifest> {
  try {
    const manifest = JSON.parse(await readFile(path.join(outDir, MANIFEST_FILE), 'utf8')) as Manifest;
    return { files: { ...manifest.files } };
  } catch {
    return { files: {} };
  }
}

async function writeManifest(outDir: string, manifest: Manifest): Promise<void> {
  const files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b)));
  const note = 'Written by src/media/prompts/generate.ts: the files it generated. Files not listed here are never overwritten.';
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, MANIFEST_FILE), `${JSON.stringify({ note, files }, null, 1)}\n`);
}

/** One file to produce: its place, the hash of everything that goes into it, and how to make its bytes. */
interface Job {
  readonly file: string;
  readonly source: string;
  make(workDir: string): Promise<Buffer>;
}

function speechJob(texts: LanguageTexts, name: PromptName, tools: string): Job {
  const text = texts.prompts[name];
  const file = promptFile(texts.language, name);
  return {
    file,
    source: sha256(JSON.stringify({ tools, voice: texts.voice, speed: texts.speed, text, SOX_EFFECTS, SOX_OUTPUT })),
    async make(workDir) {
      const spoken = path.join(workDir, `${texts.language}-${name}.espeak.wav`);
      const telephone = path.join(workDir, `${texts.language}-${name}.wav`);
      await run('espeak-ng', ['-v', texts.voice, '-s', String(texts.speed), '-w', spoken, '--stdin'], text);
      await run('sox', [spoken, ...SOX_OUTPUT, telephone, ...SOX_EFFECTS]);
      const bytes = await readFile(telephone);
      const info = parseWav(bytes);
      if ('reason' in info || info.sampleRate !== PROMPT_FORMAT.sampleRate || info.dataBytes === 0) {
        throw new PromptToolError(`${file}: espeak-ng and sox made no usable audio of ${JSON.stringify(text)} (voice ${texts.voice})`);
      }
      return bytes;
    },
  };
}

function musicJob(): Job {
  // The synthesis is cheap, so its output is its own source hash: any change to the music rebuilds the file.
  const bytes = encodeWav(synthesizeMusicOnHold(), PROMPT_FORMAT.sampleRate);
  return { file: MUSIC_ON_HOLD_FILE, source: sha256(bytes), make: async () => bytes };
}

export interface GenerateProgress {
  readonly total: number;
  readonly generated: number;
  readonly cached: number;
  /** Files the setup step did not make (studio recordings) and leaves alone. */
  readonly custom: number;
}

export interface GenerateOptions {
  /** media/text: one <language>.yaml per language. */
  readonly textDir: string;
  /** Where <language>/<name>.wav, the music on hold and the manifest go. */
  readonly outDir: string;
  /** espeak-ng/sox runs at a time. */
  readonly concurrency?: number;
  /** Called after every file is settled, generated or not. */
  readonly onProgress?: (progress: GenerateProgress) => void;
}

export interface GenerateResult {
  /** Files (relative to outDir) by what happened to them. */
  readonly generated: string[];
  readonly cached: string[];
  readonly custom: string[];
  /** Generated files of prompts or languages no longer in the catalog, deleted. */
  readonly removed: string[];
}

/** Makes every prompt of every language in textDir (and the music on hold) that is missing or out of date. */
export async function generatePrompts(options: GenerateOptions): Promise<GenerateResult> {
  const texts = readPromptTexts(options.textDir);
  const [espeak, sox] = await Promise.all([run('espeak-ng', ['--version']), run('sox', ['--version'])]);
  const tools = `${espeak.trim()} | ${sox.trim()}`;
  const jobs = [...texts.flatMap((t) => PROMPT_NAMES.map((name) => speechJob(t, name, tools))), musicJob()];
  const manifest = await readManifest(options.outDir);
  const result: GenerateResult = { generated: [], cached: [], custom: [], removed: [] };
  const report = (): void =>
    options.onProgress?.({ total: jobs.length, generated: result.generated.length, cached: result.cached.length, custom: result.custom.length });

  const stale: Job[] = [];
  for (const job of jobs) {
    const current = await readFile(path.join(options.outDir, job.file)).catch(() => undefined);
    const entry = manifest.files[job.file];
    if (current !== undefined && (entry === undefined || sha256(current) !== entry.sha256)) {
      delete manifest.files[job.file];
      result.custom.push(job.file);
    } else if (current !== undefined && entry?.source === job.source) {
      result.cached.push(job.file);
    } else {
      stale.push(job);
    }
  }
  const wanted = new Set(jobs.map((job) => job.file));
  for (const [file, entry] of Object.entries(manifest.files)) {
    if (wanted.has(file)) continue;
    delete manifest.files[file];
    const current = await readFile(path.join(options.outDir, file)).catch(() => undefined);
    if (current !== undefined && sha256(current) === entry.sha256) {
      await unlink(path.join(options.outDir, file));
      result.removed.push(file);
    }
  }
  report();

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'onecc-prompts-'));
  try {
    const queue = [...stale];
    const worker = async (): Promise<void> => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        let bytes: Buffer;
        try {
          bytes = await job.make(workDir);
        } catch (err) {
          queue.length = 0; // the other workers finish the file in hand and stop
          throw err;
        }
        const target = path.join(options.outDir, job.file);
        await mkdir(path.dirname(target), { recursive: true });
        // Write then rename: an interrupted run leaves no half file that a later run would take for a recording.
        await writeFile(`${target}.partial`, bytes);
        await rename(`${target}.partial`, target);
        manifest.files[job.file] = { source: job.source, sha256: sha256(bytes) };
        result.generated.push(job.file);
        report();
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency ?? os.availableParallelism(), stale.length));
    const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  } finally {
    await writeManifest(options.outDir, manifest);
    await rm(workDir, { recursive: true, force: true });
  }
  return result;
}
