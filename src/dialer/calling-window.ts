/** When a campaign may call: local time of day and days of the week, in each contact's own time zone. */
export interface CallingWindow {
  /** HH:MM, inclusive. */
  readonly start: string;
  /** HH:MM, exclusive. */
  readonly end: string;
  readonly days: readonly ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
}

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Why a window is unusable, or undefined when it is fine. */
export function checkWindow(window: CallingWindow): string | undefined {
  if (!HH_MM.test(window.start)) return `start ${JSON.stringify(window.start)} is not HH:MM`;
  if (!HH_MM.test(window.end)) return `end ${JSON.stringify(window.end)} is not HH:MM`;
  if (minutes(window.end) <= minutes(window.start)) return `end ${window.end} is not after start ${window.start}`;
  return undefined;
}

/** Whether `at` falls inside the window in time zone `timezone`. */
export function inWindow(window: CallingWindow, timezone: string, at: number): boolean {
  const { day, minute } = localTime(timezone, at);
  return window.days.includes(day) && minute >= minutes(window.start) && minute < minutes(window.end);
}

function minutes(hhmm: string): number {
  const [, h, m] = HH_MM.exec(hhmm)!;
  return Number(h) * 60 + Number(m);
}

function localTime(timezone: string, at: number): { day: CallingWindow['days'][number]; minute: number } {
  let format = formatters.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return { day: parts.weekday!.toLowerCase().slice(0, 3) as CallingWindow['days'][number], minute: Number(parts.hour) * 60 + Number(parts.minute) };
}
