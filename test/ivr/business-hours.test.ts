import t from 'tap';
import { calendarState, compileDialplan, type Dialplan } from '../../src/ivr/dialplan/index';
import { realLookups } from './lookups';

function office(timezone: string): Dialplan {
  const text = `id: hours
language: en
timezone: ${timezone}
calendars:
  office:
    hours: { mon-fri: 09:00-18:00, sat: [10:00-12:00, 13:00-14:00] }
    holidays: [2026-01-01, { date: 2026-10-09, name: National Day }]
start: bye
onError: bye
nodes:
  bye: { type: hangup }
`;
  const result = compileDialplan(text, 'hours.yaml', realLookups);
  if (result.dialplan === undefined) throw new Error(result.problems.map((p) => p.reason).join('; '));
  return result.dialplan;
}

t.test('weekly hours and holidays are read on the wall clock of the dialplan time zone', async (t) => {
  const taipei = office('Asia/Taipei');
  const state = (iso: string) => calendarState(taipei.calendars['office']!, taipei.timezone, new Date(iso));
  // Taipei is UTC+8 all year.
  t.equal(state('2026-03-02T01:00:00Z'), 'open', 'Monday 09:00 in Taipei');
  t.equal(state('2026-03-02T00:59:00Z'), 'closed', 'Monday 08:59');
  t.equal(state('2026-03-02T10:00:00Z'), 'closed', 'Monday 18:00: the end is exclusive');
  t.equal(state('2026-03-07T04:30:00Z'), 'closed', 'Saturday 12:30, between the two ranges');
  t.equal(state('2026-03-07T05:30:00Z'), 'open', 'Saturday 13:30');
  t.equal(state('2026-03-08T03:00:00Z'), 'closed', 'Sunday');
  t.equal(state('2026-10-09T03:00:00Z'), 'holiday', 'a holiday on a weekday, all day');
  t.equal(state('2025-12-31T16:30:00Z'), 'holiday', 'already 1 January in Taipei while still 31 December in UTC');
});

t.test('the same instant is open in one zone and closed in another', async (t) => {
  const at = new Date('2026-03-02T14:00:00Z');
  t.equal(calendarState(office('Europe/London').calendars['office']!, 'Europe/London', at), 'open');
  t.equal(calendarState(office('Asia/Taipei').calendars['office']!, 'Asia/Taipei', at), 'closed');
});
