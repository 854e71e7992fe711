/*
 * onecc as in production: dist/src/main.js in a child process, for benchmarks and for tests that kill it (kill -9).
 * Needs `npm run build`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freeUdpPort } from '../../src/lib/index';
import { CALLING_BACK_TRUNK_ENV, phonesEnv } from './voice-peers';

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

/**
 * The environment of an onecc child on 127.0.0.1 (this process's environment under it): free SIP (UDP, `sipPort`, 0
 * for any), drachtio, HTTP and DTMF ports, its own rtpengine on `rtpPorts`, its files under `dir`, and log level info
 * (startOnecc reads the HTTP port from the log).
 */
export function loopbackEnv(dir: string, [portMin, portMax]: readonly [number, number], sipPort = 0): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    ONECC_LOG__LEVEL: 'info',
    ONECC_SIP__LISTEN: `[{transport: udp, host: 127.0.0.1, port: ${sipPort}}]`,
    ONECC_SIP__DRACHTIO__PORT: '0',
    ONECC_HTTP__PORT: '0',
    ONECC_MEDIA__RTPENGINES: `[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: ${portMin}, portMax: ${portMax}}]`,
    ONECC_MEDIA__DTMF__PORT: '0',
    ONECC_MEDIA__RECORDING_DIR: path.join(dir, 'recordings'),
    ONECC_IVR__TEXT_PROMPT_CACHE_DIR: path.join(dir, 'text-cache'),
  };
}

/**
 * What the onecc nodes of a fault test share: the ACD settings every node must agree on (a 2 s lease, so that a dead
 * node is noticed quickly), and the voice settings: agents' phones, a trunk onecc calls back through.
 */
export function faultTestEnv(phones: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ONECC_ACD__NODE_LEASE_SECONDS: '2',
    ONECC_ACD__OFFER_TIMEOUT_SECONDS: '10',
    ONECC_ACD__WRAP_UP_SECONDS: '{voice: 1, video: 1, chat: 0, email: 0}',
    ONECC_VOICE__RING_TIMEOUT_SECONDS: '4',
    ONECC_VOICE__PHONES: phonesEnv(phones),
    ONECC_VOICE__TRUNKS: CALLING_BACK_TRUNK_ENV,
  };
}

/** SIGKILLs the rtpengine whose RTP ports start at `portMin` (the test's own range); throws if none runs, unless ifAny. */
export function killRtpengine(portMin: number, options: { ifAny?: boolean } = {}): void {
  try {
    execFileSync('pkill', ['-KILL', '-f', `rtpengine .*--port-min=${portMin} `]);
  } catch (err) {
    if (!options.ifAny) throw err;
  }
}

export interface OneccNode {
  readonly sut: ChildProcess;
  readonly sipPort: number;
  readonly httpPort: number;
}

/**
 * Another onecc node in a child process, for tests that kill it: UDP SIP on a free 127.0.0.1 port, its own rtpengine
 * on `rtpPorts`, `dialplans` (file name → YAML) in a temp dir, `env` on top (its Redis, node id, shared settings).
 * Teardown kills it, and its rtpengine (which runs in a process group of its own, so outlives a SIGKILL of onecc).
 */
export async function startOneccNode(t: Pick<Test, 'teardown'>, options: { dialplans: Record<string, string>; rtpPorts: readonly [number, number]; env: Record<string, string> }): Promise<OneccNode> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-node-'));
  for (const [name, yaml] of Object.entries(options.dialplans)) writeFileSync(path.join(dir, name), yaml);
  const [portMin] = options.rtpPorts;
  const sipPort = await freeUdpPort();
  let sut: ChildProcess | undefined;
  t.teardown(() => {
    if (sut && sut.exitCode === null && sut.signalCode === null) sut.kill('SIGKILL');
    killRtpengine(portMin, { ifAny: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const started = await startOnecc({ ...loopbackEnv(dir, options.rtpPorts, sipPort), ONECC_IVR__DIALPLANS_DIR: dir, ...options.env });
  sut = started.sut;
  return { sut, sipPort, httpPort: started.port };
}
