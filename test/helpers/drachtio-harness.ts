import Srf = require('drachtio-srf');
import { silentLogger } from '../../src/lib/index';
import { DrachtioServer, type DrachtioServerOptions } from '../../src/sip/drachtio/index';
import type { SipEngineOptions, TransportProtocol } from '../../src/sip/index';
import { startEngine } from './sip-engine';
import { within } from './wait';

type Teardown = { teardown(fn: () => unknown): void };
export type Engine = Awaited<ReturnType<typeof startEngine>>;

export const SECRET = 'cymru';

export interface DrachtioUnderTest {
  engine: Engine;
  server: DrachtioServer;
  secret: string;
  /** A SIP URI of the engine on 127.0.0.1 (UDP unless `protocol` says otherwise). */
  uri(user?: string, protocol?: TransportProtocol): string;
}

/**
 * The system under test: a real SipEngine on 127.0.0.1 (free ports) with the drachtio wire-protocol server
 * attached as its application, as src/server.ts wires them. Both close in t.teardown. `t1` shortens RFC 3261
 * Timer T1 (so 64*T1 timeouts fit in a test).
 */
export async function startDrachtio(
  t: Teardown,
  options: { t1?: number; engine?: Partial<SipEngineOptions>; server?: Partial<DrachtioServerOptions> } = {},
): Promise<DrachtioUnderTest> {
  const t1 = options.t1 ?? 100;
  const engine = await startEngine(t, { timers: { t1, t2: Math.max(4 * t1, 400), t4: 5 * t1 }, ...options.engine });
  const server = new DrachtioServer(engine.transactions, { host: '127.0.0.1', port: 0, secret: SECRET, logger: silentLogger(), ...options.server });
  engine.setApplication(server);
  await server.start();
  t.teardown(() => server.close());
  return {
    engine,
    server,
    secret: SECRET,
    uri(user = 'onecc', protocol: TransportProtocol = 'udp'): string {
      return `sip:${user}@127.0.0.1:${engine.port(protocol)}${protocol === 'udp' ? '' : `;transport=${protocol}`}`;
    },
  };
}

export interface ConnectedApp {
  srf: Srf;
  /** What srf.on('connect') reported. */
  hostport: string;
  version: string;
  localHostports: string;
  /** Errors srf emitted ('error' events), kept so that none goes unhandled. */
  errors: Error[];
}

/**
 * An unmodified drachtio-srf app connected to the server: `setup` registers its handlers before it connects
 * (so its route commands go out right after authenticating). Disconnected in t.teardown; it never reconnects.
 */
export async function connectApp(
  t: Teardown,
  sut: { server: DrachtioServer; secret?: string },
  setup: (srf: Srf) => void = () => undefined,
  options: { tags?: string[]; secret?: string; timeoutMs?: number } = {},
): Promise<ConnectedApp> {
  const srf = options.tags ? new Srf(options.tags) : new Srf();
  const errors: Error[] = [];
  srf.on('error', (err: Error) => errors.push(err));
  setup(srf);
  const connected = new Promise<ConnectedApp>((resolve, reject) => {
    srf.once('connect', (err: Error | null, hostport: string, version: string, localHostports: string) => {
      if (err) reject(err);
      else resolve({ srf, hostport, version, localHostports, errors });
    });
  });
  const connectOptions = { host: '127.0.0.1', port: sut.server.port, secret: options.secret ?? sut.secret ?? SECRET, reconnect: { maxAttempts: 1 } };
  void srf.connect(connectOptions as Srf.SrfConfig);
  t.teardown(() => disconnect(srf));
  return within(connected, options.timeoutMs ?? 5000, 'srf connect');
}

/** srf.disconnect(), which throws when the server already closed the connection. */
export function disconnect(srf: Srf): void {
  try {
    srf.disconnect();
  } catch {
    // already gone
  }
}

/** The tag parameter of a From/To value. */
export function tagOf(header: string | undefined): string | undefined {
  return /;\s*tag=([^;>\s,]+)/i.exec(header ?? '')?.[1];
}

/** An SDP offer/answer with a recognisable session name, as apps pass it to srf. */
export function sdp(name: string, port = 40000): string {
  return ['v=0', `o=onecc 1 1 IN IP4 127.0.0.1`, `s=${name}`, 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
}

// drachtio-srf's bundled typings lag its runtime API; these narrow views follow lib/ (srf.js, dialog.js,
// response.js) as it behaves.

/** A Dialog as srf builds it: `id` is the engine's dialog id (token 9/11 of the wire protocol). */
export type Dialog = Srf.Dialog & { id: string };

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  auth?: { username: string; password: string };
  proxy?: string;
}

/** srf.request(uri, opts): resolves with the request as the engine sent it. */
export function srfRequest(srf: Srf, uri: string, options: RequestOptions): Promise<Srf.SrfRequest> {
  const request = srf.request as unknown as (uri: string, opts: RequestOptions) => Promise<Srf.SrfRequest>;
  return request.call(srf, uri, options);
}

/** res.send(status, {headers, body}, callback): the callback gets the engine's echo of what it sent, or an error. */
export function sendResponse(
  res: Srf.SrfResponse, status: number, options: { headers?: Record<string, string>; body?: string } = {}, callback?: (err: unknown, sent?: Srf.SipMessage) => void,
): void {
  const send = res.send as unknown as (status: number, opts: object, cb?: (err: unknown, sent?: Srf.SipMessage) => void) => void;
  send.call(res, status, options, callback);
}

/** dialog.destroy() as a promise. */
export function destroy(dialog: Srf.Dialog, headers?: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => dialog.destroy(headers ? { headers } : undefined, (err: unknown) => (err ? reject(err) : resolve())));
}
