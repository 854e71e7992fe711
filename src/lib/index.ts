export { OneccError, InvalidStateError } from './onecc-error';
export { TypedEmitter } from './typed-emitter';
export { createLogger, silentLogger, type Logger } from './logger';
export { RateLimitedLog } from './rate-limited-log';
export { randomId } from './random-id';
export { EmbeddedRedis, type EmbeddedRedisOptions } from './embedded-redis';
export { freeTcpPort, freeUdpPort, acceptsTcp } from './ports';
export { yamlLineOf } from './yaml-line';
