// onecc as it runs (startServer), for end-to-end tests: every port free, its own temp directory (dialplans,
// recordings, Redis data, text prompt cache), logs silent unless E2E_LOG is set, closed and removed in t.teardown.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { loadConfig, type OneccConfig } from '../../src/config/index';
import { createLogger, silentLogger } from '../../src/lib/index';
import { startServer, type OneccServer } from '../../src/server';

export interface TestServer {
  readonly onecc: OneccServer;
  readonly config: OneccConfig;
  readonly dir: string;
  /** Stops onecc (as SIGTERM would, without the drain) and starts it again on the same data (Redis, recordings). */
  restart(): Promise<OneccServer>;
}

/**
 * Starts onecc with `dialplans` (file name → YAML) and ONECC_* `env` overrides over the test defaults: UDP SIP on
 * 127.0.0.1, the RTP ports `rtpPorts` (give each test file its own range), 1 s of voice wrap-up, trunks 127.0.0.1.
 */
export async function startTestServer(t: Pick<Test, 'teardown'>, options: { dialplans: Record<string, string>; rtpPorts: [number, number]; env?: Record<string, string> }): Promise<TestServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-e2e-'));
  const dialplansDir = path.join(dir, 'dialplans');
  mkdirSync(dialplansDir);
  for (const [name, yaml] of Object.entries(options.dialplans)) writeFileSync(path.join(dialplansDir, name), yaml);
  const [portMin, portMax] = options.rtpPorts;
  const config = loadConfig({
    env: {
      ONECC_LOG__LEVEL: 'silent',
      ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}]',
      ONECC_SIP__DRACHTIO__PORT: '0',
      ONECC_HTTP__PORT: '0',
      ONECC_MEDIA__RTPENGINES: `[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: ${portMin}, portMax: ${portMax}}]`,
      ONECC_MEDIA__DTMF__PORT: '0',
      ONECC_MEDIA__RECORDING_DIR: path.join(dir, 'recordings'),
      ONECC_ACD__REDIS__PORT: '0',
      ONECC_ACD__REDIS__DATA_DIR: path.join(dir, 'redis'),
      ONECC_ACD__WRAP_UP_SECONDS: '{voice: 1, video: 1, chat: 0, email: 0}',
      ONECC_VOICE__TRUNKS: '[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}]',
      ONECC_IVR__DIALPLANS_DIR: dialplansDir,
      ONECC_IVR__TEXT_PROMPT_CACHE_DIR: path.join(dir, 'text-cache'),
      ...options.env,
    },
  });
  let onecc: OneccServer;
  const logger = process.env.E2E_LOG ? createLogger('debug') : silentLogger();
  try {
    onecc = await startServer(config, logger);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  t.teardown(async () => {
    await onecc.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    onecc,
    config,
    dir,
    async restart() {
      await onecc.close();
      onecc = await startServer(config, logger);
      return onecc;
    },
  };
}
