import { isTimeZone } from '../lib/index';
/** One person a campaign calls: their number, time zone and the attributes the agent's screen pop shows. */
export interface Contact {
  /** Stable within the campaign: the number itself (a list names each number once). */
  readonly id: string;
  readonly number: string;
  readonly timezone: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A row that was not imported, and why (line numbers count from 1, the header included). */
export interface RejectedRow {
  readonly line: number;
  readonly reason: string;
}

export interface ImportResult {
  readonly contacts: readonly Contact[];
  readonly rejected: readonly RejectedRow[];
}

/** What onecc dials: digits with an optional leading + (nothing that could change the trunk's URI). */
export const DIALABLE = /^\+?[0-9]{2,20}$/;
const MAX_ATTRIBUTE_LENGTH = 200;

/**
 * Reads a contact list: CSV (RFC 4180: quoted fields may hold commas, quotes and line breaks) with a header row that
 * names `number` and optionally `timezone`; every other column becomes an attribute. Good rows are kept; each bad
 * row (no or undialable number, unknown time zone, wrong field count, a number listed twice) is reported with its
 * line. Throws only when the header itself is unusable.
 */
export function parseContacts(csv: string, defaultTimezone: string): ImportResult {
  const rows = parseCsv(csv);
  const header = rows.shift();
  if (header === undefined) throw new Error('line 1: empty file (a header row naming "number" is needed)');
  const names = header.fields.map((name) => name.trim());
  const numberAt = names.findIndex((n) => n.toLowerCase() === 'number');
  if (numberAt < 0) throw new Error(`line ${header.line}: the header names no "number" column (got: ${names.join(', ')})`);
  const timezoneAt = names.findIndex((n) => n.toLowerCase() === 'timezone');
  const contacts: Contact[] = [];
  const rejected: RejectedRow[] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    if (row.fields.length === 1 && row.fields[0]!.trim() === '') continue; // blank line
    if (row.fields.length !== names.length) {
      rejected.push({ line: row.line, reason: `${row.fields.length} fields where the header has ${names.length}` });
      continue;
    }
    const number = row.fields[numberAt]!.replace(/[\s().-]/g, '');
    if (!DIALABLE.test(number)) {
      rejected.push({ line: row.line, reason: `number ${JSON.stringify(row.fields[numberAt])} is not dialable (digits, optionally a leading +)` });
      continue;
    }
    const timezone = (timezoneAt >= 0 ? row.fields[timezoneAt]!.trim() : '') || defaultTimezone;
    if (!isTimeZone(timezone)) {
      rejected.push({ line: row.line, reason: `unknown time zone ${JSON.stringify(timezone)} (an IANA name such as Europe/London)` });
      continue;
    }
    const first = seen.get(number);
    if (first !== undefined) {
      rejected.push({ line: row.line, reason: `number ${number} is already on line ${first}` });
      continue;
    }
    seen.set(number, row.line);
    const attributes: Record<string, string> = {};
    names.forEach((name, i) => {
      if (i !== numberAt && i !== timezoneAt && name !== '') attributes[name] = row.fields[i]!.replace(/[\r\n]+/g, ' ').slice(0, MAX_ATTRIBUTE_LENGTH);
    });
    contacts.push({ id: number, number, timezone, attributes });
  }
  return { contacts, rejected };
}

/** A do-not-call list: one number per line; blank lines and `#` comments are ignored, other lines normalised. */
export function parseDncList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, '').replace(/[\s().-]/g, ''))
    .filter((n) => DIALABLE.test(n));
}

/** RFC 4180 CSV, each record with the line it starts on. */
function parseCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  const endField = () => {
    fields.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    records.push({ line: recordLine, fields });
    fields = [];
    recordLine = line;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      endRecord();
    } else field += c;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}
