import type { NodeType, SurveyScale } from '../dialplan/index';

/*
 * The IVR path of one call, built while the runner walks: what the interaction record stores and what the agent's
 * desktop shows (nodes visited, keys pressed, variables, how it ended). Plain JSON-serialisable data.
 */

/** One node visit. */
export interface IvrStep {
  readonly dialplan: string;
  readonly node: string;
  readonly type: NodeType;
  /** ISO 8601. */
  readonly at: string;
  /** The exit taken (`choices.1`, `onNoInput`, `next` ...); absent when the run ended in this node. */
  exit?: string;
}

/** Keys the caller entered at a menu, collect or survey node (one entry per accepted answer). */
export interface IvrInput {
  readonly node: string;
  readonly kind: 'menu' | 'collect' | 'survey';
  /** The variable the input went into (collect, survey). */
  readonly variable?: string;
  readonly digits: string;
  /** A survey answer's scale; a recorded comment's file (in the recording directory) and length. */
  readonly scale?: SurveyScale;
  readonly file?: string;
  readonly durationMs?: number;
  readonly at: string;
}

export interface IvrQueueVisit {
  readonly node: string;
  readonly queue: string;
  readonly enteredAt: string;
  leftAt?: string;
  /** How the wait ended: conversation-ended, timed-out, caller-hangup, callback, max-wait, failed. */
  result?: string;
  agent?: string;
  /** When the agent answered (hold audio stopped). */
  connectedAt?: string;
  /** Position/wait announcements begun. */
  announcements: number;
  callbackOffered: boolean;
}

export interface IvrError {
  readonly node: string;
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

export type IvrOutcome =
  /** onecc hung up (IvrHost.hangup was called with `reason`). */
  | { readonly kind: 'hangup'; readonly node: string; readonly reason: 'dialplan' | 'conversation-ended' | 'error' }
  | { readonly kind: 'caller-hangup'; readonly node: string }
  /** The host took the call elsewhere (SIP URI or agent). */
  | { readonly kind: 'transferred'; readonly node: string; readonly target: string };

export interface IvrPathRecord {
  readonly callId: string;
  /** The dialplan the call started in (a dialplan transfer shows in the steps). */
  readonly dialplan: { readonly id: string; readonly version: string };
  readonly startedAt: string;
  endedAt?: string;
  readonly steps: IvrStep[];
  readonly inputs: IvrInput[];
  readonly queues: IvrQueueVisit[];
  readonly errors: IvrError[];
  readonly voicemails: { readonly node: string; readonly mailbox: string; readonly file: string; readonly durationMs: number }[];
  /** The variables at the end of the run. */
  variables: Record<string, string>;
  outcome?: IvrOutcome;
}
