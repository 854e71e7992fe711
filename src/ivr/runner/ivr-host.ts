import type { TransferTarget } from '../dialplan/index';
import type { IvrInput } from './ivr-path';

/*
 * What only the channel can do for a call walking a dialplan. The runner owns the caller's audio (prompts, digits,
 * music on hold and announcements while queued, the callback offer); the host owns the SIP dialogs, the ACD task and
 * every other leg (ringing agents, bridging, transfers). src/channels/voice implements this; src/ivr never imports it.
 */

/** Why onecc ends the call itself. */
export type IvrHangupReason =
  /** A hangup node, or a node with no next (voicemail, survey) ended the dialplan. */
  | 'dialplan'
  /** The agent hung up and the queue node has no afterAgent. */
  | 'conversation-ended'
  /** A failure reached the onError node and that failed too, or maxSteps was passed again there. */
  | 'error';

export interface IvrHost {
  /**
   * Puts the caller into `request.queue` (an ACD task carrying the variables and inputs as context). Rejects when
   * the ACD refuses the task; the runner then takes the dialplan's onError. While the caller waits, the runner plays
   * music and announcements and reads the caller's keys; once an agent answers, the host calls
   * `request.stopHoldAudio()` and bridges only after it resolved.
   */
  enterQueue(request: QueueRequest): Promise<QueueSession>;
  /**
   * Hands the call to a SIP URI or an agent (dialplan targets the runner follows itself). Resolves `transferred`
   * once the call has left onecc's IVR (the run ends), or `failed` (busy, no answer, rejected: the node's onFail).
   */
  transfer(target: Exclude<TransferTarget, { kind: 'dialplan' }>, context: IvrCallContext): Promise<TransferResult>;
  /** Stores a recorded voicemail for `message.mailbox` (the WAV is already written). */
  deliverVoicemail(message: VoicemailMessage): Promise<void>;
  /** Ends the call from onecc's side (BYE to the caller). The runner said any goodbye prompt before. */
  hangup(reason: IvrHangupReason): Promise<void>;
}

/** What the call carries to an agent or a transfer target (SIP headers, the agent desktop). */
export interface IvrCallContext {
  readonly dialplan: string;
  readonly node: string;
  readonly language: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly inputs: readonly IvrInput[];
}

export interface QueueRequest extends IvrCallContext {
  readonly queue: string;
  /** The queue node's priority, else the last set node's; undefined: the queue's own. */
  readonly priority?: number;
  /** From set nodes; undefined when none set skills. */
  readonly skills?: readonly string[];
  /** Seconds before the runner leaves with 'max-wait'; null: the queue's own limits only. */
  readonly maxWaitSeconds: number | null;
  /**
   * The host calls this when an agent answered, before bridging: the runner stops the music, announcements and
   * callback offer, and stops reading keys for the queue. Resolves once rtpengine stopped playing to the caller.
   */
  readonly stopHoldAudio: () => Promise<void>;
  /**
   * The host calls this when the queue asks for a callback to be offered now (an ACD escalation step): the runner
   * plays the node's callback offer next, if the node has one and the caller can be called back.
   */
  readonly offerCallback: () => void;
}

/** Where the caller stands; what announcements say. */
export interface QueueStatus {
  /** 1-based (AcdEngine.position). */
  readonly position: number;
  /** AcdEngine.estimatedWait(...).waitMs / 1000. */
  readonly estimatedWaitSeconds: number;
}

export interface QueueSession {
  /** Whether onecc can call this caller back (a number to call, a trunk to call through): else no callback offer. */
  readonly callbackAvailable: boolean;
  /** The caller's place now; undefined once it is no longer waiting (offered, connected, gone). */
  status(): QueueStatus | undefined;
  /** Settles once with how the queue ended for this caller. Never rejects: a host failure is `failed`. */
  readonly outcome: Promise<QueueOutcome>;
  /**
   * The runner takes the caller out: 'callback' (the caller accepted a callback: keep the place, call back later),
   * 'max-wait' (the node's maxWait passed), 'caller-hangup', or 'aborted' (the run failed). The host ends the task
   * (abandon, or continueAs for a callback) and resolves `outcome` with `left`. Idempotent; after an agent answered
   * it has no effect.
   */
  leave(reason: QueueLeaveReason): Promise<void>;
}

export type QueueLeaveReason = 'callback' | 'max-wait' | 'caller-hangup' | 'aborted';

export type QueueOutcome =
  /** The caller talked to `agent`; `endedBy` says who hung up. The host gives the caller's audio back to onecc's
   * prompt leg (answerWithPrompts) before it resolves with endedBy 'agent', so that a survey can be played. */
  | { readonly kind: 'conversation-ended'; readonly agent: string; readonly endedBy: 'agent' | 'caller' }
  /** The ACD's own limit (the queue's max wait or size) took the caller out: the node's onTimeout. */
  | { readonly kind: 'timed-out' }
  /** The caller hung up while waiting or while an agent's phone rang. */
  | { readonly kind: 'caller-hangup' }
  /** The runner left (see QueueSession.leave). */
  | { readonly kind: 'left'; readonly reason: QueueLeaveReason }
  /** The host could not go on (task lost, bridge failed): the runner takes onError. */
  | { readonly kind: 'failed'; readonly reason: string };

export type TransferResult = { readonly kind: 'transferred' } | { readonly kind: 'failed'; readonly reason: string };

export interface VoicemailMessage {
  readonly mailbox: string;
  /** Absolute path of the WAV (stereo: left the caller, right what the caller heard). */
  readonly file: string;
  readonly durationMs: number;
  readonly context: IvrCallContext;
}
