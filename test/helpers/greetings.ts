// Greetings for answering-machine detection tests: text spoken by espeak-ng, resampled to 8 kHz by sox, and pieces
// of silence, tones and noise put together in memory (no audio files are kept).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** `text` spoken by espeak-ng (`voice`, words per minute), as 8 kHz samples. */
export function speak(text: string, voice = 'en-us', speed = 160): Int16Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-greeting-'));
  try {
    execFileSync('espeak-ng', ['-v', voice, '-s', String(speed), '-w', path.join(dir, 'spoken.wav'), text], { timeout: 20_000 });
    execFileSync('sox', [path.join(dir, 'spoken.wav'), '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', path.join(dir, 'spoken.raw')], { timeout: 20_000 });
    const raw = readFileSync(path.join(dir, 'spoken.raw'));
    return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2).slice();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type AudioPart = Int16Array | { readonly silenceMs: number } | { readonly toneHz: number; readonly ms: number };

/** Pieces of audio one after the other. */
export function audio(...parts: AudioPart[]): Int16Array {
  const chunks = parts.map((p) => {
    if (p instanceof Int16Array) return p;
    if ('silenceMs' in p) return new Int16Array(p.silenceMs * 8);
    return Int16Array.from({ length: p.ms * 8 }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * p.toneHz * i) / 8000)));
  });
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** `samples` with white noise of RMS `rms` added (a line's hiss, a room), seeded. */
export function withNoise(samples: Int16Array, rms: number, seed = 1): Int16Array {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return samples.map((s) => Math.max(-32768, Math.min(32767, Math.round(s + random() * rms * Math.sqrt(3)))));
}
