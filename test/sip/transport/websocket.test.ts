import t from 'tap';
import { startEngine, TEST_LIMITS } from '../../helpers/sip-engine';
import { RawWsPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';

const TIMERS = { t1: 50, t2: 400, t4: 500 };

function wsOptions(): ReturnType<typeof rawRequest> {
  // RFC 7118 §5.2: WebSocket clients put an invalid host in Via; only the connection can carry the answer.
  return rawRequest({ method: 'OPTIONS', transport: 'WS', sentBy: 'df7jal23ls0d.invalid' });
}

t.test('WS: a handshake without the "sip" subprotocol is refused (RFC 7118 §4.1)', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const url = `ws://127.0.0.1:${engine.port('ws')}`;
  await t.rejects(RawWsPeer.connect(t, url, { protocols: [] }), /HTTP 400/, 'no subprotocol');
  await t.rejects(RawWsPeer.connect(t, url, { protocols: ['xmpp'] }), /HTTP 400/, 'another subprotocol');
  t.equal(engine.transport.connectionCount, 0, 'no connection was registered');
});

t.test('WS: with "sip" the handshake succeeds and an OPTIONS is answered in one WebSocket message', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`, { protocols: ['xmpp', 'sip'] });
  t.equal(peer.socket.protocol, 'sip', 'the server chose "sip"');

  const req = wsOptions();
  await peer.send(req.toString('utf8'));
  const res = await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.match(res.header('via') ?? '', /^SIP\/2\.0\/WS df7jal23ls0d\.invalid;branch=[^;]+;received=127\.0\.0\.1$/);
  t.equal(res.parse().isRequest, false, 'the frame holds exactly one well-formed message');

  // A binary frame carries a message as well.
  const req2 = wsOptions();
  await peer.send(req2);
  t.equal((await peer.inbox.next(isFinal, 2000, 'the second 200')).callId, req2.fields.callId);
  t.equal(engine.transport.connectionCount, 1);
});

t.test('WS: CRLF keepalives carry no message; a broken message gets 400 and the connection stays', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`);
  await peer.send('\r\n\r\n');
  t.same(await peer.inbox.settle(150), [], 'no answer to a keepalive');

  const bad = rawRequest({ method: 'OPTIONS', transport: 'WS', sentBy: 'x.invalid', contentLength: 99 });
  await peer.send(bad);
  const res = await peer.inbox.next(isFinal, 2000, 'the 400');
  t.equal(res.status, 400);
  t.equal(res.callId, bad.fields.callId);

  const req = wsOptions();
  await peer.send(req);
  t.equal((await peer.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId);
  t.equal(peer.isClosed, false);
});

t.test('WS: a message over maxMessageBytes closes that WebSocket only', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, maxMessageBytes: 2048 } });
  const url = `ws://127.0.0.1:${engine.port('ws')}`;
  const big = await RawWsPeer.connect(t, url);
  const other = await RawWsPeer.connect(t, url);
  await big.send(rawRequest({ method: 'OPTIONS', transport: 'WS', sentBy: 'x.invalid', headers: [`X-Pad: ${'a'.repeat(3000)}`] }));
  await Promise.race([big.closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
  t.equal(big.isClosed, true, 'closed (ws maxPayload)');
  const req = wsOptions();
  await other.send(req);
  t.equal((await other.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId);
});
