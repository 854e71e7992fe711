// The wire protocol itself (spec §1-§3, §9): authentication and its failure, ping, framing by byte count,
// malformed frames closing only the client that sent them, NOK replies that keep the connection, 481 for
// requests in unknown dialogs, and an engine that keeps serving through all of it.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, SECRET, sendResponse, srfRequest, startDrachtio, type DrachtioUnderTest } from '../../helpers/drachtio-harness';
import { UdpSipPeer, WireClient, header } from '../../helpers/drachtio-wire';
import { delay } from '../../helpers/wait';

function request(method: string, sut: DrachtioUnderTest, peer: UdpSipPeer, extra: { callId?: string; fromTag?: string; toTag?: string; cseq?: number } = {}): string {
  const enginePort = sut.engine.port('udp');
  return [
    `${method} sip:onecc@127.0.0.1:${enginePort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${randomUUID().slice(0, 12)};rport`,
    `From: <sip:raw@127.0.0.1:${peer.port}>;tag=${extra.fromTag ?? randomUUID().slice(0, 8)}`,
    `To: <sip:onecc@127.0.0.1:${enginePort}>${extra.toTag ? `;tag=${extra.toTag}` : ''}`,
    `Call-ID: ${extra.callId ?? randomUUID()}`,
    `CSeq: ${extra.cseq ?? 1} ${method}`,
    `Contact: <sip:raw@127.0.0.1:${peer.port}>`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An srf app that answers OPTIONS 200 (the "is the engine still serving?" probe) and counts them. */
async function optionsApp(t: { teardown(fn: () => unknown): void }, sut: DrachtioUnderTest): Promise<{ srf: Srf; count(): number }> {
  let count = 0;
  const { srf } = await connectApp(t, sut, (srf) => {
    srf.use('options', (_req, res) => {
      count++;
      sendResponse(res, 200, { headers: { 'X-Answered-By': 'options-app' } });
    });
  });
  return { srf, count: () => count };
}

async function stillServing(t: Test, sut: DrachtioUnderTest, peer: UdpSipPeer, what: string): Promise<void> {
  const before = peer.matching(/^SIP\/2\.0 200/).length;
  peer.send(request('OPTIONS', sut, peer), sut.engine.port('udp'));
  const ok = await peer.waitFor(/^SIP\/2\.0 200/, 3000, before + 1);
  t.equal(header(ok[ok.length - 1]!, 'X-Answered-By'), 'options-app', `the app still answers OPTIONS ${what}`);
}

t.test('authenticate: OK with every listener as hostports, a semver version, local hostports; srf connects with them', async (t) => {
  const sut = await startDrachtio(t);
  const wire = await WireClient.connect(t, sut.server.port);
  const reply = await wire.authenticate(SECRET);
  const hostports = `udp/127.0.0.1:${sut.engine.port('udp')},tcp/127.0.0.1:${sut.engine.port('tcp')},ws/127.0.0.1:${sut.engine.port('ws')}`;
  t.same(reply, ['OK', hostports, 'v0.9.4', hostports]);
  const app = await connectApp(t, sut);
  t.equal(app.hostport, hostports, "srf.on('connect') hostport");
  t.equal(app.version, 'v0.9.4');
  t.equal(app.localHostports, hostports);
});

t.test('a wrong secret gets NO|incorrect secret and the connection is closed; srf reports the failure', async (t) => {
  const sut = await startDrachtio(t);
  const wire = await WireClient.connect(t, sut.server.port);
  const reply = await wire.authenticate('not-the-secret');
  t.same(reply, ['NO', 'incorrect secret']);
  t.ok(await wire.closedWithin(1000), 'the server closed the connection');
  await t.rejects(connectApp(t, sut, undefined, { secret: 'wrong' }), /failed to authenticate to server/, 'srf connect fails');
  const good = await connectApp(t, sut);
  t.ok(good.hostport, 'a client with the right secret still connects');
});

t.test('ping gets OK|pong, route gets OK; frames are counted in bytes, split or batched', async (t) => {
  const sut = await startDrachtio(t);
  const wire = await WireClient.connect(t, sut.server.port);
  await wire.authenticate(SECRET);
  const ping = wire.send('ping');
  t.equal((await wire.reply(ping)).split('|').slice(3).join('|'), 'OK|pong');
  const route = wire.send('route|invité');
  t.equal((await wire.reply(route)).split('|')[3], 'OK', 'a multi-byte verb: the length prefix counts bytes');

  // Two frames in one write.
  const a = randomUUID();
  const b = randomUUID();
  wire.sendRaw(`${Buffer.byteLength(`${a}|ping`)}#${a}|ping${Buffer.byteLength(`${b}|ping`)}#${b}|ping`);
  await wire.reply(a);
  await wire.reply(b);
  // One frame byte by byte.
  const c = randomUUID();
  const frame = Buffer.from(`${Buffer.byteLength(`${c}|ping`)}#${c}|ping`);
  for (const byte of frame) {
    wire.sendRaw(Buffer.from([byte]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.equal((await wire.reply(c)).split('|')[4], 'pong', 'a frame split into single bytes');
  t.notOk(wire.isClosed);
});

const FATAL: Array<{ name: string; authenticated: boolean; send: (w: WireClient) => string | undefined; reply?: string }> = [
  { name: 'a length prefix that is not a number', authenticated: true, send: (w) => (w.sendRaw('abc#hello'), undefined) },
  { name: 'a length over the limit', authenticated: true, send: (w) => (w.sendRaw('999999999#x'), undefined) },
  { name: 'bytes without any # for too long', authenticated: true, send: (w) => (w.sendRaw('12345678901234567890'), undefined) },
  { name: 'binary garbage inside a valid frame', authenticated: true, send: (w) => (w.sendRaw(Buffer.concat([Buffer.from('4#'), Buffer.from([0, 0xff, 0xfe, 7])])), undefined) },
  { name: 'an unknown message type', authenticated: true, send: (w) => w.send('bogus|x'), reply: 'NO|Unknown message type' },
  { name: 'a command before authenticate', authenticated: false, send: (w) => w.send('route|invite'), reply: 'NO|not authenticated' },
  { name: 'a SIP response without a transaction id', authenticated: true, send: (w) => w.send('sip||\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'), reply: 'NO|transaction id missing' },
  { name: 'a proxy command with too few fields', authenticated: true, send: (w) => w.send('proxy|x'), reply: 'NO|Invalid proxy request: not enough information provided' },
];

t.test('malformed frames close that client only: other apps and the engine go on', async (t) => {
  const sut = await startDrachtio(t);
  const app = await optionsApp(t, sut);
  const peer = await UdpSipPeer.start(t);
  for (const c of FATAL) {
    const wire = await WireClient.connect(t, sut.server.port);
    if (c.authenticated) await wire.authenticate(SECRET);
    const id = c.send(wire);
    if (c.reply && id) t.equal((await wire.reply(id)).split('\r\n')[0]!.split('|').slice(3).join('|'), c.reply, `${c.name}: ${c.reply}`);
    t.ok(await wire.closedWithin(1000), `${c.name}: that connection is closed`);
    await stillServing(t, sut, peer, `after ${c.name}`);
  }
  t.equal(app.count(), FATAL.length, 'the healthy app answered every probe');
});

t.test('recoverable errors get NOK and keep the connection: bad SIP, unknown transaction, unknown dialog, unknown CANCEL', async (t) => {
  const sut = await startDrachtio(t);
  await optionsApp(t, sut);
  const peer = await UdpSipPeer.start(t);
  const wire = await WireClient.connect(t, sut.server.port);
  await wire.authenticate(SECRET);
  const cases: Array<[string, string, RegExp]> = [
    ['SIP text that does not parse', 'sip||\r\nNOT SIP AT ALL\r\n\r\n', /^NOK\|/],
    ['a response for an unknown transaction', 'sip|no-such-txn|\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', /^NOK\|Response not sent due to unknown transaction$/],
    ['a request in an unknown dialog', 'sip||nope;from-tag=x\r\nBYE sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n', /^NOK\|Server error: unable to find dialog for dialog id provided$/],
    ['CANCEL of an unknown transaction', 'sip|no-such-txn|\r\nCANCEL sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n', /^NOK\|unable to cancel unknown transaction id: no-such-txn$/],
    ['a request with a bad request-URI', 'sip||\r\nOPTIONS nonsense SIP/2.0\r\nContent-Length: 0\r\n\r\n', /^NOK\|invalid request-uri: nonsense$/],
    ['a request to the engine itself', `sip||\r\nOPTIONS sip:127.0.0.1:${sut.engine.port('udp')} SIP/2.0\r\nContent-Length: 0\r\n\r\n`, /^NOK\|can not send request to myself$/],
    ['a body that is not SDP without Content-Type', `sip||\r\nMESSAGE sip:x@127.0.0.1:${peer.port} SIP/2.0\r\nContent-Length: 5\r\n\r\nhello`, /^NOK\|missing content-type$/],
    ['a request on a transport the engine lacks', `sip||\r\nOPTIONS sip:x@127.0.0.1:5061;transport=tls SIP/2.0\r\nContent-Length: 0\r\n\r\n`, /^NOK\|requested protocol\/transport not available$/],
  ];
  for (const [name, rest, expected] of cases) {
    const id = wire.send(rest);
    t.match((await wire.reply(id)).split('\r\n')[0]!.split('|').slice(3).join('|'), expected, name);
    t.notOk(wire.isClosed, `${name}: connection kept`);
  }
  const ping = wire.send('ping');
  t.equal((await wire.reply(ping)).split('|')[4], 'pong', 'the connection still works');
  await stillServing(t, sut, peer, 'after the NOKs');
});

t.test('srf sees ENODIALOG for a request in a dialog the engine does not know', async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const err = (await srfRequest(srf, 'sip:placeholder', { method: 'INFO', stackDialogId: 'gone;from-tag=x' } as never).then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string } | undefined;
  t.equal(err?.code, 'ENODIALOG');
});

t.test('requests for unknown dialogs get 481; a stray ACK gets nothing; the engine goes on', async (t) => {
  const sut = await startDrachtio(t);
  await optionsApp(t, sut);
  await connectApp(t, sut, (srf) => srf.invite((_req, res) => sendResponse(res, 486)));
  const peer = await UdpSipPeer.start(t);
  const port = sut.engine.port('udp');
  for (const method of ['BYE', 'INFO', 'INVITE', 'UPDATE', 'NOTIFY', 'OPTIONS']) {
    const callId = randomUUID();
    peer.send(request(method, sut, peer, { callId, toTag: 'no-such-dialog', cseq: 5 }), port);
    const [res] = await peer.waitForMatch((m) => header(m, 'Call-ID') === callId && !/^SIP\/2\.0 100/.test(m), 3000, 1, `response to ${method}`);
    t.match(res?.split('\r\n')[0], /^SIP\/2\.0 481 /, `${method} with an unknown To tag: 481`);
  }
  const cancelCallId = randomUUID();
  peer.send(request('CANCEL', sut, peer, { callId: cancelCallId }), port);
  const [cancelled] = await peer.waitForMatch((m) => header(m, 'Call-ID') === cancelCallId, 3000, 1, 'response to CANCEL');
  t.match(cancelled?.split('\r\n')[0], /^SIP\/2\.0 481 /, 'CANCEL matching no INVITE: 481');
  const ackCallId = randomUUID();
  peer.send(request('ACK', sut, peer, { callId: ackCallId, toTag: 'nothing' }), port);
  await delay(300);
  t.equal(peer.received.filter((m) => header(m, 'Call-ID') === ackCallId).length, 0, 'a stray ACK is absorbed silently');
  await stillServing(t, sut, peer, 'after the 481s');
});
