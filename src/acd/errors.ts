import { OneccError } from '../lib/index';

/** Stable codes for everything the ACD refuses. */
export const AcdErrorCode = {
  unknownAgent: 'ACD_UNKNOWN_AGENT',
  unknownTask: 'ACD_UNKNOWN_TASK',
  unknownQueue: 'ACD_UNKNOWN_QUEUE',
  unknownSkill: 'ACD_UNKNOWN_SKILL',
  invalidProfile: 'ACD_INVALID_PROFILE',
  invalidExpression: 'ACD_INVALID_EXPRESSION',
  duplicateTask: 'ACD_DUPLICATE_TASK',
  queueFull: 'ACD_QUEUE_FULL',
  /** The command does not fit the agent's or task's state (accept without an offer, complete a waiting task ...). */
  wrongState: 'ACD_WRONG_STATE',
  /** Another node changed the same record again and again; the command was not applied. */
  contention: 'ACD_CONTENTION',
  store: 'ACD_STORE',
  /** A node joining others on one Redis routes with another configuration (queues, skills ...). */
  configMismatch: 'ACD_CONFIG_MISMATCH',
  /** Another running process holds this node id. */
  nodeIdHeld: 'ACD_NODE_ID_HELD',
} as const;
export type AcdErrorCode = (typeof AcdErrorCode)[keyof typeof AcdErrorCode];

export class AcdError extends OneccError {
  declare readonly code: AcdErrorCode;
  constructor(code: AcdErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

/** A target expression that does not parse or names an unknown skill or language; `position` is 0-based. */
export class TargetExpressionError extends AcdError {
  constructor(readonly expression: string, readonly position: number, readonly reason: string) {
    super(AcdErrorCode.invalidExpression, `${reason} at position ${position + 1} of "${expression}"`, { expression, position });
  }
}
