import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { checkWebhookSignature } from '../lib/index';
import type { Notifier } from './notifier';

type Answer = { status: number; body: unknown };

/**
 * The notifications' HTTP API (src/notifications/README.md). Events come in with a bearer token (POST /events) or
 * signed like every onecc webhook (POST /events/webhook); gateways send replies and delivery receipts signed
 * (POST /notifications/replies, /notifications/receipts). Anything unauthenticated gets 401 and is not looked at.
 */
export class EventsApi {
  constructor(
    private readonly notifier: Notifier,
    private readonly auth: { readonly apiTokens: readonly string[]; readonly secret: string | null; readonly maxSkewSeconds: number },
  ) {}

  /** POST /events, /events/webhook, /events/dead-letters/<id>/replay */
  async act(rest: string, body: Buffer, req: IncomingMessage): Promise<Answer> {
    if (req.method !== 'POST') return { status: 405, body: { error: 'POST only' } };
    if (rest === 'webhook') {
      const refused = this.#signed(req, body);
      if (refused) return refused;
    } else {
      const refused = this.#bearer(req);
      if (refused) return refused;
    }
    const replay = /^dead-letters\/([\w-]+)\/replay$/.exec(rest);
    if (replay) return this.notifier.replay(replay[1]!);
    if (rest !== '' && rest !== 'webhook') return { status: 404, body: { error: `no POST /events/${rest}` } };
    const event = parseJson(body);
    return event === undefined ? { status: 400, body: { error: 'the body is not JSON' } } : this.notifier.accept(event);
  }

  /** GET /events/dead-letters, /events/jobs/<id> (bearer token) */
  async query(rest: string, query: URLSearchParams, req: IncomingMessage): Promise<Answer> {
    const refused = this.#bearer(req);
    if (refused) return refused;
    const job = /^jobs\/([\w.:-]+)$/.exec(rest);
    if (job) {
      const found = await this.notifier.job(job[1]!);
      return found ? { status: 200, body: found } : { status: 404, body: { error: `no job ${job[1]}` } };
    }
    if (rest !== 'dead-letters') return { status: 404, body: { error: 'not found', paths: ['/events/dead-letters', '/events/jobs/<id>'] } };
    return { status: 200, body: await this.notifier.deadLetters(Math.min(1000, Number(query.get('limit') ?? 100) || 100)) };
  }

  /** POST /notifications/replies, /notifications/receipts (signed, from gateways) */
  async gateway(rest: string, body: Buffer, req: IncomingMessage): Promise<Answer> {
    if (req.method !== 'POST') return { status: 405, body: { error: 'POST only' } };
    const refused = this.#signed(req, body);
    if (refused) return refused;
    const parsed = parseJson(body);
    if (parsed === undefined) return { status: 400, body: { error: 'the body is not JSON' } };
    if (rest === 'replies') return this.notifier.reply(parsed);
    if (rest === 'receipts') return this.notifier.receipt(parsed);
    return { status: 404, body: { error: `no POST /notifications/${rest} (replies, receipts)` } };
  }

  /** GET /notifications/<id> */
  async notification(id: string): Promise<Answer> {
    const n = await this.notifier.get(id);
    return n ? { status: 200, body: n } : { status: 404, body: { error: `no notification ${id}` } };
  }

  #bearer(req: IncomingMessage): Answer | undefined {
    const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const ok = given !== undefined && this.auth.apiTokens.some((token) => token.length === given.length && timingSafeEqual(Buffer.from(token), Buffer.from(given)));
    return ok ? undefined : { status: 401, body: { error: 'Authorization: Bearer <one of notifications.apiTokens> is required' } };
  }

  #signed(req: IncomingMessage, body: Buffer): Answer | undefined {
    if (this.auth.secret === null) return { status: 401, body: { error: 'signed requests are off: notifications.secret is not set' } };
    const why = checkWebhookSignature(this.auth.secret, req.headers['x-onecc-timestamp'], req.headers['x-onecc-signature'], body, this.auth.maxSkewSeconds);
    return why === undefined ? undefined : { status: 401, body: { error: why } };
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
