#!/usr/bin/env node
import { checkAcdConfig } from './acd/index';
import { checkVoiceConfig } from './channels/voice/index';
import { ConfigError, loadConfig } from './config/index';
import { createLogger } from './lib/index';
import { checkPrompts, isPromptName } from './media/prompts/index';
import { checkDialerConfig } from './dialer/index';
import { startServer } from './server';

const USAGE = `usage: onecc [--config FILE]

Starts onecc with config/default.yaml, then FILE (if given), then ONECC_* environment variables.
`;

function parseArgs(argv: string[]): { configFile?: string } {
  const args: { configFile?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (arg === '--config' || arg === '-c') {
      args.configFile = argv[++i];
      if (args.configFile === undefined) fail('--config needs a file name');
    } else if (arg.startsWith('--config=')) {
      args.configFile = arg.slice('--config='.length);
    } else {
      fail(`unknown argument: ${arg}`);
    }
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`onecc: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { configFile } = parseArgs(process.argv.slice(2));
  let config;
  try {
    config = loadConfig({ file: configFile, checks: [checkPrompts, (c) => checkAcdConfig(c.acd), (c) => checkVoiceConfig(c.voice), (c) => checkDialerConfig(c, isPromptName)] });
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration:\n${err.message}`);
    throw err;
  }
  const logger = createLogger(config.log.level);
  const server = await startServer(config, logger);
  logger.info(
    {
      engine: config.sip.engine,
      sip: server.sip?.listeners.map((l) => `${l.transport}:${l.host}:${l.boundPort}`),
      drachtio: server.drachtio?.port ?? config.sip.drachtio.port,
      http: server.http.port,
      rtpengines: server.media.status().map((e) => e.id),
      dtmf: server.media.dtmf.port,
    },
    'onecc started',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    // The first signal drains (live calls may end on their own within shutdown.drainSeconds); a second one does not wait.
    const drain = !stopping;
    stopping = true;
    logger.info({ signal, drain }, 'shutting down');
    (drain ? server.drain(config.shutdown.drainSeconds) : Promise.resolve()).then(() => server.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`onecc: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
