import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { AcdEngine } from '../acd/index';
import { CustomerError, IdentityError, parseIdentity, type CustomerProfile, type CustomerStore, type ProfileChange } from '../customers/index';
import type { Logger } from '../lib/index';
import type { Quality } from '../reports/index';
import type { ConversationStore } from './chat/conversation-store';
import type { InteractionRecord, InteractionRecords } from './interaction-records';

type Answer = { status: number; body: unknown };

/**
 * The customers' HTTP API (/customers, docs in src/customers/README.md): profiles by id or identity, timelines,
 * cases, the audit trail, manual create, link, merge and split, profile changes, and a customer's personal data
 * exported or erased across every store that holds it (profile, interaction records, chat transcripts,
 * recordings on disk).
 */
export class CustomerApi {
  constructor(
    private readonly deps: {
      readonly customers: CustomerStore;
      readonly records: InteractionRecords;
      /** Notifications of the customer (their timeline names them) are erased too. */
      readonly notifications?: { forget(customer: string, ids: readonly string[]): Promise<void> };
      /** Outbound campaigns' contact lists: the customer's numbers are forgotten there too. */
      readonly campaignContacts?: { forgetNumbers(numbers: readonly string[]): Promise<number> };
      /** Quality evaluations of the customer's interactions are exported and erased with them. */
      readonly quality?: Quality;
      readonly conversations?: ConversationStore;
      /** Tasks the ACD keeps of the customer's interactions go too. */
      readonly acd?: AcdEngine;
      /** Where recordings are; a record's `recording` outside it is never touched. */
      readonly recordingDir: string;
      readonly logger: Logger;
    },
  ) {}

  /** GET /customers[?identity=|limit=], /customers/<id>[/timeline|/cases|/audit|/export] */
  async query(rest: string, query: URLSearchParams): Promise<Answer> {
    return this.#answer(async () => {
      const { customers } = this.deps;
      const [id = '', part, ...more] = rest.split('/');
      if (id === '') {
        const identity = query.get('identity');
        if (identity !== null) {
          const owner = await customers.customerOf(parseIdentity(identity));
          if (owner === undefined) return { status: 404, body: { error: `no customer has ${identity}` } };
          return { status: 200, body: await customers.get(owner) };
        }
        return { status: 200, body: await customers.list(limitOf(query, 100)) };
      }
      if (more.length > 0) return notFound(rest);
      const profile = await customers.get(id);
      if (profile === undefined) return { status: 404, body: { error: `no customer ${id}` } };
      switch (part) {
        case undefined:
          return { status: 200, body: { ...profile, cases: await customers.cases(profile.id) } };
        case 'timeline':
          return { status: 200, body: await this.deps.records.many(await customers.timeline(profile.id, limitOf(query, 50))) };
        case 'cases':
          return { status: 200, body: await customers.cases(profile.id) };
        case 'audit':
          return { status: 200, body: await customers.audit(profile.id) };
        case 'export':
          return { status: 200, body: await this.#export(profile) };
        default:
          return notFound(rest);
      }
    });
  }

  /**
   * POST /customers, /customers/merge, /customers/<id>/split, /customers/<id>/identities,
   * /customers/<id>/cases/<case>/close; PATCH /customers/<id>; DELETE /customers/<id>
   */
  async act(rest: string, body: Buffer, req: IncomingMessage): Promise<Answer> {
    return this.#answer(async () => {
      const { customers } = this.deps;
      const method = req.method ?? '';
      const input = parseBody(body);
      const by = typeof input.by === 'string' && input.by !== '' ? input.by.slice(0, 120) : 'admin';
      const [id = '', part, caseId, verb, ...more] = rest.split('/');
      if (more.length > 0) return notFound(rest);
      if (method === 'POST' && id === '') {
        if (input.identities !== undefined && !Array.isArray(input.identities)) throw new CustomerError('BAD_REQUEST', 'identities: a list of <kind>:<value>');
        return { status: 201, body: await customers.create((input.identities as string[] | undefined) ?? [], profileChange(input), by) };
      }
      if (method === 'POST' && id === 'merge') {
        if (typeof input.from !== 'string' || typeof input.into !== 'string') throw new CustomerError('BAD_REQUEST', 'from and into: the customer ids (from is merged into into)');
        return { status: 200, body: await customers.merge(input.from, input.into, by, reasonOf(input)) };
      }
      if (method === 'PATCH' && part === undefined) return { status: 200, body: await customers.update(id, profileChange(input), by) };
      if (method === 'DELETE' && part === undefined) return { status: 200, body: await this.erase(id, by) };
      if (method === 'POST' && part === 'split') {
        if (!Array.isArray(input.identities)) throw new CustomerError('BAD_REQUEST', 'identities: the ones that belong to someone else');
        const interactions = Array.isArray(input.interactions) ? input.interactions.filter((i): i is string => typeof i === 'string') : [];
        return { status: 200, body: await customers.split(id, input.identities.map((i) => parseIdentity(String(i))), interactions, by, reasonOf(input)) };
      }
      if (method === 'POST' && part === 'identities') {
        if (typeof input.identity !== 'string') throw new CustomerError('BAD_REQUEST', 'identity: <kind>:<value>');
        await customers.link(id, parseIdentity(input.identity), by);
        return { status: 200, body: await customers.get(id) };
      }
      if (method === 'POST' && part === 'cases' && caseId && verb === 'close') return { status: 200, body: await customers.closeCase(id, caseId, by) };
      return { status: method === 'POST' || method === 'PATCH' || method === 'DELETE' ? 404 : 405, body: { error: `no ${method} /customers/${rest}` } };
    });
  }

  /** Everything onecc holds of a customer, as one JSON document (recordings inline, base64). */
  async #export(profile: CustomerProfile): Promise<unknown> {
    const { customers, records, conversations } = this.deps;
    const interactions = await records.many(await customers.timeline(profile.id, 100_000));
    const transcripts: Record<string, unknown> = {};
    if (conversations) for (const r of interactions) if (r.channel === 'chat' || r.channel === 'email') transcripts[r.id] = await conversations.transcript(r.id);
    const recordings = interactions.flatMap((r) =>
      this.#filesOf(r).flatMap((file) => (existsSync(file) ? [{ interaction: r.id, file: path.basename(file), bytes: statSync(file).size, base64: readFileSync(file).toString('base64') }] : [])),
    );
    const ids = new Set(interactions.map((r) => r.id));
    const evaluations = this.deps.quality ? (await this.deps.quality.all()).filter((e) => ids.has(e.interaction)) : [];
    return {
      exportedAt: new Date().toISOString(), profile, cases: await customers.cases(profile.id), audit: await customers.audit(profile.id), interactions, transcripts, recordings, evaluations,
    };
  }

  /**
   * Erases customers whose last contact was before `before` (retention): each as DELETE would, by "retention"; one
   * with a contact in progress is left for the next sweep. Returns how many were erased.
   */
  async eraseIdle(before: number, limit: number): Promise<number> {
    let erased = 0;
    for (const id of await this.deps.customers.idle(before, limit)) {
      try {
        await this.erase(id, 'retention');
        erased++;
      } catch (err) {
        if (!(err instanceof CustomerError)) throw err;
        this.deps.logger.info({ customer: id, reason: err.message }, 'retention: customer not erased this time');
      }
    }
    return erased;
  }

  /** Erases the customer everywhere onecc keeps them; an anonymous line stays in the erasure log. */
  async erase(id: string, by: string): Promise<{ erased: string; interactions: number; recordings: number; campaignContacts: number }> {
    const { customers, records, conversations } = this.deps;
    const profile = await customers.get(id);
    if (profile === undefined) throw new CustomerError('NOT_FOUND', `no customer ${id}`);
    const ids = await customers.timeline(profile.id, 100_000);
    const live = new Set(ids);
    if (this.deps.acd && [...this.deps.acd.tasks()].some((task) => live.has(task.attributes.interaction ?? ''))) {
      throw new CustomerError('CONFLICT', `customer ${profile.id} has a contact in progress: erase them once it has ended`);
    }
    const interactions = await records.many(ids);
    let files = 0;
    for (const r of interactions) {
      for (const file of this.#filesOf(r)) {
        if (!existsSync(file)) continue;
        unlinkSync(file);
        files++;
      }
      if (conversations && (r.channel === 'chat' || r.channel === 'email')) await conversations.erase(r.id);
    }
    const numbers = profile.identities.filter((i) => i.startsWith('phone:')).map((i) => i.slice('phone:'.length));
    const campaignContacts = (await this.deps.campaignContacts?.forgetNumbers(numbers)) ?? 0;
    const erased = await customers.erase(profile.id, by);
    await records.erase(erased.interactions);
    await this.deps.notifications?.forget(profile.id, erased.interactions);
    await this.deps.quality?.forgetInteractions(erased.interactions);
    await this.deps.acd?.forgetEndedTasks('interaction', erased.interactions);
    this.deps.logger.info({ customer: profile.id, by, interactions: erased.interactions.length, files, campaignContacts }, 'customer erased');
    return { erased: profile.id, interactions: erased.interactions.length, recordings: files, campaignContacts };
  }

  /** The record's audio files (call recording, voicemails, recorded survey comment) that lie in the recording directory. */
  #filesOf(record: InteractionRecord): string[] {
    const voicemails = ((record.ivr as { voicemails?: { file: string }[] } | undefined)?.voicemails ?? []).map((v) => v.file);
    const named = [record.recording, record.feedback?.commentRecording, ...voicemails].filter((f): f is string => typeof f === 'string' && f !== '');
    const dir = path.resolve(this.deps.recordingDir);
    return named.map((f) => path.resolve(dir, f)).filter((file) => file.startsWith(`${dir}${path.sep}`));
  }

  async #answer(work: () => Promise<Answer>): Promise<Answer> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof IdentityError) return { status: 400, body: { error: err.message } };
      if (err instanceof CustomerError) return { status: { NOT_FOUND: 404, CONFLICT: 409, BAD_REQUEST: 400 }[err.code as 'NOT_FOUND' | 'CONFLICT' | 'BAD_REQUEST'] ?? 400, body: { error: err.message } };
      throw err;
    }
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw new CustomerError('BAD_REQUEST', 'the body must be a JSON object');
}

function profileChange(input: Record<string, unknown>): ProfileChange {
  const change: Record<string, unknown> = {};
  for (const key of ['name', 'language', 'preferredChannel', 'doNotContact', 'consent', 'crmId', 'timezone', 'notifications', 'attributes', 'contacts'] as const) if (key in input) change[key] = input[key];
  return change as ProfileChange;
}

function reasonOf(input: Record<string, unknown>): string {
  if (typeof input.reason !== 'string' || input.reason.trim() === '') throw new CustomerError('BAD_REQUEST', 'reason: why (kept in the audit trail)');
  return input.reason.slice(0, 500);
}

function limitOf(query: URLSearchParams, fallback: number): number {
  const n = Number(query.get('limit') ?? fallback);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : fallback;
}

function notFound(rest: string): Answer {
  return { status: 404, body: { error: `no /customers/${rest}` } };
}
