/**
 * bench/proactive: business events through onecc's notification rules to the SMS channel's webhook (see
 * bench/README.md). onecc runs as in production (dist/src/main.js) in a child process on a redis-server this process
 * starts; this process loads the customers into Redis, posts the events (POST /events, bearer token) at `rate` per
 * second, and is the SMS gateway: a loopback HTTP sink that checks each message's signature and counts it. Each
 * event carries its send time, so the time from the event to its notification's first attempt is measured where it
 * arrives.
 *
 *   npm run build && node dist/bench/proactive/run.js [--customers 100000] [--rate 3000] [--concurrency 64] [--profile DIR]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { CustomerStore } from '../../src/customers/index';
import { signWebhook, silentLogger } from '../../src/lib/index';
import { RedisServer } from '../../test/helpers/redis-server';
import { LatencyHistogram, loopbackEnv, positiveArg, startOnecc } from '../common/onecc-child';

const CUSTOMERS = Math.round(positiveArg('customers', 100_000));
const RATE = positiveArg('rate', 3000);
const CONCURRENCY = Math.round(positiveArg('concurrency', 64));
const SECRET = 'bench-proactive-secret-0123456789';
const TOKEN = 'bench-proactive-token-0123456789abcdef';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const phone = (i: number) => `+1555${String(i).padStart(7, '0')}`;


/** Peak resident memory of a process (VmHWM), in MiB. */
function peakMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-bench-proactive-'));
  const redis = new RedisServer();
  await redis.start();

  // The SMS gateway: every message once, signed; when it came and after how long.
  const firstAttempt = new LatencyHistogram(60_000);
  const seen = new Set<string>();
  let duplicates = 0;
  let badSignatures = 0;
  let firstAt = 0;
  let lastAt = 0;
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const at = now();
      if (req.headers['x-onecc-signature'] !== signWebhook(SECRET, String(req.headers['x-onecc-timestamp']), body)) badSignatures++;
      const message = JSON.parse(body) as { notification: string; text: string };
      if (seen.has(message.notification)) duplicates++;
      else {
        seen.add(message.notification);
        firstAttempt.add(at - Number(/sent (\d+(\.\d+)?)/.exec(message.text)![1]));
      }
      firstAt ||= at;
      lastAt = at;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/sms`;

  process.stdout.write(`loading ${CUSTOMERS} customers into Redis`);
  const customers = new CustomerStore({ host: '127.0.0.1', port: redis.port }, 'bench', { caseIdleHours: 72, logger: silentLogger() });
  const loadStart = now();
  for (let next = 0; next < CUSTOMERS; ) {
    const batch = Array.from({ length: Math.min(500, CUSTOMERS - next) }, (_, k) => next + k);
    await Promise.all(batch.map((i) => customers.create([`phone:${phone(i)}`], { name: `C${i}` }, 'bench')));
    next += batch.length;
    if (next % 10_000 === 0) process.stdout.write('.');
  }
  await customers.close();
  console.log(` ${((now() - loadStart) / 1000).toFixed(1)} s`);

  const env: Record<string, string> = {
    ...loopbackEnv(dir, [44100, 44199]),
    ONECC_ACD__REDIS: `{host: 127.0.0.1, port: ${redis.port}, keyTag: bench, embedded: false}`,
    ONECC_NOTIFICATIONS__SECRET: SECRET,
    ONECC_NOTIFICATIONS__API_TOKENS: `["${TOKEN}"]`,
    ONECC_NOTIFICATIONS__CHANNELS: `{sms: {url: "${sinkUrl}", perSecond: 0}, chat: {url: null, perSecond: 0}, email: {url: null, perSecond: 0}, push: {url: null, perSecond: 0}}`,
    ONECC_NOTIFICATIONS__RULES: `[{id: parcel, event: parcel.arrived, audience: customer, payload: [parcel, sent], channels: [sms], priority: 5, allChannels: false, contacts: customer, dialplan: null,
      templates: {sms: {en: "Parcel {{parcel}} is at the front desk (sent {{sent}})"}}, confirm: null, expiresMinutes: 60, quietHours: null,
      dedupKey: "{{parcel}}", maxPerDay: 0, callReason: null, avoidanceHours: 48, callbackUrl: null, followUp: null}]`,
  };
  // --profile DIR: onecc writes a V8 CPU profile there as it exits (open it in Chrome's DevTools).
  const profile = process.argv.indexOf('--profile');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { sut, port } = await startOnecc(env, profile >= 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[profile + 1]!] : []);
  process.on('exit', () => sut.kill('SIGTERM'));
  console.log(`proactive bench: ${CUSTOMERS} events for ${CUSTOMERS} customers at ${RATE}/s (${CONCURRENCY} connections) → rule → SMS webhook; onecc pid ${sut.pid}`);

  // Events at RATE per second, spread evenly, each a new parcel for one customer.
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let accepted = 0;
  let refused = 0;
  const start = now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= CUSTOMERS) return;
      const due = start + (i * 1000) / RATE;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      const body = JSON.stringify({ type: 'parcel.arrived', id: `e${i}`, customer: `phone:${phone(i)}`, payload: { parcel: `P${i}`, sent: String(now()) } });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/events', method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
      if (status === 202) accepted++;
      else refused++;
    }
  };
  const progress = setInterval(() => process.stdout.write(`\r  ${accepted} events accepted, ${seen.size} notifications delivered`), 1000);
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const acceptedIn = (now() - start) / 1000;
  for (const deadline = now() + 60_000; seen.size < accepted && now() < deadline; ) await sleep(100);
  clearInterval(progress);
  const deliveredIn = (lastAt - firstAt) / 1000;

  // Nothing left behind in onecc: every notification ended sent.
  const probe = new Redis({ host: '127.0.0.1', port: redis.port });
  const due = await probe.zcard('{bench}:nt:due');
  const leased = await probe.zcard('{bench}:nt:leased');
  probe.disconnect();
  console.log(`\r  events: ${accepted} accepted (202) in ${acceptedIn.toFixed(1)} s = ${(accepted / acceptedIn).toFixed(0)}/s, ${refused} refused`);
  console.log(`  notifications: ${seen.size} delivered in ${deliveredIn.toFixed(1)} s = ${(seen.size / deliveredIn).toFixed(0)}/s; lost ${accepted - seen.size}, duplicated ${duplicates}, bad signatures ${badSignatures}; left due ${due}, leased ${leased}`);
  console.log(`  event → first attempt: p50 ${firstAttempt.quantile(0.5).toFixed(1)} ms, p99 ${firstAttempt.quantile(0.99).toFixed(1)} ms, max ${firstAttempt.max.toFixed(1)} ms`);
  console.log(`  memory: onecc peak RSS ${peakMiB(sut.pid!).toFixed(0)} MiB, this process ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
  agent.destroy();
  sink.close();
  sut.kill('SIGTERM');
  await new Promise((resolve) => sut.once('exit', resolve));
  await redis.stop();
  process.exit(accepted === CUSTOMERS && seen.size === accepted && duplicates === 0 && badSignatures === 0 ? 0 : 1);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
