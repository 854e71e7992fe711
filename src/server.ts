import { readFileSync } from 'node:fs';
import type { OneccConfig } from './config/index';
import { HttpServer } from './http/index';
import type { Logger } from './lib/index';
import { Metrics } from './metrics/index';
import { SipEngine, type TlsOptions } from './sip/index';

/** A running onecc: every part, started in dependency order and closed in reverse. */
export interface OneccServer {
  readonly sip: SipEngine;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** The composition root: builds and wires every part from the configuration. */
export async function startServer(config: OneccConfig, logger: Logger): Promise<OneccServer> {
  const metrics = new Metrics();
  const sip = new SipEngine({
    listen: config.sip.listen,
    tls: readTls(config),
    timers: config.sip.timers,
    limits: config.sip.limits,
    symmetricResponses: config.sip.symmetricResponses,
    supportedOptionTags: config.sip.supportedOptionTags,
    userAgent: config.sip.userAgent,
    logger,
    observer: metrics.sipObserver(),
  });
  let ready = false;
  const http = new HttpServer({ ...config.http, metrics, isReady: () => ready, logger });

  await sip.start();
  try {
    await http.start();
  } catch (err) {
    await sip.close();
    throw err;
  }
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    sip,
    http,
    metrics,
    close(): Promise<void> {
      closing ??= (async () => {
        ready = false;
        await sip.close();
        await http.close();
      })();
      return closing;
    },
  };
}

function readTls(config: OneccConfig): TlsOptions | undefined {
  const { cert, key } = config.sip.tls;
  if (cert === null || key === null) return undefined;
  return { cert: readFileSync(cert), key: readFileSync(key) };
}
