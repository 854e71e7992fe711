// The agent feed over real WebSocket connections (the `ws` client) to onecc's HTTP listener: authentication and its
// failures, bad frames that leave the session up, agent commands and the events they cause (offers with their
// context and explanation, withdrawal, assignment, wrap-up with a disposition), what each role may not do,
// resumption after a dropped connection, the grace period, a client too slow to read, heartbeats, and supervisors.
import t, { type Test } from 'tap';
import { AcdEngine } from '../../src/acd/index';
import { AgentFeed, Credentials, type InteractionHistory } from '../../src/agents/index';
import { loadConfig, type AgentsConfig } from '../../src/config/index';
import { HttpServer } from '../../src/http/index';
import { silentLogger } from '../../src/lib/index';
import { Metrics } from '../../src/metrics/index';
import { FeedClient as Client } from '../helpers/feed-client';
import { delay, waitFor } from '../helpers/wait';

const SECRET = 'feed-test-secret-0123456789';
const SUPERVISOR_KEY = 'supervisor-key-0123456789';

interface Fixture {
  acd: AcdEngine;
  feed: AgentFeed;
  credentials: Credentials;
  port: number;
  dispositions: unknown[];
  agent(t: Test, id: string): Promise<Client>;
  supervisor(t: Test): Promise<Client>;
}

async function start(t: Test, overrides: Partial<AgentsConfig> = {}): Promise<Fixture> {
  const defaults = loadConfig({ env: {} });
  const agents: AgentsConfig = {
    ...defaults.agents,
    tokenSecret: SECRET,
    apiKeys: [{ key: SUPERVISOR_KEY, role: 'supervisor', agent: null }],
    roster: [
      { id: 'alice', name: 'Alice', skills: { general: 5 }, languages: ['en'], capacity: null },
      { id: 'bob', name: 'Bob', skills: { general: 5 }, languages: ['en'], capacity: null },
    ],
    heartbeatSeconds: 60,
    ...overrides,
  };
  const acd = new AcdEngine({ settings: { ...defaults.acd, offerTimeoutSeconds: 30 } });
  await acd.start();
  const dispositions: unknown[] = [];
  const history: InteractionHistory = {
    screenPop: async (attributes) => ({ customer: null, previousInteractions: [{ id: 'in-earlier', caller: attributes.caller, outcome: 'handled' }] }),
    disposition: async (id, entry) => void dispositions.push({ id, ...entry }),
  };
  const credentials = new Credentials(agents);
  const feed = new AgentFeed({ acd, config: agents, credentials, history, logger: silentLogger() });
  const http = new HttpServer({ host: '127.0.0.1', port: 0, metrics: new Metrics(), readiness: () => ({}), logger: silentLogger(), upgrades: { '/agent': (req, socket, head) => feed.handleUpgrade(req, socket, head) } });
  await http.start();
  t.teardown(async () => {
    await feed.close();
    await http.close();
    await acd.close();
  });
  const fx: Fixture = {
    acd, feed, credentials, port: http.port, dispositions,
    async agent(t, id) {
      const client = await Client.open(t, http.port);
      const welcome = await client.call({ type: 'auth', token: credentials.issue('agent', id, 600) });
      if (welcome.type !== 'welcome') throw new Error(`auth failed: ${JSON.stringify(welcome)}`);
      return client;
    },
    async supervisor(t) {
      const client = await Client.open(t, http.port);
      await client.call({ type: 'auth', apiKey: SUPERVISOR_KEY });
      return client;
    },
  };
  return fx;
}

t.test('authentication: tokens and API keys only; bad, expired and missing credentials close the connection with a clear code', async (t) => {
  const fx = await start(t, { authTimeoutSeconds: 1 });
  const ok = await Client.open(t, fx.port);
  const welcome = await ok.call({ type: 'auth', token: fx.credentials.issue('agent', 'alice', 60) });
  t.equal(welcome.type, 'welcome');
  t.match(welcome, { role: 'agent', resumed: false, gap: false, snapshot: { name: 'Alice', agent: { state: 'logged-out' } } });

  const early = await Client.open(t, fx.port);
  t.match(await early.call({ type: 'ping' }), { type: 'error', code: 'not-authenticated' }, 'a command before auth is refused');

  const forged = await Client.open(t, fx.port);
  const token = fx.credentials.issue('agent', 'alice', 60);
  forged.send({ type: 'auth', token: `${token.split('.')[0]}.${'A'.repeat(43)}` });
  t.match(await forged.closed, { code: 4401, reason: 'bad token signature' });

  const expired = await Client.open(t, fx.port);
  expired.send({ type: 'auth', token: fx.credentials.issue('agent', 'alice', 60, Date.now() - 120_000) });
  t.match(await expired.closed, { code: 4401, reason: 'token expired' });

  const stranger = await Client.open(t, fx.port);
  stranger.send({ type: 'auth', apiKey: 'no-such-key-at-all-000' });
  t.match(await stranger.closed, { code: 4401, reason: 'unknown API key' });

  const notInRoster = await Client.open(t, fx.port);
  notInRoster.send({ type: 'auth', token: new Credentials({ tokenSecret: SECRET, apiKeys: [], roster: [{ id: 'mallory', name: 'M', skills: {}, languages: [], capacity: null }] }).issue('agent', 'mallory', 60) });
  t.match(await notInRoster.closed, { code: 4401, reason: /not in agents.roster/ });

  const silent = await Client.open(t, fx.port);
  t.match(await silent.closed, { code: 4408 }, 'no auth within authTimeoutSeconds');

  const shortLived = await Client.open(t, fx.port);
  await shortLived.call({ type: 'auth', token: fx.credentials.issue('agent', 'bob', 1) });
  t.match(await shortLived.closed, { code: 4401, reason: 'token expired' }, 'a token that expires during the session ends it');
});

t.test('bad frames get an error frame and the session stays up', async (t) => {
  const fx = await start(t);
  const c = await fx.agent(t, 'alice');
  c.send('not json');
  t.match(await c.next((f) => f.type === 'error'), { code: 'bad-frame', message: 'not JSON' });
  t.match(await c.call({ type: 'fly' }), { type: 'error', code: 'bad-frame', message: /unknown type "fly"/ });
  t.match(await c.call({ type: 'ping', v: 2 }), { type: 'error', code: 'bad-frame', message: /v must be 1/ });
  t.match(await c.call({ type: 'reject' }), { type: 'error', code: 'bad-frame', message: 'taskId: is required' });
  t.match(await c.call({ type: 'reject', taskId: 'x', extra: 1 }), { type: 'error', code: 'bad-frame', message: 'extra: unknown field' });
  t.match(await c.call({ type: 'transfer', taskId: 'x', to: { agent: 'bob', number: '123' } }), { type: 'error', message: /exactly one of agent, queue, number/ });
  t.match(await c.call({ type: 'not-ready', reason: 'nap' }), { type: 'error', code: 'bad-frame', message: /agents.notReadyReasons/ });
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  t.match(await c.next((f) => f.type === 'error' && f.message === 'frames are JSON text'), { code: 'bad-frame' });
  t.match(await c.call({ type: 'ping' }), { type: 'result' }, 'the session is still up');
});

t.test('an agent logs in, gets an offer with its context and explanation, declines it, and another agent takes the task', async (t) => {
  const fx = await start(t);
  const alice = await fx.agent(t, 'alice');
  const bob = await fx.agent(t, 'bob');
  t.match(await alice.call({ type: 'login', ready: true }), { type: 'result', data: { agentId: 'alice', state: 'available' } });
  t.match(await alice.next((f) => f.event === 'agent-state'), { data: { agentId: 'alice', state: 'available' } });

  const task = await fx.acd.enqueue({ channel: 'chat', queue: 'general', attributes: { caller: '+15550001', account: 'A-77' } });
  const offer = await alice.next((f) => f.event === 'offer');
  t.equal(offer.data.task.id, task.id);
  t.ok(typeof offer.at === 'number' && Math.abs(Date.now() - offer.at) < 5000, 'the event says when it happened in the ACD');
  t.same(offer.data.context.attributes, { caller: '+15550001', account: 'A-77' }, 'the customer\'s context (IVR inputs, CRM data)');
  t.match(offer.data.context.previousInteractions, [{ id: 'in-earlier' }], 'and their previous interactions');
  t.match(offer.data.decision, { agentId: 'alice', queue: 'general', strategy: 'longest-idle', tieBreak: /\S/ }, 'and why it came to alice');
  t.match(await bob.call({ type: 'accept', taskId: task.id }), { type: 'error', code: 'forbidden' }, 'bob cannot take alice\'s offer');

  await bob.call({ type: 'login', ready: true });
  t.match(await alice.call({ type: 'reject', taskId: task.id }), { type: 'result' });
  t.match(await alice.next((f) => f.event === 'offer-withdrawn'), { data: { taskId: task.id, reason: 'rejected' } });
  const bobsOffer = await bob.next((f) => f.event === 'offer');
  t.equal(bobsOffer.data.task.id, task.id, 'the task goes to bob');
  t.match(await bob.call({ type: 'accept', taskId: task.id }), { type: 'result', data: { state: 'assigned', agentId: 'bob' } });
  t.match(await bob.next((f) => f.event === 'task-assigned'), { data: { task: { id: task.id } } });

  t.match(await bob.call({ type: 'wrap-up', taskId: task.id, disposition: 'naptime' }), { type: 'error', code: 'bad-frame', message: /agents.dispositions/ });
  t.match(await alice.call({ type: 'wrap-up', taskId: task.id, disposition: 'resolved' }), { type: 'error', code: 'forbidden' }, 'alice cannot close bob\'s task');
  fx.acd.task(task.id); // still live
  const closed = await bob.call({ type: 'wrap-up', taskId: task.id, disposition: 'resolved', notes: 'reset the password' });
  t.match(closed, { type: 'result', data: { taskId: task.id, disposition: 'resolved' } });
  t.match(await bob.next((f) => f.event === 'task-ended'), { data: { taskId: task.id, reason: 'completed' } });
  t.match(await alice.call({ type: 'hold', taskId: task.id }), { type: 'error', code: 'not-found' }, 'controls on an ended task');
});

t.test('wrap-up of an ended call records the disposition on its interaction; supervisors cannot act as agents', async (t) => {
  const fx = await start(t);
  const alice = await fx.agent(t, 'alice');
  await alice.call({ type: 'login', ready: true });
  const task = await fx.acd.enqueue({ channel: 'voice', queue: 'general', attributes: { caller: '+15550002', interaction: 'in-42' } });
  await alice.next((f) => f.event === 'offer');
  t.match(await alice.call({ type: 'accept', taskId: task.id }), { type: 'error', code: 'invalid-state', message: /answering the phone/ });
  await fx.acd.accept(task.id, 'alice'); // what the voice channel does when her phone answers
  t.match(await alice.call({ type: 'hangup', taskId: task.id }), { type: 'error', code: 'unavailable' }, 'no voice channel in this fixture');
  t.match(await alice.call({ type: 'wrap-up', taskId: task.id, disposition: 'resolved' }), { type: 'error', code: 'invalid-state', message: /hang up first/ });
  await fx.acd.complete(task.id);
  await alice.next((f) => f.event === 'task-ended');
  t.match(await alice.call({ type: 'wrap-up', taskId: task.id, disposition: 'follow-up', ready: true }), { type: 'result', data: { interaction: 'in-42' } });
  t.match(fx.dispositions, [{ id: 'in-42', agentId: 'alice', taskId: task.id, disposition: 'follow-up' }]);
  t.equal(fx.acd.agentState('alice'), 'available', 'ready: true ended wrap-up');

  const supervisor = await fx.supervisor(t);
  t.match(await supervisor.call({ type: 'login' }), { type: 'error', code: 'forbidden' });
  const snapshot = await supervisor.call({ type: 'snapshot' });
  t.match(snapshot.data, { queues: [{ queue: 'general' }, { queue: 'billing' }], agents: [{ agentId: 'alice', state: 'available' }] });
  await alice.call({ type: 'not-ready', reason: 'lunch' });
  t.match(await supervisor.next((f) => f.event === 'agent-state' && f.data.state === 'not-ready'), { data: { agentId: 'alice', reason: 'lunch' } });
});

t.test('a dropped agent resumes with every event it missed; one that stays away past the grace period goes not-ready', async (t) => {
  const fx = await start(t, { resumeGraceSeconds: 1 });
  const first = await fx.agent(t, 'alice');
  const welcome = first.frames.find((f) => f.type === 'welcome')!;
  await first.call({ type: 'login', ready: true });
  await first.next((f) => f.event === 'agent-state');
  const lastSeq = first.events('agent-state').at(-1)!.seq!;
  first.ws.terminate();
  await first.closed;
  // While away: two state changes.
  await fx.acd.setNotReady('alice', 'break');
  await fx.acd.setReady('alice');

  const again = await Client.open(t, fx.port);
  const resumed = await again.call({ type: 'auth', token: fx.credentials.issue('agent', 'alice', 60), resume: { session: welcome.session, lastSeq } });
  t.match(resumed, { type: 'welcome', resumed: true, gap: false, session: welcome.session });
  const replayed = again.events('agent-state');
  t.same(replayed.map((f) => f.data.state), ['not-ready', 'available'], 'the missed events, in order');
  t.same(replayed.map((f) => f.seq), [lastSeq + 1, lastSeq + 2], 'numbered on from where it left');
  t.equal(fx.acd.agentState('alice'), 'available', 'her state was kept');

  const unknown = await Client.open(t, fx.port);
  t.match(await unknown.call({ type: 'auth', token: fx.credentials.issue('agent', 'bob', 60), resume: { session: 'nope', lastSeq: 3 } }), { resumed: false, gap: true }, 'a session onecc does not know: a fresh one, and the snapshot is the truth');

  t.match(await first.closed, { code: 1006 }, 'the first connection is gone');
  again.ws.terminate();
  await again.closed;
  t.ok(await waitFor(() => fx.acd.agentState('alice') === 'not-ready', 3000), 'past the grace period she gets no more offers');
  t.equal(fx.acd.agent('alice').reason, 'disconnected');
});

t.test('a second connection of the same agent replaces the first', async (t) => {
  const fx = await start(t);
  const first = await fx.agent(t, 'alice');
  await fx.agent(t, 'alice');
  t.match(await first.closed, { code: 4409 });
});

t.test('a client that does not read is cut off before onecc buffers without bound, and can resume', async (t) => {
  const fx = await start(t, { maxBufferedKiB: 16 });
  const supervisor = await fx.supervisor(t);
  // Stop reading: the kernel buffers fill, then ws's send buffer grows.
  (supervisor.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // 16 KiB attributes: each task change is a 16 KiB event; loopback's socket buffers (a few MiB) fill first.
  const big = 'x'.repeat(16 * 1024);
  let sent = 0;
  // The client cannot tell the server gave up on it while it does not read: send what no buffer bound would hold.
  while (sent < 1000) {
    await fx.acd.enqueue({ channel: 'email', queue: 'general', attributes: { body: big } });
    sent++;
  }
  (supervisor.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await Promise.race([supervisor.closed, delay(5000).then(() => undefined)]);
  t.match(closed, { code: 4429 }, `closed as too slow (after ${sent} events of 16 KiB)`);
});

t.test('a connection that stops answering pings is closed', async (t) => {
  const fx = await start(t, { heartbeatSeconds: 2 });
  const c = await fx.agent(t, 'alice');
  (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  t.equal(fx.feed.connections, 1);
  t.ok(await waitFor(() => fx.feed.connections === 0, 8000), 'onecc dropped it within two heartbeat intervals or so');
  (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  t.match(await c.closed, { code: 1006 }, 'without a close handshake');
});

t.test('supervisors get every task change and periodic queue snapshots', async (t) => {
  const fx = await start(t, { snapshotSeconds: 1 });
  const supervisor = await fx.supervisor(t);
  const task = await fx.acd.enqueue({ channel: 'chat', queue: 'billing' });
  t.match(await supervisor.next((f) => f.event === 'task'), { data: { change: 'task-created', task: { id: task.id, queue: 'billing' } } });
  const snapshot = await supervisor.next((f) => f.event === 'queue-snapshot', 3000);
  t.match(snapshot.data.queues.find((q: { queue: string }) => q.queue === 'billing'), { waiting: 1 });
});
