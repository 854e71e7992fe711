import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Signed webhooks both ways (the chat connector, business events, notification channels): HMAC-SHA256 over
 * "<timestamp>.<body>", sent as X-Onecc-Timestamp (seconds since the epoch) and X-Onecc-Signature (sha256=<hex>).
 */

export function signWebhook(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The headers of a signed request with `body`, timestamped now. */
export function webhookHeaders(secret: string, body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { 'content-type': 'application/json', 'x-onecc-timestamp': timestamp, 'x-onecc-signature': signWebhook(secret, timestamp, body) };
}

/** Why a signed request is refused, or undefined when its signature is good and fresh. */
export function checkWebhookSignature(secret: string, timestamp: unknown, signature: unknown, body: Buffer, maxSkewSeconds: number): string | undefined {
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return 'X-Onecc-Timestamp (seconds since the epoch) is missing';
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > maxSkewSeconds) return 'X-Onecc-Timestamp is too far from now';
  if (typeof signature !== 'string') return 'X-Onecc-Signature is missing';
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'X-Onecc-Signature does not match';
}
