import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import { headerKey, parseMessage, readHeaderSection, type SipMessageAny } from '../../src/sip/message/index';
import { delay, resolvesWithin } from './wait';

/**
 * Tiny raw SIP peers for tests: they send bytes exactly as given and collect what comes back, with every
 * wait bounded by a timeout. Nothing here interprets SIP beyond cutting a stream into messages, so a test
 * sees the engine's bytes as they were sent.
 */

type Teardown = { teardown(fn: () => unknown): void };

export interface From {
  address: string;
  port: number;
}

/** One message (or datagram, or WebSocket message) received by a peer. */
export class RawPacket {
  #head: { startLine: string; headers: Array<{ name: string; value: string }> } | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly at: number,
    readonly from?: From,
  ) {}

  get text(): string {
    return this.bytes.toString('utf8');
  }

  get startLine(): string {
    return this.#readHead().startLine;
  }

  /** The status code of a response; undefined for anything else. */
  get status(): number | undefined {
    const m = /^SIP\/2\.0 ([0-9]{3})/.exec(this.startLine);
    return m ? Number(m[1]) : undefined;
  }

  /** The method of a request; undefined for a response. */
  get method(): string | undefined {
    return this.status === undefined ? this.startLine.split(' ')[0] : undefined;
  }

  /** The first value of a header (compact forms understood), read without validating the message. */
  header(name: string): string | undefined {
    return this.headers(name)[0];
  }

  headers(name: string): string[] {
    const key = headerKey(name);
    return this.#readHead().headers.filter((h) => headerKey(h.name) === key).map((h) => h.value);
  }

  get callId(): string | undefined {
    return this.header('call-id');
  }

  /** "8 INVITE" → { seq: 8, method: 'INVITE' }. */
  get cseq(): { seq: number; method: string } | undefined {
    const m = /^\s*([0-9]+)\s+(\S+)/.exec(this.header('cseq') ?? '');
    return m ? { seq: Number(m[1]), method: m[2]! } : undefined;
  }

  /** The whole message parsed by onecc's parser (throws when it is not a valid SIP message). */
  parse(): SipMessageAny {
    return parseMessage(this.bytes, true);
  }

  #readHead(): { startLine: string; headers: Array<{ name: string; value: string }> } {
    if (!this.#head) {
      const text = this.bytes.toString('utf8');
      const end = text.search(/\r?\n\r?\n/);
      const head = end < 0 ? text : text.slice(0, end);
      try {
        const raw = readHeaderSection(head);
        this.#head = { startLine: raw.startLine, headers: raw.headers };
      } catch {
        // Not well-formed enough for the header reader: take each `name: value` line as it stands.
        const [startLine = '', ...lines] = head.split(/\r?\n/);
        const headers = lines.flatMap((line) => {
          const colon = line.indexOf(':');
          return colon > 0 ? [{ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() }] : [];
        });
        this.#head = { startLine, headers };
      }
    }
    return this.#head;
  }
}

interface Waiter<T> {
  pred: (item: T) => boolean;
  resolve: (item: T) => void;
  reject: (err: Error) => void;
}

/** What a peer received: `all` keeps everything, `next()` consumes the first unread item that matches. */
export class Inbox<T> {
  readonly all: T[] = [];
  #unread: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  #ended: string | undefined;

  push(item: T): void {
    this.all.push(item);
    for (const w of this.#waiters) {
      if (w.pred(item)) {
        this.#waiters.delete(w);
        w.resolve(item);
        return;
      }
    }
    this.#unread.push(item);
  }

  /** No more items will come (the connection closed): pending and later waits fail at once. */
  end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    for (const w of this.#waiters) w.reject(new Error(`${reason} while waiting`));
    this.#waiters.clear();
  }

  /** Resolves with the first unread item matching `pred`; rejects after `timeoutMs` or when the source ends. */
  next(pred: (item: T) => boolean = () => true, timeoutMs = 2000, what = 'a message'): Promise<T> {
    const i = this.#unread.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#unread.splice(i, 1)[0]!);
    if (this.#ended !== undefined) return Promise.reject(new Error(`${this.#ended}; no ${what} came`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.all.length} received in all)`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        pred,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Waits `ms`, then returns (and consumes) every unread item matching `pred`. */
  async settle(ms: number, pred: (item: T) => boolean = () => true): Promise<T[]> {
    await delay(ms);
    return this.take(pred);
  }

  /** Returns (and consumes) every unread item matching `pred`, without waiting. */
  take(pred: (item: T) => boolean = () => true): T[] {
    const out = this.#unread.filter(pred);
    this.#unread = this.#unread.filter((x) => !pred(x));
    return out;
  }

  count(pred: (item: T) => boolean = () => true): number {
    return this.all.filter(pred).length;
  }
}

/** Matches a response by status (and optionally CSeq method). */
export function isResponse(status?: number, method?: string): (p: RawPacket) => boolean {
  return (p) => p.status !== undefined && (status === undefined || p.status === status) && (method === undefined || p.cseq?.method === method);
}

/** Matches a final (>= 200) response. */
export function isFinal(p: RawPacket): boolean {
  return p.status !== undefined && p.status >= 200;
}

/** Matches a request by method. */
export function isRequest(method?: string): (p: RawPacket) => boolean {
  return (p) => p.status === undefined && (method === undefined || p.method === method);
}

/** A UDP socket on loopback that sends raw datagrams and collects every datagram it receives. */
export class RawUdpPeer {
  readonly inbox = new Inbox<RawPacket>();
  #closed = false;

  private constructor(
    readonly socket: UdpSocket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (bytes, rinfo) => this.inbox.push(new RawPacket(bytes, Date.now(), { address: rinfo.address, port: rinfo.port })));
  }

  static open(t: Teardown, address = '127.0.0.1'): Promise<RawUdpPeer> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        const peer = new RawUdpPeer(socket, address, socket.address().port);
        t.teardown(() => peer.close());
        resolve(peer);
      });
    });
  }

  /** The sent-by this peer would put in a Via: host:port (IPv6 in brackets). */
  get sentBy(): string {
    return `${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}`;
  }

  send(data: Buffer | string, port: number, address = this.address): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, address, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close();
  }
}

/**
 * A TCP or TLS client that writes raw bytes and cuts what comes back into messages by the empty line and
 * Content-Length (cutMessages). A bare CRLF before a message is counted as a keepalive pong (RFC 5626 §3.5.1).
 */
export class RawStreamPeer {
  readonly inbox = new Inbox<RawPacket>();
  /** Every byte received, as received. */
  received = Buffer.alloc(0);
  pongs = 0;
  readonly closed: Promise<void>;
  #isClosed = false;
  #buffer: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#isClosed = true;
        this.inbox.end('connection closed');
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  static connectTcp(t: Teardown, port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<RawStreamPeer> {
    return RawStreamPeer.#connect(t, () => netConnect({ port, host }), 'connect', timeoutMs);
  }

  static connectTls(t: Teardown, port: number, ca: string | Buffer, host = '127.0.0.1', timeoutMs = 2000): Promise<RawStreamPeer> {
    return RawStreamPeer.#connect(t, () => tlsConnect({ port, host, ca }), 'secureConnect', timeoutMs);
  }

  static #connect(t: Teardown, open: () => Socket, event: string, timeoutMs: number): Promise<RawStreamPeer> {
    const socket = open();
    const peer = new RawStreamPeer(socket);
    t.teardown(() => peer.close());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onClose = (): void => fail(new Error('closed before connecting'));
      socket.once('error', fail);
      socket.once('close', onClose);
      socket.once(event, () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', onClose);
        resolve(peer);
      });
    });
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** True when the connection closes within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.#isClosed) return true;
    return resolvesWithin(this.closed, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    this.#buffer = cutMessages(
      Buffer.concat([this.#buffer, chunk]),
      (bytes) => this.inbox.push(new RawPacket(bytes, Date.now())),
      () => this.pongs++,
    );
  }
}

/**
 * Cuts the whole messages off the front of a stream's bytes, by the empty line and Content-Length (compact
 * form too), and returns what is left. A bare CRLF before a message is a keepalive (`onKeepalive`).
 */
function cutMessages(buffer: Buffer, onMessage: (bytes: Buffer) => void, onKeepalive: () => void = () => undefined): Buffer {
  for (;;) {
    while (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) {
      onKeepalive();
      buffer = buffer.subarray(2);
    }
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return buffer;
    const m = /^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)/im.exec(buffer.toString('latin1', 0, end));
    const total = end + 4 + (m ? Number(m[1]) : 0);
    if (buffer.length < total) return buffer;
    onMessage(Buffer.from(buffer.subarray(0, total)));
    buffer = buffer.subarray(total);
  }
}

/** A WebSocket client (subprotocol "sip" unless told otherwise); each WebSocket message is one packet. */
export class RawWsPeer {
  readonly inbox = new Inbox<RawPacket>();
  readonly closed: Promise<void>;
  #isClosed = false;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#isClosed = true;
        this.inbox.end('WebSocket closed');
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => this.inbox.push(new RawPacket(Buffer.from(data), Date.now())));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Opens the WebSocket; rejects (with the server's HTTP status in the message) when the handshake is refused. */
  static connect(
    t: Teardown,
    url: string,
    opts: { protocols?: string[]; ca?: string | Buffer; timeoutMs?: number } = {},
  ): Promise<RawWsPeer> {
    const socket = new WebSocket(url, opts.protocols ?? ['sip'], { ca: opts.ca, handshakeTimeout: opts.timeoutMs ?? 2000 });
    const peer = new RawWsPeer(socket);
    t.teardown(() => peer.close());
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(peer));
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
        socket.terminate();
      });
      socket.once('error', (err) => reject(err));
    });
  }

  send(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.socket.terminate();
  }
}

/** What a RawTcpServer received: the packet and the accepted socket it came on (to answer on it). */
export interface ServerPacket {
  packet: RawPacket;
  socket: Socket;
  /** Index of the accepted connection, in accept order. */
  connection: number;
}

/** A TCP server on loopback that frames what it receives like RawStreamPeer and can answer on each socket. */
export class RawTcpServer {
  readonly inbox = new Inbox<ServerPacket>();
  readonly sockets: Socket[] = [];

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static listen(t: Teardown, host = '127.0.0.1'): Promise<RawTcpServer> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        const peer = new RawTcpServer(server, (server.address() as { port: number }).port);
        server.on('connection', (socket) => peer.#adopt(socket));
        t.teardown(() => peer.close());
        resolve(peer);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #adopt(socket: Socket): void {
    const connection = this.sockets.push(socket) - 1;
    socket.on('error', () => undefined);
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = cutMessages(Buffer.concat([buffer, chunk]), (bytes) => this.inbox.push({ packet: new RawPacket(bytes, Date.now()), socket, connection }));
    });
  }
}

/** A TCP port on 127.0.0.1 where nothing listens (bound, then released). */
export function closedTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
