import { toneShare } from '../../media/codec/goertzel';
import type { AmdVerdict, GreetingDetector } from '../outbound-attempt';

/**
 * Thresholds of answering-machine detection, in the manner of classic AMD (Asterisk's app_amd): a person says a
 * word or two and waits; a machine talks on. All times in ms.
 */
export interface AmdThresholds {
  /** Silence before anyone speaks this long: a machine (a person says hello at once). */
  readonly initialSilenceMs: number;
  /** Speech going on this long from its start: a machine. */
  readonly greetingMs: number;
  /** Silence this long after a short greeting: a person waiting for an answer. */
  readonly afterGreetingSilenceMs: number;
  /** No verdict by then: not sure (treated as a person). */
  readonly totalAnalysisMs: number;
  /** Speech shorter than this is noise, not a word. */
  readonly minWordMs: number;
  /** Silence this long ends a word. */
  readonly betweenWordsSilenceMs: number;
  /** More words than this: a machine. */
  readonly maxWords: number;
  /** One word this long: a machine (or music). */
  readonly maxWordMs: number;
  /** Frame RMS (16-bit scale) below which a 20 ms frame is silence. */
  readonly silenceRms: number;
}

export const defaultAmdThresholds: AmdThresholds = {
  initialSilenceMs: 2500,
  greetingMs: 1500,
  afterGreetingSilenceMs: 800,
  totalAnalysisMs: 5000,
  minWordMs: 100,
  betweenWordsSilenceMs: 50,
  maxWords: 2,
  maxWordMs: 5000,
  silenceRms: 300,
};

const FRAME = 160; // 20 ms at 8 kHz
const FRAME_MS = 20;
/** A beep: one steady tone (300-2500 Hz) carrying most of the frame's power for at least this long. */
const BEEP_MIN_MS = 160;
/** No beep: the greeting is over after this much silence following speech. */
const END_SILENCE_MS = 2000;

/**
 * Classic answering-machine detection over the callee's first seconds: 20 ms frames are silence or speech by their
 * energy; speech splits into words at short silences; a short greeting followed by silence is a person, a long one
 * (or many words, or one endless word, or silence at first) a machine. Then, for leaving a message, the end of the
 * machine's greeting: its beep (a steady tone), or a long silence.
 */
export class ClassicAmd implements GreetingDetector {
  readonly #t: AmdThresholds;
  #pending = new Int16Array(0);
  #elapsedMs = 0;
  #silenceMs = 0;
  #firstSpeechAt: number | undefined;
  #wordMs = 0;
  #inWord = false;
  #words = 0;
  #verdict: AmdVerdict | undefined;
  /** A steady tone heard during the analysis: a machine's beep (people do not beep). */
  readonly #analysisTone = new ToneTracker();
  // The end-of-greeting detector's state.
  readonly #tone = new ToneTracker();
  #beepHeard = false;
  #spoken = false;
  #quietMs = 0;

  constructor(thresholds: Partial<AmdThresholds> = {}) {
    this.#t = { ...defaultAmdThresholds, ...thresholds };
  }

  push(samples: Int16Array): AmdVerdict | undefined {
    if (this.#verdict) return this.#verdict;
    for (const frame of this.#frames(samples)) {
      this.#verdict = this.#classify(frame);
      if (this.#verdict) return this.#verdict;
    }
    return undefined;
  }

  greetingOver(samples: Int16Array): boolean {
    for (const frame of this.#frames(samples)) {
      const silent = rms(frame) < this.#t.silenceRms;
      if (silent) this.#quietMs += FRAME_MS;
      else {
        this.#quietMs = 0;
        this.#spoken = true;
      }
      if (this.#tone.add(frame) > 0) {
        if (this.#tone.ms >= BEEP_MIN_MS) this.#beepHeard = true;
        continue;
      }
      // The beep's end is the moment to speak; without one, a long silence after the greeting will do.
      if (this.#beepHeard) return true;
      if (this.#spoken && this.#quietMs >= END_SILENCE_MS) return true;
    }
    return false;
  }

  #classify(frame: Int16Array): AmdVerdict | undefined {
    const t = this.#t;
    this.#elapsedMs += FRAME_MS;
    const at = this.#elapsedMs;
    if (this.#analysisTone.add(frame) >= BEEP_MIN_MS) return { kind: 'machine', reason: `a ${Math.round(this.#analysisTone.hz)} Hz beep`, atMs: at };
    if (rms(frame) < t.silenceRms) {
      this.#silenceMs += FRAME_MS;
      if (this.#inWord && this.#silenceMs >= t.betweenWordsSilenceMs) {
        this.#inWord = false;
        if (this.#wordMs >= t.minWordMs) this.#words++;
        this.#wordMs = 0;
      }
      if (this.#firstSpeechAt === undefined && this.#silenceMs >= t.initialSilenceMs) return { kind: 'machine', reason: `no speech for ${this.#silenceMs} ms`, atMs: at };
      if (this.#words > 0 && !this.#inWord && this.#silenceMs >= t.afterGreetingSilenceMs) {
        return { kind: 'human', reason: `${this.#words} word(s), then ${this.#silenceMs} ms of silence`, atMs: at };
      }
    } else {
      this.#silenceMs = 0;
      this.#firstSpeechAt ??= at;
      this.#inWord = true;
      this.#wordMs += FRAME_MS;
      if (this.#wordMs >= t.maxWordMs) return { kind: 'machine', reason: `one sound of ${this.#wordMs} ms`, atMs: at };
      const words = this.#words + (this.#wordMs >= t.minWordMs ? 1 : 0);
      if (words > t.maxWords) return { kind: 'machine', reason: `${words} words`, atMs: at };
      if (at - this.#firstSpeechAt >= t.greetingMs) return { kind: 'machine', reason: `a greeting longer than ${t.greetingMs} ms`, atMs: at };
    }
    if (at >= t.totalAnalysisMs) return { kind: 'not-sure', reason: `no verdict in ${t.totalAnalysisMs} ms`, atMs: at };
    return undefined;
  }

  /** Whole 20 ms frames of what came so far (RTP packets need not be 20 ms). */
  *#frames(samples: Int16Array): Generator<Int16Array> {
    let buffer = samples;
    if (this.#pending.length > 0) {
      buffer = new Int16Array(this.#pending.length + samples.length);
      buffer.set(this.#pending);
      buffer.set(samples, this.#pending.length);
    }
    let offset = 0;
    for (; offset + FRAME <= buffer.length; offset += FRAME) yield buffer.subarray(offset, offset + FRAME);
    this.#pending = buffer.slice(offset);
  }
}

/** How long one steady tone has lasted, frame by frame (a new frequency starts again; no tone resets). */
class ToneTracker {
  ms = 0;
  hz = 0;

  /** Adds a frame; returns the tone's length so far (0: this frame is no tone). */
  add(frame: Int16Array): number {
    const hz = toneOf(frame);
    if (hz === undefined) {
      this.ms = 0;
      return 0;
    }
    if (this.ms === 0 || Math.abs(hz - this.hz) > this.hz * 0.05) {
      this.hz = hz;
      this.ms = 0;
    }
    this.ms += FRAME_MS;
    return this.ms;
  }
}

function rms(frame: Int16Array): number {
  let sum = 0;
  for (const s of frame) sum += s * s;
  return Math.sqrt(sum / frame.length);
}

/**
 * The frequency of a frame that is one steady tone (300-2500 Hz, most of the power at the zero-crossing frequency
 * by Goertzel), else undefined: vowels have harmonics, a beep does not.
 */
function toneOf(frame: Int16Array): number | undefined {
  let crossings = 0;
  let total = 0;
  let first = -1;
  let last = -1;
  for (let i = 0; i < frame.length; i++) {
    total += frame[i]! * frame[i]!;
    if (i > 0 && frame[i - 1]! < 0 !== frame[i]! < 0) {
      // Where between the two samples the wave crossed zero: the frequency to a few hertz, not to 50.
      const at = i - 1 + frame[i - 1]! / (frame[i - 1]! - frame[i]!);
      if (first < 0) first = at;
      last = at;
      crossings++;
    }
  }
  if (total / frame.length < 500 * 500 || crossings < 3) return undefined;
  const hz = ((crossings - 1) / 2) * (8000 / (last - first));
  if (hz < 300 || hz > 2500) return undefined;
  return toneShare(frame, hz) > 0.6 ? hz : undefined;
}
