import { OneccError } from '../lib';

/**
 * Why a media operation failed, and the SIP status a voice layer answers an INVITE with for it, without knowing media
 * internals: 488 (Not Acceptable Here) for SDP it cannot negotiate, 503 (Service Unavailable: try another node) when
 * no rtpengine answers, 500 otherwise.
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
    this.sipStatus = code === 'INCOMPATIBLE_SDP' ? 488 : code === 'NO_RTPENGINE' || code === 'RTPENGINE_TIMEOUT' ? 503 : 500;
  }
}
