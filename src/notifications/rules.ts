/*
 * Notification rules (config notifications.rules): which business event becomes which message, on which channels in
 * which order, when, how often, and whether the customer is asked to confirm. Templates name the event's payload
 * fields ({{flight}}) and the customer's ({{customer.name}}); a template naming anything else fails at load
 * (src/config/schema.ts).
 */

/**
 * The channels a notification goes out on: a call that runs a dialplan (voice), or a message through the channel's
 * webhook (SMS, chat apps, email, push).
 */
export const notificationChannels = ['voice', 'sms', 'chat', 'email', 'push'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];
/** The channels whose messages go through a webhook. */
export type MessageChannel = Exclude<NotificationChannel, 'voice'>;

export interface NotificationRule {
  readonly id: string;
  /** The event type it answers (event.type). */
  readonly event: string;
  /** customer: the event names one customer; segment: it names a segment, and every customer in it is notified. */
  readonly audience: 'customer' | 'segment';
  /** Payload fields the event must carry (strings or numbers); templates may use them. */
  readonly payload: readonly string[];
  /** In order of preference: the next is tried when one fails or is not confirmed in time. */
  readonly channels: readonly NotificationChannel[];
  /** 0–9: when more notifications are due than can go out at once, the higher go first. */
  readonly priority: number;
  /** Every channel at once instead of one after the other (one notification per channel). */
  readonly allChannels: boolean;
  /** customer: the customer alone; all: their notification contacts too (profile `contacts`), each a notification. */
  readonly contacts: 'customer' | 'all';
  /** channel → language → text. Each channel of `channels` has one, with the centre's default language at least. */
  readonly templates: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The dialplan a voice notification runs once answered (it says ${message}, sets `answer`, may queue to an agent). */
  readonly dialplan: string | null;
  /** Ask the customer to confirm: replies starting with a `yes` word confirm, a `no` word decline. */
  readonly confirm: { readonly waitMinutes: number; readonly yes: readonly string[]; readonly no: readonly string[] } | null;
  /** Not sent (or no longer waited for) after this long. */
  readonly expiresMinutes: number;
  /** Not sent between start and end (HH:MM, the customer's time zone; may span midnight): held until end. */
  readonly quietHours: { readonly start: string; readonly end: string } | null;
  /** A template over the payload: the same key for the same customer within the expiry is sent once. */
  readonly dedupKey: string | null;
  /** At most this many notifications of the rule per customer per day (UTC); 0: no cap. */
  readonly maxPerDay: number;
  /** A message sent once the notification ends in one of `on` (e.g. an email with the booking after a confirmation). */
  readonly followUp: { readonly on: readonly string[]; readonly channel: MessageChannel; readonly templates: Readonly<Record<string, string>> } | null;
  /** The disposition code of inbound contacts about this event: the customers reached who still contact the centre
   * with it within `avoidanceHours` are counted (reports: calls avoided = reached − called anyway); null: not measured. */
  readonly callReason: string | null;
  readonly avoidanceHours: number;
  /** Where the business hears each outcome (POST, signed): confirmed, declined, unconfirmed, failed, expired. */
  readonly callbackUrl: string | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** When a notification may go out: now, or the end of the quiet hours it falls in (in `timezone`). */
export function notBefore(now: number, quiet: NotificationRule['quietHours'], timezone: string): number {
  if (quiet === null) return now;
  let format = formatters.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  const minute = Number(parts.hour) * 60 + Number(parts.minute);
  const [start, end] = [minutesOf(quiet.start), minutesOf(quiet.end)];
  const quietNow = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!quietNow) return now;
  const wait = (end - minute + 1440) % 1440;
  return now + wait * 60_000 - Number(parts.second) * 1000 - (now % 1000);
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}
