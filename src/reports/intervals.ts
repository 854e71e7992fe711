/*
 * Report ranges and intervals. Figures are kept per 15-minute bucket (UTC), so a range starts and ends on a
 * 15-minute boundary; an hour or day report adds up its buckets. Rows start at `from` and step by the interval, so
 * the last row is short when the range is not a whole number of intervals.
 */

export const BUCKET_MS = 15 * 60_000;
export const intervals = { '15m': BUCKET_MS, hour: 3_600_000, day: 86_400_000 } as const;
export type Interval = keyof typeof intervals;

/** A report of this many rows or more is refused: ask for a coarser interval or a shorter range. */
const MAX_ROWS = 5_000;

export interface ReportRange {
  readonly from: number;
  readonly to: number;
  readonly interval: Interval;
}

/** A query the reports cannot answer (HTTP 400), with what is wrong in words. */
export class ReportQueryError extends Error {}

/**
 * `from` and `to` (ISO 8601 times, or dates meaning 00:00 UTC) and `interval` (15m, hour, day) of a query;
 * without `from` and `to`: today (UTC); with `from` only: from there to now (the quarter hour in progress
 * included), or one interval when `from` is in the future.
 */
export function parseRange(query: URLSearchParams, now: number, defaultInterval: Interval = 'hour'): ReportRange {
  const interval = (query.get('interval') ?? defaultInterval) as Interval;
  if (!Object.hasOwn(intervals, interval)) throw new ReportQueryError(`interval must be one of ${Object.keys(intervals).join(', ')}; got ${JSON.stringify(query.get('interval'))}`);
  const fromText = query.get('from');
  const toText = query.get('to');
  if (fromText === null && toText !== null) throw new ReportQueryError('to without from: give both, or from alone (up to now), or neither (today)');
  const from = fromText === null ? Math.floor(now / intervals.day) * intervals.day : parseTime('from', fromText);
  const upToNow = Math.ceil(now / BUCKET_MS) * BUCKET_MS;
  const to = toText !== null ? parseTime('to', toText) : fromText === null ? from + intervals.day : upToNow > from ? upToNow : from + intervals[interval];
  if (to <= from) throw new ReportQueryError(`to (${new Date(to).toISOString()}) must be after from (${new Date(from).toISOString()})`);
  const rows = Math.ceil((to - from) / intervals[interval]);
  if (rows >= MAX_ROWS) throw new ReportQueryError(`${rows} ${interval} intervals from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} are too many (at most ${MAX_ROWS - 1}): use a coarser interval or a shorter range`);
  return { from, to, interval };
}

function parseTime(name: string, text: string): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  // Date.parse takes many shapes; reports take ISO 8601 only, with a zone (or a bare date, 00:00 UTC).
  if (!dateOnly && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new ReportQueryError(`${name} must be an ISO 8601 time with a zone (2026-12-06T09:00:00Z) or a date (2026-12-06); got ${JSON.stringify(text)}`);
  }
  const at = Date.parse(dateOnly ? `${text}T00:00:00Z` : text);
  // Date.parse rolls 2026-02-30 over into March: the calendar date and the clock time must be as written.
  const [y, mo, d, h = 0, mi = 0, sec = 0] = text.split(/[-T:.Z+]/).slice(0, 6).map(Number) as number[];
  const calendar = new Date(Date.UTC(y!, mo! - 1, d!));
  if (calendar.getUTCMonth() !== mo! - 1 || calendar.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) throw new ReportQueryError(`${name} is not a valid time: ${JSON.stringify(text)}`);
  if (Number.isNaN(at)) throw new ReportQueryError(`${name} is not a valid time: ${JSON.stringify(text)}`);
  if (at % BUCKET_MS !== 0) throw new ReportQueryError(`${name} must be on a 15-minute boundary (reports are kept per quarter hour); got ${text}`);
  return at;
}

/** The rows of a range: [start, end) each. */
export function rowsOf(range: ReportRange): { from: number; to: number }[] {
  const step = intervals[range.interval];
  const rows: { from: number; to: number }[] = [];
  for (let at = range.from; at < range.to; at += step) rows.push({ from: at, to: Math.min(range.to, at + step) });
  return rows;
}

/** The 15-minute buckets of [from, to). */
export function bucketsOf(from: number, to: number): number[] {
  const buckets: number[] = [];
  for (let at = Math.floor(from / BUCKET_MS) * BUCKET_MS; at < to; at += BUCKET_MS) buckets.push(at);
  return buckets;
}

export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS) * BUCKET_MS;
}

/** [start, end) split at 15-minute boundaries: how many ms of it fall in each bucket. */
export function splitByBucket(start: number, end: number): [bucket: number, ms: number][] {
  const parts: [number, number][] = [];
  for (let at = start; at < end; ) {
    const bucket = bucketOf(at);
    const until = Math.min(end, bucket + BUCKET_MS);
    parts.push([bucket, until - at]);
    at = until;
  }
  return parts;
}
