import http from 'node:http';
import https from 'node:https';
import { webhookHeaders } from '../lib/index';

// Kept-alive connections per origin: a busy channel's gateway takes thousands of messages a second.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/** POSTs `body` as JSON (signed when `secret` is set); undefined when the far end took it (2xx), else why not. */
export function postWebhook(url: string, body: unknown, secret: string | null, timeoutMs: number): Promise<string | undefined> {
  const text = JSON.stringify(body);
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const headers = secret === null ? { 'content-type': 'application/json' } : webhookHeaders(secret, text);
  return new Promise((resolve) => {
    const req = transport.request(target, { method: 'POST', agent: agents[target.protocol as 'http:' | 'https:'], headers: { ...headers, 'content-length': Buffer.byteLength(text) }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? undefined : `the webhook answered ${res.statusCode}`));
      res.on('error', (err) => resolve(`the webhook failed: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(`the webhook failed: ${err.message}`));
    req.end(text);
  });
}
