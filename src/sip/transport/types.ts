import type { SipMessageAny } from '../message/index';

export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Transports where the transport itself delivers reliably, so retransmission timers are not run (RFC 3261 §17). */
export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** The Via transport token for a protocol (RFC 3261 §18, RFC 7118 §5.2). */
export function viaTransport(protocol: TransportProtocol): string {
  return protocol.toUpperCase();
}

export interface ListenOptions {
  transport: TransportProtocol;
  host: string;
  /** 0 picks a free port; `TransportLayer.listeners` reports the one bound. */
  port: number;
}

export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA to verify peers we connect to; the system store when absent. */
  ca?: string | Buffer;
}

export interface TransportLimits {
  maxMessageBytes: number;
  maxHeaders: number;
  partialMessageTimeoutMs: number;
  idleConnectionTimeoutMs: number;
  maxConnections: number;
  /** SO_RCVBUF for UDP sockets; absent leaves the kernel default. */
  udpReceiveBufferBytes?: number;
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface RemoteEndpoint extends Endpoint {
  protocol: TransportProtocol;
}

export interface BoundListener extends ListenOptions {
  /** The port actually bound (differs from `port` when 0 was asked for). */
  boundPort: number;
}

/** A message as it arrived, with where it came from: what the transaction layer and drachtio's leader need. */
export interface IncomingMessage {
  message: SipMessageAny;
  remote: RemoteEndpoint;
  local: Endpoint;
  /** The stream connection it came on; responses and in-dialog requests reuse it. */
  connectionId?: string;
  receivedAt: number;
  bytes: number;
}

/** How the transport layer hands messages up; the transaction layer implements it. */
export interface TransportUser {
  onMessage(incoming: IncomingMessage): void;
}

/** Counters for the metrics layer; the SIP engine never imports prom-client itself. */
export interface TransportObserver {
  received(message: SipMessageAny, protocol: TransportProtocol): void;
  /** A message that could not be parsed or framed, with the status it earned. */
  rejected(status: number, protocol: TransportProtocol): void;
}
