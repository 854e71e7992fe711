// The registrar against real phones: JsSIP over WebSocket and Net::SIP over UDP and TCP register with digest
// authentication through onecc's SIP engine and an unmodified drachtio-srf app; bindings live in a real
// redis-server, and onecc rings a WebSocket-registered JsSIP through the binding's connection.
import t, { type Test } from 'tap';
import * as JsSIP from 'jssip';
import { WebSocket as NodeWebSocket } from 'ws';
import type Srf from 'drachtio-srf';
import { DigestAuthenticator } from '../../../src/channels/voice/digest-auth';
import { PhoneDirectory, type PhoneDirectoryOptions } from '../../../src/channels/voice/phone-directory';
import { Registrar } from '../../../src/channels/voice/registrar';
import { silentLogger } from '../../../src/lib/index';
import { connectApp, destroy, sdp, startDrachtio, type DrachtioUnderTest } from '../../helpers/drachtio-harness';
import { installFakeWebRtc } from '../../helpers/peers/fake-rtc-peer-connection';
import { firstEvent } from '../../helpers/peers/jssip-ua';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { RedisServer } from '../../helpers/redis-server';
import { waitFor, within } from '../../helpers/wait';

const REALM = 'onecc.test';
const PHONES = [
  { username: 'alice-desk', password: 'wonderland', agent: 'alice' },
  { username: 'alice-soft', password: 'rabbit-hole', agent: 'alice' },
  { username: 'bob', password: 'builder', agent: 'bob' },
];
const skipNetSip = netSipMissing();

interface Setup {
  sut: DrachtioUnderTest;
  srf: Srf;
  phones: PhoneDirectory;
  redis: RedisServer;
  /** Status of every REGISTER answer the registrar sent, in order. */
  answers: number[];
  events: string[];
  directory(): PhoneDirectory;
}

async function setup(t: Test, expires = { minExpires: 60, maxExpires: 3600, defaultExpires: 600 }): Promise<Setup> {
  const redis = new RedisServer();
  await redis.start();
  t.teardown(() => redis.stop());
  const sut = await startDrachtio(t);
  const directory = (): PhoneDirectory => {
    const options: PhoneDirectoryOptions = { phones: PHONES, redis: { host: redis.host, port: redis.port }, keyTag: 'registrar-test', commandTimeoutMs: 2000, sweepIntervalMs: 100, logger: silentLogger() };
    const created = new PhoneDirectory(options);
    t.teardown(() => created.close());
    return created;
  };
  const phones = directory();
  const events: string[] = [];
  phones.on('agentOnline', (agent) => events.push(`online ${agent}`));
  phones.on('agentOffline', (agent) => events.push(`offline ${agent}`));
  const registrar = new Registrar({ phones, auth: new DigestAuthenticator({ realm: REALM, nonceSecret: 'test', nonceTtlSeconds: 60 }), expires, logger: silentLogger() });
  const answers: number[] = [];
  const { srf } = await connectApp(t, sut, (srf) => {
    srf.use('register', (req, res) => {
      const send = res.send.bind(res) as (status: number, ...rest: unknown[]) => void;
      (res as unknown as { send: typeof send }).send = (status, ...rest) => {
        answers.push(status);
        send(status, ...rest);
      };
      registrar.handle(req, res);
    });
  });
  return { sut, srf, phones, redis, answers, events, directory };
}

/** A JsSIP UA (Node, `ws` as its WebSocket) registering as `username`; stopped in t.teardown. */
function jsSipPhone(t: Test, sut: DrachtioUnderTest, username: string, password: string, registerExpires = 600): JsSIP.UA {
  const g = globalThis as Record<string, unknown>;
  g.WebSocket ??= NodeWebSocket;
  JsSIP.debug.disable();
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${sut.engine.port('ws')}`)],
    uri: `sip:${username}@${REALM}`,
    password,
    register: false,
    register_expires: registerExpires,
    session_timers: false,
    connection_recovery_min_interval: 60,
    connection_recovery_max_interval: 60,
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3000);
        ua.once('disconnected', () => {
          clearTimeout(timer);
          resolve();
        });
        ua.stop();
        if (!ua.isConnected()) resolve();
      }),
  );
  return ua;
}

async function registered(ua: JsSIP.UA): Promise<{ event: string; arg: { cause?: string; response?: { status_code: number } } }> {
  const outcome = firstEvent<{ cause?: string; response?: { status_code: number } }>(ua as never, ['registered', 'registrationFailed'], 8000);
  if (ua.isConnected()) ua.register();
  else {
    ua.once('connected', () => ua.register());
    ua.start();
  }
  return outcome;
}

t.test('JsSIP over WebSocket: 401 with a digest challenge, then 200; the binding is the agent\'s device, reached through its connection', async (t) => {
  const { sut, phones, answers, events } = await setup(t);
  const ua = jsSipPhone(t, sut, 'alice-soft', 'rabbit-hole');
  const outcome = await registered(ua);
  t.equal(outcome.event, 'registered', `JsSIP registered (${outcome.arg.cause ?? ''})`);
  t.same(answers, [401, 200], 'challenged once, then accepted');
  const devices = await phones.devicesOf('alice');
  t.equal(devices.length, 1);
  const [device] = devices;
  t.match(device, { username: 'alice-soft', agentId: 'alice', transport: 'ws', userAgent: /JsSIP/ });
  t.match(device!.uri, /\.invalid;transport=ws$/, 'the Contact is JsSIP\'s made-up .invalid host');
  t.match(device!.proxy, new RegExp(`^sip:127\\.0\\.0\\.1:\\d+;transport=ws$`), 'so it is reached at the address its REGISTER came from');
  t.ok(device!.expiresAt > Date.now() + 590_000 && device!.expiresAt <= Date.now() + 600_000, 'for the 600 s it asked');
  t.same(await phones.devicesOf('bob'), [], 'nothing for another agent');
  t.equal(phones.agentOf('alice-soft'), 'alice');
  await waitFor(() => events.length > 0, 2000);
  t.same(events, ['online alice']);
});

t.test('onecc calls a JsSIP phone registered over WebSocket: createUAC to its binding reaches it, it answers, BYE ends it', async (t) => {
  t.teardown(installFakeWebRtc());
  const { sut, srf, phones } = await setup(t);
  const ua = jsSipPhone(t, sut, 'alice-soft', 'rabbit-hole');
  t.equal((await registered(ua)).event, 'registered');
  const incoming = firstEvent<{ originator: string; session: { answer(options: object): void }; request: { getHeader(name: string): string } }>(ua as never, ['newRTCSession'], 5000);
  const [device] = await phones.devicesOf('alice');
  const dialog = srf.createUAC(device!.uri, { proxy: device!.proxy, localSdp: sdp('onecc rings an agent'), headers: { 'X-Test': 'ring' } });
  const { arg } = await incoming;
  t.equal(arg.originator, 'remote', 'JsSIP got an incoming call');
  t.equal(arg.request.getHeader('X-Test'), 'ring');
  const ended = firstEvent(arg.session as never, ['ended', 'failed'], 5000);
  arg.session.answer({ mediaConstraints: { audio: false, video: false } });
  const uac = await within(dialog, 5000, 'createUAC to the WebSocket phone');
  t.match(uac.remote.sdp, /s=jssip answer/, 'the dialog has JsSIP\'s answer');
  await destroy(uac);
  t.equal((await ended).event, 'ended', 'JsSIP saw the BYE');
});

t.test('JsSIP with a wrong password: 401 again, and it gives up', async (t) => {
  const { sut, phones, answers } = await setup(t);
  const ua = jsSipPhone(t, sut, 'alice-soft', 'not-the-password');
  const outcome = await registered(ua);
  t.equal(outcome.event, 'registrationFailed');
  t.equal(outcome.arg.response?.status_code, 401);
  t.same(answers, [401, 401]);
  t.same(await phones.devicesOf('alice'), []);
});

t.test('JsSIP unregisters all its bindings with Contact * and Expires 0: the agent goes offline', async (t) => {
  const { sut, phones, events } = await setup(t);
  const ua = jsSipPhone(t, sut, 'bob', 'builder');
  t.equal((await registered(ua)).event, 'registered');
  t.equal((await phones.devicesOf('bob')).length, 1);
  const unregistered = firstEvent(ua as never, ['unregistered'], 5000);
  ua.unregister({ all: true });
  await unregistered;
  t.same(await phones.devicesOf('bob'), []);
  await waitFor(() => events.length === 2, 2000);
  t.same(events, ['online bob', 'offline bob']);
});

t.test('Net::SIP over UDP and TCP: several devices for one agent, seen by every node sharing the Redis', { skip: skipNetSip }, async (t) => {
  const { sut, phones, directory, events } = await setup(t);
  const udp = new NetSipPeer(t, { role: 'register', proto: 'udp', user: 'alice-desk', registrar: `127.0.0.1:${sut.engine.port('udp')}`, expires: 300, auth: ['alice-desk', 'wonderland'], timeout_s: 10 });
  const udpResult = await udp.waitFor('registered');
  t.match(udpResult, { status: 'OK', code: 200 });
  t.equal(Number(udpResult.expires), 300);
  t.equal(udp.received(401, 'REGISTER').length, 1, 'challenged once');
  const tcp = new NetSipPeer(t, { role: 'register', proto: 'tcp', user: 'alice-soft', registrar: `127.0.0.1:${sut.engine.port('tcp')}`, expires: 100_000, auth: ['alice-soft', 'rabbit-hole'], timeout_s: 10 });
  const tcpResult = await tcp.waitFor('registered');
  t.match(tcpResult, { status: 'OK', code: 200 });
  t.equal(Number(tcpResult.expires), 3600, 'cut to maxExpires');
  const otherNode = directory();
  const devices = (await otherNode.devicesOf('alice')).sort((a, b) => a.username.localeCompare(b.username));
  t.match(devices, [
    { username: 'alice-desk', transport: 'udp', proxy: undefined, uri: /^sip:alice-desk@127\.0\.0\.1:\d+/ },
    { username: 'alice-soft', transport: 'tcp', proxy: /^sip:127\.0\.0\.1:\d+;transport=tcp$/ },
  ], 'a UDP Contact that is where the REGISTER came from is used as is; TCP goes back over its connection');
  t.same((await phones.bindingsOf('alice-desk')).map((b) => b.username), ['alice-desk']);
  t.same(events, ['online alice'], 'online once, for the first device');
});

t.test('Net::SIP: a short registration expires and is swept away (agent offline); an unregister removes at once', { skip: skipNetSip }, async (t) => {
  const { sut, phones, events } = await setup(t, { minExpires: 1, maxExpires: 3600, defaultExpires: 600 });
  const registrar = `127.0.0.1:${sut.engine.port('udp')}`;
  const short = new NetSipPeer(t, { role: 'register', user: 'bob', registrar, expires: 1, auth: ['bob', 'builder'], timeout_s: 10 });
  t.match(await short.waitFor('registered'), { code: 200 });
  t.equal((await phones.devicesOf('bob')).length, 1);
  t.ok(await waitFor(() => events.includes('offline bob'), 3000), 'offline once the binding expired');
  t.same(await phones.devicesOf('bob'), []);

  // Net::SIP sends one REGISTER per run: the same local port twice makes the same Contact.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const on = new NetSipPeer(t, { role: 'register', user: 'bob', registrar, expires: 600, auth: ['bob', 'builder'], port, timeout_s: 10 });
  t.match(await on.waitFor('registered'), { code: 200 });
  await on.finished();
  t.equal((await phones.devicesOf('bob')).length, 1);
  const off = new NetSipPeer(t, { role: 'register', user: 'bob', registrar, expires: 0, auth: ['bob', 'builder'], port, timeout_s: 10 });
  t.match(await off.waitFor('registered'), { code: 200 });
  t.same(await phones.devicesOf('bob'), [], 'unregistered');
  t.ok(await waitFor(() => events.length === 4, 2000));
  t.same(events, ['online bob', 'offline bob', 'online bob', 'offline bob']);
});

t.test('Net::SIP asking for less than minExpires gets 423 Interval Too Brief and no binding', { skip: skipNetSip }, async (t) => {
  const { sut, phones, answers } = await setup(t);
  const peer = new NetSipPeer(t, { role: 'register', user: 'bob', registrar: `127.0.0.1:${sut.engine.port('udp')}`, expires: 10, auth: ['bob', 'builder'], timeout_s: 10 });
  const result = await peer.waitFor('registered');
  t.equal(result.code, 423);
  t.same(answers, [401, 423]);
  t.same(await phones.devicesOf('bob'), []);
});

t.test('a REGISTER for another user than the credentials is refused 403', { skip: skipNetSip }, async (t) => {
  const { sut, phones } = await setup(t);
  // Net::SIP registers its `user` and answers the challenge with `auth`: bob's password cannot register alice.
  const peer = new NetSipPeer(t, { role: 'register', user: 'alice-desk', registrar: `127.0.0.1:${sut.engine.port('udp')}`, auth: ['bob', 'builder'], timeout_s: 10 });
  t.equal((await peer.waitFor('registered')).code, 403);
  t.same(await phones.devicesOf('alice'), []);
});

t.test('Redis away: REGISTER gets 503 with Retry-After rather than hanging', { skip: skipNetSip }, async (t) => {
  const { sut, redis, answers } = await setup(t);
  await redis.stop();
  const peer = new NetSipPeer(t, { role: 'register', user: 'bob', registrar: `127.0.0.1:${sut.engine.port('udp')}`, auth: ['bob', 'builder'], timeout_s: 15 });
  t.equal((await peer.waitFor('registered', undefined, 12_000)).code, 503);
  t.same(answers, [401, 503]);
});

t.test('PhoneDirectory: close() is idempotent, emits close once, and reads reject afterwards', async (t) => {
  const { phones } = await setup(t);
  let closes = 0;
  phones.on('close', () => closes++);
  await phones.close();
  await phones.close();
  t.equal(closes, 1);
  await t.rejects(phones.devicesOf('alice'), { code: 'INVALID_STATE' });
});
