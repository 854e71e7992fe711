import { KNOWN_METHODS, createResponse, type SipRequest, type SipResponse } from '../message/index';

export interface RequestCheckOptions {
  /** Option tags a Require header may name (RFC 3261 §8.2.2.3). */
  supportedOptionTags: readonly string[];
}

/** URI schemes a UAS here can be addressed by. */
const SUPPORTED_SCHEMES = new Set(['sip', 'sips', 'tel']);
/** Body types a session-carrying request may have; an INVITE with anything else cannot be answered. */
const SESSION_TYPES = new Set(['application/sdp', 'multipart/mixed', 'multipart/alternative']);
const SESSION_METHODS = new Set(['INVITE', 'UPDATE']);

/**
 * The request inspection every UAS makes before its application sees a request (RFC 3261 §8.2.1-8.2.3).
 * Returns the error response to send, or undefined when the request may go on.
 */
export function checkRequest(request: SipRequest, options: RequestCheckOptions): SipResponse | undefined {
  const { method } = request;
  if (!KNOWN_METHODS.has(method)) {
    // §8.2.1: an unrecognized method gets 501; the response SHOULD list what is allowed.
    return createResponse(request, 501, 'Not Implemented').addHeader('Allow', [...KNOWN_METHODS].join(', '));
  }
  // §8.2.2.1: a Request-URI scheme we do not understand gets 416.
  if (!SUPPORTED_SCHEMES.has(request.uri.scheme.toLowerCase())) return createResponse(request, 416, 'Unsupported URI Scheme');

  if (method !== 'ACK' && method !== 'CANCEL') {
    // §8.2.2.3: option tags in Require that we do not support are listed back in Unsupported with a 420.
    const supported = new Set(options.supportedOptionTags.map((t) => t.toLowerCase()));
    const unsupported = request.getHeaders('require').filter((tag) => tag.length > 0 && !supported.has(tag.toLowerCase()));
    if (unsupported.length > 0) return createResponse(request, 420, 'Bad Extension').addHeader('Unsupported', unsupported.join(', '));
  }

  if (SESSION_METHODS.has(method)) {
    // §8.2.3: a body we cannot process gets 415, with Accept saying what we can.
    const type = request.getHeader('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (request.body.length > 0 && (type === undefined || !SESSION_TYPES.has(type))) {
      return createResponse(request, 415, 'Unsupported Media Type').addHeader('Accept', 'application/sdp');
    }
    const encoding = request.getHeader('content-encoding');
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      return createResponse(request, 415, 'Unsupported Media Type').addHeader('Accept-Encoding', 'identity');
    }
    // §21.4.7 and RFC 4475 §3.3.15: an INVITE whose Accept rules out SDP cannot be answered with SDP: 406.
    const accept = request.getHeaders('accept').map((a) => a.split(';')[0]!.trim().toLowerCase());
    if (method === 'INVITE' && accept.length > 0 && !accept.some((a) => a === 'application/sdp' || a === 'application/*' || a === '*/*')) {
      return createResponse(request, 406, 'Not Acceptable').addHeader('Warning', '399 onecc "only application/sdp bodies are supported"');
    }
  }
  return undefined;
}
