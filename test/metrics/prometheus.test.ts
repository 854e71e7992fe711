// A real Prometheus (Debian's) scrapes onecc while calls go through it end to end (one answered by an agent's phone,
// one abandoned in the queue); then every PromQL query of the Grafana dashboards in config/grafana/dashboards must
// evaluate without error and return series, and promtool must find nothing to say about onecc's /metrics.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freeTcpPort } from '../../src/lib/index';
import { destroy } from '../helpers/drachtio-harness';
import { startTestServer } from '../helpers/onecc-server';
import { startPhone, startTrunk } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const DASHBOARDS = path.join(__dirname, '../../config/grafana/dashboards');

const DIALPLAN = `
id: metrics
numbers: ["9000"]
language: en
languages: [en]
start: wait
onError: bye
nodes:
  wait: { type: queue, queue: general, maxWait: 60, onTimeout: bye }
  bye: { type: hangup, prompt: goodbye }
`;

/** Every `expr` of every panel target, with the dashboard and panel it belongs to. */
function dashboardQueries(): { where: string; expr: string }[] {
  const queries: { where: string; expr: string }[] = [];
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    for (const panel of dashboard.panels) for (const target of panel.targets ?? []) queries.push({ where: `${file} "${panel.title}"`, expr: target.expr });
  }
  return queries;
}

t.test('the dashboards are provisionable: unique uids, the provisioned data source, one query at least each', async (t) => {
  const datasources = readFileSync(path.join(__dirname, '../../config/grafana/datasources/prometheus.yml'), 'utf8');
  const uid = /uid:\s*(\S+)/.exec(datasources)?.[1];
  const uids = new Set<string>();
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as { uid: string; panels: { datasource: { uid: string }; targets: unknown[] }[] };
    t.notOk(uids.has(dashboard.uid), `${file}: uid ${dashboard.uid} is unique`);
    uids.add(dashboard.uid);
    t.ok(dashboard.panels.length > 0 && dashboard.panels.every((p) => p.datasource.uid === uid && p.targets.length > 0), `${file}: every panel queries the provisioned data source (${uid})`);
  }
  t.ok(uids.size >= 4, 'overview, queues, agents, SIP and media');
});

t.test('Prometheus scrapes onecc during calls; every dashboard query returns series; promtool accepts /metrics', async (t) => {
  const { onecc } = await startTestServer(t, {
    dialplans: { 'metrics.yaml': DIALPLAN },
    rtpPorts: [34000, 34499],
    env: { ONECC_VOICE__PHONES: '[{username: alice, password: pw-a, agent: alice}]', ONECC_VOICE__RING_TIMEOUT_SECONDS: '4' },
  });
  const metricsUrl = `http://127.0.0.1:${onecc.http.port}/metrics`;

  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-prometheus-'));
  const port = await freeTcpPort();
  writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    `  - { job_name: onecc, static_configs: [ { targets: ["127.0.0.1:${onecc.http.port}"] } ] }`,
    '',
  ].join('\n'));
  const prometheus = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prometheus.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  t.teardown(async () => {
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, delay(5000)]);
    prometheus.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const api = `http://127.0.0.1:${port}`;
  const up = async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok === true;
  for (const deadline = Date.now() + 15_000; !(await up()); await delay(200)) if (Date.now() > deadline) throw new Error(`Prometheus did not start: ${log}`);

  // One call answered by alice's phone and hung up; one abandoned while queued.
  const phone = await startPhone(t, onecc, 'alice', 'pw-a', 'alice', [{ answer: true, toneHz: 880 }]);
  await onecc.acd!.login('alice', { skills: { general: 5 }, languages: ['en'] }, 'ready');
  const trunk = await startTrunk(t, onecc);
  const answered = await trunk.call('9000');
  const first = await answered.dialog;
  answered.rtp.useRemote(first.remote.sdp);
  answered.rtp.startTone(440);
  t.ok(await waitFor(() => phone.answered.length === 1, 8000), 'alice answered the first call');
  await delay(1000);
  await destroy(first);
  // Not ready from now on (in wrap-up or not): the next caller waits.
  t.ok(await waitFor(() => onecc.acd!.agentState('alice') !== 'busy', 5000), 'the first task ended');
  await onecc.acd!.setNotReady('alice', 'break');
  const abandoned = await trunk.call('9000');
  const second = await abandoned.dialog;
  t.ok(await waitFor(() => onecc.acd!.queueSnapshot('general').waiting === 1, 5000), 'the second caller waits');
  await delay(1500);
  await destroy(second);
  t.ok(await waitFor(() => onecc.voice!.activeCalls === 0, 5000), 'both calls are over');

  // A few scrapes after the last event, so that rates over the run have their samples.
  const scraped = async () => {
    const res = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent('count(onecc_acd_tasks_total{event="abandoned"})')}`)).json()) as { data: { result: unknown[] } };
    return res.data.result.length > 0;
  };
  for (const deadline = Date.now() + 15_000; !(await scraped()); await delay(500)) if (Date.now() > deadline) throw new Error(`Prometheus never scraped the abandon: ${log}`);
  await delay(3000);

  for (const { where, expr } of dashboardQueries()) {
    const res = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data?: { result: unknown[] } };
    t.equal(res.status, 'success', `${where}: evaluates (${res.error ?? 'ok'})`);
    t.ok((res.data?.result.length ?? 0) > 0, `${where}: returns series for ${expr}`);
  }

  const exposition = await (await fetch(metricsUrl)).text();
  const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 10_000 });
  t.equal(check.status, 0, `promtool check metrics: ${(check.stdout + check.stderr).trim() || 'no problems'}`);
  t.notMatch(exposition, /\{[^}]*(call_?id|caller|number|task)=/i, 'no label carries call ids, numbers or task ids');
});
