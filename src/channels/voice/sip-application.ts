import { connect as tlsConnect } from 'node:tls';
import Srf = require('drachtio-srf');
import type { Logger } from '../../lib/index';

export interface SipApplicationOptions {
  host: string;
  port: number;
  secret: string;
  /** Connect over TLS, verifying the server with `ca` (the system store when absent). */
  tls?: { ca?: Buffer };
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
  if (options.tls) await checkTls(options.host, options.port, options.tls.ca, timeoutMs);
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
    // srf's typings omit `tls`, which its wire protocol passes to tls.connect().
    srf.connect({ host: options.host, port: options.port, secret: options.secret, ...(options.tls ? { tls: options.tls } : {}) } as Srf.SrfConfig);
  });
  return srf;
}

/**
 * One TLS handshake before drachtio-srf's own: srf retries a failed handshake forever and trips its own
 * assertion, so a certificate problem is reported here, once and by name.
 */
function checkTls(host: string, port: number, ca: Buffer | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, ca, timeout: timeoutMs }, () => {
      socket.end();
      resolve();
    });
    const fail = (reason: string): void => {
      socket.destroy();
      reject(new Error(`TLS to the drachtio server at ${host}:${port} failed: ${reason}`));
    };
    socket.once('error', (err) => fail(err.message));
    socket.once('timeout', () => fail(`no handshake within ${timeoutMs} ms`));
  });
}
