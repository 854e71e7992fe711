// Agents whose feed connection was on a node that went away: two onecc nodes (startServer, one Redis), agents carl
// and dana connected to node B's feed, both ready. B stops (its lease left to run out, as after a crash). Once A has
// taken over B, it gives B's agents the resume grace: dana, who reconnected to A meanwhile, stays available; carl,
// who did not come back anywhere, goes not-ready (disconnected) instead of being offered work nobody would take.
import t from 'tap';
import { Credentials, DISCONNECTED_REASON } from '../../src/agents/index';
import { startTestServer } from '../helpers/onecc-server';
import { FeedClient } from '../helpers/feed-client';
import { waitFor } from '../helpers/wait';

const SECRET = 'feed-presence-secret-0123456789';

t.test('a node that went away: its agents who do not reconnect within the grace go not-ready; those who do stay', async (t) => {
  const env = {
    ONECC_ACD__NODE_LEASE_SECONDS: '2',
    ONECC_AGENTS__RESUME_GRACE_SECONDS: '2',
    ONECC_AGENTS__TOKEN_SECRET: SECRET,
    ONECC_AGENTS__ROSTER: '[{id: carl, name: Carl, skills: {general: 5}, languages: [en], capacity: null}, {id: dana, name: Dana, skills: {general: 5}, languages: [en], capacity: null}]',
  };
  const a = await startTestServer(t, { dialplans: {}, rtpPorts: [37800, 37849], env: { ...env, ONECC_ACD__NODE_ID: 'node-a' } });
  const b = await startTestServer(t, {
    dialplans: {},
    rtpPorts: [37850, 37899],
    env: { ...env, ONECC_ACD__NODE_ID: 'node-b', ONECC_ACD__REDIS__EMBEDDED: 'false', ONECC_ACD__REDIS__PORT: String(a.onecc.redis.port) },
  });
  const credentials = new Credentials(a.config.agents);
  const connect = async (port: number, agentId: string, login: boolean) => {
    const client = await FeedClient.open(t, port);
    await client.call({ type: 'auth', token: credentials.issue('agent', agentId, 600) });
    if (login) await client.call({ type: 'login', ready: true });
    return client;
  };
  const carl = await connect(b.onecc.http.port, 'carl', true);
  const dana = await connect(b.onecc.http.port, 'dana', true);
  const acd = a.onecc.acd!;
  t.ok(await waitFor(() => ['carl', 'dana'].every((id) => [...acd.agents()].some((x) => x.id === id) && acd.agentState(id) === 'available'), 3000), 'both ready, seen from A');
  t.teardown(async () => {
    for (const id of ['carl', 'dana']) await acd.logout(id).catch(() => undefined);
  });

  const stoppedAt = Date.now();
  await b.onecc.close();
  await Promise.all([carl.closed, dana.closed]);
  await connect(a.onecc.http.port, 'dana', false); // dana's desktop reconnects to the live node
  t.ok(await waitFor(() => acd.agentState('carl') === 'not-ready', 10_000), 'carl, who did not come back, went not-ready');
  t.equal(acd.agent('carl').reason, DISCONNECTED_REASON);
  t.ok(Date.now() - stoppedAt >= 2000, `not before B's lease and the grace ran out (${Date.now() - stoppedAt} ms)`);
  t.equal(acd.agentState('dana'), 'available', 'dana, connected to A, stays available');
});
