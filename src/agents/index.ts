export { AgentFeed, DISCONNECTED_REASON, type AgentFeedOptions, type SoftphoneAccount } from './agent-feed';
export { FeedPresence } from './feed-presence';
export { Credentials, type Identity, type AuthResult } from './credentials';
export { commandSchemas, closeCodes, ringingCommands, PROTOCOL_VERSION, validate, parseCommand, type CommandType, type ErrorCode, type JsonSchema } from './protocol';
export { TaskControlError, type TaskControls, type InteractionHistory, type ScreenPop, type ChatControls, type ChatAttachment, type ChatMessageView, type ChatFeedEvent } from './task-controls';
