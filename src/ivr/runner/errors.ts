import { OneccError } from '../../lib/index';

export type IvrRuntimeErrorCode =
  /** A prompt could not be resolved, rendered or played. */
  | 'IVR_PROMPT_FAILED'
  /** A webhook timed out, failed, answered non-2xx or not JSON, with no onError of its own. */
  | 'IVR_HTTP_FAILED'
  /** The host refused or lost the queued call. */
  | 'IVR_QUEUE_FAILED'
  /** The call visited more nodes than the dialplan's maxSteps. */
  | 'IVR_MAX_STEPS'
  /** A dialplan transfer named a dialplan that is not loaded, or anything else unexpected. */
  | 'IVR_RUNTIME_FAILED';

/** A failure while a call walks a dialplan; the runner sends the call to the dialplan's onError node. */
export class IvrRuntimeError extends OneccError {
  declare readonly code: IvrRuntimeErrorCode;

  constructor(code: IvrRuntimeErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

/** Thrown inside the runner when the caller is gone; it ends the run and is never reported as an error. */
export class CallerHangup extends Error {
  constructor() {
    super('the caller hung up');
  }
}
