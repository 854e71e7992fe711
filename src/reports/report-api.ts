import { toCsv } from './csv';
import { parseRange, ReportQueryError, type Interval } from './intervals';
import { EvaluationError, type Quality } from './quality';
import type { Report, Reports } from './reports';
import { touchpoints, type Touchpoint } from './survey-response';

type Answer = { status: number; body: unknown; contentType?: undefined } | { status: number; body: string; contentType: string };

const REPORTS = ['queues', 'channels', 'agents', 'dispositions', 'campaigns', 'notifications', 'experience', 'nps', 'verbatims', 'quality'] as const;

/**
 * The reports' HTTP API (src/reports/README.md): GET /reports/<report>?from=&to=&interval=[&format=csv], and the
 * quality evaluations under /quality. A query the reports cannot answer (a bad range, an unknown touchpoint) gets
 * 400 with the reason.
 */
export class ReportApi {
  constructor(private readonly deps: { readonly reports: Reports; readonly quality: Quality; readonly now?: () => number }) {}

  async query(rest: string, query: URLSearchParams): Promise<Answer> {
    return answer(async () => {
      const kind = rest as (typeof REPORTS)[number];
      if (!REPORTS.includes(kind)) return { status: 404, body: { error: `no report ${JSON.stringify(rest)}`, reports: REPORTS.map((r) => `/reports/${r}`) } };
      const format = query.get('format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new ReportQueryError(`format must be json or csv; got ${JSON.stringify(format)}`);
      const defaultInterval: Interval = kind === 'nps' ? 'day' : 'hour';
      const range = parseRange(query, this.deps.now?.() ?? Date.now(), defaultInterval);
      const { reports, quality } = this.deps;
      let result: Report;
      switch (kind) {
        case 'queues':
          result = await reports.queues(range, name(query, 'queue'));
          break;
        case 'channels':
          result = await reports.channels(range);
          break;
        case 'agents':
          result = await reports.agents(range, name(query, 'agent'));
          break;
        case 'dispositions':
          result = await reports.dispositions(range, name(query, 'queue'));
          break;
        case 'campaigns':
          result = await reports.campaigns(range, name(query, 'campaign'));
          break;
        case 'notifications': {
          const by = query.get('by') ?? 'rule';
          if (by !== 'rule' && by !== 'channel') throw new ReportQueryError(`by must be rule or channel; got ${JSON.stringify(by)}`);
          result = await reports.notifications(range, by, name(query, by));
          break;
        }
        case 'experience': {
          const by = (query.get('by') ?? 'channel') as Touchpoint;
          if (!touchpoints.includes(by)) throw new ReportQueryError(`by must be one of ${touchpoints.join(', ')}; got ${JSON.stringify(by)}`);
          result = await reports.experience(range, by);
          break;
        }
        case 'nps':
          result = await reports.npsTrend(range);
          break;
        case 'verbatims':
          result = await reports.verbatims(range, limit(query));
          break;
        case 'quality':
          result = await quality.report(range);
          break;
      }
      return format === 'csv' ? { status: 200, body: toCsv(result.rows), contentType: 'text/csv; charset=utf-8' } : { status: 200, body: result };
    });
  }

  /** GET /quality/forms, /quality/evaluations?from=&to=[&agent=|interaction=] */
  async qualityQuery(rest: string, query: URLSearchParams): Promise<Answer> {
    return answer(async () => {
      if (rest === 'forms') return { status: 200, body: this.deps.quality.forms };
      if (rest !== 'evaluations') return { status: 404, body: { error: 'not found', paths: ['/quality/forms', '/quality/evaluations'] } };
      const range = parseRange(query, this.deps.now?.() ?? Date.now());
      return { status: 200, body: await this.deps.quality.evaluations(range, { agent: name(query, 'agent'), interaction: query.get('interaction') ?? undefined }) };
    });
  }

  /** POST /quality/evaluations {form, interaction, evaluator, scores, agent?, comments?} */
  async qualityAct(rest: string, body: Buffer, method: string): Promise<Answer> {
    return answer(async () => {
      if (rest !== 'evaluations') return { status: 404, body: { error: 'not found', paths: ['/quality/evaluations'] } };
      if (method !== 'POST') return { status: 405, body: { error: 'POST an evaluation' } };
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new EvaluationError(400, 'the body is not JSON');
      }
      return { status: 201, body: await this.deps.quality.evaluate(parsed) };
    });
  }
}

async function answer(run: () => Promise<Answer>): Promise<Answer> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ReportQueryError) return { status: 400, body: { error: err.message } };
    if (err instanceof EvaluationError) return { status: err.status, body: { error: err.message } };
    throw err;
  }
}

/** A name parameter (queue, agent, campaign): a token when given. */
function name(query: URLSearchParams, key: string): string | undefined {
  const value = query.get(key);
  if (value === null) return undefined;
  if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(value)) throw new ReportQueryError(`${key} must be a name (letters, digits, - . _ ...); got ${JSON.stringify(value)}`);
  return value;
}

function limit(query: URLSearchParams): number {
  const text = query.get('limit') ?? '100';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ReportQueryError(`limit must be a whole number from 1 to 1000; got ${JSON.stringify(text)}`);
  return n;
}
