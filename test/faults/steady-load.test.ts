// Faults under steady load, with onecc as it runs: node A (in this process) and node B (dist/src/main.js, a child
// process) share one Redis; a trunk places a call every 300 ms, alternately to each node (to A alone once B is gone,
// as a SIP front end would), into one queue served by three agents whose phones registered through A; each agent
// talks for 1 to 2 s; chat customers send messages. Redis is a primary, two replicas and three Sentinels. In each of
// two rounds, in turn: B is killed (SIGKILL) with callers queued on it, A's rtpengine is killed, the Redis primary is
// killed; between rounds B and the killed Redis come back. Afterwards every caller was either connected to an agent
// or called back (through the trunk, keeping the original enqueue time), no agent holds a slot, every chat message
// is in its transcript once, and the generator's count matches onecc's. Prints the figures: callers queued at each
// fault, recovered, lost, and the time from the fault to each recovery (p50/p99).
import t from 'tap';
import { channels, type AcdEvent } from '../../src/acd/index';
import { ConversationStore } from '../../src/channels/chat/conversation-store';
import { silentLogger } from '../../src/lib/index';
import { destroy } from '../helpers/drachtio-harness';
import { ChatCustomer } from '../helpers/chat-customer';
import { SENTINEL_MASTER, SentinelGroup } from '../helpers/redis-sentinel';
import { faultTestEnv, killRtpengine, startOneccNode } from '../helpers/onecc-process';
import { startTestServer } from '../helpers/onecc-server';
import { queueDialplan, startPhone, startTrunk, type CallTaker } from '../helpers/voice-peers';
import { delay, waitFor } from '../helpers/wait';

const DIALPLAN = queueDialplan('load', 300);
const B_RTP = [37700, 37799] as const;
const AGENTS = ['ann', 'ben', 'cat'];
const ROUNDS = 2;
const CALLS_PER_ROUND = 24;
const CALL_EVERY_MS = 300;
// The faults of a round, by the number of its calls placed before each.
const KILL_NODE_AT = 8;
const KILL_RTPENGINE_AT = 14;
const FAIL_OVER_REDIS_AT = 20;
const A_RTP = [37600, 37699] as const;
const SHARED = {
  ...faultTestEnv(Object.fromEntries(AGENTS.map((a) => [a, `pw-${a}`]))),
  // Chats wait in a queue these agents do not serve: what is checked is their transcripts.
  ONECC_CHAT__QUEUE: 'billing',
};
const CHATTERS = 3;

// Two rounds of faults take about a minute alone, and twice that beside other test files on 2 cores.
t.setTimeout(240_000);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

t.test('a node, an rtpengine and the Redis primary killed under steady load, twice: every caller connected or called back, no agent stuck, no chat message lost', async (t) => {
  // Redis as in production: a primary, two replicas, three Sentinels; both nodes reach it through the Sentinels.
  const redis = new SentinelGroup({ replicas: 2, sentinels: 3 });
  t.teardown(() => redis.stop());
  await redis.start();
  const redisEnv = {
    ONECC_ACD__REDIS__EMBEDDED: 'false',
    ONECC_ACD__REDIS__SENTINELS: `[${redis.sentinelPorts.map((port) => `{host: 127.0.0.1, port: ${port}}`).join(', ')}]`,
    ONECC_ACD__REDIS__SENTINEL_MASTER: SENTINEL_MASTER,
    ONECC_ACD__REDIS__WAIT_REPLICAS: '2',
  };
  const { onecc: a } = await startTestServer(t, {
    dialplans: { 'load.yaml': DIALPLAN },
    rtpPorts: [A_RTP[0], A_RTP[1]],
    env: { ...SHARED, ...redisEnv, ONECC_ACD__NODE_ID: 'node-a', ONECC_MEDIA__EMBEDDED__RESTART_DELAY_MS: '200' },
  });
  const acd = a.acd!;

  // Agents answer, talk 1–2 s, hang up; wrap-up 1 s.
  const phones = new Map<string, CallTaker>();
  for (const [i, agent] of AGENTS.entries()) phones.set(agent, await startPhone(t, a, agent, `pw-${agent}`, agent, [{ answer: true, toneHz: 700 + 100 * i }]));
  const hungUp = new Set<unknown>();
  const talker = setInterval(() => {
    for (const phone of phones.values()) {
      for (const call of phone.answered) {
        if (!hungUp.has(call) && Date.now() - call.answeredAt > 1000 + (call.answeredAt % 1000)) {
          hungUp.add(call);
          void destroy(call.dialog).catch(() => undefined);
        }
      }
    }
  }, 100);
  t.teardown(() => clearInterval(talker));
  for (const agent of AGENTS) await acd.login(agent, { skills: { general: 5 }, languages: ['en'] }, 'ready');
  // An agent whose phone could not be rung while a part was down goes not-ready (RONA) and, as a person would, back.
  const comeBack = setInterval(() => {
    for (const agent of AGENTS) if (acd.agentState(agent) === 'not-ready') void acd.setReady(agent).catch(() => undefined);
  }, 500);
  t.teardown(() => clearInterval(comeBack));
  t.teardown(async () => {
    for (const agent of AGENTS) await acd.logout(agent).catch(() => undefined);
  });

  const trunk = await startTrunk(t, a);
  trunk.answering = [{ answer: true, toneHz: 500 }]; // customers answer their callbacks
  const callers: { number: string; node: 'a' | 'b' }[] = [];
  const enqueuedAt = new Map<string, number>(); // caller number -> the enqueue time of their task
  const recoveredAt = new Map<string, number>();
  acd.on('event', (e: AcdEvent) => {
    if (!('task' in e)) return;
    const number = e.task.attributes.caller;
    if (number !== undefined && !enqueuedAt.has(number)) enqueuedAt.set(number, e.task.enqueuedAt);
    if (number !== undefined && e.task.attributes.callback === 'requested' && !recoveredAt.has(number)) recoveredAt.set(number, Date.now());
  });

  // A trunk whose call is refused with 503 (no rtpengine answering) tries again shortly, as Retry-After asks.
  let retried = 0;
  const placing: Promise<boolean>[] = [];
  const place = async (number: string, to: string | undefined): Promise<boolean> => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const status = await (await trunk.call('5000', number, to)).dialog.then(() => 200, (err: { status?: number }) => err.status ?? 0);
      if (status === 200) return true;
      if (status !== 503) return false;
      retried++;
      await delay(500);
    }
    return false;
  };
  // Chat customers (two on B, one on A) send a message every 400 ms, each with its clientId. One whose socket drops
  // (B died) reconnects to A, resumes the conversation and resends what it had no ack for, as the chat page does.
  type Chat = { sent: string[]; unacked: Map<string, string>; conversation: string; token: string; customer: ChatCustomer; reconnects: number; retries: number };
  const chats: Chat[] = [];
  const startChats = async (round: number, bHttpPort: number): Promise<() => Promise<void>> => {
    let chatting = true;
    const mine = await Promise.all(Array.from({ length: CHATTERS }, async (_, c) => {
      const chat: Chat = { sent: [], unacked: new Map(), conversation: '', token: '', customer: await ChatCustomer.open(t, c < 2 ? bHttpPort : a.http.port), reconnects: 0, retries: 0 };
      chat.customer.send({ type: 'start', name: `chatter${round}-${c}` });
      const started = await chat.customer.next((f) => f.type === 'started', 5000);
      chat.conversation = started.conversation as string;
      chat.token = started.token as string;
      return chat;
    }));
    chats.push(...mine);
    const loops = mine.map(async (chat, c) => {
      for (let n = 0; chatting; n++) {
        const clientId = `c${round}-${c}-${n}`;
        const text = `message ${n} from chatter ${round}-${c}`;
        chat.sent.push(text);
        chat.unacked.set(clientId, text);
        if (chat.customer.ws.readyState !== chat.customer.ws.OPEN) {
          // Its node is gone: to the live one, resume, resend everything not acknowledged.
          chat.reconnects++;
          chat.customer = await ChatCustomer.open(t, a.http.port);
          chat.customer.send({ type: 'resume', conversation: chat.conversation, token: chat.token });
          await chat.customer.next((f) => f.type === 'resumed', 5000);
          for (const [id, pending] of chat.unacked) if (id !== clientId) chat.customer.send({ type: 'message', text: pending, clientId: id });
        }
        chat.customer.send({ type: 'message', text, clientId });
        await delay(400);
        for (const frame of chat.customer.frames.splice(0)) {
          if (frame.type === 'ack') chat.unacked.delete(frame.clientId as string);
          // Not stored now (Redis failing over): sent again, as the page does.
          else if (frame.type === 'error' && frame.code === 'unavailable' && chat.unacked.has(frame.clientId as string)) {
            chat.retries++;
            chat.customer.send({ type: 'message', text: chat.unacked.get(frame.clientId as string), clientId: frame.clientId });
          }
        }
      }
    });
    return async () => {
      chatting = false;
      await Promise.all(loops);
    };
  };

  const rounds: { queuedOnB: string[]; killedAt: number; queuedOnA: string[]; rtpengineKilledAt: number; failoverMs: number }[] = [];
  const queuedOn = (node: string) => [...acd.tasks()].filter((task) => task.channel === 'voice' && task.owner === node && task.state !== 'assigned').map((task) => task.attributes.caller!);
  for (let round = 0; round < ROUNDS; round++) {
    // B (again, under the same node id after the first round): its previous instance's work is taken over by then.
    const b = await startOneccNode(t, { dialplans: { 'load.yaml': DIALPLAN }, rtpPorts: B_RTP, env: { ...SHARED, ...redisEnv, ONECC_ACD__NODE_ID: 'node-b' } });
    const stopChats = await startChats(round, b.httpPort);
    const faults = { queuedOnB: [] as string[], killedAt: 0, queuedOnA: [] as string[], rtpengineKilledAt: 0, failoverMs: 0 };
    let failover: Promise<{ failoverMs: number }> | undefined;
    for (let k = 0; k < CALLS_PER_ROUND; k++) {
      if (k === KILL_NODE_AT) {
        faults.queuedOnB = queuedOn('node-b');
        faults.killedAt = Date.now();
        b.sut.kill('SIGKILL');
        killRtpengine(B_RTP[0], { ifAny: true }); // B's own, so that the next B can have its ports
      } else if (k === KILL_RTPENGINE_AT) {
        faults.queuedOnA = queuedOn('node-a').filter((n) => !faults.queuedOnB.includes(n));
        faults.rtpengineKilledAt = Date.now();
        killRtpengine(A_RTP[0]);
      } else if (k === FAIL_OVER_REDIS_AT) {
        // The Redis primary killed: the Sentinels promote a replica while calls and chats go on.
        failover = redis.killPrimary();
      }
      const i = round * CALLS_PER_ROUND + k;
      const number = `+1555020${String(i).padStart(4, '0')}`;
      const node = faults.killedAt === 0 && k % 2 === 1 ? 'b' : 'a';
      callers.push({ number, node });
      placing.push(place(number, node === 'b' ? `sip:5000@127.0.0.1:${b.sipPort}` : undefined));
      await delay(CALL_EVERY_MS);
    }
    faults.failoverMs = (await failover!).failoverMs;
    await stopChats();
    await redis.restartKilled(); // back as a replica, for the next failover
    t.ok(faults.queuedOnB.length > 0, `round ${round + 1}: ${faults.queuedOnB.length} callers queued on B when it was killed`);
    rounds.push(faults);
  }
  const refusedFinally = (await Promise.all(placing)).filter((ok) => !ok).length;
  t.equal(refusedFinally, 0, `every call got in (${retried} refused with 503 while a part was down, then retried)`);

  // Connected: an agent's phone rang for them (as a queued caller, or for their callback) and answered.
  const connected = () => {
    const numbers = new Set<string>();
    for (const phone of phones.values()) {
      phone.answered.forEach((call) => numbers.add(call.headers['x-onecc-var-caller'] ?? call.headers['x-onecc-callback'] ?? ''));
    }
    return numbers;
  };
  const calledBack = () => new Set(trunk.answered.map((call) => /sip:(\+\d+)@/.exec(call.headers.to ?? '')?.[1] ?? ''));
  const settled = () => callers.every((c) => connected().has(c.number));
  const loadEnded = Date.now();
  await waitFor(settled, 90_000);
  t.comment(`faults: the last caller connected ${Date.now() - loadEnded} ms after the last call was placed`);

  const lost = callers.filter((c) => !connected().has(c.number)).map((c) => `${c.number} (node ${c.node})`);
  t.same(lost, [], 'every caller was connected to an agent');
  const queuedOnB = rounds.flatMap((r) => r.queuedOnB);
  const recovered = queuedOnB.filter((n) => calledBack().has(n));
  t.same(queuedOnB.filter((n) => !recovered.includes(n)), [], 'every caller queued on B at a kill was called back');
  t.same(queuedOnB.filter((n) => !recoveredAt.has(n) || enqueuedAt.get(n) === undefined), [], 'each kept as a callback, with the original enqueue time');

  // No agent left holding a slot once the last conversation is over.
  await waitFor(() => AGENTS.every((agent) => channels.every((c) => acd.agent(agent).reserved[c] + acd.agent(agent).busy[c] === 0)), 10_000);
  t.same(AGENTS.filter((agent) => channels.some((c) => acd.agent(agent).reserved[c] + acd.agent(agent).busy[c] !== 0)), [], 'no agent stuck reserved or busy');
  t.equal([...acd.tasks()].filter((task) => task.channel === 'voice').length, 0, 'no call left in the queue');
  const calls = ROUNDS * CALLS_PER_ROUND;
  t.equal(connected().size, calls, `generator ${calls} calls, onecc connected ${connected().size} callers`);

  // Every chat message in its transcript exactly once (the last ones acknowledged by now).
  await waitFor(() => chats.every((chat) => [...chat.unacked.keys()].every((id) => chat.customer.frames.some((f) => f.type === 'ack' && f.clientId === id))), 5000);
  const conversations = new ConversationStore(redis.target, 'onecc', 1, silentLogger());
  t.teardown(() => conversations.close());
  for (const [c, chat] of chats.entries()) {
    const texts = (await conversations.transcript(chat.conversation)).filter((m) => m.from === 'customer').map((m) => m.text);
    // A message sent again after 'unavailable' lands after those that got through meanwhile: once, not in place.
    t.same([...texts].sort(), [...chat.sent].sort(), `chatter ${c}: ${chat.sent.length} messages, each in the transcript once (${chat.reconnects} reconnects)`);
  }
  const queuedOnA = rounds.flatMap((r) => r.queuedOnA);
  const mediaRecovered = queuedOnA.filter((n) => calledBack().has(n) || connected().has(n));
  t.same(queuedOnA.filter((n) => !mediaRecovered.includes(n)), [], 'every caller queued on A when its rtpengine died was connected or called back');

  const sorted = (xs: number[]) => xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  const times = sorted(rounds.flatMap((r) => r.queuedOnB.map((n) => (recoveredAt.get(n) ?? NaN) - r.killedAt)));
  const mediaTimes = sorted(rounds.flatMap((r) => r.queuedOnA.filter((n) => recoveredAt.has(n)).map((n) => recoveredAt.get(n)! - r.rtpengineKilledAt)));
  const sum = (f: (chat: Chat) => number) => chats.reduce((n, chat) => n + f(chat), 0);
  t.comment(`faults: ${ROUNDS} rounds; node B killed with ${queuedOnB.length} callers queued on it in all; recovered ${recovered.length}, lost ${queuedOnB.length - recovered.length}; kill -> callback p50 ${quantile(times, 0.5)} ms, p99 ${quantile(times, 0.99)} ms (lease 2 s)`);
  t.comment(`faults: A's rtpengine killed with ${queuedOnA.length} callers queued on A; recovered ${mediaRecovered.length} (${mediaTimes.length} as callbacks, kill -> callback p50 ${quantile(mediaTimes, 0.5)} ms, p99 ${quantile(mediaTimes, 0.99)} ms)`);
  t.comment(`faults: the Redis primary killed ${ROUNDS} times, a replica promoted after ${rounds.map((r) => r.failoverMs).join(' and ')} ms; ${calls} calls (${retried} refused with 503 and retried), lost ${lost.length}; ${sum((chat) => chat.sent.length)} chat messages from ${chats.length} customers (${sum((chat) => chat.reconnects)} reconnects, ${sum((chat) => chat.retries)} resent after 'unavailable'), each stored once`);
});
