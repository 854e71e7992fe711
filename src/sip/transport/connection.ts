import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { StreamFramer, type ParseLimits, type SipParseError } from '../message/index';
import { SipTransportError } from './errors';
import type { Endpoint, RemoteEndpoint, TransportProtocol } from './types';

export interface ConnectionEvents {
  /** A whole SIP message arrived (for WebSocket, one WebSocket message). */
  message(conn: Connection, bytes: Buffer): void;
  /** The stream could not be framed; the owner answers and closes the connection. */
  framingError(conn: Connection, err: SipParseError): void;
  closed(conn: Connection): void;
}

/** A stream connection (TCP, TLS, WS, WSS) in the transport layer's connection table. */
export abstract class Connection {
  lastActivity = Date.now();
  #closed = false;

  constructor(
    readonly id: string,
    readonly protocol: TransportProtocol,
    readonly remote: RemoteEndpoint,
    readonly local: Endpoint,
    readonly outbound: boolean,
    protected readonly events: ConnectionEvents,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** When an unfinished message started arriving, for the slow-drip guard; undefined when none is pending. */
  abstract partialSince(): number | undefined;
  abstract send(data: Buffer): Promise<void>;
  protected abstract destroy(): void;

  /** Idempotent: closes the socket once and tells the owner once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.destroy();
    this.events.closed(this);
  }
}

/** TCP or TLS: a byte stream cut into messages by StreamFramer (RFC 3261 §18.3). */
export class StreamConnection extends Connection {
  readonly #framer: StreamFramer;

  constructor(
    id: string,
    protocol: 'tcp' | 'tls',
    readonly socket: Socket,
    remote: RemoteEndpoint,
    local: Endpoint,
    outbound: boolean,
    limits: ParseLimits,
    events: ConnectionEvents,
  ) {
    super(id, protocol, remote, local, outbound, events);
    this.#framer = new StreamFramer(limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  partialSince(): number | undefined {
    return this.#framer.partialSince;
  }

  send(data: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new SipTransportError('connection closed', { connection: this.id }));
    this.lastActivity = Date.now();
    return new Promise((resolve, reject) => {
      this.socket.write(data, (err) => (err ? reject(new SipTransportError('write failed', { connection: this.id }, err)) : resolve()));
    });
  }

  protected destroy(): void {
    this.socket.destroy();
  }

  /** Closes after what was written has been flushed, so that a last error response is not lost. */
  closeAfterWrites(): void {
    if (this.closed) return;
    this.socket.end(() => this.close());
  }

  #onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    for (const frame of this.#framer.push(chunk)) {
      if (this.closed) return;
      // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
      if (frame.kind === 'ping') this.socket.write('\r\n');
      else if (frame.kind === 'message') this.events.message(this, frame.bytes);
      else this.events.framingError(this, frame.error);
    }
  }
}

/** WebSocket (RFC 7118): each WebSocket message carries exactly one SIP message. */
export class WsConnection extends Connection {
  constructor(
    id: string,
    protocol: 'ws' | 'wss',
    readonly socket: WebSocket,
    remote: RemoteEndpoint,
    local: Endpoint,
    events: ConnectionEvents,
  ) {
    super(id, protocol, remote, local, false, events);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastActivity = Date.now();
      const bytes = isBinary || Buffer.isBuffer(data) ? data : Buffer.from(data);
      // Keepalive CRLFs some softphones send over WebSocket carry no message.
      if (bytes.length > 0 && !/^[\r\n]+$/.test(bytes.toString('latin1'))) events.message(this, bytes);
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  partialSince(): undefined {
    return undefined;
  }

  send(data: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new SipTransportError('connection closed', { connection: this.id }));
    this.lastActivity = Date.now();
    return new Promise((resolve, reject) => {
      // RFC 7118 §5.1: a text frame for a UTF-8 message, a binary frame for one with a binary body.
      const payload = isUtf8(data) ? data.toString('utf8') : data;
      this.socket.send(payload, (err) => (err ? reject(new SipTransportError('write failed', { connection: this.id }, err)) : resolve()));
    });
  }

  protected destroy(): void {
    this.socket.terminate();
  }
}
