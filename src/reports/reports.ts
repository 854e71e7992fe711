import type { QueueDefinition } from '../acd/index';
import { rowsOf, type ReportRange } from './intervals';
import { WAIT_BUCKETS_SECONDS, type ReportRecorder } from './report-recorder';
import type { CountField, ReportStore } from './report-store';
import { touchpointValues, type SurveyResponse, type Touchpoint } from './survey-response';

/** Figures by subject (a queue, an agent...) then by name, added up over some buckets. */
type Sums = Map<string, Map<string, number>>;

export type ReportRow = Record<string, unknown>;

export interface Report {
  readonly from: string;
  readonly to: string;
  readonly interval?: string;
  readonly rows: readonly ReportRow[];
}

/** Agent states reported as time, with the names the report gives them. */
const AGENT_TIMES = [['available', 'available'], ['reserved', 'reserved'], ['busy', 'talk'], ['wrap-up', 'wrapUp'], ['not-ready', 'notReady']] as const;

/**
 * The contact centre's reports, built from the report store's buckets and facts: per queue (and for the whole
 * centre, queue "*") or channel and interval, per agent, per disposition code (Pareto), per campaign, and the
 * customers' experience per touchpoint. Averages and percentages are rounded to two decimals; one with nothing to
 * average over is null.
 */
export class Reports {
  constructor(
    private readonly deps: {
      readonly store: ReportStore;
      readonly recorder: ReportRecorder;
      readonly queues: readonly QueueDefinition[];
      readonly now?: () => number;
    },
  ) {}

  /** Per queue and interval, and the centre's total (queue "*") per interval. */
  async queues(range: ReportRange, only?: string): Promise<Report> {
    const [counts, surveys] = await Promise.all([this.deps.store.counts(range.from, range.to), this.#surveys(range)]);
    const rows: ReportRow[] = [];
    for (const row of rowsOf(range)) {
      const sums = sumKind(counts, row.from, row.to, 'q');
      const inRow = surveys.filter((s) => s.at >= row.from && s.at < row.to);
      const names = only !== undefined ? [only] : [...new Set([...this.deps.queues.map((q) => q.name), ...sums.keys()])].sort();
      for (const name of names) {
        const target = this.deps.queues.find((q) => q.name === name)?.serviceLevel ?? null;
        rows.push(contactRow(row, { queue: name }, sums.get(name) ?? new Map(), target, inRow.filter((s) => s.queue === name)));
      }
      if (only === undefined) rows.push(contactRow(row, { queue: '*' }, total(sums), null, inRow));
    }
    return report(range, rows);
  }

  /** Per channel and interval. */
  async channels(range: ReportRange): Promise<Report> {
    const [counts, surveys] = await Promise.all([this.deps.store.counts(range.from, range.to), this.#surveys(range)]);
    const rows: ReportRow[] = [];
    for (const row of rowsOf(range)) {
      const sums = sumKind(counts, row.from, row.to, 'ch');
      const inRow = surveys.filter((s) => s.at >= row.from && s.at < row.to);
      for (const [channel, figures] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
        rows.push(contactRow(row, { channel }, figures, null, inRow.filter((s) => s.channel === channel)));
      }
    }
    return report(range, rows);
  }

  /** Per agent and interval: time in each state (states still going count up to now), occupancy, tasks handled. */
  async agents(range: ReportRange, only?: string): Promise<Report> {
    const counts = await this.deps.store.counts(range.from, range.to);
    const now = this.deps.now?.() ?? Date.now();
    const open = this.deps.recorder.openPeriods();
    const rows: ReportRow[] = [];
    for (const row of rowsOf(range)) {
      const sums = sumKind(counts, row.from, row.to, 'a');
      for (const period of open) {
        const ms = Math.min(row.to, now) - Math.max(row.from, period.since);
        if (ms <= 0) continue;
        const figures = sums.get(period.agentId) ?? new Map<string, number>();
        sums.set(period.agentId, figures);
        add(figures, `ms:${period.state}`, ms);
        if (period.state === 'not-ready') add(figures, `ms:not-ready:${period.reason ?? 'none'}`, ms);
      }
      const agents = only !== undefined ? [only] : [...sums.keys()].sort();
      for (const agent of agents) rows.push(agentRow(row, agent, sums.get(agent) ?? new Map()));
    }
    return report(range, rows);
  }

  /** Disposition codes over the whole range, most frequent first, with cumulative percentages (Pareto). */
  async dispositions(range: ReportRange, queue?: string): Promise<Report> {
    const counts = await this.deps.store.counts(range.from, range.to);
    const byCode = new Map<string, number>();
    for (const [subject, figures] of sumKind(counts, range.from, range.to, 'd')) {
      if (queue !== undefined && subject !== queue) continue;
      for (const [code, n] of figures) add(byCode, code, n);
    }
    const all = [...byCode.values()].reduce((a, b) => a + b, 0);
    let cumulative = 0;
    const rows = [...byCode].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([disposition, count]) => {
      cumulative += count;
      return { disposition, count, percent: percent(count, all), cumulativePercent: percent(cumulative, all) };
    });
    return { from: iso(range.from), to: iso(range.to), rows };
  }

  /** Per campaign and interval: calls placed by outcome, and the abandoned share of the people who answered. */
  async campaigns(range: ReportRange, only?: string): Promise<Report> {
    const counts = await this.deps.store.counts(range.from, range.to);
    const rows: ReportRow[] = [];
    for (const row of rowsOf(range)) {
      const sums = sumKind(counts, row.from, row.to, 'c');
      const names = only !== undefined ? [only] : [...sums.keys()].sort();
      for (const campaign of names) {
        const outcomes = Object.fromEntries([...(sums.get(campaign) ?? new Map<string, number>())].sort(([a], [b]) => a.localeCompare(b)));
        const of = (o: string) => (outcomes[o] as number | undefined) ?? 0;
        const placed = Object.entries(outcomes).reduce((sum, [o, n]) => (o === 'dnc' ? sum : sum + n), 0);
        rows.push({ from: iso(row.from), to: iso(row.to), campaign, placed, outcomes, abandonedPercent: percent(of('abandoned'), of('human') + of('abandoned')) });
      }
    }
    return report(range, rows);
  }

  /**
   * Notifications per rule (or channel, `by`) and interval: made, skipped (by why), sent, delivered, confirmed,
   * declined, unconfirmed, failed, expired, fallbacks, with delivery and confirmation rates and time to confirm.
   */
  async notifications(range: ReportRange, by: 'rule' | 'channel', only?: string): Promise<Report> {
    const counts = await this.deps.store.counts(range.from, range.to);
    const rows: ReportRow[] = [];
    for (const row of rowsOf(range)) {
      const sums = sumKind(counts, row.from, row.to, by === 'rule' ? 'nr' : 'nch');
      const names = only !== undefined ? [only] : [...sums.keys()].sort();
      for (const name of names) {
        const f = sums.get(name) ?? new Map<string, number>();
        const n = (figure: string) => f.get(figure) ?? 0;
        const skipped = Object.fromEntries([...f].filter(([k]) => k.startsWith('skipped:')).map(([k, v]) => [k.slice('skipped:'.length), v]).sort(([a], [b]) => String(a).localeCompare(String(b))));
        const answered = n('final:confirmed') + n('final:declined') + n('final:unconfirmed');
        rows.push({
          from: iso(row.from), to: iso(row.to), [by]: name,
          created: n('created'), skipped, sent: n('sent'), delivered: n('delivered'), replied: n('replied'), fallbacks: n('fallback'), failedAttempts: n('failed'),
          confirmed: n('final:confirmed'), declined: n('final:declined'), handedOff: n('final:handed-off'), unconfirmed: n('final:unconfirmed'), failed: n('final:failed'), expired: n('final:expired'),
          deliveryRatePercent: percent(n('delivered'), n('sent')),
          confirmationRatePercent: percent(n('final:confirmed'), answered),
          handOffRatePercent: percent(n('final:handed-off'), answered + n('final:handed-off')),
          averageSecondsToConfirm: average(n('confirmMs') / 1000, n('final:confirmed')),
          optedOut: n('skipped:opted-out'),
          reached: n('reached'), calledAnyway: n('called-anyway'), callsAvoided: n('reached') - n('called-anyway'),
        });
      }
    }
    return report(range, rows);
  }

  /** Survey answers per touchpoint over the whole range, most answered first. */
  async experience(range: ReportRange, by: Touchpoint): Promise<Report> {
    const groups = new Map<string, SurveyResponse[]>();
    for (const response of await this.#surveys(range)) {
      for (const value of touchpointValues(response, by)) groups.set(value, [...(groups.get(value) ?? []), response]);
    }
    const rows = [...groups]
      .map(([value, responses]) => ({ by, touchpoint: value, ...experienceOf(responses) }))
      .sort((a, b) => b.responses - a.responses || a.touchpoint.localeCompare(b.touchpoint));
    return { from: iso(range.from), to: iso(range.to), rows };
  }

  /** NPS per interval, with what the detractors had contacted about (their interactions' top dispositions). */
  async npsTrend(range: ReportRange): Promise<Report> {
    const surveys = await this.#surveys(range);
    const rows = rowsOf(range).map((row) => {
      const inRow = surveys.filter((s) => s.at >= row.from && s.at < row.to);
      const drivers = new Map<string, number>();
      for (const s of inRow) if (s.nps !== null && s.nps <= 6) for (const d of s.dispositions) add(drivers, d, 1);
      const { npsResponses, nps, promoters, passives, detractors } = experienceOf(inRow);
      const detractorDrivers = [...drivers].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).slice(0, 5).map(([disposition, count]) => ({ disposition, count }));
      return { from: iso(row.from), to: iso(row.to), npsResponses, nps, promoters, passives, detractors, detractorDrivers };
    });
    return report(range, rows);
  }

  /** Comments (written or recorded) beside their scores and touchpoints, newest first. */
  async verbatims(range: ReportRange, limit: number): Promise<Report> {
    const rows = (await this.#surveys(range))
      .filter((s) => s.comment !== null || s.commentRecording !== null)
      .reverse()
      .slice(0, limit)
      .map((s) => ({ ...s, at: iso(s.at) }));
    return { from: iso(range.from), to: iso(range.to), rows };
  }

  #surveys(range: ReportRange): Promise<SurveyResponse[]> {
    return this.deps.store.facts<SurveyResponse>('survey', range.from, range.to);
  }
}

function contactRow(row: { from: number; to: number }, subject: Record<string, string>, f: Map<string, number>, target: QueueDefinition['serviceLevel'] | null, surveys: readonly SurveyResponse[]): ReportRow {
  const n = (figure: string) => f.get(figure) ?? 0;
  const answered = n('answered');
  const abandoned = n('abandoned');
  let within = 0;
  const abandonedWithin = Object.fromEntries(WAIT_BUCKETS_SECONDS.map((b) => [`${b}s`, (within += n(`abandon<=${b}`))]));
  const experience = experienceOf(surveys);
  return {
    from: iso(row.from), to: iso(row.to), ...subject,
    offered: n('offered'), answered, abandoned,
    answeredWithinTarget: n('answeredWithinTarget'),
    serviceLevelPercent: percent(n('answeredWithinTarget'), answered + abandoned),
    ...(target !== null ? { serviceLevelTarget: `${target.percent}% in ${target.seconds}s` } : {}),
    averageSpeedOfAnswerSeconds: average(n('waitMs') / 1000, answered),
    averageAbandonSeconds: average(n('abandonWaitMs') / 1000, abandoned),
    abandonedWithin,
    completed: n('completed'),
    averageHandleSeconds: average(n('handleMs') / 1000, n('handled')),
    averageWrapUpSeconds: average(n('wrapUpMs') / 1000, n('wrapUps')),
    transfers: n('transfers'), callbacks: n('callbacks'), offerTimeouts: n('offerTimeouts'), offersRejected: n('offersRejected'),
    surveyResponses: experience.responses, csatAverage: experience.csatAverage, nps: experience.nps,
  };
}

function agentRow(row: { from: number; to: number }, agent: string, f: Map<string, number>): ReportRow {
  const seconds = (figure: string) => round2((f.get(figure) ?? 0) / 1000);
  const times = Object.fromEntries(AGENT_TIMES.map(([state, name]) => [`${name}Seconds`, seconds(`ms:${state}`)]));
  const notReadyByReason = Object.fromEntries(
    [...f].filter(([k]) => k.startsWith('ms:not-ready:')).map(([k, ms]) => [k.slice('ms:not-ready:'.length), round2(ms / 1000)]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
  const ms = (state: string) => f.get(`ms:${state}`) ?? 0;
  const working = ms('reserved') + ms('busy') + ms('wrap-up');
  const loggedIn = working + ms('available') + ms('not-ready');
  return {
    from: iso(row.from), to: iso(row.to), agent,
    loggedInSeconds: round2(loggedIn / 1000), ...times, notReadyByReason,
    occupancyPercent: percent(working, working + ms('available')),
    answered: f.get('answered') ?? 0, handled: f.get('handled') ?? 0,
    averageHandleSeconds: average((f.get('handleMs') ?? 0) / 1000, f.get('handled') ?? 0),
  };
}

/** CSAT (1–5: average, and 4–5 as satisfied) and NPS (promoters 9–10 minus detractors 0–6, in % of answers). */
export function experienceOf(responses: readonly SurveyResponse[]): {
  responses: number; csatResponses: number; csatAverage: number | null; satisfiedPercent: number | null;
  npsResponses: number; nps: number | null; promoters: number; passives: number; detractors: number; comments: number;
} {
  const csat = responses.flatMap((r) => (r.csat === null ? [] : [r.csat]));
  const nps = responses.flatMap((r) => (r.nps === null ? [] : [r.nps]));
  const promoters = nps.filter((s) => s >= 9).length;
  const detractors = nps.filter((s) => s <= 6).length;
  return {
    responses: responses.length,
    csatResponses: csat.length,
    csatAverage: average(csat.reduce((a, b) => a + b, 0), csat.length),
    satisfiedPercent: percent(csat.filter((s) => s >= 4).length, csat.length),
    npsResponses: nps.length,
    nps: nps.length === 0 ? null : round2((100 * (promoters - detractors)) / nps.length),
    promoters, passives: nps.length - promoters - detractors, detractors,
    comments: responses.filter((r) => r.comment !== null || r.commentRecording !== null).length,
  };
}

/** The figures of every subject of `kind` over the buckets in [from, to). */
function sumKind(counts: Map<number, Map<CountField, number>>, from: number, to: number, kind: string): Sums {
  const sums: Sums = new Map();
  for (const [bucket, fields] of counts) {
    if (bucket < from || bucket >= to) continue;
    for (const [field, n] of fields) {
      const first = field.indexOf('|');
      if (field.slice(0, first) !== kind) continue;
      const second = field.indexOf('|', first + 1);
      const subject = field.slice(first + 1, second);
      let figures = sums.get(subject);
      if (!figures) sums.set(subject, (figures = new Map()));
      add(figures, field.slice(second + 1), n);
    }
  }
  return sums;
}

function total(sums: Sums): Map<string, number> {
  const all = new Map<string, number>();
  for (const figures of sums.values()) for (const [k, n] of figures) add(all, k, n);
  return all;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function report(range: ReportRange, rows: ReportRow[]): Report {
  return { from: iso(range.from), to: iso(range.to), interval: range.interval, rows };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function average(sum: number, n: number): number | null {
  return n === 0 ? null : round2(sum / n);
}

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : round2((100 * part) / whole);
}
