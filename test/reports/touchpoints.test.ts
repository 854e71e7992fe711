// Reports with onecc as it runs: Cy calls (a real SIP trunk peer), alice answers on her phone and hangs up, and Cy
// answers the IVR survey by keys and leaves a spoken comment; then Dee chats with alice and closes with a CSAT score
// and a written comment. Both show on the same touchpoint report (queue general, agent alice); the queue report over
// HTTP agrees with /metrics; a supervisor scores the chat; CSV and bad ranges; erasing Cy takes her survey too.
import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { OneccServer } from '../../src/server';
import { Credentials } from '../../src/agents/index';
import { startTestServer } from '../helpers/onecc-server';
import { destroy } from '../helpers/drachtio-harness';
import { FeedClient } from '../helpers/feed-client';
import { ChatCustomer } from '../helpers/chat-customer';
import { latestRecord, startPhone, startTrunk } from '../helpers/voice-peers';
import { waitFor } from '../helpers/wait';

const DIALPLAN = `
id: touchpoints
numbers: ["7400"]
language: en
languages: [en]
start: queue
onError: goodbye
nodes:
  queue: { type: queue, queue: general, maxWait: 60, onTimeout: goodbye, afterAgent: survey }
  survey:
    type: survey
    questions:
      - { scale: csat, prompt: survey-rate-satisfaction, into: csat }
      - { scale: nps, prompt: survey-rate-agent, into: nps }
      - { scale: comment, prompt: survey-resolved, into: comment, maxSeconds: 8 }
    timeout: 6
    thanks: survey-thanks
  goodbye: { type: hangup, prompt: goodbye }
`;
const SECRET = 'touchpoints-secret-0123456789abcdef';
const CY = '+15557401';

let onecc: OneccServer;
let credentials: Credentials;
let recordingDir: string;

t.before(async () => {
  const started = await startTestServer(t, {
    dialplans: { 'touchpoints.yaml': DIALPLAN },
    rtpPorts: [36400, 36599],
    env: {
      ONECC_VOICE__TRUNKS: '[{name: local, addresses: [127.0.0.1/32], username: null, password: null, outboundUri: null}]',
      ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}]',
      ONECC_AGENTS__TOKEN_SECRET: SECRET,
      ONECC_AGENTS__ROSTER: '[{id: alice, name: Alice, skills: {general: 5}, languages: [en], capacity: null}]',
      ONECC_CHAT__ENABLED: 'true',
      ONECC_CHAT__QUEUE: 'general',
      ONECC_VOICE__RECORD: 'true',
    },
  });
  onecc = started.onecc;
  credentials = new Credentials(started.config.agents);
  recordingDir = started.config.media.recordingDir;
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; type: string }> {
  const res = await fetch(`http://127.0.0.1:${onecc.http.port}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.startsWith('application/json') ? await res.json() : await res.text(), type };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What `read` gives once it gives something, or undefined after `ms`. */
async function poll<T>(read: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  for (const deadline = Date.now() + ms; ; await delay(100)) {
    const value = await read();
    if (value !== undefined || Date.now() > deadline) return value;
  }
}
const today = () => new Date().toISOString().slice(0, 10);

t.test('a voice survey with a recorded comment and a chat closed with CSAT show on the same touchpoint report', async (t) => {
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  const alice = await FeedClient.authenticated(t, onecc.http.port, credentials.issue('agent', 'alice', 600));
  await alice.call({ type: 'login', ready: true });
  t.teardown(async () => {
    await onecc.acd!.setReady('alice').catch(() => undefined);
    await onecc.acd!.logout('alice').catch(() => undefined);
  });

  // Cy calls; alice answers, then hangs up: Cy is back with onecc for the survey.
  const trunk = await startTrunk(t, onecc);
  const { rtp: caller, dialog: pending } = await trunk.call('7400', CY);
  const dialog = await pending;
  caller.useRemote(dialog.remote.sdp);
  const offer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'voice', 10_000);
  t.ok(await waitFor(() => phone.answered.length === 1, 8000), 'alice answered');
  await delay(500);
  await destroy(phone.answered[0]!.dialog);
  // CSAT 4, NPS 9 (#), then a spoken comment of about 2 s ended by hanging up (how most callers end it).
  caller.clear();
  t.ok(await waitFor(() => caller.packets(0).length >= 20, 6000), 'Cy hears the first question');
  await caller.sendDigit('4');
  await delay(2500);
  await caller.sendDigit('9');
  await caller.sendDigit('#');
  await delay(6000);
  caller.startTone(440, 2500);
  await delay(2600);
  await destroy(dialog);
  const record = (await latestRecord<{ id: string; outcome?: string; feedback?: { csat: number; nps: number; commentRecording?: string }; queue?: string; recording?: string }>(onecc, (r) => r.outcome !== undefined, 10_000))!;
  t.match(record, { queue: 'general', feedback: { csat: 4, nps: 9, commentRecording: /survey-comment-/ }, recording: /call-.*\.wav$/ }, 'her answers, her recorded comment and the call\'s recording are in the record');
  t.ok(existsSync(path.resolve(recordingDir, record.feedback!.commentRecording!)), 'the comment is a file in the recording directory');
  t.ok(statSync(record.recording!).size > 44 + 8000 * 4 * 0.3, 'the conversation with alice is recorded (stereo WAV)');
  t.match(await alice.call({ type: 'wrap-up', taskId: offer.data.task.id, disposition: 'resolved', ready: true }), { type: 'result' });

  // Dee chats; alice closes it; Dee answers CSAT 2 with NPS 4 and a comment.
  const chat = await ChatCustomer.open(t, onecc.http.port);
  chat.send({ type: 'start', name: 'Dee', email: 'dee@example.com', topic: 'a refund' });
  await chat.next((f) => f.type === 'started');
  const chatOffer = await alice.next((f) => f.event === 'offer' && f.data.task.channel === 'chat', 10_000);
  await alice.call({ type: 'accept', taskId: chatOffer.data.task.id });
  chat.send({ type: 'message', text: 'Where is my refund?' });
  await alice.next((f) => f.event === 'chat-message', 5000);
  await alice.call({ type: 'wrap-up', taskId: chatOffer.data.task.id, disposition: 'follow-up', ready: true });
  await chat.next((f) => f.type === 'ended');
  chat.send({ type: 'csat', score: 2, nps: 11 });
  t.match(await chat.next((f) => f.type === 'error'), { code: 'bad-message', message: /nps: 0 to 10/ }, 'an NPS out of range is refused with the reason');
  chat.send({ type: 'csat', score: 2, nps: 4, comment: 'Took too long to get an answer' });
  await chat.next((f) => f.type === 'thanks');
  const chatId = chatOffer.data.task.attributes.interaction as string;

  const byQueue = await poll(async () => {
    const answer = await api('GET', `/reports/experience?from=${today()}&by=queue&interval=day`);
    return answer.body.rows?.[0]?.responses === 2 ? answer : undefined;
  }, 5000);
  t.match(byQueue!.body.rows, [{ touchpoint: 'general', responses: 2, csatAverage: 3, promoters: 1, detractors: 1, nps: 0, comments: 2 }], 'both on the queue\'s touchpoint');
  t.match((await api('GET', `/reports/experience?from=${today()}&by=agent&interval=day`)).body.rows, [{ touchpoint: 'alice', responses: 2 }], 'and on the agent\'s');
  t.match((await api('GET', `/reports/experience?from=${today()}&by=channel&interval=day`)).body.rows.map((r: { touchpoint: string }) => r.touchpoint).sort(), ['chat', 'voice']);
  t.match((await api('GET', `/reports/experience?from=${today()}&by=disposition&interval=day`)).body.rows, [{ touchpoint: 'follow-up', csatAverage: 2 }, { touchpoint: 'resolved', csatAverage: 4 }], 'the voice survey, answered before the wrap-up, is reported under its disposition too');
  const verbatims = (await api('GET', `/reports/verbatims?from=${today()}&interval=day`)).body.rows;
  t.match(verbatims, [{ interaction: chatId, channel: 'chat', comment: 'Took too long to get an answer', csat: 2 }, { interaction: record.id, channel: 'voice', commentRecording: record.feedback!.commentRecording, nps: 9 }], 'verbatims beside their scores, newest first');
  t.match((await api('GET', `/reports/nps?from=${today()}`)).body.rows, [{ npsResponses: 2, nps: 0, detractorDrivers: [{ disposition: 'follow-up', count: 1 }] }]);

  // The queue report agrees with /metrics (this onecc started empty).
  const queues = (await api('GET', `/reports/queues?from=${today()}&interval=day&queue=general`)).body.rows[0];
  const metrics = (await api('GET', '/metrics')).body as string;
  const counter = (event: string) => [...metrics.matchAll(new RegExp(`^onecc_acd_tasks_total\\{queue="general",channel="\\w+",event="${event}"\\} (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  t.match(queues, { offered: counter('created'), answered: counter('answered'), abandoned: counter('abandoned'), completed: counter('completed'), surveyResponses: 2 }, 'offered, answered, abandoned and completed as Prometheus counted them');
  t.equal(queues.offered, 2);
  t.match((await api('GET', `/reports/dispositions?from=${today()}&interval=day`)).body.rows, [{ disposition: 'follow-up', count: 1, percent: 50 }, { disposition: 'resolved', count: 1, cumulativePercent: 100 }]);
  const agents = (await api('GET', `/reports/agents?from=${today()}&interval=day&agent=alice`)).body.rows[0];
  t.ok(agents.loggedInSeconds > 5 && agents.talkSeconds > 0 && agents.answered === 2, `alice's day: ${agents.loggedInSeconds} s logged in, ${agents.talkSeconds} s talking, 2 answered`);
  const csv = await api('GET', `/reports/queues?from=${today()}&interval=day&format=csv`);
  t.match(csv, { status: 200, type: /^text\/csv/, body: /^from,to,queue,offered,answered,abandoned,/ });
  t.match(await api('GET', `/reports/queues?from=${today()}&to=2020-01-01`), { status: 400, body: { error: /must be after from/ } }, 'a bad range gets 400');

  // A supervisor reviews the chat's transcript and listens to the call's recording, then scores both.
  const transcript = await api('GET', `/interactions/${chatId}/transcript`);
  t.match(transcript, { status: 200, body: [{ from: 'customer', text: 'Where is my refund?' }, { from: 'system', text: /ended/ }] }, 'the chat\'s transcript over HTTP');
  const audio = await fetch(`http://127.0.0.1:${onecc.http.port}/interactions/${record.id}/recording`);
  t.equal(audio.headers.get('content-type'), 'audio/wav');
  t.equal(audio.headers.get('content-length'), String(statSync(record.recording!).size), 'streamed whole, its length announced');
  t.equal(Buffer.from(await audio.arrayBuffer()).subarray(0, 4).toString(), 'RIFF', 'the call\'s recording over HTTP');
  t.match(await api('GET', `/interactions/${record.id}/transcript`), { status: 404, body: { error: /no transcript/ } });
  t.match(await api('GET', '/quality/forms'), { status: 200, body: [{ id: 'standard' }] });
  const scores = { greeting: 5, understanding: 4, resolution: 2, compliance: 1 };
  t.match(await api('POST', '/quality/evaluations', { form: 'standard', interaction: chatId, evaluator: 'sup-1', scores }), { status: 201, body: { agentId: 'alice', percent: 65.63 } });
  t.match(await api('POST', '/quality/evaluations', { form: 'standard', interaction: record.id, evaluator: 'sup-2', scores: { greeting: 3, understanding: 5, resolution: 5, compliance: 1 } }), { status: 201, body: { agentId: 'alice', percent: 93.75 } });
  t.match(await api('POST', '/quality/evaluations', { form: 'standard', interaction: record.id, evaluator: 'sup-2', scores: { greeting: 3 } }), { status: 400, body: { error: /scores.understanding is missing/ } });
  t.match((await api('GET', `/reports/quality?from=${today()}`)).body.rows, [{ agent: 'alice', form: 'standard', evaluations: 2, averagePercent: 79.69, items: { greeting: 4, resolution: 3.5 } }]);

  // Erasing Cy takes her survey answers and her recorded comment with her.
  const cy = (await api('GET', `/customers?identity=${encodeURIComponent(`phone:${CY}`)}`)).body.id as string;
  t.match(await api('DELETE', `/customers/${cy}`, { by: 'dpo' }), { status: 200, body: { recordings: 2 } });
  t.notOk(existsSync(path.resolve(recordingDir, record.feedback!.commentRecording!)), 'her recorded comment is gone');
  t.notOk(existsSync(record.recording!), 'and the call\'s recording');
  t.match((await api('GET', `/reports/verbatims?from=${today()}&interval=day`)).body.rows, [{ interaction: chatId }], 'only Dee\'s comment is left');
  t.equal((await api('GET', `/reports/verbatims?from=${today()}&interval=day`)).body.rows.length, 1);
  const dee = (await api('GET', `/customers?identity=${encodeURIComponent('email:dee@example.com')}`)).body.id as string;
  t.match(await api('DELETE', `/customers/${dee}`, { by: 'dpo' }), { status: 200 });
  t.same((await api('GET', `/quality/evaluations?from=${today()}&interval=day`)).body, [], 'the evaluations went with their customers');
});
