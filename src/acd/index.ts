export { AcdEngine, agentState, type AcdEngineOptions, type AcdEngineEvents, type EnqueueRequest, type QueueSnapshot } from './engine';
export { checkAcdConfig, type AcdSettings, type AcdConfigSection, type AcdConfigIssue } from './acd-settings';
export { systemClock, SimulatedClock, type AcdClock, type TimerHandle } from './clock';
export { AcdError, AcdErrorCode, TargetExpressionError } from './errors';
export { MemoryStore, type AcdStore, type Change, type CommitResult } from './store';
export { parseTargetExpression, type TargetExpression } from './target-expression';
export * from './types';
export { RedisStore, type RedisStoreOptions } from './redis-store';
