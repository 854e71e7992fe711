import { describe, isMapping, type FieldChecker } from './field-checker';
import type { Calendar, Holiday, WeeklyHours } from './types';
import type { KeyPath } from './yaml-source';

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const TIME_RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `mon-fri`, `sat`, `mon,wed,fri`, `fri-mon` (wraps) -> day numbers, 0 = Sunday. */
function parseDays(spec: string): number[] | undefined {
  const days = new Set<number>();
  for (const part of spec.toLowerCase().split(',').map((p) => p.trim())) {
    const [first, last, extra] = part.split('-');
    const from = DAY_NAMES.indexOf(first as (typeof DAY_NAMES)[number]);
    const to = last === undefined ? from : DAY_NAMES.indexOf(last as (typeof DAY_NAMES)[number]);
    if (from < 0 || to < 0 || extra !== undefined) return undefined;
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === to) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

function parseTimeRange(text: string): { from: number; to: number } | undefined {
  const m = TIME_RANGE.exec(text);
  if (!m) return undefined;
  const [fh, fm, th, tm] = m.slice(1).map(Number) as [number, number, number, number];
  const from = fh * 60 + fm;
  const to = th * 60 + tm;
  if (fh > 23 || fm > 59 || th > 24 || tm > 59 || to > 1440 || from >= to) return undefined;
  return { from, to };
}

function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/**
 * A calendar as written:
 *   hours: { mon-fri: 09:00-18:00, sat: [10:00-12:00, 13:00-16:00] }
 *   holidays: [2026-01-01, { date: 2026-02-17, name: Lunar New Year }]
 */
export function readCalendar(checker: FieldChecker, name: string, value: unknown, path: KeyPath): Calendar | undefined {
  const obj = checker.mapping(value, path, ['hours', 'holidays'], `calendar "${name}"`);
  if (obj === undefined) return undefined;
  const hours: WeeklyHours[] = [];
  const hoursValue = checker.required(obj, 'hours', path);
  if (hoursValue !== undefined && isMapping(hoursValue)) {
    for (const [daySpec, ranges] of Object.entries(hoursValue)) {
      const at = [...path, 'hours', daySpec];
      const days = parseDays(daySpec);
      if (days === undefined) checker.error(at, `"${daySpec}" is not a day or day range (sun, mon ... sat; mon-fri; mon,wed)`);
      const spans = checker.listOf(ranges, at, (item, itemAt) => {
        const span = typeof item === 'string' ? parseTimeRange(item) : undefined;
        if (span === undefined) checker.error(itemAt, `must be a time range HH:MM-HH:MM within one day, e.g. 09:00-18:00 (got ${describe(item)})`);
        return span;
      });
      for (const day of days ?? []) for (const span of spans) hours.push({ day, ...span });
    }
  } else if (hoursValue !== undefined) {
    checker.error([...path, 'hours'], `must map days to time ranges, e.g. { mon-fri: 09:00-18:00 } (got ${describe(hoursValue)})`);
  }
  const holidays: Holiday[] = obj['holidays'] === undefined || obj['holidays'] === null
    ? []
    : checker.listOf(obj['holidays'], [...path, 'holidays'], (item, at) => {
        const entry = typeof item === 'string' ? { date: item } : isMapping(item) ? item : undefined;
        const date = entry?.['date'];
        if (typeof date !== 'string' || !isCalendarDate(date)) {
          checker.error(at, `must be a date YYYY-MM-DD or { date, name } (got ${describe(item)})`);
          return undefined;
        }
        const holidayName = entry?.['name'];
        return typeof holidayName === 'string' ? { date, name: holidayName } : { date };
      });
  return { name, hours, holidays };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Date, weekday and minute of day of `at` on the wall clock of `zone`. */
function wallClock(at: Date, zone: string): { date: string; day: number; minute: number } {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    date: `${parts['year']}-${parts['month']}-${parts['day']}`,
    day: DAY_NAMES.indexOf(String(parts['weekday']).toLowerCase() as (typeof DAY_NAMES)[number]),
    minute: Number(parts['hour']) * 60 + Number(parts['minute']),
  };
}

/**
 * What a branch's `hours` condition sees at `at`: holiday on a listed date (all day), open inside the weekly hours
 * on other days, closed otherwise. A `closed` condition holds on holidays too.
 */
export function calendarState(calendar: Calendar, zone: string, at: Date): 'open' | 'closed' | 'holiday' {
  const now = wallClock(at, zone);
  if (calendar.holidays.some((h) => h.date === now.date)) return 'holiday';
  const open = calendar.hours.some((h) => h.day === now.day && now.minute >= h.from && now.minute < h.to);
  return open ? 'open' : 'closed';
}
