import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { WebSocketServer } from 'ws';
import { RateLimitedLog, randomId, type Logger } from '../../lib/index';
import { SipParseError, buildErrorResponse, parseMessage, type SipMessageAny, type Via } from '../message/index';
import { Connection, StreamConnection, WsConnection, type ConnectionEvents } from './connection';
import { SipTransportError } from './errors';
import {
  isReliable, type BoundListener, type Endpoint, type ListenOptions, type RemoteEndpoint, type TlsOptions,
  type TransportLimits, type TransportObserver, type TransportProtocol, type TransportUser,
} from './types';

export interface TransportLayerOptions {
  listen: ListenOptions[];
  tls?: TlsOptions;
  limits: TransportLimits;
  /** UDP responses go back to the request's source ip:port even when the client did not ask with rport. */
  symmetricResponses: boolean;
  logger: Logger;
  /** How long to wait for an outbound TCP/TLS connection. */
  connectTimeoutMs?: number;
  observer?: TransportObserver;
}

const DEFAULT_PORT: Record<TransportProtocol, number> = { udp: 5060, tcp: 5060, ws: 80, tls: 5061, wss: 443 };

interface UdpListener {
  socket: UdpSocket;
  local: Endpoint;
  family: 4 | 6;
}

/**
 * Every listener and connection of the engine (RFC 3261 §18): receives bytes, frames and parses them,
 * answers what cannot be parsed, stamps received/rport on requests, and sends requests and responses
 * the way §18.1.1 and §18.2.2 say, reusing connections.
 */
export class TransportLayer {
  readonly listeners: BoundListener[] = [];
  readonly #options: TransportLayerOptions;
  readonly #log: Logger;
  readonly #badInput: RateLimitedLog;
  readonly #udp: UdpListener[] = [];
  readonly #servers: Array<NetServer | HttpServer> = [];
  readonly #wsServers: WebSocketServer[] = [];
  readonly #connections = new Map<string, Connection>();
  /** protocol|address|port → connection id, so that requests to a peer reuse its connection. */
  readonly #byRemote = new Map<string, string>();
  readonly #connectionEvents: ConnectionEvents;
  /** Outbound connects still in progress: close() fails them, so none completes into a closed layer. */
  readonly #connecting = new Set<(err: Error) => void>();
  #user: TransportUser | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #nextConnectionId = 1;
  #closed = false;

  constructor(options: TransportLayerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ layer: 'transport' });
    this.#badInput = new RateLimitedLog(this.#log);
    this.#connectionEvents = {
      message: (conn, bytes) => this.#receive(bytes, conn.protocol, conn.remote, conn.local, conn),
      framingError: (conn, err) => {
        this.#reject(err, conn.remote, conn);
        if (conn instanceof StreamConnection) conn.closeAfterWrites();
        else conn.close();
      },
      closed: (conn) => {
        this.#connections.delete(conn.id);
        const key = remoteKey(conn.remote);
        if (this.#byRemote.get(key) === conn.id) this.#byRemote.delete(key);
      },
    };
  }

  setUser(user: TransportUser): void {
    this.#user = user;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async start(): Promise<void> {
    for (const listen of this.#options.listen) {
      const boundPort = await this.#listen(listen);
      this.listeners.push({ ...listen, boundPort });
      this.#log.info({ transport: listen.transport, host: listen.host, port: boundPort }, 'SIP listener up');
    }
    const { partialMessageTimeoutMs, idleConnectionTimeoutMs } = this.#options.limits;
    this.#sweep = setInterval(() => this.#sweepConnections(partialMessageTimeoutMs, idleConnectionTimeoutMs), 1000);
    this.#sweep.unref();
  }

  /** The address and port to put in Via and Contact for messages sent over `protocol`. */
  localEndpoint(protocol: TransportProtocol, family: 4 | 6 = 4): Endpoint {
    const candidates = this.listeners.filter((l) => l.transport === protocol);
    const listener = candidates.find((l) => ipFamily(l.host) === family) ?? candidates[0];
    if (!listener) throw new SipTransportError(`no ${protocol} listener`, { protocol });
    return { address: listener.host, port: listener.boundPort };
  }

  hasListener(protocol: TransportProtocol): boolean {
    return this.listeners.some((l) => l.transport === protocol);
  }

  /**
   * Sends a request (or anything not bound to a received request) to `dest`. Stream transports reuse the
   * given connection, else an open one to the same peer, else (TCP/TLS only) open a new one.
   * Returns the connection used, so a transaction can send its ACK or CANCEL the same way.
   */
  async send(data: Buffer, dest: RemoteEndpoint, connectionId?: string): Promise<{ connectionId?: string }> {
    if (this.#closed) throw new SipTransportError('transport layer closed');
    if (dest.protocol === 'udp') {
      await this.#sendUdp(data, dest);
      return {};
    }
    const conn = await this.#connectionFor(dest, connectionId);
    await conn.send(data);
    return { connectionId: conn.id };
  }

  /**
   * Sends a response where RFC 3261 §18.2.2 and RFC 3581 say: over the request's connection on a stream
   * transport (reconnecting to the Via address for TCP/TLS if it closed), else to the source address and
   * port when rport asked for it or symmetric responses are on, else to received/sent-by.
   */
  async sendResponse(data: Buffer, via: Via, remote: RemoteEndpoint, connectionId?: string): Promise<void> {
    if (isReliable(remote.protocol)) {
      const conn = connectionId === undefined ? undefined : this.#connections.get(connectionId);
      if (conn && !conn.closed) return conn.send(data);
      if (remote.protocol === 'ws' || remote.protocol === 'wss') throw new SipTransportError('WebSocket connection is gone', { remote });
      const dest = { protocol: remote.protocol, address: via.received ?? via.hostAddress, port: via.port ?? DEFAULT_PORT[remote.protocol] };
      await this.send(data, dest);
      return;
    }
    const symmetric = via.rport !== undefined || this.#options.symmetricResponses;
    const dest = symmetric
      ? remote
      : { protocol: remote.protocol, address: via.received ?? via.hostAddress, port: via.port ?? DEFAULT_PORT.udp };
    await this.#sendUdp(data, dest);
  }

  /** Stops listening, closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const fail of [...this.#connecting]) fail(new Error('transport layer closed'));
    for (const conn of [...this.#connections.values()]) conn.close();
    for (const wss of this.#wsServers) wss.close();
    await Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const udp of this.#udp) udp.socket.close();
  }

  async #listen(listen: ListenOptions): Promise<number> {
    switch (listen.transport) {
      case 'udp':
        return this.#listenUdp(listen);
      case 'tcp':
      case 'tls':
        return this.#listenStream(listen);
      case 'ws':
      case 'wss':
        return this.#listenWs(listen);
    }
  }

  #listenUdp(listen: ListenOptions): Promise<number> {
    const family = ipFamily(listen.host);
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(listen.port, listen.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.#log.error({ err }, 'UDP socket error'));
        const { udpReceiveBufferBytes } = this.#options.limits;
        if (udpReceiveBufferBytes !== undefined) socket.setRecvBufferSize(udpReceiveBufferBytes);
        const local = { address: listen.host, port: socket.address().port };
        this.#udp.push({ socket, local, family });
        socket.on('message', (bytes, rinfo) => {
          this.#receive(bytes, 'udp', { protocol: 'udp', address: rinfo.address, port: rinfo.port }, local);
        });
        resolve(local.port);
      });
    });
  }

  #listenStream(listen: ListenOptions): Promise<number> {
    const protocol = listen.transport as 'tcp' | 'tls';
    const onSocket = (socket: Socket): void => {
      if (this.#connections.size >= this.#options.limits.maxConnections) {
        this.#badInput.warn({ remote: socket.remoteAddress }, 'connection limit reached; refusing connection');
        socket.destroy();
        return;
      }
      this.#adoptStream(protocol, socket, false);
    };
    const server = protocol === 'tls' ? createTlsServer(this.#tlsOptions(), onSocket) : createNetServer(onSocket);
    return this.#serve(server, listen);
  }

  #listenWs(listen: ListenOptions): Promise<number> {
    const protocol = listen.transport as 'ws' | 'wss';
    const server = protocol === 'wss' ? createHttpsServer(this.#tlsOptions()) : createHttpServer();
    const wss = new WebSocketServer({
      server,
      maxPayload: this.#options.limits.maxMessageBytes,
      // RFC 7118 §4.1: the handshake must ask for the "sip" subprotocol.
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      verifyClient: (info, done) => {
        const asked = String(info.req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
        if (asked.includes('sip')) done(true);
        else done(false, 400, 'WebSocket subprotocol "sip" required');
      },
    });
    wss.on('connection', (socket, req) => {
      if (this.#connections.size >= this.#options.limits.maxConnections) {
        socket.terminate();
        return;
      }
      const remote = { protocol, address: stripMapped(req.socket.remoteAddress ?? ''), port: req.socket.remotePort ?? 0 };
      const local = { address: listen.host, port: (server.address() as { port: number }).port };
      this.#register(new WsConnection(this.#newConnectionId(), protocol, socket, remote, local, this.#connectionEvents));
    });
    this.#wsServers.push(wss);
    return this.#serve(server, listen);
  }

  #serve(server: NetServer | HttpServer, listen: ListenOptions): Promise<number> {
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  #tlsOptions(): TlsOptions {
    if (!this.#options.tls) throw new SipTransportError('TLS listener configured without certificate and key');
    return this.#options.tls;
  }

  #adoptStream(protocol: 'tcp' | 'tls', socket: Socket, outbound: boolean): StreamConnection {
    const remote = { protocol, address: stripMapped(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const local = outbound ? this.localEndpoint(protocol, ipFamily(remote.address)) : { address: stripMapped(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
    const limits = { maxMessageBytes: this.#options.limits.maxMessageBytes, maxHeaders: this.#options.limits.maxHeaders };
    const conn = new StreamConnection(this.#newConnectionId(), protocol, socket, remote, local, outbound, limits, this.#connectionEvents);
    this.#register(conn);
    return conn;
  }

  #register(conn: Connection): void {
    this.#connections.set(conn.id, conn);
    this.#byRemote.set(remoteKey(conn.remote), conn.id);
  }

  #newConnectionId(): string {
    return `c${this.#nextConnectionId++}`;
  }

  async #connectionFor(dest: RemoteEndpoint, connectionId?: string): Promise<Connection> {
    const given = connectionId === undefined ? undefined : this.#connections.get(connectionId);
    if (given && !given.closed) return given;
    const address = await resolveHost(dest.address);
    const known = this.#connections.get(this.#byRemote.get(remoteKey({ ...dest, address })) ?? '');
    if (known && !known.closed) return known;
    if (dest.protocol === 'udp') throw new SipTransportError('UDP has no connections', { dest });
    if (dest.protocol === 'ws' || dest.protocol === 'wss') {
      throw new SipTransportError('no WebSocket connection to that peer (onecc does not open WebSocket connections)', { dest });
    }
    return this.#connect(dest.protocol, address, dest.port);
  }

  #connect(protocol: 'tcp' | 'tls', address: string, port: number): Promise<Connection> {
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    if (this.#closed) return Promise.reject(new SipTransportError('transport layer closed', { address, port }));
    return new Promise((resolve, reject) => {
      const tls = this.#options.tls;
      const socket: Socket =
        protocol === 'tls'
          ? tlsConnect({ host: address, port, ca: tls?.ca, cert: tls?.cert, key: tls?.key, servername: isIP(address) ? undefined : address })
          : netConnect({ host: address, port });
      const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        this.#connecting.delete(fail);
        clearTimeout(timer);
        socket.destroy();
        reject(new SipTransportError(`cannot connect to ${protocol}:${address}:${port}`, { address, port }, err));
      };
      this.#connecting.add(fail);
      socket.once('error', fail);
      socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        this.#connecting.delete(fail);
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(this.#adoptStream(protocol, socket, true));
      });
    });
  }

  async #sendUdp(data: Buffer, dest: RemoteEndpoint): Promise<void> {
    const address = await resolveHost(dest.address);
    const family = ipFamily(address);
    const udp = this.#udp.find((u) => u.family === family);
    if (!udp) throw new SipTransportError(`no UDP listener for IPv${family}`, { dest });
    await new Promise<void>((resolve, reject) => {
      udp.socket.send(data, dest.port, address, (err) => (err ? reject(new SipTransportError('UDP send failed', { dest }, err)) : resolve()));
    });
  }

  #receive(bytes: Buffer, protocol: TransportProtocol, remote: RemoteEndpoint, local: Endpoint, conn?: Connection): void {
    // Keepalives (CRLFs) and STUN messages (first byte 0x00 or 0x01) share SIP's UDP port; neither is a message.
    if (protocol === 'udp' && (isBlank(bytes) || bytes[0]! <= 0x01)) return;
    let message: SipMessageAny;
    try {
      message = parseMessage(bytes, protocol === 'udp' || protocol === 'ws' || protocol === 'wss', this.#options.limits);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      this.#reject(err, remote, conn);
      return;
    }
    this.#options.observer?.received(message, protocol);
    if (message.isRequest) stampVia(message, remote);
    this.#user?.onMessage({ message, remote, local, connectionId: conn?.id, receivedAt: Date.now(), bytes: bytes.length });
  }

  /** Answers an unparseable request with its error status when a response can be built; logs (rate-limited) either way. */
  #reject(err: SipParseError, remote: RemoteEndpoint, conn?: Connection): void {
    this.#options.observer?.rejected(err.status, remote.protocol);
    this.#badInput.warn({ remote: `${remote.protocol}:${remote.address}:${remote.port}`, status: err.status, reason: err.reason }, 'malformed SIP message');
    const response = err.raw && buildErrorResponse(err.raw, err.status, err.reason, randomId());
    if (!response) return;
    const sent = conn ? conn.send(response) : this.#sendUdp(response, remote);
    sent.catch((sendErr: unknown) => this.#log.debug({ err: sendErr }, 'could not send error response'));
  }

  #sweepConnections(partialTimeoutMs: number, idleTimeoutMs: number): void {
    const now = Date.now();
    for (const conn of [...this.#connections.values()]) {
      const partial = conn.partialSince();
      if (partial !== undefined && now - partial > partialTimeoutMs) {
        this.#badInput.warn({ connection: conn.id, remote: conn.remote.address }, 'message not completed in time; closing connection');
        conn.close();
      } else if (now - conn.lastActivity > idleTimeoutMs) {
        this.#log.debug({ connection: conn.id }, 'idle connection closed');
        conn.close();
      }
    }
  }
}

/** RFC 3261 §18.2.1 and RFC 3581 §4: record where a request really came from in its top Via. */
function stampVia(request: SipMessageAny, remote: RemoteEndpoint): void {
  const via = request.topVia.clone();
  let changed = false;
  if (via.hostAddress !== remote.address) {
    via.params.set('received', remote.address);
    changed = true;
  }
  if (via.params.get('rport') === null) {
    via.params.set('rport', String(remote.port));
    changed = true;
  }
  if (changed) request.setTopVia(via);
}

function remoteKey(remote: RemoteEndpoint): string {
  return `${remote.protocol}|${remote.address}|${remote.port}`;
}

function ipFamily(address: string): 4 | 6 {
  return isIP(address) === 6 ? 6 : 4;
}

/** Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; Via and logs want the plain address. */
function stripMapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

async function resolveHost(host: string): Promise<string> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(bare)) return bare;
  try {
    return (await lookup(bare)).address;
  } catch (err) {
    throw new SipTransportError(`cannot resolve ${bare}`, { host: bare }, err);
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x0d && b !== 0x0a && b !== 0x20 && b !== 0x09 && b !== 0x00) return false;
  return true;
}
