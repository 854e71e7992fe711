/*
 * What the benchmarks that run onecc as in production share: their numeric options, a latency histogram, and onecc
 * started as a child process (dist/src/main.js) with the HTTP port read from its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

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

/**
 * onecc from dist/ in a child process with `env` (its log level info or lower: the HTTP listener's port is read
 * from its log), `nodeArgs` before the script (e.g. --cpu-prof). Resolves once it listens, within 60 s.
 */
export async function startOnecc(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<{ sut: ChildProcess; port: number }> {
  const sut = spawn(process.execPath, [...nodeArgs, path.resolve(__dirname, '../../src/main.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // onecc logs its HTTP port as JSON (pino) once it listens.
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error('onecc did not start within 60 s')), 60_000);
    sut.stdout!.on('data', (chunk: Buffer) => {
      if (found) return; // the rest of the log is drained, not kept
      buffer += chunk.toString();
      const match = /"port":(\d+)[^\n]*HTTP listener up/.exec(buffer);
      if (match) {
        found = true;
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    sut.once('exit', (code) => reject(new Error(`onecc exited (${code}) before it listened`)));
  });
  return { sut, port };
}
