import { IdentityError, parseIdentity, type CustomerProfile, type CustomerStore } from '../customers/index';
import { randomId, renderTemplate, type Logger } from '../lib/index';
import { postWebhook } from './webhook';
import type { CountField, ReportStore } from '../reports/index';
import { finalStates, type Notification, type NotificationAttempt, type NotificationState, type NotificationStore, type SegmentJob } from './notification-store';
import { notBefore, type MessageChannel, type NotificationChannel, type NotificationRule } from './rules';

export interface NotifierSettings {
  readonly rules: readonly NotificationRule[];
  /** Where each channel's messages are POSTed (signed with `secret`); null: the channel is not used. */
  /** Each message channel's webhook, and how many sends a second it takes from all nodes together (0: no limit). */
  readonly channels: Readonly<Record<MessageChannel, { readonly url: string | null; readonly perSecond: number }>>;
  /** HMAC key of every webhook both ways (channels, replies, receipts, business callbacks, signed events). */
  readonly secret: string | null;
  readonly defaultLanguage: string;
  /** The customers' time zone when their profile names none (quiet hours). */
  readonly timezone: string;
  readonly webhookTimeoutMs: number;
  /** Webhook tries per channel before the next channel (back-off doubling from 1 s). */
  readonly attemptsPerChannel: number;
  /** Voice: calls per notification before the next channel, the wait before calling again (doubling), and calls a second through the trunk (0: no limit). */
  readonly voice: { readonly attempts: number; readonly retryMinutes: number; readonly callsPerSecond: number };
}

/** Places a voice notification's call and runs its dialplan (src/channels/voice); resolves when the call is over. */
export interface VoiceNotifier {
  call(request: {
    readonly notification: string; readonly number: string; readonly language: string; readonly message: string;
    readonly payload: Readonly<Record<string, string>>; readonly dialplan: string;
  }): Promise<{ readonly outcome: 'busy' | 'no-answer' | 'failed' } | { readonly outcome: 'answered'; readonly answer: string | null; readonly agent: string | null }>;
}

type Answer = { status: number; body: unknown };

/** An event the notifier cannot take: 422 with the reason, kept in the dead-letter list. */
class Unprocessable extends Error {}

const TICK_MS = 200;
const LEASE_MS = 30_000;
/** Ends at which the customer was reached (heard or read it): calls avoided are counted from these. */
const REACHED: readonly NotificationState[] = ['sent', 'confirmed', 'declined', 'handed-off', 'unconfirmed'];
/** Notifications one node works on at once. */
const MAX_IN_FLIGHT = 400;
/** Customers a segment job looks at per batch (its cursor is saved after each). */
const JOB_BATCH = 500;
/** A voice notification is held this long while its call goes on: another node takes it over only after that. */
const CALL_HOLD_MS = 20 * 60_000;
const CLAIM_BATCH = 100;

/**
 * Business events in, notifications out (src/notifications/README.md): each event is checked against its rules and
 * the customer's profile (do not contact, consent, their own choice of channels), de-duplicated and capped, held
 * through quiet hours, then sent on the first channel that takes it, falling back to the next on failure or when a
 * confirmation does not come in time. Every node works on due notifications, each leased to one node at a time.
 */
export class Notifier {
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #claiming = false;
  #jobRunning = false;
  #started = false;
  #stopped = false;
  /** Something became due while a claim was running: claim again right after it. */
  #again = false;
  /** The last claim was full: more may be due. */
  #more = false;

  constructor(
    private readonly settings: NotifierSettings,
    private readonly deps: {
      readonly store: NotificationStore;
      readonly customers: CustomerStore;
      readonly reports?: ReportStore;
      /** Voice notifications; without it a rule's voice channel fails over to the next. */
      readonly voice?: VoiceNotifier;
      /** Told of every notification that ended (the customer's timeline gets it as an interaction). */
      readonly onEnded?: (n: Notification) => Promise<void>;
      /** Every outcome, for metrics: rule, channel (or "none"), outcome. */
      readonly observe?: (rule: string, channel: string, outcome: string) => void;
      readonly logger: Logger;
    },
  ) {}

  /**
   * Claims due notifications every TICK_MS, at once when this node makes one due now, and again as soon as one it
   * works on is done while more may be due: up to MAX_IN_FLIGHT at a time, so that a slow webhook holds up only its
   * own notification, not a whole batch.
   */
  start(): void {
    this.#started = true;
    this.#timer = setTimeout(() => this.#claim(), TICK_MS);
  }

  #claim(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    if (this.#claiming) return void (this.#again = true);
    this.#claiming = true;
    this.#again = false;
    if (!this.#jobRunning) this.#nextJob();
    const room = MAX_IN_FLIGHT - this.#inFlight.size;
    const claimed = room <= 0 ? Promise.resolve([]) : this.deps.store.claim(Date.now(), Math.min(CLAIM_BATCH, room), Date.now() + LEASE_MS);
    void claimed
      .then((ids) => {
        for (const id of ids) {
          const working = this.#process(id, Date.now()).catch((err: unknown) => this.deps.logger.error({ err, notification: id }, 'notification not processed'));
          this.#inFlight.add(working);
          void working.finally(() => {
            this.#inFlight.delete(working);
            // A full claim may have left more due: claim again as room frees up.
            if (this.#more) this.#kick();
          });
        }
        this.#more = ids.length > 0 && ids.length === Math.min(CLAIM_BATCH, room);
      })
      .catch((err: unknown) => this.deps.logger.error({ err }, 'notifications: claim failed'))
      .finally(() => {
        this.#claiming = false;
        if (this.#stopped) return;
        if (this.#again) this.#kick();
        else this.#timer ??= setTimeout(() => this.#claim(), TICK_MS);
      });
  }

  /** One segment job batch at a time on this node, while notifications go out; the next batch right after. */
  #nextJob(): void {
    this.#jobRunning = true;
    void this.deps.store.claimJob(Date.now(), Date.now() + LEASE_MS)
      .then(async (id) => {
        if (id === undefined) return false;
        await this.#runJob(id);
        return true;
      })
      .catch((err: unknown) => {
        this.deps.logger.error({ err }, 'notifications: segment job batch failed');
        return false;
      })
      .then((more) => {
        this.#jobRunning = false;
        if (more && !this.#stopped) this.#kick();
      });
  }

  /** Something is due now: claim at once instead of at the next tick. */
  #kick(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#claiming) return void (this.#again = true);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#claim(), 0);
  }

  /** Stops claiming, and waits for the notifications being worked on. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // Polls rather than racing Promise.all(inFlight): each such race would leave a reaction on every pending
    // notification, thousands per 20 ms while a large send drains.
    while (this.#claiming || this.#jobRunning || this.#inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Takes a business event `{type, customer, payload, id?}`: 202 with the notifications made, or 422 with the reason. */
  async accept(event: unknown): Promise<Answer> {
    try {
      return { status: 202, body: await this.#accept(event) };
    } catch (err) {
      if (!(err instanceof Unprocessable)) throw err;
      const id = `dl-${randomId()}`;
      await this.deps.store.deadLetter(id, { at: new Date().toISOString(), reason: err.message, event });
      return { status: 422, body: { error: err.message, deadLetter: id } };
    }
  }

  /** Takes a dead letter's event again (the customer exists now, a rule was added): gone from the list once taken. */
  async replay(id: string): Promise<Answer> {
    const letter = await this.deps.store.deadLetterById(id);
    if (letter === undefined) return { status: 404, body: { error: `no dead letter ${id}` } };
    try {
      const body = await this.#accept(letter.event);
      await this.deps.store.forgetDeadLetter(id);
      return { status: 202, body };
    } catch (err) {
      if (!(err instanceof Unprocessable)) throw err;
      return { status: 422, body: { error: err.message, deadLetter: id } };
    }
  }

  async #accept(event: unknown): Promise<unknown> {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new Unprocessable('an event is a JSON object {type, customer or segment, payload, id?}');
    const e = event as Record<string, unknown>;
    if (typeof e.type !== 'string' || e.type === '') throw new Unprocessable('type: the event type is required');
    const audience = e.segment !== undefined ? 'segment' : 'customer';
    const rules = this.settings.rules.filter((r) => r.event === e.type && r.audience === audience);
    if (rules.length === 0) throw new Unprocessable(`no ${audience} rule answers event type ${JSON.stringify(e.type)} (notifications.rules)`);
    if (e.id !== undefined && (typeof e.id !== 'string' || !/^[\w.:-]{1,128}$/.test(e.id))) throw new Unprocessable('id: the event\'s own id, 1-128 letters, digits and . _ : -');
    const payload = checkPayload(e.payload, rules);
    if (audience === 'segment') return this.#acceptSegment(e, payload);
    const profile = await this.#customer(e.customer);
    const made: { rule: string; id: string; notBefore: string }[] = [];
    const skipped: { rule: string; reason: string }[] = [];
    const now = Date.now();
    const meta = { id: (e.id as string | undefined) ?? null, type: e.type, payload };
    for (const rule of rules) {
      const result = await this.#make(rule, profile, meta, now, `nt-${randomId()}`);
      if ('skipped' in result) skipped.push({ rule: rule.id, reason: result.skipped });
      else if (result.made) made.push({ rule: rule.id, id: result.made.id, notBefore: new Date(result.made.due).toISOString() });
    }
    return { notifications: made, skipped };
  }

  /**
   * The rule's notification to one customer, made under `id` unless they refuse it, have no address, or it is a
   * duplicate or over the cap; `made` is null when a notification with that id exists already (a segment job
   * resumed after a restart goes over customers it had done: nobody gets it twice).
   */
  async #make(rule: NotificationRule, profile: CustomerProfile, event: Notification['event'], now: number, id: string): Promise<{ made: { id: string; due: number } | null } | { skipped: string }> {
    const refused = refusal(profile, rule);
    const sends = refused ? [] : recipients(profile, rule);
    const reason = refused ?? (sends.length === 0 ? 'no-address' : undefined) ?? (await this.#limited(rule, profile, event.payload, now));
    if (reason !== undefined) {
      await this.#count(now, rule.id, 'none', `skipped:${reason}`);
      return { skipped: reason };
    }
    const due = notBefore(now, rule.quietHours, profile.timezone ?? this.settings.timezone);
    let made = 0;
    for (const send of sends) {
      const n: Notification = {
        id: `${id}${send.suffix}`, rule: rule.id, priority: rule.priority, event, customer: profile.id, customerName: send.name, customerIdentity: profile.identities[0] ?? null,
        language: profile.language ?? this.settings.defaultLanguage, plan: send.plan, current: 0, state: 'scheduled', createdAt: new Date(now).toISOString(),
        expiresAt: now + rule.expiresMinutes * 60_000, attempts: [], v: 0,
      };
      if (!(await this.deps.store.put(n, due))) continue;
      made++;
      await this.#count(now, rule.id, send.plan[0]!.channel, 'created');
    }
    if (made === 0) return { made: null };
    if (due <= now) this.#kick();
    return { made: { id: `${id}${sends[0]!.suffix}`, due } };
  }

  /** A one-to-many event: a job that walks the segment (once per event id: the same event again finds its job). */
  async #acceptSegment(e: Record<string, unknown>, payload: Record<string, string>): Promise<unknown> {
    if (typeof e.id !== 'string') throw new Unprocessable('id: a one-to-many event needs its own id (it is sent once per id)');
    if (e.customer !== undefined) throw new Unprocessable('an event names a customer or a segment, not both');
    const segment = checkSegment(e.segment);
    const now = Date.now();
    const job: SegmentJob = {
      id: `job-${e.type as string}-${e.id}`, event: { id: e.id, type: e.type as string, payload }, segment, cursor: { at: 0, seen: [] },
      scanned: 0, matched: 0, made: 0, skipped: {}, state: 'running', createdAt: new Date(now).toISOString(),
    };
    const created = await this.deps.store.createJob(job, now);
    if (created) this.#kick();
    return { job: job.id, created, progress: `/events/jobs/${job.id}` };
  }

  /** Erases these notifications (and their follow-ups) and what is kept of the customer's reach (a data deletion). */
  forget(customer: string, ids: readonly string[]): Promise<void> {
    return this.deps.store.forget(customer, ids.flatMap((id) => [id, `${id}-follow-up`]));
  }

  /** A segment job's progress. */
  job(id: string): Promise<SegmentJob | undefined> {
    return this.deps.store.getJob(id);
  }

  /** One batch of a segment job: the next customers after its cursor, each notified unless already done. */
  async #runJob(id: string): Promise<void> {
    const job = await this.deps.store.getJob(id);
    if (job === undefined || job.state === 'done') return void (job && (await this.deps.store.saveJob(job, null)));
    const rules = this.settings.rules.filter((r) => r.event === job.event.type && r.audience === 'segment');
    const page = await this.deps.customers.page(job.cursor, JOB_BATCH);
    const profiles = await Promise.all(page.map((p) => this.deps.customers.get(p.id)));
    const now = Date.now();
    await Promise.all(profiles.map(async (profile) => {
      if (profile === undefined || profile.id === undefined) return;
      if (!inSegment(profile, job.segment)) return;
      job.matched++;
      for (const rule of rules) {
        const result = await this.#make(rule, profile, { id: job.event.id, type: job.event.type, payload: job.event.payload }, now, `nt-${job.id}-${rule.id}-${profile.id}`);
        if ('skipped' in result) job.skipped[result.skipped] = (job.skipped[result.skipped] ?? 0) + 1;
        else if (result.made) job.made++;
      }
    }));
    job.scanned += page.length;
    const last = page.at(-1);
    if (last !== undefined) job.cursor = { at: last.at, seen: last.at === job.cursor.at ? [...job.cursor.seen, ...page.filter((p) => p.at === last.at).map((p) => p.id)] : page.filter((p) => p.at === last.at).map((p) => p.id) };
    if (page.length < JOB_BATCH) {
      job.state = 'done';
      job.finishedAt = new Date().toISOString();
      this.deps.logger.info({ job: job.id, scanned: job.scanned, matched: job.matched, made: job.made, skipped: job.skipped }, 'segment job done');
    }
    await this.deps.store.saveJob(job, job.state === 'done' ? null : Date.now());
  }

  /** Works on what is due at `now` and resolves when it is done: sends, retries, falls back, gives up waiting (tests). */
  async work(now: number): Promise<void> {
    for (;;) {
      const ids = await this.deps.store.claim(now, CLAIM_BATCH, now + LEASE_MS);
      if (ids.length === 0) return;
      await Promise.all(ids.map((id) => this.#process(id, now).catch((err: unknown) => this.deps.logger.error({ err, notification: id }, 'notification not processed'))));
      if (ids.length < CLAIM_BATCH) return;
    }
  }

  async #process(id: string, now: number): Promise<void> {
    const n = await this.deps.store.get(id);
    if (n === undefined || finalStates.includes(n.state)) return void (n && (await this.deps.store.put(n, null)));
    const rule = this.settings.rules.find((r) => r.id === n.rule);
    if (rule === undefined) return this.#finish(n, 'failed', now, 'its rule is no longer configured');
    if (now >= n.expiresAt) return this.#finish(n, 'expired', now);
    if (n.state === 'waiting') {
      // No answer in time on this channel: the next one, or unconfirmed.
      const attempt = n.attempts.at(-1)!;
      attempt.outcome = 'unconfirmed';
      await this.#count(now, n.rule, attempt.channel, 'unconfirmed');
      return this.#next(n, rule, now, 'unconfirmed');
    }
    return this.#send(n, rule, now);
  }

  async #send(n: Notification, rule: NotificationRule, now: number): Promise<void> {
    const step = n.plan[n.current]!;
    let attempt = n.attempts[n.current];
    if (attempt === undefined) {
      attempt = { channel: step.channel, to: step.to, queuedAt: new Date(now).toISOString(), tries: 0 };
      n.attempts[n.current] = attempt;
    }
    // A follow-up says its own text and asks nothing.
    const texts = n.followUp && rule.followUp ? rule.followUp.templates : rule.templates[step.channel]!;
    const confirm = n.followUp ? null : rule.confirm;
    const text = renderTemplate(texts[n.language] ?? texts[this.settings.defaultLanguage]!, this.#values(n));
    // Over the channel's rate (or the trunk's, for calls) this second: the next second, no try spent.
    const limit = step.channel === 'voice' ? this.settings.voice.callsPerSecond : this.settings.channels[step.channel].perSecond;
    if (limit > 0 && !(await this.deps.store.underRate(step.channel, limit, now))) {
      await this.deps.store.put(n, (Math.floor(now / 1000) + 1) * 1000);
      return this.#count(now, n.rule, step.channel, 'throttled');
    }
    attempt.tries++;
    if (step.channel === 'voice') return this.#call(n, rule, attempt, text, now);
    const url = this.settings.channels[step.channel].url;
    const refused = url === null ? `no webhook for channel ${step.channel} (notifications.channels.${step.channel}.url)` : await this.#post(url, {
      notification: n.id, attempt: n.current + 1, rule: n.rule, event: n.event.type, channel: step.channel, to: step.to,
      language: texts[n.language] ? n.language : this.settings.defaultLanguage, text, confirm: confirm !== null,
    });
    if (refused === undefined) {
      attempt.sentAt = new Date().toISOString();
      attempt.outcome = 'sent';
      if (confirm === null) return this.#finish(n, 'sent', now, undefined, 'sent');
      await this.#count(now, n.rule, step.channel, 'sent');
      n.state = 'waiting';
      await this.deps.store.put(n, Math.min(n.expiresAt, now + confirm.waitMinutes * 60_000));
      return;
    }
    attempt.detail = refused;
    if (url !== null && attempt.tries < this.settings.attemptsPerChannel) {
      await this.deps.store.put(n, now + 1000 * 2 ** (attempt.tries - 1));
      return;
    }
    attempt.outcome = 'failed';
    await this.#count(now, n.rule, step.channel, 'failed');
    return this.#next(n, rule, now, 'failed');
  }

  /** A voice notification: the call, its dialplan, and what the customer pressed (`answer`) or who took them. */
  async #call(n: Notification, rule: NotificationRule, attempt: NotificationAttempt, message: string, now: number): Promise<void> {
    const { voice } = this.deps;
    if (voice === undefined || rule.dialplan === null) {
      attempt.outcome = 'failed';
      attempt.detail = 'voice notifications are off (notifications.voice.trunk) or the rule names no dialplan';
      await this.#count(now, n.rule, 'voice', 'failed');
      return this.#next(n, rule, now, 'failed');
    }
    // Held (not leased) while the call lasts: minutes, not the lease's seconds.
    if (!(await this.deps.store.put(n, now + CALL_HOLD_MS))) return;
    const step = n.plan[n.current]!;
    const result = await voice.call({ notification: n.id, number: step.to, language: n.language, message, payload: n.event.payload, dialplan: rule.dialplan });
    const done = Date.now();
    if (result.outcome !== 'answered') {
      attempt.detail = result.outcome;
      if (attempt.tries < this.settings.voice.attempts) {
        await this.deps.store.put(n, done + this.settings.voice.retryMinutes * 60_000 * 2 ** (attempt.tries - 1));
        return;
      }
      attempt.outcome = 'failed';
      await this.#count(done, n.rule, 'voice', 'failed');
      return this.#next(n, rule, done, 'failed');
    }
    attempt.sentAt = new Date(now).toISOString();
    attempt.deliveredAt = attempt.sentAt;
    attempt.answeredAt = new Date(done).toISOString();
    await this.#count(done, n.rule, 'voice', 'sent');
    await this.#count(done, n.rule, 'voice', 'delivered');
    if (result.answer !== null) n.answer = result.answer;
    const word = (result.answer ?? '').toLowerCase();
    const verdict: NotificationState | undefined = result.agent !== null ? 'handed-off'
      : word === 'yes' || rule.confirm?.yes.includes(word) ? 'confirmed'
      : word === 'no' || rule.confirm?.no.includes(word) ? 'declined'
      : rule.confirm === null ? 'sent' : undefined;
    if (verdict === undefined) {
      attempt.outcome = 'unconfirmed';
      await this.#count(done, n.rule, 'voice', 'unconfirmed');
      return this.#next(n, rule, done, 'unconfirmed');
    }
    attempt.outcome = verdict;
    if (verdict === 'confirmed') await this.#count(done, n.rule, 'voice', 'confirmMs', done - now);
    return this.#finish(n, verdict, done);
  }

  /** On to the next channel of the plan, or the end with `outcome`. */
  async #next(n: Notification, rule: NotificationRule, now: number, outcome: NotificationState): Promise<void> {
    if (n.current + 1 >= n.plan.length) return this.#finish(n, outcome, now);
    n.current++;
    n.state = 'scheduled';
    await this.#count(now, rule.id, n.plan[n.current]!.channel, 'fallback');
    // Still leased to this node: the next channel at once.
    return this.#send(n, rule, now);
  }

  /** The end: `state`, stored, counted (with `alsoCount`, figures of the last step), and the business told. */
  async #finish(n: Notification, state: NotificationState, now: number, detail?: string, alsoCount?: string): Promise<void> {
    n.state = state;
    if (!(await this.deps.store.put(n, null))) return;
    await this.#count(now, n.rule, n.plan[n.current]?.channel ?? 'none', alsoCount ? `${alsoCount},final:${state}` : `final:${state}`);
    this.deps.logger.debug({ notification: n.id, rule: n.rule, state, detail }, 'notification done');
    await this.#afterEnd(n, state, now);
  }

  /** What follows a notification's end: the business's callback, the rule's follow-up message, calls-avoided tracking. */
  async #afterEnd(n: Notification, state: NotificationState, now: number): Promise<void> {
    await this.deps.onEnded?.(n).catch((err: unknown) => this.deps.logger.error({ err, notification: n.id }, 'notification not recorded'));
    if (n.followUp) return;
    const rule = this.settings.rules.find((r) => r.id === n.rule);
    if (rule?.callReason && REACHED.includes(state)) {
      await this.deps.store.reached(n.customer, rule.id, now, rule.avoidanceHours * 3_600_000);
      await this.#count(now, rule.id, n.plan[n.current]?.channel ?? 'none', 'reached');
    }
    if (rule?.callbackUrl) {
      void this.#post(rule.callbackUrl, { notification: n.id, rule: n.rule, event: n.event, customer: n.customer, outcome: state, answer: n.answer ?? null, at: new Date(now).toISOString() });
    }
    const followUp = rule?.followUp;
    if (!followUp?.on.includes(state)) return;
    const profile = await this.deps.customers.get(n.customer);
    const to = profile === undefined ? undefined : addressOf(profile, followUp.channel);
    if (to === undefined) return this.#count(now, n.rule, 'none', 'skipped:follow-up-no-address');
    const follow: Notification = {
      ...n, id: `${n.id}-follow-up`, plan: [{ channel: followUp.channel, to }], current: 0, state: 'scheduled', attempts: [], v: 0, followUp: true,
      createdAt: new Date(now).toISOString(), expiresAt: now + rule!.expiresMinutes * 60_000,
    };
    if (!(await this.deps.store.put(follow, now))) return;
    this.#kick();
    await this.#count(now, n.rule, followUp.channel, 'follow-up');
  }

  /**
   * An inbound contact of `customer` closed with `disposition` at `at`: against every rule whose callReason it is
   * and that reached them within its avoidanceHours, it is a call the notification did not avoid.
   */
  async inboundContact(customer: string, disposition: string, at: number): Promise<void> {
    for (const rule of this.settings.rules) {
      if (rule.callReason !== disposition) continue;
      const reachedAt = await this.deps.store.takeReached(customer, rule.id);
      if (reachedAt !== undefined && at - reachedAt <= rule.avoidanceHours * 3_600_000) await this.#count(at, rule.id, 'none', 'called-anyway');
    }
  }

  /** A reply from the customer, through a channel's gateway: {notification, text}. Confirms, declines, or is kept. */
  async reply(body: unknown): Promise<Answer> {
    const b = body as { notification?: unknown; text?: unknown } | null;
    if (typeof b?.notification !== 'string' || typeof b.text !== 'string' || b.text.length > 2000) return { status: 400, body: { error: 'a reply is {notification, text} (text up to 2000 characters)' } };
    for (let tries = 0; tries < 3; tries++) {
      const n = await this.deps.store.get(b.notification);
      if (n === undefined) return { status: 404, body: { error: `no notification ${b.notification}` } };
      const rule = this.settings.rules.find((r) => r.id === n.rule);
      const attempt = n.attempts[n.current];
      if (finalStates.includes(n.state) && n.state !== 'sent') return { status: 409, body: { error: `notification ${n.id} is ${n.state} already`, state: n.state } };
      const word = b.text.trim().toLowerCase().split(/[\s.,!]+/)[0] ?? '';
      const verdict = rule?.confirm?.yes.includes(word) ? 'confirmed' : rule?.confirm?.no.includes(word) ? 'declined' : undefined;
      n.answer = b.text.trim();
      const now = Date.now();
      if (attempt) {
        attempt.answeredAt = new Date(now).toISOString();
        if (verdict) attempt.outcome = verdict;
      }
      if (verdict === undefined) {
        if (!(await this.deps.store.put(n, n.state === 'waiting' ? await this.#dueOf(n, rule, now) : null))) continue;
        await this.#count(now, n.rule, attempt?.channel ?? 'none', 'replied');
        return { status: 200, body: { notification: n.id, state: n.state, understood: false } };
      }
      n.state = verdict;
      if (!(await this.deps.store.put(n, null))) continue;
      await this.#count(now, n.rule, attempt?.channel ?? 'none', `final:${verdict}`);
      if (verdict === 'confirmed' && attempt?.sentAt) await this.#count(now, n.rule, attempt.channel, 'confirmMs', now - Date.parse(attempt.sentAt));
      await this.#afterEnd(n, verdict, now);
      return { status: 200, body: { notification: n.id, state: verdict, understood: true } };
    }
    return { status: 409, body: { error: 'the notification kept changing; send the reply again' } };
  }

  /** A delivery receipt from a channel's gateway: {notification, status: delivered | failed, detail?}. */
  async receipt(body: unknown): Promise<Answer> {
    const b = body as { notification?: unknown; status?: unknown; detail?: unknown } | null;
    if (typeof b?.notification !== 'string' || (b.status !== 'delivered' && b.status !== 'failed')) return { status: 400, body: { error: 'a receipt is {notification, status: delivered | failed, detail?}' } };
    for (let tries = 0; tries < 3; tries++) {
      const n = await this.deps.store.get(b.notification);
      if (n === undefined) return { status: 404, body: { error: `no notification ${b.notification}` } };
      const attempt = n.attempts[n.current];
      if (attempt?.sentAt === undefined) return { status: 409, body: { error: `notification ${n.id} has not been sent on its current channel` } };
      const now = Date.now();
      if (b.status === 'delivered') {
        if (attempt.deliveredAt !== undefined) return { status: 200, body: { notification: n.id, state: n.state } };
        attempt.deliveredAt = new Date(now).toISOString();
        if (!(await this.deps.store.put(n, n.state === 'waiting' ? await this.#dueOf(n, undefined, now) : null))) continue;
        await this.#count(now, n.rule, attempt.channel, 'delivered');
        return { status: 200, body: { notification: n.id, state: n.state } };
      }
      // Not delivered after all: the next channel at once.
      if (finalStates.includes(n.state) && n.state !== 'sent') return { status: 409, body: { error: `notification ${n.id} is ${n.state} already` } };
      attempt.outcome = 'failed';
      attempt.detail = typeof b.detail === 'string' ? b.detail.slice(0, 500) : 'the gateway could not deliver it';
      n.state = 'scheduled';
      const rule = this.settings.rules.find((r) => r.id === n.rule);
      if (n.current + 1 >= n.plan.length || rule === undefined) {
        n.state = 'failed';
        if (!(await this.deps.store.put(n, null))) continue;
        await this.#count(now, n.rule, attempt.channel, 'failed');
        await this.#count(now, n.rule, attempt.channel, 'final:failed');
        return { status: 200, body: { notification: n.id, state: n.state } };
      }
      n.current++;
      if (!(await this.deps.store.put(n, now))) continue;
      await this.#count(now, n.rule, attempt.channel, 'failed');
      await this.#count(now, n.rule, n.plan[n.current]!.channel, 'fallback');
      return { status: 200, body: { notification: n.id, state: n.state, next: n.plan[n.current]!.channel } };
    }
    return { status: 409, body: { error: 'the notification kept changing; send the receipt again' } };
  }

  get(id: string): Promise<Notification | undefined> {
    return this.deps.store.get(id);
  }

  deadLetters(limit: number): Promise<unknown[]> {
    return this.deps.store.deadLetters(limit);
  }

  /** The time a waiting notification stops waiting (its stored schedule is rewritten with every put). */
  async #dueOf(n: Notification, rule: NotificationRule | undefined, now: number): Promise<number> {
    const r = rule ?? this.settings.rules.find((x) => x.id === n.rule);
    const sentAt = Date.parse(n.attempts[n.current]?.sentAt ?? new Date(now).toISOString());
    return Math.min(n.expiresAt, sentAt + (r?.confirm?.waitMinutes ?? 0) * 60_000);
  }

  async #customer(reference: unknown): Promise<CustomerProfile> {
    if (typeof reference !== 'string' || reference === '') throw new Unprocessable('customer: a customer id (cu-...) or an identity (phone:+15551234, email:..., crm:...)');
    let id: string | undefined = reference;
    if (!reference.startsWith('cu-')) {
      try {
        id = await this.deps.customers.customerOf(parseIdentity(reference));
      } catch (err) {
        if (err instanceof IdentityError) throw new Unprocessable(`customer: ${err.message}`);
        throw err;
      }
    }
    const profile = id === undefined ? undefined : await this.deps.customers.get(id);
    if (profile === undefined) throw new Unprocessable(`no customer ${reference}`);
    return profile;
  }

  /** Why this rule's notification is not made now: a duplicate, or over its daily cap. */
  async #limited(rule: NotificationRule, profile: CustomerProfile, payload: Record<string, string>, now: number): Promise<string | undefined> {
    if (rule.dedupKey !== null && !(await this.deps.store.takeDedupKey(`${rule.id}:${profile.id}:${renderTemplate(rule.dedupKey, payload)}`, rule.expiresMinutes * 60_000))) return 'duplicate';
    if (rule.maxPerDay > 0 && !(await this.deps.store.underCap(`${rule.id}:${profile.id}`, rule.maxPerDay, new Date(now).toISOString().slice(0, 10)))) return 'capped';
    return undefined;
  }

  #values(n: Notification): Record<string, string> {
    return { ...n.event.payload, 'customer.id': n.customer, 'customer.name': n.customerName ?? '', answer: n.answer ?? '' };
  }

  #post(url: string, body: unknown): Promise<string | undefined> {
    return postWebhook(url, body, this.settings.secret, this.settings.webhookTimeoutMs);
  }

  /** Counts `figure` (or several, comma-separated) for the rule and channel: report buckets and metrics. */
  async #count(at: number, rule: string, channel: string, figure: string, n = 1): Promise<void> {
    const counts: [number, CountField, number][] = [];
    for (const f of figure.split(',')) {
      if (!f.endsWith('Ms')) this.deps.observe?.(rule, channel, f);
      counts.push([at, `nr|${rule}|${f}`, n]);
      if (channel !== 'none') counts.push([at, `nch|${channel}|${f}`, n]);
    }
    await this.deps.reports?.add(counts);
  }
}

/** The payload's fields as strings, checked against every rule of the event type. */
function checkPayload(payload: unknown, rules: readonly NotificationRule[]): Record<string, string> {
  if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) throw new Unprocessable('payload: a JSON object of the event\'s fields');
  const fields = (payload ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
  }
  for (const rule of rules) {
    const missing = rule.payload.filter((f) => values[f] === undefined);
    if (missing.length > 0) throw new Unprocessable(`payload: rule ${rule.id} needs ${missing.map((m) => JSON.stringify(m)).join(', ')} (a string or a number each)`);
  }
  return values;
}

/** Why the customer is not to get this rule's notification at all. */
function refusal(profile: CustomerProfile, rule: NotificationRule): string | undefined {
  if (profile.doNotContact) return 'do-not-contact';
  if (profile.consent.notifications === false) return 'no-consent';
  const wanted = profile.notifications[rule.event];
  if (wanted !== undefined && wanted.length === 0) return 'opted-out';
  return undefined;
}

/** The channels to try, in the customer's order when they chose one (among the rule's), each with their address. */
function planFor(profile: CustomerProfile, rule: NotificationRule, address: (channel: NotificationChannel) => string | undefined = (c) => addressOf(profile, c)): { channel: NotificationChannel; to: string }[] {
  const wanted = profile.notifications[rule.event];
  const order = wanted === undefined ? rule.channels : wanted.filter((c): c is NotificationChannel => rule.channels.includes(c as NotificationChannel));
  return order.flatMap((channel) => {
    const to = address(channel);
    return to === undefined ? [] : [{ channel, to }];
  });
}

/**
 * Who gets the rule's notification and how: the customer, and with `contacts: all` each of their notification
 * contacts ("me and my spouse"), each trying the channels in order; with `allChannels`, every channel at once, one
 * notification each. `suffix` tells the notifications of one event apart.
 */
function recipients(profile: CustomerProfile, rule: NotificationRule): { suffix: string; name: string | null; plan: { channel: NotificationChannel; to: string }[] }[] {
  const people = [
    { suffix: '', name: profile.name, plan: planFor(profile, rule) },
    ...(rule.contacts === 'all' ? profile.contacts.map((c, i) => ({ suffix: `-c${i + 1}`, name: c.name, plan: planFor(profile, rule, (channel) => contactAddress(c, channel)) })) : []),
  ].filter((p) => p.plan.length > 0);
  if (!rule.allChannels) return people;
  return people.flatMap((p) => p.plan.map((step) => ({ suffix: `${p.suffix}-${step.channel}`, name: p.name, plan: [step] })));
}

function contactAddress(contact: CustomerProfile['contacts'][number], channel: NotificationChannel): string | undefined {
  if (channel === 'voice' || channel === 'sms') return contact.phone ?? undefined;
  if (channel === 'email') return contact.email ?? undefined;
  return undefined;
}

function addressOf(profile: CustomerProfile, channel: NotificationChannel): string | undefined {
  const first = (kind: string) => profile.identities.find((i) => i.startsWith(`${kind}:`))?.slice(kind.length + 1);
  switch (channel) {
    case 'voice':
    case 'sms':
      return first('phone');
    case 'email':
      return first('email');
    case 'chat':
      return first('connector');
    case 'push':
      return profile.crmId ?? profile.id;
  }
}

/** A segment: the profiles' language and attributes to match, all of them. */
function checkSegment(value: unknown): SegmentJob['segment'] {
  const bad = () => new Unprocessable('segment: {language?, attributes?: {name: value}} — the profiles to notify (every condition must hold)');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad();
  const { language, attributes, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || (language !== undefined && typeof language !== 'string')) throw bad();
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes) || Object.values(attributes).some((v) => typeof v !== 'string'))) throw bad();
  return { ...(language !== undefined ? { language } : {}), attributes: (attributes ?? {}) as Record<string, string> };
}

function inSegment(profile: CustomerProfile, segment: SegmentJob['segment']): boolean {
  if (segment.language !== undefined && profile.language !== segment.language) return false;
  return Object.entries(segment.attributes).every(([k, v]) => profile.attributes[k] === v);
}
