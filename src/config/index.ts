export { loadConfig, defaultConfigFile, ENV_PREFIX, type LoadConfigOptions } from './load-config';
export { ConfigError, formatProblem, type ConfigProblem } from './errors';
export {
  configSchema,
  logLevels,
  sipTransports,
  type OneccConfig,
  type LogLevel,
  type SipTransportName,
  type SipListenerConfig,
  type MediaConfig,
  type RtpengineConfig,
  type VoiceConfig,
  type TrunkConfig,
  type PhoneConfig,
  type AgentsConfig,
  type RosterEntry,
  type ConfigPath,
  type ConfigIssue,
  type SchemaNode,
} from './schema';
export { validateConfig, formatPath } from './validate';
export { renderConfigReference } from './reference';
