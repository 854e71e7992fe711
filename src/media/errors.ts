import { OneccError } from '../lib';

/**
 * Why a media operation failed. `INCOMPATIBLE_SDP` carries sipStatus 488 (Not Acceptable Here) so that the voice
 * layer can answer the INVITE with it without knowing media internals.
 */
export type MediaErrorCode =
  | 'INCOMPATIBLE_SDP'
  | 'RTPENGINE_TIMEOUT'
  | 'RTPENGINE_ERROR'
  | 'NO_RTPENGINE'
  | 'CALL_CLOSED'
  | 'PROMPT_FAILED'
  | 'RECORDING_FAILED';

export class MediaError extends OneccError {
  declare readonly code: MediaErrorCode;
  /** The SIP status a voice layer should answer with when this error fails an offer/answer. */
  readonly sipStatus: number;

  constructor(code: MediaErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
    this.sipStatus = code === 'INCOMPATIBLE_SDP' ? 488 : 500;
  }
}
