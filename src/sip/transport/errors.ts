import { OneccError } from '../../lib/index';

/** A message could not be sent: no listener for the protocol, a refused or closed connection, a socket error. */
export class SipTransportError extends OneccError {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super('SIP_TRANSPORT', message, context, { cause });
  }
}
