/**
 * bench/chat: concurrent chat conversations through one onecc node (see bench/README.md). onecc runs as it does in
 * production (dist/src/main.js, its own redis-server and rtpengine) in a child process; this process is the
 * customers (WebSockets on /chat/ws) and the agents (the agent feed, each taking up to `capacity` chats). Once every
 * conversation has an agent, customers send messages at `rate` per second in all (Poisson), each agent answers one in
 * `reply`; every message carries its send time, so each delivery's latency is measured where it arrives.
 *
 *   npm run build && node dist/bench/chat/run.js [--conversations 5000] [--agents 500] [--rate 2000] [--seconds 30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { Credentials } from '../../src/agents/credentials';
import { loadConfig } from '../../src/config/index';
import { LatencyHistogram, loopbackEnv, positiveArg, startOnecc } from '../common/onecc-child';

const CONVERSATIONS = Math.round(positiveArg('conversations', 5000));
const AGENTS = Math.round(positiveArg('agents', 500));
const RATE = positiveArg('rate', 2000);
const SECONDS = positiveArg('seconds', 30);
const REPLY_EVERY = Math.round(positiveArg('reply', 4));
const CAPACITY = Math.ceil(CONVERSATIONS / AGENTS);
const SECRET = 'bench-chat-secret-0123456789abcdef';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Latencies up to 5 s. */
class Histogram extends LatencyHistogram {
  constructor() {
    super(5000);
  }

  describe(): string {
    return this.total === 0 ? 'none' : `${this.total} delivered, p50 ${this.quantile(0.5).toFixed(2)} ms, p99 ${this.quantile(0.99).toFixed(2)} ms, max ${this.max.toFixed(1)} ms`;
  }
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-bench-chat-'));
  const roster = Array.from({ length: AGENTS }, (_, i) => `{id: a${i}, name: A${i}, skills: {general: 5}, languages: [en], capacity: {voice: 0, video: 0, chat: ${CAPACITY}, email: 0}}`).join(', ');
  const env: Record<string, string> = {
    ...loopbackEnv(dir, [44000, 44099]),
    ONECC_ACD__REDIS__PORT: '0',
    ONECC_ACD__REDIS__DATA_DIR: path.join(dir, 'redis'),
    ONECC_AGENTS__TOKEN_SECRET: SECRET,
    ONECC_AGENTS__ROSTER: `[${roster}]`,
    ONECC_AGENTS__MAX_BUFFERED_KI_B: '4096',
  };
  const credentials = new Credentials(loadConfig({ env }).agents);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { sut, port } = await startOnecc(env);
  process.on('exit', () => sut.kill('SIGTERM'));
  const base = `ws://127.0.0.1:${port}`;
  console.log(`chat bench: ${CONVERSATIONS} conversations, ${AGENTS} agents (${CAPACITY} chats each), ${RATE} customer messages/s for ${SECONDS} s, an agent reply every ${REPLY_EVERY}; onecc pid ${sut.pid}`);

  const toAgent = new Histogram();
  const toCustomer = new Histogram();
  let measuring = false;
  const agents: WebSocket[] = [];
  const assigned = new Set<string>();
  for (let i = 0; i < AGENTS; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, AGENTS - i) }, async (_, j) => {
      const ws = await open(`${base}/agent`);
      let received = 0;
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.event === 'offer' && frame.data?.task?.channel === 'chat') {
          ws.send(JSON.stringify({ v: 1, type: 'accept', taskId: frame.data.task.id }));
          assigned.add(frame.data.task.attributes.conversation);
        } else if (frame.event === 'chat-message') {
          const sent = Number(frame.data.message.text.split(' ')[0]);
          if (measuring) toAgent.add(now() - sent);
          if (++received % REPLY_EVERY === 0) ws.send(JSON.stringify({ v: 1, type: 'chat-send', taskId: frame.data.taskId, text: `${now()} reply` }));
        }
      });
      ws.send(JSON.stringify({ v: 1, type: 'auth', token: credentials.issue('agent', `a${i + j}`, 3600) }));
      ws.send(JSON.stringify({ v: 1, type: 'login', ready: true }));
      agents.push(ws);
    }));
  }
  const customers: WebSocket[] = [];
  for (let i = 0; i < CONVERSATIONS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, CONVERSATIONS - i) }, async (_, j) => {
      const ws = await open(`${base}/chat/ws`);
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'message' && frame.message.from === 'agent' && measuring) toCustomer.add(now() - Number(frame.message.text.split(' ')[0]));
      });
      ws.send(JSON.stringify({ type: 'start', name: `c${i + j}` }));
      customers.push(ws);
    }));
    process.stdout.write(`\r  ${customers.length} customers connected, ${assigned.size} conversations with an agent`);
  }
  for (const deadline = Date.now() + 60_000; assigned.size < CONVERSATIONS && Date.now() < deadline; ) await sleep(200);
  console.log(`\n  ${assigned.size} of ${CONVERSATIONS} conversations with an agent`);

  const cpuBefore = sutCpu(sut.pid!);
  measuring = true;
  const started = now();
  let sent = 0;
  // Poisson arrivals: exponential gaps at RATE per second, sent in 1 ms steps.
  let next = started;
  while (now() - started < SECONDS * 1000) {
    while (next <= now()) {
      const ws = customers[Math.floor(Math.random() * customers.length)]!;
      ws.send(JSON.stringify({ type: 'message', text: `${now()} hello` }));
      sent++;
      next += -Math.log(1 - Math.random()) * (1000 / RATE);
    }
    await sleep(1);
  }
  await sleep(1000);
  measuring = false;
  const seconds = (now() - started) / 1000;
  const cpu = (sutCpu(sut.pid!) - cpuBefore) / (seconds - 1);
  const rss = sutRssMiB(sut.pid!);
  console.log(`  customers sent ${sent} messages (${(sent / (seconds - 1)).toFixed(0)}/s)`);
  console.log(`  customer → agent: ${toAgent.describe()}`);
  console.log(`  agent → customer: ${toCustomer.describe()}`);
  console.log(`  onecc: ${(cpu * 100).toFixed(0)} % of a core, RSS ${rss.toFixed(0)} MiB (${((rss * 1024) / (CONVERSATIONS + AGENTS)).toFixed(1)} KiB per connection)`);
  const p99 = Math.max(toAgent.quantile(0.99), toCustomer.quantile(0.99));
  console.log(`  target (p99 < 20 ms at 2,000 messages/s with 5,000 conversations): ${p99 < 20 && sent / (seconds - 1) >= 1900 && assigned.size >= 5000 ? 'met' : 'NOT met'} (worst p99 ${p99.toFixed(2)} ms)`);
  for (const ws of [...customers, ...agents]) ws.terminate();
  process.exit(0);
}

/** CPU seconds onecc used so far (utime + stime from /proc). */
function sutCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function sutRssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`chat bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
