import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Audio, Dialplan, DialplanNode } from '../dialplan/index';
import { readPromptTexts, SOX_EFFECTS, SOX_OUTPUT } from '../../media/prompts/generate';
import { IvrRuntimeError } from './errors';

/*
 * `{ text: ... }` prompts of dialplans, spoken by espeak-ng with the voice and speed of media/text/<language>.yaml
 * and made telephone-ready by sox as the catalog prompts are (src/media/prompts/generate.ts), into a cache folder
 * keyed by a hash of what goes in. Tools run as child processes: a call rendering a text never blocks the others.
 */

/** The voicemail tone: 1 kHz for 400 ms at -6 dBFS. */
const BEEP = ['-n', '-r', '8000', ...SOX_OUTPUT];
const BEEP_EFFECTS = ['synth', '0.4', 'sine', '1000', 'vol', '0.5'];

export interface TextPromptsOptions {
  /** media/text: one <language>.yaml per language, whose voice and speed are used. */
  readonly textDir: string;
  /** Where rendered files are kept; rtpengine must be able to read it (same host, or a shared volume). */
  readonly cacheDir: string;
}

export class TextPrompts {
  readonly cacheDir: string;
  readonly #voices: ReadonlyMap<string, { voice: string; speed: number }>;
  /** Renders in progress by file, so that calls asking for the same text at once share one espeak-ng run. */
  readonly #rendering = new Map<string, Promise<string>>();

  private constructor(cacheDir: string, voices: ReadonlyMap<string, { voice: string; speed: number }>) {
    this.cacheDir = cacheDir;
    this.#voices = voices;
  }

  /** Reads the voices (throws PromptTextError for a bad text file). */
  static load(options: TextPromptsOptions): TextPrompts {
    const voices = new Map(readPromptTexts(options.textDir).map((t) => [t.language, { voice: t.voice, speed: t.speed }]));
    return new TextPrompts(path.resolve(options.cacheDir), voices);
  }

  /** Absolute path of `text` spoken in `language` (a configured prompt language), rendered on first use. */
  render(text: string, language: string): Promise<string> {
    const voice = this.#voices.get(language);
    if (voice === undefined) {
      return Promise.reject(new IvrRuntimeError('IVR_PROMPT_FAILED', `no voice for language ${language} (media/text/${language}.yaml)`, { language }));
    }
    const key = hash(JSON.stringify({ text, ...voice, SOX_EFFECTS, SOX_OUTPUT }));
    return this.#cached(path.join(this.cacheDir, language, `${key}.wav`), async (workDir, target) => {
      const spoken = path.join(workDir, 'espeak.wav');
      await run('espeak-ng', ['-v', voice.voice, '-s', String(voice.speed), '-w', spoken, '--stdin'], text);
      await run('sox', [spoken, ...SOX_OUTPUT, target, ...SOX_EFFECTS]);
    });
  }

  /** The tone before a voicemail recording. */
  beep(): Promise<string> {
    return this.#cached(path.join(this.cacheDir, `beep-${hash(JSON.stringify(BEEP_EFFECTS)).slice(0, 12)}.wav`), (_, target) =>
      run('sox', [...BEEP, target, ...BEEP_EFFECTS]).then(() => undefined));
  }

  /** Renders every text a dialplan can say, so that its first caller does not wait for espeak-ng. */
  async prepare(dialplan: Dialplan): Promise<void> {
    const jobs: Promise<string>[] = [];
    const visit = (audio: readonly Audio[]): void => {
      for (const item of audio) {
        if (!('text' in item)) continue;
        const languages = item.language !== undefined ? [item.language] : dialplan.languages;
        for (const language of languages) {
          const text = typeof item.text === 'string' ? item.text : item.text[language];
          // A text with ${variable} references is rendered as it is said, with the call's values.
          if (text !== undefined && !text.includes('${')) jobs.push(this.render(text, language));
        }
      }
    };
    for (const node of Object.values(dialplan.nodes)) for (const audio of audioOf(node)) visit(audio);
    await Promise.all(jobs);
  }

  #cached(file: string, make: (workDir: string, target: string) => Promise<void>): Promise<string> {
    const pending = this.#rendering.get(file);
    if (pending !== undefined) return pending;
    const job = (async () => {
      if (await access(file).then(() => true, () => false)) return file;
      await mkdir(path.dirname(file), { recursive: true });
      const workDir = await mkdtemp(path.join(path.dirname(file), '.render-'));
      try {
        const target = path.join(workDir, 'out.wav');
        await make(workDir, target);
        // Rename into place: rtpengine never sees a half-written file, and concurrent nodes never clash.
        await rename(target, file);
        return file;
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    })();
    this.#rendering.set(file, job);
    void job.finally(() => this.#rendering.delete(file)).catch(() => undefined);
    return job;
  }
}

/** Everything a node can say. */
function audioOf(node: DialplanNode): (readonly Audio[])[] {
  switch (node.type) {
    case 'play':
    case 'collect':
    case 'transfer':
    case 'voicemail':
    case 'hangup':
      return [node.prompt];
    case 'menu':
      return [node.prompt, node.invalidPrompt, node.noInputPrompt];
    case 'queue':
      return [node.musicOnHold === 'default' || node.musicOnHold === 'none' ? [] : node.musicOnHold, node.callback?.prompt ?? []];
    case 'survey':
      return [node.intro, node.thanks, ...node.questions.map((q) => q.prompt)];
    default:
      return [];
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function run(tool: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => reject(new IvrRuntimeError('IVR_PROMPT_FAILED', `${tool}: ${err.message}`, { tool }, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new IvrRuntimeError('IVR_PROMPT_FAILED', `${tool} exited with ${code}: ${stderr.trim()}`, { tool }));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
