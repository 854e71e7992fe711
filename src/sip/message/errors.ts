import { OneccError } from '../../lib/index';
import type { HeaderField } from './header-field';

/** The lexical form of a message that failed semantic checks: enough to build an error response. */
export interface RawMessage {
  startLine: string;
  isRequest: boolean;
  method?: string;
  headers: HeaderField[];
}

/**
 * A message that cannot be accepted. `status` is the response code RFC 3261 / RFC 4475 name for the fault
 * (400 by default, 505 for a bad version, 513 for a message too large, 501 for an unknown method whose CSeq
 * does not match). `raw` is present when the start line and header lines could be read, so that a
 * stateless error response can still be built for a request.
 */
export class SipParseError extends OneccError {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly raw?: RawMessage,
  ) {
    super('SIP_PARSE', reason, { status });
  }
}

/** A grammar violation inside one header value; the parser turns it into a SipParseError naming the header. */
export class SipSyntaxError extends OneccError {
  constructor(reason: string, readonly text: string) {
    super('SIP_SYNTAX', reason, { text: text.slice(0, 80) });
  }
}
