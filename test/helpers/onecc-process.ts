/*
 * onecc as in production: dist/src/main.js in a child process, for benchmarks and for tests that kill it (kill -9).
 * Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

// Benchmarks run from dist/test/helpers, tests under tap from test/helpers: onecc itself runs from dist either way.
const MAIN = __dirname.split(path.sep).includes('dist') ? path.resolve(__dirname, '../../src/main.js') : path.resolve(__dirname, '../../dist/src/main.js');

/**
 * onecc from dist/ in a child process with `env` (its log level info or lower: the HTTP listener's port is read
 * from its log), `nodeArgs` before the script (e.g. --cpu-prof). Resolves once it listens, within 60 s.
 */
export async function startOnecc(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<{ sut: ChildProcess; port: number }> {
  const sut = spawn(process.execPath, [...nodeArgs, MAIN], { env, stdio: ['ignore', 'pipe', 'inherit'] });
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
