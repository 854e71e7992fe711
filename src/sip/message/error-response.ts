import type { RawMessage } from './errors';
import { headerKey } from './header-field';
import { printable } from './parser';

/**
 * Builds a stateless error response to a request that could not be parsed (RFC 3261 §8.2.6, §16.3), from
 * its raw header fields: Via, From, To, Call-ID and CSeq are copied as received. Returns undefined when no
 * response can be built: the message was a response, or there is no Via to route it by.
 */
export function buildErrorResponse(raw: RawMessage, status: number, reason: string, toTag: string): Buffer | undefined {
  if (!raw.isRequest) return undefined;
  const copy = (key: string): string[] => raw.headers.filter((h) => headerKey(h.name) === key).map((h) => h.value);
  const vias = copy('via');
  if (vias.length === 0) return undefined;
  let out = `SIP/2.0 ${status} ${printable(reason, 120)}\r\n`;
  for (const via of vias) out += `Via: ${via}\r\n`;
  for (const value of copy('from')) out += `From: ${value}\r\n`;
  for (const value of copy('to')) out += `To: ${value}${/;\s*tag\s*=/i.test(value) ? '' : `;tag=${toTag}`}\r\n`;
  for (const value of copy('call-id')) out += `Call-ID: ${value}\r\n`;
  for (const value of copy('cseq')) out += `CSeq: ${value}\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'utf8');
}
