import Srf = require('drachtio-srf');
import type { Logger } from '../../lib/index';

export interface SipApplicationOptions {
  host: string;
  port: number;
  secret: string;
  logger: Logger;
  /** How long to wait for the drachtio server to accept us. */
  connectTimeoutMs?: number;
}

/**
 * onecc's call-control application: a drachtio-srf client connected to the SIP engine (embedded or a real
 * drachtio-server). Today it answers OPTIONS pings from trunks; the IVR and queues attach their verbs here.
 */
export async function connectSipApplication(options: SipApplicationOptions): Promise<Srf> {
  const srf = new Srf();
  const log = options.logger.child({ component: 'sip-app' });
  srf.use('options', (_req, res) => {
    res.send(200, { headers: { Accept: 'application/sdp' } });
  });
  srf.on('error', (err: Error) => log.warn({ err }, 'drachtio connection error'));
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      srf.disconnect();
      reject(new Error(`drachtio server at ${options.host}:${options.port} did not accept us within ${timeoutMs} ms`));
    }, timeoutMs);
    srf.once('connect', (err: Error | null, hostport: string) => {
      clearTimeout(timer);
      if (err) {
        srf.disconnect();
        reject(err);
        return;
      }
      log.info({ hostport }, 'connected to the drachtio server');
      resolve();
    });
    srf.connect({ host: options.host, port: options.port, secret: options.secret });
  });
  return srf;
}
