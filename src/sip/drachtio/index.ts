export { DrachtioServer, type DrachtioServerOptions } from './drachtio-server';
export { WireFramer, WireProtocolError, frame } from './wire-framer';
