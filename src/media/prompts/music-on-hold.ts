import { PROMPT_FORMAT } from './catalog';

/*
 * The default music on hold, synthesized rather than recorded so that it is free to ship and needs no tool: a soft
 * pad over the chords C - Am - F - G with a bell-like arpeggio, 24 s that loop seamlessly (notes and cross-fades
 * that run past the end wrap to the start). Every partial stays under 3.6 kHz, so nothing folds over at 8 kHz; the
 * arpeggio (520-1180 Hz) carries the tune on handsets that cut the pad's lowest notes (220 Hz up). Its level is -26 dBFS RMS, some 6 dB under the speech of the prompts (about -20 dBFS RMS).
 */

const RATE = PROMPT_FORMAT.sampleRate;
const CHORD_SECONDS = 6;
/** Pad voicings (MIDI notes), C4 = 60. */
const CHORDS = [
  [60, 64, 67, 71], // Cmaj7
  [57, 64, 69, 72], // Am7
  [57, 60, 65, 69], // Fmaj7
  [59, 62, 67, 74], // G
];
/** Arpeggio: which pad note (index, one octave up) each eighth note plays. */
const ARPEGGIO = [0, 1, 2, 3, 2, 1, 2, 3, 0, 2, 1, 3, 2, 1, 0, 1];
const EIGHTH_SECONDS = CHORD_SECONDS / ARPEGGIO.length;
const RMS_DBFS = -26;

export const MUSIC_ON_HOLD_SECONDS = CHORD_SECONDS * CHORDS.length;

function frequency(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}

export function synthesizeMusicOnHold(): Int16Array {
  const total = MUSIC_ON_HOLD_SECONDS * RATE;
  const mix = new Float64Array(total);
  const add = (startSample: number, length: number, sample: (t: number) => number): void => {
    for (let i = 0; i < length; i++) mix[(startSample + i) % total] += sample(i / RATE);
  };
  const fade = 1.5; // seconds over which one chord hands over to the next
  CHORDS.forEach((chord, index) => {
    const seconds = CHORD_SECONDS + fade;
    const start = Math.round((index * CHORD_SECONDS - fade / 2) * RATE + total);
    for (const note of chord) {
      const f = frequency(note);
      add(start, seconds * RATE, (t) => {
        // Raised-cosine fades: the outgoing and incoming chords' levels add up to 1 throughout the hand-over.
        const ramp = Math.min(1, t / fade, (seconds - t) / fade);
        const level = 0.5 - 0.5 * Math.cos(Math.PI * ramp);
        return level * 0.18 * (Math.sin(2 * Math.PI * f * t) + 0.25 * Math.sin(4 * Math.PI * f * t));
      });
    }
    ARPEGGIO.forEach((noteIndex, step) => {
      const f = frequency(chord[noteIndex]! + 12);
      const onset = Math.round((index * CHORD_SECONDS + step * EIGHTH_SECONDS) * RATE);
      add(onset, Math.round(1.5 * RATE), (t) => {
        const attack = Math.min(1, t / 0.01);
        return attack * Math.exp(-t / 0.35) * 0.3 * (Math.sin(2 * Math.PI * f * t) + 0.15 * Math.sin(6 * Math.PI * f * t));
      });
    });
  });
  const rms = Math.sqrt(mix.reduce((sum, v) => sum + v * v, 0) / total);
  const scale = (32767 * 10 ** (RMS_DBFS / 20)) / rms;
  return Int16Array.from(mix, (v) => Math.round(v * scale));
}
