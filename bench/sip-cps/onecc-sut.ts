/**
 * The onecc system under test of bench/sip-cps, forked by run.ts. Two roles:
 *
 *   engine [--with-app]  onecc as it runs: startServer() from src/server.ts (embedded SIP engine, UDP on
 *                        127.0.0.1, the drachtio listener, onecc's own drachtio-srf connection, metrics, HTTP),
 *                        and with --with-app the benchmark's UAS on that same drachtio-srf connection.
 *   app PORT SECRET      the same UAS in a process of its own, connected to an engine's drachtio listener.
 *
 * The UAS is what a drachtio-srf application writes: srf.invite → srf.createUAS with an SDP answer; the BYE
 * ends the Dialog ('destroy') and drachtio-srf answers it 200.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Srf = require('drachtio-srf');
import { connectSipApplication } from '../../src/channels/voice/index';
import { loadConfig, logLevels, type LogLevel } from '../../src/config/index';
import { createLogger, type Logger } from '../../src/lib/index';
import { startServer } from '../../src/server';
import type { SutMessage } from './protocol';

const SDP_ANSWER = [
  'v=0', 'o=onecc 2 2 IN IP4 127.0.0.1', 's=onecc', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', '',
].join('\r\n');

const counts = { answered: 0, ended: 0, errors: 0 };

function answerCalls(srf: Srf, log: Logger): void {
  srf.invite((req, res) => {
    srf.createUAS(req, res, { localSdp: SDP_ANSWER }).then(
      (dialog) => {
        counts.answered++;
        dialog.on('destroy', () => counts.ended++);
      },
      (err: unknown) => {
        counts.errors++;
        log.warn({ err }, 'createUAS failed');
      },
    );
  });
}

function send(message: SutMessage): void {
  process.send?.(message);
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const levelArg = option('log-level') ?? 'warn';
  if (!(logLevels as readonly string[]).includes(levelArg)) throw new Error(`--log-level must be one of ${logLevels.join(', ')}`);
  const level = levelArg as LogLevel;
  const logger = createLogger(level);
  let close: () => Promise<void> | void;

  if (role === 'engine') {
    const config = loadConfig({
      env: {
        ONECC_LOG__LEVEL: level,
        ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}]',
        ONECC_SIP__DRACHTIO__PORT: '0',
        ONECC_HTTP__PORT: '0',
        // The SIP stack is what this bench measures: the voice channel (ACD, IVR) stays off, so the bench's own
        // drachtio-srf UAS answers the INVITEs; media and Redis get free ports beside other onecc instances.
        ONECC_ACD__ENABLED: 'false',
        ONECC_ACD__REDIS__PORT: '0',
        ONECC_MEDIA__RTPENGINES: '[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: 30000, portMax: 30999}]',
        ONECC_MEDIA__DTMF__PORT: '0',
      },
    });
    const server = await startServer(config, logger);
    if (process.argv.includes('--with-app')) answerCalls(server.srf, logger);
    const udp = server.sip?.listeners.find((l) => l.transport === 'udp');
    if (!udp || !server.drachtio) throw new Error('the embedded engine has no UDP listener');
    close = () => server.close();
    send({ type: 'ready', sipPort: udp.boundPort, drachtioPort: server.drachtio.port, secret: config.sip.drachtio.secret });
  } else if (role === 'app') {
    const port = Number(process.argv[3]);
    const srf = await connectSipApplication({ host: '127.0.0.1', port, secret: process.argv[4] ?? '', logger });
    answerCalls(srf, logger);
    close = () => srf.disconnect();
    // Let the route command reach the engine before the first INVITE does.
    setTimeout(() => send({ type: 'app-ready' }), 200);
  } else {
    throw new Error('usage: onecc-sut.js engine [--with-app] | app PORT SECRET [--log-level LEVEL]');
  }

  // How long the event loop was kept from running (timers and I/O wait behind whatever runs): the SUT's own view of
  // the stalls a call's latency includes. Reset by run.ts at the start of each measured window.
  const loopDelay = monitorEventLoopDelay({ resolution: 2 });
  loopDelay.enable();
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'mark') loopDelay.reset();
    if (message.type === 'stats') {
      const ms = (ns: number): number => ns / 1e6;
      const memory = process.memoryUsage();
      send({
        type: 'stats', ...counts,
        loopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
        heapUsedMb: memory.heapUsed / 1048576,
        arrayBuffersMb: memory.arrayBuffers / 1048576,
      });
    }
  });
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    // A clean exit, so that --cpu-prof writes its profile.
    Promise.resolve(close()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`onecc-sut: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
