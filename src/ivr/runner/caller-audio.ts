import type { Audio } from '../dialplan/index';
import type { CollectOptions, CollectResult, MediaCall, Playback, PlaybackResult } from '../../media/index';
import { isPromptName, type PromptLibrary, type PromptName } from '../../media/prompts/index';
import { CallerHangup, IvrRuntimeError } from './errors';
import type { TextPrompts } from './text-prompts';
import { substitute, type Variables } from './variables';

/**
 * The caller's side of the media for one run: prompts in the call's language, digits, music, and the hang-up signal
 * every wait is raced against, so that a caller who hangs up ends whatever the run was waiting for at once.
 */
export class CallerAudio {
  readonly #hungUp: Promise<never>;
  #signalHangup!: () => void;
  #gone = false;

  constructor(
    readonly call: MediaCall,
    readonly leg: string,
    private readonly prompts: PromptLibrary,
    private readonly textPrompts: TextPrompts,
    /** A text prompt's `${name}` references are filled in from these as it is said. */
    private readonly variables: Variables = new Map(),
  ) {
    this.#hungUp = new Promise<never>((_, reject) => {
      this.#signalHangup = () => reject(new CallerHangup());
    });
    this.#hungUp.catch(() => undefined);
    if (call.ended !== undefined) this.hangup();
    else call.once('ended', () => this.hangup());
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** The caller hung up (BYE, or the media call ended): every pending and later wait throws CallerHangup. */
  hangup(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#signalHangup();
  }

  /** `promise`, unless the caller hangs up first (then CallerHangup). */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.#gone) return this.#hungUp;
    return Promise.race([promise, this.#hungUp]);
  }

  /** The configured prompt language serving `language` (a call or node language). */
  promptLanguage(language: string): string {
    return this.prompts.language(language);
  }

  /** Catalog prompts (announcements composed by src/media/prompts) in `language`. */
  catalogFiles(names: readonly PromptName[], language: string): string[] {
    return this.prompts.resolveAll(names, language);
  }

  get musicOnHold(): string {
    return this.prompts.musicOnHold;
  }

  /** Absolute files for `audio`, each item in its own language if it fixes one, else in `language`. */
  async files(audio: readonly Audio[], language: string): Promise<string[]> {
    const files: string[] = [];
    for (const item of audio) {
      const itemLanguage = item.language ?? language;
      if ('prompt' in item) {
        if (!isPromptName(item.prompt)) throw new IvrRuntimeError('IVR_PROMPT_FAILED', `"${item.prompt}" is not a prompt of the catalog`);
        files.push(this.prompts.resolve(item.prompt, itemLanguage));
        continue;
      }
      const text = typeof item.text === 'string' ? item.text : item.text[itemLanguage] ?? item.text[this.promptLanguage(itemLanguage)];
      if (text === undefined) throw new IvrRuntimeError('IVR_PROMPT_FAILED', `a text prompt has no text for ${itemLanguage}`);
      files.push(await this.guard(this.textPrompts.render(substitute(text, this.variables), this.promptLanguage(itemLanguage))));
    }
    return files;
  }

  /**
   * Plays `audio` and waits for its end. With bargeIn a key cuts it short (the key stays buffered for the next
   * collect). A prompt rtpengine cannot play is an IvrRuntimeError: the caller must not sit in silence.
   */
  async say(audio: readonly Audio[], language: string, opts: { bargeIn?: boolean } = {}): Promise<PlaybackResult | undefined> {
    const files = await this.files(audio, language);
    if (files.length === 0) return undefined;
    return this.playFiles(files, opts);
  }

  async playFiles(files: readonly string[], opts: { bargeIn?: boolean } = {}): Promise<PlaybackResult> {
    const playback = this.#start(() => this.call.play(this.leg, files, opts));
    let result: PlaybackResult;
    try {
      result = await this.guard(playback.done);
    } catch (err) {
      void playback.cancel('stopped');
      throw err;
    }
    if (result.outcome === 'call-ended') throw new CallerHangup();
    if (result.outcome === 'failed') {
      throw new IvrRuntimeError('IVR_PROMPT_FAILED', `prompt could not be played: ${result.error?.message ?? 'unknown error'}`, { files }, { cause: result.error });
    }
    return result;
  }

  /** Loops `files` (a single file loops without gaps in rtpengine) until stop() or another play. */
  startLoop(files: readonly string[]): Playback {
    return this.#start(() => (files.length === 1 ? this.call.startMusicOnHold(this.leg, files[0]!) : this.call.play(this.leg, files, { repeat: 10_000 })));
  }

  /** Stops whatever plays to the caller; resolves once rtpengine stopped. */
  async stop(): Promise<void> {
    if (this.call.ended !== undefined) return;
    await this.call.stopPlayback(this.leg).catch(() => undefined);
  }

  async collect(opts: CollectOptions): Promise<CollectResult> {
    const result = await this.guard(this.#start(() => this.call.collectDigits(this.leg, opts)));
    if (result.reason === 'call-ended') throw new CallerHangup();
    return result;
  }

  /** Drops keys pressed earlier (before a queue or survey that must not act on them). */
  flush(): void {
    if (this.call.ended === undefined) this.call.flushDigits(this.leg);
  }

  /** Runs a MediaCall method that throws on an ended call: that is the caller hanging up, not a failure. */
  #start<T>(start: () => T): T {
    if (this.#gone || this.call.ended !== undefined) throw new CallerHangup();
    return start();
  }
}
