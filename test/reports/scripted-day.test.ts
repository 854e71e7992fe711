/*
 * Reports over a scripted day: the real ACD engine in simulated time (so that every second is as scripted) counts
 * into a real redis-server; every figure below is worked out by hand from the script, and the queue figures are
 * checked against the Prometheus metrics that watched the same engine.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { AcdEngine, SimulatedClock, type AgentProfile } from '../../src/acd/index';
import { silentLogger } from '../../src/lib/index';
import { registerAcdMetrics } from '../../src/metrics/acd-metrics';
import { parseRange, Quality, ReportApi, ReportRecorder, Reports, ReportStore, type SurveyResponse } from '../../src/reports/index';
import { queue, settings } from '../acd/fixtures';
import { RedisServer } from '../helpers/redis-server';

const DAY = Date.UTC(2026, 10, 2);
/** ms since the epoch of hh:mm:ss on the scripted day. */
const at = (hms: string): number => {
  const [h, m, s] = hms.split(':').map(Number) as [number, number, number];
  return DAY + ((h * 60 + m) * 60 + s) * 1000;
};

let redis: RedisServer;
t.before(async () => {
  redis = new RedisServer();
  await redis.start();
});
t.teardown(() => redis.stop());

t.test('a scripted day: queue, channel, agent, disposition, campaign, experience and quality reports match the hand-worked figures', async (t) => {
  const clock = new SimulatedClock(at('08:00:00'));
  const engine = new AcdEngine({
    settings: settings([queue('billing', 'billing', { serviceLevel: { percent: 80, seconds: 20 } }), queue('sales', 'sales', { serviceLevel: { percent: 80, seconds: 30 } })], {
      wrapUpSeconds: { voice: 30, video: 0, chat: 60, email: 0 },
      offerTimeoutSeconds: 120,
    }),
    clock,
    nodeId: 'n1',
  });
  await engine.start();
  const registry = new Registry();
  registerAcdMetrics(registry, engine);
  const store = new ReportStore({ host: '127.0.0.1', port: redis.port }, 'day', 400, silentLogger());
  const recorder = new ReportRecorder(store, silentLogger());
  recorder.followAcd(engine, clock.now());
  const reports = new Reports({ store, recorder, queues: engine.settings.queues, now: () => clock.now() });
  const quality = new Quality({
    forms: [{ id: 'std', name: 'Standard', items: [{ id: 'greeting', label: 'Greeting', max: 5, weight: 1 }, { id: 'resolution', label: 'Resolution', max: 5, weight: 3 }] }],
    store,
    // The interactions of the script: a recorded call (a1) and a chat with its transcript (a2).
    scorable: async (id) => ({ 'call-1': { agents: ['a1'], unscorable: null, customer: 'cu-1', channel: 'voice' }, 'call-2': { agents: ['a1'], unscorable: 'the call was not recorded', customer: null, channel: 'voice' }, 'chat-4': { agents: ['a2'], unscorable: null, customer: 'cu-2', channel: 'chat' } } as const)[id as 'call-1'],
    now: () => clock.now(),
  });
  const api = new ReportApi({ reports, quality, now: () => clock.now() });
  t.teardown(async () => {
    await engine.close();
    await store.close();
  });

  const to = async (hms: string) => {
    await engine.advanceTo(at(hms));
    await engine.settled();
  };
  const billingAgent: AgentProfile = { skills: { billing: 5 }, languages: ['en'] };
  const bothAgent: AgentProfile = { skills: { billing: 5, sales: 5 }, languages: ['en'] };

  // 09:00 a1 (billing) logs in ready; a2 (billing, sales) in a meeting until 09:30.
  await to('09:00:00');
  await engine.login('a1', billingAgent);
  await engine.login('a2', bothAgent, 'not-ready');
  await engine.setNotReady('a2', 'meeting');
  // T1: billing call at 09:05, a1 answers after 10 s (within 20 s), talks 300 s, wraps up 30 s.
  await to('09:05:00');
  await engine.enqueue({ id: 't1', channel: 'voice', queue: 'billing' });
  await to('09:05:10');
  await engine.accept('t1', 'a1');
  await to('09:10:10');
  await engine.complete('t1');
  // T2: billing call at 09:12, answered after 30 s (late), talks 240 s. T3 arrives at 09:14 while a1 talks, a2 is
  // away: the caller gives up after 45 s.
  await to('09:12:00');
  await engine.enqueue({ id: 't2', channel: 'voice', queue: 'billing' });
  await to('09:12:30');
  await engine.accept('t2', 'a1');
  await to('09:14:00');
  await engine.enqueue({ id: 't3', channel: 'voice', queue: 'billing' });
  await to('09:14:45');
  await engine.abandon('t3', 'caller-hung-up');
  await to('09:16:30');
  await engine.complete('t2');
  // a2 back at 09:30; T4: a sales chat at 09:40, taken after 5 s, handled 900 s, wrap-up 60 s.
  await to('09:30:00');
  await engine.setReady('a2');
  await to('09:40:00');
  await engine.enqueue({ id: 't4', channel: 'chat', queue: 'sales' });
  await to('09:40:05');
  await engine.accept('t4', 'a2');
  await to('09:55:05');
  await engine.complete('t4');
  // a2 to lunch at 10:00; T5: a sales call at 10:20 nobody can take, abandoned after 3 s; both log out at 10:30.
  await to('10:00:00');
  await engine.setNotReady('a2', 'lunch');
  await to('10:20:00');
  await engine.enqueue({ id: 't5', channel: 'voice', queue: 'sales' });
  await to('10:20:03');
  await engine.abandon('t5', 'caller-hung-up');
  await to('10:30:00');
  await engine.logout('a1');
  await engine.logout('a2');
  // What the channels report: dispositions, surveys, a campaign's calls, a transfer and a callback.
  await recorder.disposition(at('09:10:30'), 'billing', 'billing-question');
  await recorder.disposition(at('09:16:50'), 'billing', 'billing-question');
  await recorder.disposition(at('09:55:30'), 'sales', 'order');
  await recorder.transfer(at('09:16:00'), 'billing', 'voice');
  await recorder.callbackRequested(at('09:14:30'), 'billing', 'voice');
  const survey = (s: Partial<SurveyResponse> & Pick<SurveyResponse, 'interaction' | 'at' | 'channel'>): SurveyResponse => ({
    queue: null, agentId: null, dispositions: [], ivrNodes: [], customer: null, csat: null, nps: null, comment: null, commentRecording: null, ...s,
  });
  await recorder.survey(survey({ interaction: 'call-1', at: at('09:11:00'), channel: 'voice', queue: 'billing', agentId: 'a1', dispositions: ['billing-question'], ivrNodes: ['main-menu', 'billing-queue', 'survey'], csat: 5, nps: 10, commentRecording: 'survey-comment-call-1.wav' }));
  await recorder.survey(survey({ interaction: 'chat-4', at: at('09:56:00'), channel: 'chat', queue: 'sales', agentId: 'a2', dispositions: ['order'], csat: 2, nps: 3, comment: '=too slow' }));
  for (const outcome of ['human', 'human', 'human', 'machine', 'abandoned', 'busy', 'dnc']) await recorder.campaignAttempt(at('10:05:00'), 'renewals', outcome);
  await recorder.idle();

  const range = (query: string) => parseRange(new URLSearchParams(query), clock.now());
  const hours = range('from=2026-11-02T09:00:00Z&to=2026-11-02T11:00:00Z&interval=hour');

  const queues = await reports.queues(hours);
  const row = (q: string, from: string) => queues.rows.find((r) => r.queue === q && r.from === `2026-11-02T${from}:00.000Z`);
  t.match(row('billing', '09:00'), {
    offered: 3, answered: 2, abandoned: 1, answeredWithinTarget: 1, serviceLevelPercent: 33.33, serviceLevelTarget: '80% in 20s',
    averageSpeedOfAnswerSeconds: 20, averageAbandonSeconds: 45, completed: 2, averageHandleSeconds: 270, averageWrapUpSeconds: 30,
    transfers: 1, callbacks: 1, surveyResponses: 1, csatAverage: 5, nps: 100,
    abandonedWithin: { '1s': 0, '5s': 0, '10s': 0, '20s': 0, '30s': 0, '60s': 1, '120s': 1, '3600s': 1 },
  });
  t.match(row('sales', '09:00'), { offered: 1, answered: 1, abandoned: 0, serviceLevelPercent: 100, averageSpeedOfAnswerSeconds: 5, averageHandleSeconds: 900, averageWrapUpSeconds: 60, csatAverage: 2, nps: -100 });
  t.match(row('sales', '10:00'), { offered: 1, answered: 0, abandoned: 1, serviceLevelPercent: 0, averageSpeedOfAnswerSeconds: null, averageAbandonSeconds: 3, abandonedWithin: { '1s': 0, '5s': 1 } });
  t.match(row('billing', '10:00'), { offered: 0, answered: 0, serviceLevelPercent: null, averageHandleSeconds: null });
  t.match(row('*', '09:00'), { offered: 4, answered: 3, abandoned: 1, answeredWithinTarget: 2, serviceLevelPercent: 50, averageSpeedOfAnswerSeconds: 15, averageHandleSeconds: 480, averageWrapUpSeconds: 40, surveyResponses: 2, csatAverage: 3.5, nps: 0 });

  const channels = await reports.channels(hours);
  t.match(channels.rows.find((r) => r.channel === 'voice' && r.from === '2026-11-02T09:00:00.000Z'), { offered: 3, answered: 2, abandoned: 1 });
  t.match(channels.rows.find((r) => r.channel === 'chat'), { offered: 1, answered: 1, averageWrapUpSeconds: 60 });

  const agents = await reports.agents(hours);
  const agent = (id: string, from: string) => agents.rows.find((r) => r.agent === id && r.from === `2026-11-02T${from}:00.000Z`);
  t.match(agent('a1', '09:00'), { loggedInSeconds: 3600, availableSeconds: 2960, reservedSeconds: 40, talkSeconds: 540, wrapUpSeconds: 60, notReadySeconds: 0, occupancyPercent: 17.78, answered: 2, handled: 2, averageHandleSeconds: 270 });
  t.match(agent('a1', '10:00'), { loggedInSeconds: 1800, availableSeconds: 1800, occupancyPercent: 0 });
  t.match(agent('a2', '09:00'), { loggedInSeconds: 3600, notReadySeconds: 1800, notReadyByReason: { meeting: 1800 }, availableSeconds: 835, reservedSeconds: 5, talkSeconds: 900, wrapUpSeconds: 60, occupancyPercent: 53.61, answered: 1 });
  t.match(agent('a2', '10:00'), { loggedInSeconds: 1800, notReadyByReason: { lunch: 1800 }, occupancyPercent: null });

  const quarter = await reports.agents(range('from=2026-11-02T09:00:00Z&to=2026-11-02T09:15:00Z&interval=15m'), 'a1');
  t.match(quarter.rows, [{ availableSeconds: 300 + 80 + 0, reservedSeconds: 40, talkSeconds: 300 + 150, wrapUpSeconds: 30 }], 'a state across a quarter-hour boundary is split between the two');

  t.same((await reports.dispositions(hours)).rows, [
    { disposition: 'billing-question', count: 2, percent: 66.67, cumulativePercent: 66.67 },
    { disposition: 'order', count: 1, percent: 33.33, cumulativePercent: 100 },
  ]);
  t.match((await reports.campaigns(hours)).rows, [
    { from: '2026-11-02T10:00:00.000Z', campaign: 'renewals', placed: 6, outcomes: { human: 3, machine: 1, abandoned: 1, busy: 1, dnc: 1 }, abandonedPercent: 25 },
  ]);

  const byQueue = await reports.experience(hours, 'queue');
  t.match(byQueue.rows, [{ touchpoint: 'billing', responses: 1, csatAverage: 5, nps: 100, comments: 1 }, { touchpoint: 'sales', responses: 1, csatAverage: 2, satisfiedPercent: 0, nps: -100, detractors: 1 }]);
  t.match((await reports.experience(hours, 'ivr-node')).rows.map((r) => r.touchpoint), ['billing-queue', 'main-menu', 'survey']);
  const nps = await reports.npsTrend(range('from=2026-11-02&to=2026-11-03&interval=day'));
  t.match(nps.rows, [{ npsResponses: 2, nps: 0, promoters: 1, detractors: 1, detractorDrivers: [{ disposition: 'order', count: 1 }] }]);
  t.match((await reports.verbatims(hours, 10)).rows, [{ interaction: 'chat-4', comment: '=too slow', csat: 2 }, { interaction: 'call-1', commentRecording: 'survey-comment-call-1.wav', nps: 10 }]);

  // Prometheus watched the same engine: its counters and histograms agree with the reports over the whole day.
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values as { value: number; labels: Record<string, string | number>; metricName?: string }[];
  const tasks = await metric('onecc_acd_tasks_total');
  const count = (q: string, event: string) => tasks.filter((v) => v.labels.queue === q && v.labels.event === event).reduce((sum, v) => sum + v.value, 0);
  const day = await reports.queues(range('from=2026-11-02&interval=day'));
  for (const q of ['billing', 'sales']) {
    const r = day.rows.find((x) => x.queue === q)!;
    t.same([r.offered, r.answered, r.abandoned, r.completed], [count(q, 'created'), count(q, 'answered'), count(q, 'abandoned'), count(q, 'completed')], `${q}: offered, answered, abandoned, completed as Prometheus counted them`);
  }
  const waits = await metric('onecc_acd_wait_seconds');
  const waitSum = waits.filter((v) => v.metricName === 'onecc_acd_wait_seconds_sum').reduce((a, v) => a + v.value, 0);
  const dayTotal = day.rows.find((x) => x.queue === '*')!;
  t.equal(Math.round(waitSum * 100) / 100, (dayTotal.averageSpeedOfAnswerSeconds as number) * (dayTotal.answered as number), 'the reports\' speed of answer is the wait histogram\'s sum over its count');
  const abandonBuckets = (await metric('onecc_acd_abandon_wait_seconds')).filter((v) => v.metricName === 'onecc_acd_abandon_wait_seconds_bucket' && v.labels.queue === 'sales');
  const salesDay = day.rows.find((x) => x.queue === 'sales')!.abandonedWithin as Record<string, number>;
  for (const bucket of abandonBuckets) if (bucket.labels.le !== '+Inf') t.equal(salesDay[`${bucket.labels.le}s`], bucket.value, `abandoned within ${bucket.labels.le} s`);

  // Quality: a supervisor scores the recorded call and the chat; scores per agent and per item.
  const evaluation = await quality.evaluate({ form: 'std', interaction: 'call-1', evaluator: 'sup-1', scores: { greeting: 5, resolution: 3 } });
  t.equal(evaluation.percent, 70, '(5×1 + 3×3) / (5×1 + 5×3)');
  await quality.evaluate({ form: 'std', interaction: 'call-1', evaluator: 'sup-2', scores: { greeting: 4, resolution: 5 } });
  await quality.evaluate({ form: 'std', interaction: 'chat-4', evaluator: 'sup-1', scores: { greeting: 2, resolution: 1 }, comments: 'no greeting' });
  t.match((await quality.report(hours)).rows, [
    { agent: 'a1', form: 'std', evaluations: 2, averagePercent: 82.5, items: { greeting: 4.5, resolution: 4 } },
    { agent: 'a2', form: 'std', evaluations: 1, averagePercent: 25, items: { greeting: 2, resolution: 1 } },
  ]);

  // Over HTTP's handler: CSV, and bad queries refused with the reason.
  const csv = await api.query('queues', new URLSearchParams('from=2026-11-02T09:00:00Z&to=2026-11-02T10:00:00Z&queue=billing&format=csv'));
  t.equal(csv.contentType, 'text/csv; charset=utf-8');
  const [header, line] = (csv.body as string).split('\r\n');
  const cells = Object.fromEntries(header!.split(',').map((name, i) => [name, line!.split(',')[i]]));
  t.match(cells, { queue: 'billing', offered: '3', serviceLevelPercent: '33.33', 'abandonedWithin.60s': '1', averageHandleSeconds: '270' });
  const verbatimCsv = await api.query('verbatims', new URLSearchParams('from=2026-11-02&format=csv&interval=day'));
  t.match(verbatimCsv.body, /'=too slow/, 'a comment that looks like a formula stays text in a spreadsheet');
  for (const [query, reason] of [
    ['from=2026-11-02T10:00:00Z&to=2026-11-02T09:00:00Z', /must be after from/],
    ['from=2026-11-02T09:07:00Z&to=2026-11-02T10:00:00Z', /15-minute boundary/],
    ['from=yesterday', /ISO 8601/],
    ['from=2026-02-30', /not a valid time/],
    ['from=2026-11-02T24:00:00Z', /not a valid time/],
    ['to=2026-11-02T10:00:00Z', /to without from/],
    ['from=2026-01-01&to=2026-12-01&interval=15m', /too many/],
    ['interval=week', /interval must be one of/],
    ['format=xml', /format must be json or csv/],
    ['queue=bad%20name', /queue must be a name/],
  ] as const) {
    const answer = await api.query('queues', new URLSearchParams(query));
    t.equal(answer.status, 400, query);
    t.match((answer.body as { error: string }).error, reason, query);
  }
  t.match(await api.query('experience', new URLSearchParams('by=weather')), { status: 400, body: { error: /by must be one of channel, queue, agent, disposition, ivr-node/ } });
  t.match(await api.query('weather', new URLSearchParams()), { status: 404 });
  for (const [body, status, reason] of [
    [{ form: 'nope', interaction: 'call-1', evaluator: 's', scores: {} }, 400, /form must be one of quality.forms: std/],
    [{ form: 'std', interaction: 'call-1', evaluator: 's', scores: { greeting: 6, resolution: 1 } }, 400, /scores.greeting must be a whole number from 0 to 5/],
    [{ form: 'std', interaction: 'call-1', evaluator: 's', scores: { greeting: 1 } }, 400, /scores.resolution is missing/],
    [{ form: 'std', interaction: 'call-1', evaluator: 's', scores: { greeting: 1, resolution: 1, tone: 2 } }, 400, /no item tone/],
    [{ form: 'std', interaction: 'call-9', evaluator: 's', scores: { greeting: 1, resolution: 1 } }, 404, /no interaction call-9/],
    [{ form: 'std', interaction: 'call-2', evaluator: 's', scores: { greeting: 1, resolution: 1 } }, 409, /not recorded/],
    [{ form: 'std', interaction: 'call-1', evaluator: 's', agent: 'a2', scores: { greeting: 1, resolution: 1 } }, 400, /agent must be one who handled the interaction: a1/],
  ] as const) {
    const answer = await api.qualityAct('evaluations', Buffer.from(JSON.stringify(body)), 'POST');
    t.equal(answer.status, status, JSON.stringify(body));
    t.match((answer.body as { error: string }).error, reason);
  }
  t.equal((await api.qualityAct('evaluations', Buffer.from('{'), 'POST')).status, 400, 'a body that is not JSON');
  t.equal((await quality.evaluations(hours, { agent: 'a1' })).length, 2, 'refused evaluations are not kept');
});
