import { OneccError } from '../../lib/index';

/** A client transaction got no final response in time (Timer B or F), or a CANCEL went unanswered. */
export class SipTimeoutError extends OneccError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('SIP_TX_TIMEOUT', message, context);
  }
}
