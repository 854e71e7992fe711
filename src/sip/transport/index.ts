export { TransportLayer, type TransportLayerOptions } from './transport-layer';
export { SipTransportError } from './errors';
export { endpointForUri } from './uri-endpoint';
export {
  isReliable, viaTransport, type TransportProtocol, type ListenOptions, type TlsOptions, type TransportLimits,
  type Endpoint, type RemoteEndpoint, type BoundListener, type IncomingMessage, type TransportUser, type TransportObserver,
} from './types';
