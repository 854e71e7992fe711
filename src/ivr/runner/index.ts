export { IvrRunner, type IvrRunnerOptions } from './ivr-runner';
export { systemClock, type IvrClock } from './run-state';
export { TextPrompts, type TextPromptsOptions } from './text-prompts';
export { IvrRuntimeError, type IvrRuntimeErrorCode } from './errors';
export type {
  IvrCallContext,
  IvrHangupReason,
  IvrHost,
  QueueLeaveReason,
  QueueOutcome,
  QueueRequest,
  QueueSession,
  QueueStatus,
  TransferResult,
  VoicemailMessage,
} from './ivr-host';
export type { IvrError, IvrInput, IvrOutcome, IvrPathRecord, IvrQueueVisit, IvrStep } from './ivr-path';
