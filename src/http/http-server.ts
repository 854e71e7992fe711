import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/index';
import type { Metrics } from '../metrics/index';

/** A resource's or action's answer: JSON, or (contentType given) `body` as it is, of that type: a CSV report, a recording. */
export type HttpAnswer =
  | { status: number; body: unknown; contentType?: undefined }
  | { status: number; body: string | Buffer; contentType: string }
  /** A file sent as it is read (a recording of an hour is over 100 MB): `file` is its absolute path, `bytes` its size. */
  | { status: number; body: { readonly file: string; readonly bytes: number }; contentType: string; stream: true };

export interface HttpServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  /**
   * Whether onecc can take traffic now, check by check (sip, rtpengine, redis, not draining...): /ready answers 200
   * only when every check holds, 503 with the checks otherwise (until it started, while it drains).
   */
  readiness: () => Promise<Record<string, boolean>> | Record<string, boolean>;
  logger: Logger;
  /** JSON resources served under a path prefix by layers above (e.g. /interactions); `rest` is the path after it. */
  resources?: Record<string, (rest: string, query: URLSearchParams, req: IncomingMessage) => Promise<HttpAnswer>>;
  /**
   * Requests that change something (POST, PUT, DELETE) under a path prefix: the handler gets the path after the
   * prefix, the raw body (at most maxBodyBytes: beyond, 413 without calling it) and the request (method, headers).
   */
  actions?: Record<string, (rest: string, body: Buffer, req: IncomingMessage) => Promise<HttpAnswer>>;
  /** Largest request body actions take; default 8 MiB (a contact list). */
  maxBodyBytes?: number;
  /** WebSocket endpoints by exact path (e.g. /agent): the upgrade request is handed over as it came. */
  upgrades?: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  /** Static files by path prefix (e.g. '/softphone': the browser softphone's directory); `<prefix>/` is index.html. */
  staticDirs?: Record<string, string>;
}

/** The request's body, or undefined (the rest unread, the connection closed after the answer) when over `limit`. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** onecc's HTTP listener: /metrics for Prometheus, /health (the process is up), /ready (it can take traffic). */
export class HttpServer {
  readonly #server: Server;
  /** Sockets handed to a WebSocket endpoint: the HTTP server no longer ends them itself. */
  readonly #upgraded = new Set<Duplex>();
  #port = 0;

  constructor(private readonly options: HttpServerOptions) {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        options.logger.error({ err }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://onecc').pathname;
      const upgrade = options.upgrades?.[path];
      if (upgrade) {
        this.#upgraded.add(socket);
        socket.once('close', () => this.#upgraded.delete(socket));
        return upgrade(req, socket, head);
      }
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  get port(): number {
    return this.#port;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as { port: number }).port;
        this.options.logger.info({ host: this.options.host, port: this.#port }, 'HTTP listener up');
        resolve();
      });
    });
  }

  /**
   * Stops listening and ends every connection. WebSockets (upgraded) are the endpoints' to close with a proper close
   * frame before this; whatever is still open then is cut, or close() would wait for the client.
   */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const socket of this.#upgraded) socket.destroy();
    return closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://onecc');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      for (const [prefix, act] of Object.entries(this.options.actions ?? {})) {
        if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
        const body = await readBody(req, this.options.maxBodyBytes ?? 8 * 1024 * 1024);
        if (body === undefined) return json(res, 413, { error: `the body is larger than ${this.options.maxBodyBytes ?? 8 * 1024 * 1024} bytes` });
        const answer = await act(decodeURIComponent(path.slice(prefix.length + 1)), body, req);
        return json(res, answer.status, answer.body);
      }
      return json(res, 405, { error: 'method not allowed' });
    }
    for (const [prefix, dir] of Object.entries(this.options.staticDirs ?? {})) {
      // Relative URLs in the page resolve against `<prefix>/`, so the bare prefix is sent there.
      if (path === prefix) return void res.writeHead(301, { location: `${prefix}/` }).end();
      if (path.startsWith(`${prefix}/`)) return serveFile(req, res, dir, path.slice(prefix.length + 1) || 'index.html');
    }
    for (const [prefix, serve] of Object.entries(this.options.resources ?? {})) {
      if (path === prefix || path.startsWith(`${prefix}/`)) {
        const answer = await serve(decodeURIComponent(path.slice(prefix.length + 1)), url.searchParams, req);
        if (answer.contentType === undefined) return json(res, answer.status, answer.body);
        if ('stream' in answer) {
          res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': answer.body.bytes });
          if (req.method === 'HEAD') return void res.end();
          // pipeline closes the file when the client goes away mid-download.
          return pipeline(createReadStream(answer.body.file), res).catch((err: unknown) => this.options.logger.debug({ err, file: answer.body.file }, 'file download cut short'));
        }
        res.writeHead(answer.status, { 'content-type': answer.contentType });
        return void res.end(answer.body);
      }
    }
    switch (path) {
      case '/metrics': {
        const body = await this.options.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.options.metrics.registry.contentType });
        res.end(body);
        return;
      }
      case '/health':
        return json(res, 200, { status: 'ok' });
      case '/ready': {
        const checks = await this.options.readiness();
        const ready = Object.values(checks).every(Boolean);
        return json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      }
      default:
        return json(res, 404, { error: 'not found', paths: ['/metrics', '/health', '/ready', ...Object.keys(this.options.resources ?? {}), ...Object.keys(this.options.staticDirs ?? {})] });
    }
  }
}

/** Sends `relative` from `dir` (never a file outside it); 404 for anything that is not a file there. */
async function serveFile(req: IncomingMessage, res: ServerResponse, dir: string, relative: string): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(relative);
  } catch {
    return json(res, 400, { error: 'bad path' });
  }
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
  if (!file.startsWith(root + path.sep) || name.includes('\0') || type === undefined) return json(res, 404, { error: 'not found' });
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return json(res, 404, { error: 'not found' });
  // The files change with every build; the browser asks again each time (304s are not worth the code here).
  res.writeHead(200, { 'content-type': type, 'content-length': info.size, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  if (req.method === 'HEAD') return void res.end();
  await new Promise<void>((resolve, reject) => createReadStream(file).on('error', reject).on('end', resolve).pipe(res));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
