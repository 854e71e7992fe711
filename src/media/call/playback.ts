import type { MediaError } from '../errors';
import type { NgReply } from '../ng/ng-client';

export type PlaybackOutcome = 'completed' | 'interrupted' | 'stopped' | 'replaced' | 'call-ended' | 'failed';

export interface PlaybackResult {
  readonly outcome: PlaybackOutcome;
  /** The digit that interrupted a barge-in playback. */
  readonly digit?: string;
  /** Why rtpengine could not play (outcome 'failed'). */
  readonly error?: MediaError;
}

type Send = (params: Record<string, unknown>) => Promise<NgReply>;

/**
 * A list of prompts played to one leg. rtpengine plays one file at a time and replaces a running one, so the
 * sequence is driven from here with the duration rtpengine reports for each file. A single file looped (music on
 * hold) is one `play media` with repeat-times, which leaves no gap between rounds.
 */
export class Playback {
  readonly done: Promise<PlaybackResult>;
  /** Settles when rtpengine accepted the first file (or refused it). */
  readonly started: Promise<void>;
  readonly bargeIn: boolean;
  #finish!: (result: PlaybackResult) => void;
  #markStarted!: (err?: MediaError) => void;
  #result: PlaybackResult | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #playing = false;

  constructor(
    readonly leg: string,
    readonly files: readonly string[],
    private readonly opts: { bargeIn?: boolean; repeat?: number },
    private readonly playMedia: Send,
    private readonly stopMedia: Send,
  ) {
    this.bargeIn = opts.bargeIn ?? false;
    this.done = new Promise((resolve) => (this.#finish = resolve));
    this.started = new Promise<void>((resolve, reject) => {
      this.#markStarted = (err) => (err ? reject(err) : resolve());
    });
    this.started.catch(() => undefined);
  }

  get finished(): boolean {
    return this.#result !== undefined;
  }

  start(): void {
    void this.#run();
  }

  /** A digit arrived on a barge-in playback. */
  interrupt(digit: string): Promise<void> {
    return this.#settle({ outcome: 'interrupted', digit });
  }

  /** Ends the playback; resolves once rtpengine stopped sending (at once for 'replaced' and 'call-ended'). */
  cancel(outcome: 'stopped' | 'replaced' | 'call-ended'): Promise<void> {
    return this.#settle({ outcome });
  }

  async #run(): Promise<void> {
    const repeat = Math.max(1, this.opts.repeat ?? 1);
    const loopInRtpengine = this.files.length === 1 && repeat > 1;
    const rounds = loopInRtpengine ? 1 : repeat;
    let first = true;
    for (let round = 0; round < rounds; round++) {
      for (const file of this.files) {
        if (this.#result !== undefined) return;
        let durationMs: number;
        try {
          this.#playing = true;
          const reply = await this.playMedia({ 'from-tag': this.leg, file, ...(loopInRtpengine ? { 'repeat-times': repeat } : {}) });
          durationMs = Number(reply.duration ?? 0) * (loopInRtpengine ? repeat : 1);
        } catch (err) {
          this.#playing = false;
          if (first) this.#markStarted(err as MediaError);
          this.#settle({ outcome: 'failed', error: err as MediaError });
          return;
        }
        // The playback may have been cancelled while rtpengine was answering: no timer for a finished playback.
        if (this.#result !== undefined) return;
        if (first) this.#markStarted();
        first = false;
        // rtpengine reports the duration of the audio; the last packets leave a little later.
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, durationMs + 40);
        });
      }
    }
    this.#playing = false;
    this.#settle({ outcome: 'completed' });
  }

  async #settle(result: PlaybackResult): Promise<void> {
    if (this.#result !== undefined) return;
    this.#result = result;
    clearTimeout(this.#timer);
    this.#wake?.();
    // A replacing play media takes over by itself (a stop sent now could overtake it); an ended call has no media.
    const stop = this.#playing && (result.outcome === 'stopped' || result.outcome === 'interrupted');
    this.#playing = false;
    if (result.outcome !== 'failed') this.#markStarted();
    this.#finish(result);
    if (stop) await this.stopMedia({ 'from-tag': this.leg }).catch(() => undefined);
  }
}
