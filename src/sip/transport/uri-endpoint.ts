import type { SipUri } from '../message/index';
import type { RemoteEndpoint, TransportProtocol } from './types';

const PROTOCOLS = new Set<string>(['udp', 'tcp', 'tls', 'ws', 'wss']);

/**
 * Where a SIP URI points (RFC 3261 §18.1.1, §19.1, without RFC 3263 DNS): the protocol its `transport`
 * parameter names, else `defaultProtocol`; a sips URI always goes over TLS (WSS for a WebSocket); the port
 * defaults to 5061 for TLS, 5060 otherwise.
 */
export function endpointForUri(uri: SipUri, defaultProtocol: TransportProtocol = 'udp'): RemoteEndpoint {
  const param = uri.params.get('transport')?.toLowerCase();
  let protocol = param !== undefined && PROTOCOLS.has(param) ? (param as TransportProtocol) : uri.scheme === 'sips' ? 'tls' : defaultProtocol;
  if (uri.scheme === 'sips') protocol = protocol === 'ws' || protocol === 'wss' ? 'wss' : 'tls';
  return { protocol, address: uri.hostAddress, port: uri.port ?? (protocol === 'tls' ? 5061 : 5060) };
}
