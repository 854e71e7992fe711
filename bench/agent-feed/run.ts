/**
 * Agent feed fan-out (see bench/README.md): 2,000 agents and 50 supervisors connected to one onecc node's /agent;
 * the ACD in the system-under-test process (sut.ts) produces offers, assignments, completions and state changes;
 * every client stamps each event's arrival against the event's `at` (when it happened in the ACD).
 *
 *   npm run build && node dist/bench/agent-feed/run.js [--agents 2000] [--supervisors 50] [--rate 200]
 *                                                      [--seconds 30] [--handle-ms 20000] [--flips 50] [--store memory|redis]
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

import { SUPERVISOR_KEY, type SutMessage, type SutReady } from './protocol';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
function positive(name: string, fallback: number): number {
  const value = Number(arg(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} needs a positive number\n`);
    process.exit(2);
  }
  return value;
}

const AGENTS = positive('agents', 2000);
const SUPERVISORS = positive('supervisors', 50);
const RATE = positive('rate', 200);
const SECONDS = positive('seconds', 30);
const HANDLE_MS = positive('handle-ms', 20_000);
const FLIPS = positive('flips', 50);
const STORE = arg('store', 'memory');
const QUEUES = 20;
const CONNECT_BATCH = 100;

const now = () => performance.timeOrigin + performance.now();
/**
 * Latencies in 10 µs buckets up to 5 s (and the rest in the last): inserting and reading quantiles cost nothing that
 * grows with the run, so the client's own bookkeeping never stalls the sockets it reads (sorting millions did).
 */
class LatencyHistogram {
  static readonly BUCKET_MS = 0.01;
  readonly counts = new Float64Array(500_000);
  total = 0;
  max = 0;

  add(ms: number): void {
    this.counts[Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)))]!++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  static quantile(q: number, ...histograms: LatencyHistogram[]): number {
    const total = histograms.reduce((n, h) => n + h.total, 0);
    if (total === 0) return NaN;
    const rank = q * total;
    let seen = 0;
    for (let i = 0; i < histograms[0]!.counts.length; i++) {
      for (const h of histograms) seen += h.counts[i]!;
      if (seen > rank) return (i + 1) * LatencyHistogram.BUCKET_MS;
    }
    return Math.max(...histograms.map((h) => h.max));
  }
}
const latencies = { agent: new LatencyHistogram(), supervisor: new LatencyHistogram() };
let measuring = false;
const delivered = { agent: 0, supervisor: 0 };
let closedEarly = 0;

const sut = fork(path.join(__dirname, 'sut.js'), [String(AGENTS), String(QUEUES), STORE], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const sockets: WebSocket[] = [];
const cleanup = () => {
  for (const ws of sockets) ws.terminate();
  if (sut.connected) sut.disconnect();
  setTimeout(() => sut.kill('SIGKILL'), 5000).unref();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function next<T extends SutMessage['type']>(type: T, ms = 60_000): Promise<Extract<SutMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the SUT sent no ${type} within ${ms} ms`)), ms);
    const onMessage = (m: SutMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      sut.off('message', onMessage);
      resolve(m as Extract<SutMessage, { type: T }>);
    };
    sut.on('message', onMessage);
  });
}

/** Opens a connection, authenticates, and (agents) logs in ready; counts and times every event from then on. */
function connect(port: number, role: 'agent' | 'supervisor', credential: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`);
    sockets.push(ws);
    const timer = setTimeout(() => reject(new Error(`${role} connection timed out`)), 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, type: 'auth', ...(role === 'agent' ? { token: credential } : { apiKey: credential }) })));
    ws.on('message', (data) => {
      const arrived = now();
      const text = data.toString();
      // Events are most of the traffic (50,000/s and more): read `at` from the front of the frame without parsing it
      // all, so that the client keeps up and its own queueing does not count as the feed's latency.
      if (measuring && text.startsWith('{"v":1,"type":"event"') && !text.includes('"event":"offer"') && !text.includes('"event":"queue-snapshot"')) {
        const at = /"at":([0-9.]+)/.exec(text);
        if (at) {
          delivered[role]++;
          latencies[role].add(arrived - Number(at[1]));
          return;
        }
      }
      const frame = JSON.parse(text) as { type: string; event?: string; at?: number; id?: string; data?: { task?: { id: string } } };
      if (frame.type === 'welcome') {
        if (role === 'agent') ws.send(JSON.stringify({ v: 1, type: 'login', ready: true, id: 'login' }));
        else {
          clearTimeout(timer);
          resolve();
        }
        return;
      }
      if (frame.id === 'login') {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (frame.type !== 'event') return;
      if (role === 'agent' && frame.event === 'offer') ws.send(JSON.stringify({ v: 1, type: 'accept', taskId: frame.data!.task!.id }));
      if (!measuring || frame.event === 'queue-snapshot') return;
      delivered[role]++;
      latencies[role].add(arrived - frame.at!);
    });
    ws.on('close', (code) => {
      if (code !== 1000 && code !== 1001) closedEarly++;
    });
    ws.on('error', reject);
  });
}

const ms = (v: number) => v.toFixed(2);

async function main(): Promise<void> {
  const ready = (await next('ready')) as SutReady;
  const before = await (sut.send({ type: 'memory' }), next('memory'));
  process.stdout.write(`SUT up on 127.0.0.1:${ready.port} (${STORE} store); connecting ${AGENTS} agents and ${SUPERVISORS} supervisors\n`);
  for (let i = 0; i < AGENTS; i += CONNECT_BATCH) {
    await Promise.all(ready.tokens.slice(i, i + CONNECT_BATCH).map((token) => connect(ready.port, 'agent', token)));
  }
  await Promise.all(Array.from({ length: SUPERVISORS }, () => connect(ready.port, 'supervisor', SUPERVISOR_KEY)));
  const connected = await (sut.send({ type: 'memory' }), next('memory'));
  const perConnection = (connected.rss - before.rss) / connected.connections;
  const heapPerConnection = (connected.heapUsed - before.heapUsed) / connected.connections;
  process.stdout.write(`${connected.connections} connections: SUT RSS ${(connected.rss / 2 ** 20).toFixed(0)} MB, ${(perConnection / 1024).toFixed(1)} KiB RSS and ${(heapPerConnection / 1024).toFixed(1)} KiB heap per connection\n`);

  sut.send({ type: 'go', options: { rate: RATE, handleMs: HANDLE_MS, flipsPerSecond: FLIPS } });
  await new Promise((resolve) => setTimeout(resolve, 3000)); // warm-up: offers and accepts reach a steady state
  measuring = true;
  const cpuStart = (await (sut.send({ type: 'memory' }), next('memory'))).cpu;
  const clientCpuStart = process.cpuUsage();
  const started = Date.now();
  for (let elapsed = 0; elapsed < SECONDS; elapsed += 5) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(5, SECONDS - elapsed) * 1000));
    process.stdout.write(`  ${Math.round((Date.now() - started) / 1000)} s: ${delivered.agent} agent events, ${delivered.supervisor} supervisor events, p99 so far ${ms(LatencyHistogram.quantile(0.99, latencies.agent, latencies.supervisor))} ms\n`);
  }
  measuring = false;
  const end = await (sut.send({ type: 'memory' }), next('memory'));
  sut.send({ type: 'stop' });
  await next('stopped');
  const seconds = (Date.now() - started) / 1000;
  const cpu = (end.cpu.user + end.cpu.system - cpuStart.user - cpuStart.system) / 1e6 / seconds;
  const clientCpuUsed = process.cpuUsage(clientCpuStart);
  const clientCpu = (clientCpuUsed.user + clientCpuUsed.system) / 1e6 / seconds;

  const result: Record<string, unknown> = { agents: AGENTS, supervisors: SUPERVISORS, store: STORE, rate: RATE, seconds: Math.round(seconds) };
  process.stdout.write('\nevents      delivered/s   p50 ms   p99 ms   p999 ms   max ms\n');
  for (const role of ['agent', 'supervisor'] as const) {
    const h = latencies[role];
    const row = { perSecond: Math.round(delivered[role] / seconds), p50: LatencyHistogram.quantile(0.5, h), p99: LatencyHistogram.quantile(0.99, h), p999: LatencyHistogram.quantile(0.999, h), max: h.max };
    process.stdout.write(`${role.padEnd(11)} ${String(row.perSecond).padStart(11)} ${ms(row.p50).padStart(8)} ${ms(row.p99).padStart(8)} ${ms(row.p999).padStart(9)} ${ms(row.max).padStart(8)}\n`);
    result[role] = { perSecond: row.perSecond, p50Ms: +ms(row.p50), p99Ms: +ms(row.p99), p999Ms: +ms(row.p999), maxMs: +ms(row.max) };
  }
  const p99 = LatencyHistogram.quantile(0.99, latencies.agent, latencies.supervisor);
  result.p99Ms = +ms(p99);
  result.sutCpuCores = +cpu.toFixed(2);
  result.clientCpuCores = +clientCpu.toFixed(2);
  result.rssPerConnectionKiB = +(perConnection / 1024).toFixed(1);
  result.heapPerConnectionKiB = +(heapPerConnection / 1024).toFixed(1);
  result.sutRssMB = Math.round(end.rss / 2 ** 20);
  result.connectionsClosedEarly = closedEarly;
  process.stdout.write(`\nall events p99 ${ms(p99)} ms (target < 10 ms: ${p99 < 10 ? 'met' : 'not met'}); SUT ${cpu.toFixed(2)} cores, clients ${clientCpu.toFixed(2)}, SUT RSS ${result.sutRssMB} MB; ${closedEarly} connections closed early\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  cleanup();
  process.exit(closedEarly > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent-feed failed: ${err instanceof Error ? err.message : String(err)}\n`);
  cleanup();
  process.exit(1);
});
