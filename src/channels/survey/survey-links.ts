import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../lib/index';
import type { InteractionRecords } from '../interaction-records';

type Answer = { status: number; body: unknown };

const DAY_MS = 86_400_000;
/** A survey comment longer than this is refused, on every channel. */
export const MAX_COMMENT_CHARS = 2000;

/**
 * The satisfaction survey where no IVR or chat window asks it: a signed link to the survey page (/survey/?t=...)
 * for one interaction, which the video page opens after the call and an email follow-up carries. The token names the
 * interaction and when it expires, signed with HMAC-SHA256: nobody can answer for another interaction.
 */
export class SurveyLinks {
  readonly #key: Buffer;

  constructor(
    private readonly deps: {
      readonly records: InteractionRecords;
      /** HMAC key; null: a random one per start (links die with a restart, and other nodes refuse them). */
      readonly secret: string | null;
      readonly validDays: number;
      /** Where customers reach onecc's HTTP listener (https://cc.example.com); null: no links in follow-ups. */
      readonly publicUrl: string | null;
      readonly logger: Logger;
    },
  ) {
    this.#key = deps.secret === null ? randomBytes(32) : Buffer.from(deps.secret, 'utf8');
  }

  token(interaction: string, now = Date.now()): string {
    const payload = Buffer.from(`${interaction}\n${now + this.deps.validDays * DAY_MS}`, 'utf8').toString('base64url');
    return `${payload}.${this.#mac(payload)}`;
  }

  /** The survey page's address for an interaction, for a follow-up message; null without surveys.publicUrl. */
  url(interaction: string): string | null {
    return this.deps.publicUrl === null ? null : `${this.deps.publicUrl.replace(/\/+$/, '')}/survey/?t=${this.token(interaction)}`;
  }

  /** GET /surveys/<token>: what the page shows (the interaction's channel, whether it was answered). */
  async query(token: string): Promise<Answer> {
    const checked = this.#check(token);
    if ('error' in checked) return checked.error;
    const record = await this.deps.records.get(checked.interaction);
    if (record === undefined) return { status: 404, body: { error: 'this interaction is no longer kept' } };
    return { status: 200, body: { channel: record.channel, answered: record.feedback !== undefined, ...(record.feedback ? { feedback: record.feedback } : {}) } };
  }

  /** POST /surveys/<token> {csat?: 1–5, nps?: 0–10, comment?}: at least one score; sent again, it replaces the answers. */
  async answer(token: string, body: Buffer): Promise<Answer> {
    const checked = this.#check(token);
    if ('error' in checked) return checked.error;
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('not an object');
    } catch {
      return { status: 400, body: { error: 'the body must be a JSON object {csat?, nps?, comment?}' } };
    }
    const { csat, nps, comment } = input;
    if (csat !== undefined && (!Number.isInteger(csat) || (csat as number) < 1 || (csat as number) > 5)) return { status: 400, body: { error: 'csat: a whole number from 1 to 5' } };
    if (nps !== undefined && (!Number.isInteger(nps) || (nps as number) < 0 || (nps as number) > 10)) return { status: 400, body: { error: 'nps: a whole number from 0 to 10' } };
    if (csat === undefined && nps === undefined) return { status: 400, body: { error: 'give csat (1–5), nps (0–10) or both' } };
    if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT_CHARS)) return { status: 400, body: { error: `comment: text of at most ${MAX_COMMENT_CHARS} characters` } };
    const record = await this.deps.records.get(checked.interaction);
    if (record === undefined) return { status: 404, body: { error: 'this interaction is no longer kept' } };
    // The channel writes the record once more as the interaction ends: answers given before would be lost.
    if (record.endedAt === undefined) return { status: 409, body: { error: 'the interaction is still going on: answer once it has ended' } };
    const text = typeof comment === 'string' && comment.trim() !== '' ? comment.trim() : undefined;
    record.feedback = { at: new Date().toISOString(), ...(csat !== undefined ? { csat: csat as number } : {}), ...(nps !== undefined ? { nps: nps as number } : {}), ...(text ? { comment: text } : {}) };
    record.survey = { ...record.survey, ...(csat !== undefined ? { csat: String(csat) } : {}), ...(nps !== undefined ? { nps: String(nps) } : {}) };
    await this.deps.records.save(record);
    this.deps.logger.info({ interaction: record.id, channel: record.channel }, 'survey answered through its link');
    return { status: 200, body: { thanks: true } };
  }

  #check(token: string): { interaction: string } | { error: Answer } {
    const [payload = '', mac = '', ...rest] = token.split('.');
    const given = Buffer.from(mac, 'base64url');
    const expected = Buffer.from(this.#mac(payload), 'base64url');
    if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: { status: 403, body: { error: 'this survey link is not valid' } } };
    const [interaction = '', expires = '0'] = Buffer.from(payload, 'base64url').toString('utf8').split('\n');
    if (Number(expires) < Date.now()) return { error: { status: 403, body: { error: 'this survey link has expired' } } };
    return { interaction };
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
