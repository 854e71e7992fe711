/*
 * What the benchmarks that run onecc as in production share: their numeric options, a latency histogram, and onecc
 * started as a child process (test/helpers/onecc-process.ts).
 */

/** `--<name> N` from the command line, a positive number; exits with 2 and the reason otherwise. */
export function positiveArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} needs a positive number\n`);
    process.exit(2);
  }
  return value;
}

/** Latencies in 10 µs buckets up to `maxMs` (longer ones count in the last bucket; `max` keeps the true one). */
export class LatencyHistogram {
  readonly counts: Uint32Array;
  total = 0;
  max = 0;

  constructor(maxMs: number) {
    this.counts = new Uint32Array(Math.ceil(maxMs * 100));
  }

  add(ms: number): void {
    this.counts[Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms * 100)))]!++;
    this.total++;
    this.max = Math.max(this.max, ms);
  }

  quantile(q: number): number {
    let seen = 0;
    const target = Math.ceil(q * this.total);
    for (let i = 0; i < this.counts.length; i++) if ((seen += this.counts[i]!) >= target) return i / 100;
    return this.max;
  }
}

export { loopbackEnv, startOnecc } from '../../test/helpers/onecc-process';
