// Starts onecc's media service with its own embedded rtpengine on free loopback ports, for one test file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../../src/lib';
import { MediaService, type MediaServiceOptions } from '../../src/media';
import { freeUdpPort } from '../../src/lib';
import { encodeWav } from '../../src/media/recording/wav';

export interface MediaFixture {
  readonly media: MediaService;
  readonly dir: string;
  readonly options: MediaServiceOptions;
  /** Calls rtpengine still has (all of them, whoever opened them). */
  sessions(): Promise<string[]>;
  close(): Promise<void>;
}

/** An RTP port range of 200 ports picked at random so that parallel test files rarely meet. */
function portRange(): { portMin: number; portMax: number } {
  const base = 20000 + 200 * Math.floor(Math.random() * 60);
  return { portMin: base, portMax: base + 199 };
}

export async function startMedia(overrides: Partial<MediaServiceOptions> = {}, logger: Logger = silentLogger()): Promise<MediaFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-media-'));
  const options: MediaServiceOptions = {
    engine: 'embedded',
    selection: 'least-loaded',
    commandTimeoutMs: 2000,
    rtpengines: [{ host: '127.0.0.1', ngPort: await freeUdpPort(), interface: '127.0.0.1', ...portRange() }],
    dtmf: { host: '127.0.0.1', port: 0 },
    embedded: { binary: '/usr/bin/rtpengine', rtpTimeoutSeconds: 60, logLevel: 5, restartDelayMs: 200 },
    recordingDir: path.join(dir, 'recordings'),
    healthIntervalMs: 500,
    ...overrides,
  };
  const media = await MediaService.start(options, logger);
  return {
    media,
    dir,
    options,
    async sessions() {
      const engine = media.pool.engines[0]!;
      const reply = await engine.ng.command('list', {});
      return (reply.calls as string[] | undefined) ?? [];
    },
    async close() {
      await media.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A WAV tone file (8 kHz mono) for rtpengine to play: `ms` long, at `hz`. */
export function writeToneWav(file: string, ms: number, hz: number, amplitude = 10000): string {
  const samples = new Int16Array((8000 * ms) / 1000);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000));
  writeFileSync(file, encodeWav([samples], 8000));
  return file;
}
