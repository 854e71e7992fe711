// The notifier's clock-driven parts on a real redis-server, worked at chosen times (work(now)) instead of waiting:
// quiet hours hold a send until they end in the customer's time zone; an unanswered confirmation falls back to the
// next channel, then ends unconfirmed and the business hears it; a notification past its expiry is not sent; daily
// caps; two notifiers sharing Redis never send the same notification twice.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomerStore } from '../../src/customers/index';
import { silentLogger } from '../../src/lib/index';
import { notBefore, Notifier, NotificationStore, type NotificationRule, type NotifierSettings } from '../../src/notifications/index';
import { parseRange, ReportRecorder, Reports, ReportStore } from '../../src/reports/index';
import { RedisServer } from '../helpers/redis-server';

const received: { path: string; body: Record<string, any> }[] = [];
const gateway = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  received.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, any> });
  res.writeHead(200).end();
});

const rule = (extra: Partial<NotificationRule> = {}): NotificationRule => ({
  id: 'appointment', event: 'appointment.tomorrow', audience: 'customer', payload: ['time'], channels: ['sms', 'email'], priority: 0, allChannels: false, contacts: 'customer',
  templates: { sms: { en: 'See you tomorrow at {{time}}. Reply YES to confirm.' }, email: { en: 'Your appointment is tomorrow at {{time}}.' } },
  confirm: { waitMinutes: 30, yes: ['yes'], no: ['no'] }, dialplan: null, expiresMinutes: 24 * 60, quietHours: null, dedupKey: null, maxPerDay: 0, callReason: null, avoidanceHours: 1, callbackUrl: null, followUp: null, ...extra,
});

t.test('quiet hours, confirmation time-outs, expiry, caps, and one send across two nodes', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const at = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  const redisAt = { host: '127.0.0.1', port: redis.port };
  const customers = new CustomerStore(redisAt, 'nt', { caseIdleHours: 72, logger: silentLogger() });
  const stores = [new NotificationStore(redisAt, 'nt', 86_400_000, silentLogger()), new NotificationStore(redisAt, 'nt', 86_400_000, silentLogger())];
  t.teardown(async () => {
    for (const s of stores) s.close();
    await customers.close();
    await redis.stop();
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
  });
  const rules = [
    rule({ callbackUrl: `${at}/business` }),
    rule({ id: 'quiet', event: 'bill.overdue', confirm: null, quietHours: { start: '21:00', end: '08:00' } }),
    rule({ id: 'capped', event: 'card.limit', confirm: null, maxPerDay: 2, expiresMinutes: 10 }),
    rule({ id: 'news', event: 'newsletter', confirm: null, channels: ['email'], callReason: 'resolved' }),
    rule({ id: 'alert', event: 'fraud.alert', confirm: null, channels: ['email'], priority: 9 }),
  ];
  const settings: NotifierSettings = {
    rules, channels: { sms: { url: `${at}/sms`, perSecond: 0 }, chat: { url: null, perSecond: 0 }, email: { url: `${at}/email`, perSecond: 2 }, push: { url: null, perSecond: 0 } },
    secret: 'notifier-test-secret-0123456789', defaultLanguage: 'en', timezone: 'UTC', webhookTimeoutMs: 2000, attemptsPerChannel: 2, voice: { attempts: 1, retryMinutes: 1, callsPerSecond: 0 },
  };
  const reportStore = new ReportStore(redisAt, 'nt', 30, silentLogger());
  t.teardown(() => reportStore.close());
  const [one, two] = stores.map((store) => new Notifier(settings, { store, customers, reports: reportStore, logger: silentLogger() })) as [Notifier, Notifier];
  await customers.create(['phone:+15559201', 'email:pia@example.com'], { name: 'Pia', timezone: 'Asia/Taipei' }, 'test');

  // An unanswered confirmation: SMS, 30 minutes, email, 30 minutes, unconfirmed; the business hears it.
  const made = await one.accept({ type: 'appointment.tomorrow', customer: 'phone:+15559201', payload: { time: '10:30' } });
  const id = (made.body as { notifications: { id: string }[] }).notifications[0]!.id;
  const now = Date.now();
  await Promise.all([one.work(now), two.work(now)]);
  t.same(received.filter((r) => r.body.notification === id).map((r) => r.path), ['/sms'], 'sent once, though two nodes worked at once');
  await Promise.all([one.work(now + 10 * 60_000), two.work(now + 10 * 60_000)]);
  t.equal(received.filter((r) => r.body.notification === id).length, 1, 'nothing more while the confirmation may still come');
  await one.work(now + 31 * 60_000);
  t.same(received.filter((r) => r.body.notification === id).map((r) => r.path), ['/sms', '/email'], 'no answer in 30 minutes: the next channel');
  await one.work(now + 62 * 60_000);
  const ended = await one.get(id);
  t.match(ended, { state: 'unconfirmed', attempts: [{ channel: 'sms', outcome: 'unconfirmed' }, { channel: 'email', outcome: 'unconfirmed' }] });
  for (let i = 0; i < 40 && !received.some((r) => r.path === '/business'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  t.match(received.find((r) => r.path === '/business')?.body, { notification: id, outcome: 'unconfirmed' }, 'the business hears it');

  // Quiet hours in her time zone (Taipei, UTC+8): 23:00 there holds the send until 08:00 there.
  const night = Date.UTC(2026, 11, 6, 15, 0); // 23:00 in Taipei
  t.equal(notBefore(night, { start: '21:00', end: '08:00' }, 'Asia/Taipei'), Date.UTC(2026, 11, 7, 0, 0), 'held until 08:00 Taipei');
  t.equal(notBefore(Date.UTC(2026, 11, 6, 4, 0), { start: '21:00', end: '08:00' }, 'Asia/Taipei'), Date.UTC(2026, 11, 6, 4, 0), 'noon in Taipei: at once');
  const quiet = await one.accept({ type: 'bill.overdue', customer: 'email:pia@example.com', payload: { time: 'x' } });
  const due = Date.parse((quiet.body as { notifications: { notBefore: string }[] }).notifications[0]!.notBefore);
  const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Taipei', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(Date.now());
  const inQuiet = local >= '21:00' || local < '08:00';
  t.equal(due > Date.now(), inQuiet, `quiet hours decide (${local} in Taipei now)`);

  // A notification past its expiry is not sent.
  const capped = async () => (await one.accept({ type: 'card.limit', customer: 'phone:+15559201', payload: { time: 'x' } })).body as { notifications: { id: string }[]; skipped: { reason: string }[] };
  const first = await capped();
  await capped();
  t.match(await capped(), { notifications: [], skipped: [{ rule: 'capped', reason: 'capped' }] }, 'a third in a day is over the cap');
  await one.work(Date.now() + 11 * 60_000);
  t.match(await one.get(first.notifications[0]!.id), { state: 'expired', attempts: [] }, 'past its expiry: expired, never sent');

  // The email channel takes 2 a second from all nodes together: 5 newsletters go out 2, 2, 1.
  const news: string[] = [];
  for (let i = 0; i < 5; i++) news.push(((await one.accept({ type: 'newsletter', customer: 'phone:+15559201', payload: { time: String(i) } })).body as { notifications: { id: string }[] }).notifications[0]!.id);
  const second = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const sent = () => received.filter((r) => news.includes(r.body.notification)).length;
  await Promise.all([one.work(second), two.work(second)]);
  t.equal(sent(), 2, 'two in the first second, though two nodes worked');
  await one.work(second + 1000);
  t.equal(sent(), 4, 'two more in the next');
  await one.work(second + 2000);
  t.equal(sent(), 5, 'the last in the third');
  t.equal((await one.get(news[0]!))?.attempts[0]?.tries, 1, 'waiting for the rate spends no try');

  // Pia was reached by the newsletters, whose call reason is "resolved": she contacts the centre about it once.
  const pia = (await customers.customerOf('phone:+15559201'))!;
  await one.inboundContact(pia, 'escalated', Date.now());
  await one.inboundContact(pia, 'resolved', Date.now());
  await one.inboundContact(pia, 'resolved', Date.now());
  const reports = new Reports({ store: reportStore, recorder: new ReportRecorder(reportStore, silentLogger()), queues: [] });
  const day = await reports.notifications(parseRange(new URLSearchParams(`from=${new Date().toISOString().slice(0, 10)}&interval=day`), Date.now()), 'rule', 'news');
  t.match(day.rows, [{ rule: 'news', created: 5, sent: 5, reached: 5, calledAnyway: 1, callsAvoided: 4 }], 'one of the five reached still called about it: four calls avoided');

  // Three newsletters, then a fraud alert (priority 9), all due at once through 2 emails a second: the alert goes first.
  const later: string[] = [];
  for (let i = 0; i < 3; i++) later.push(((await one.accept({ type: 'newsletter', customer: 'phone:+15559201', payload: { time: `n${i}` } })).body as { notifications: { id: string }[] }).notifications[0]!.id);
  const alert = ((await one.accept({ type: 'fraud.alert', customer: 'phone:+15559201', payload: { time: 'now' } })).body as { notifications: { id: string }[] }).notifications[0]!.id;
  const third = Math.ceil(Date.now() / 1000) * 1000 + 5000;
  await one.work(third);
  const firstTwo = received.filter((r) => r.body.notification === alert || later.includes(r.body.notification)).map((r) => r.body.notification);
  t.equal(firstTwo.length, 2);
  t.ok(firstTwo.includes(alert), 'the alert was among the first two');
});

t.test('stop() while a segment job is being claimed and nothing is in flight returns once the claim ends', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  const redisAt = { host: '127.0.0.1', port: redis.port };
  const customers = new CustomerStore(redisAt, 'ns', { caseIdleHours: 72, logger: silentLogger() });
  const store = new NotificationStore(redisAt, 'ns', 86_400_000, silentLogger());
  t.teardown(async () => {
    store.close();
    await customers.close();
    await redis.stop();
  });
  // The real store, its job claim held back 300 ms: the window in which stop() once spun on an empty in-flight set
  // without ever yielding to the event loop, so the claim could never finish.
  const slowJobClaims = new Proxy(store, {
    get(target, key) {
      if (key === 'claimJob') return async (...args: Parameters<NotificationStore['claimJob']>) => (await new Promise((resolve) => setTimeout(resolve, 300)), target.claimJob(...args));
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const settings: NotifierSettings = {
    rules: [], channels: { sms: { url: null, perSecond: 0 }, chat: { url: null, perSecond: 0 }, email: { url: null, perSecond: 0 }, push: { url: null, perSecond: 0 } },
    secret: 'notifier-test-secret-0123456789', defaultLanguage: 'en', timezone: 'UTC', webhookTimeoutMs: 2000, attemptsPerChannel: 2, voice: { attempts: 1, retryMinutes: 1, callsPerSecond: 0 },
  };
  const notifier = new Notifier(settings, { store: slowJobClaims, customers, logger: silentLogger() });
  notifier.start();
  await new Promise((resolve) => setTimeout(resolve, 260)); // past the first tick (200 ms): the job claim is pending
  const began = Date.now();
  await notifier.stop();
  const took = Date.now() - began;
  t.ok(took >= 150 && took < 2000, `stop waited for the job claim and returned (${took} ms)`);
});
