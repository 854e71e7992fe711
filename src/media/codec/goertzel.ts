/**
 * The share of `samples`' power (8 kHz) at `hz`, by the Goertzel algorithm: about 1 for a pure tone at that
 * frequency, near 0 for one elsewhere or for silence.
 */
export function toneShare(samples: ArrayLike<number>, hz: number): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
    total += x * x;
  }
  return total === 0 ? 0 : (2 * (s1 * s1 + s2 * s2 - k * s1 * s2)) / (samples.length * total);
}
