import t from 'tap';
import { startEngine, TEST_LIMITS } from '../../helpers/sip-engine';
import { RawUdpPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';

const TIMERS = { t1: 50, t2: 400, t4: 500 };

t.test('UDP listener answers an OPTIONS with 200 from its own port', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);
  const req = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy });
  await peer.send(req, engine.port('udp'));
  const res = await peer.inbox.next(isFinal, 2000, '200 to OPTIONS');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.same(res.from, { address: '127.0.0.1', port: engine.port('udp') }, 'sent from the listening socket');
  t.match(res.header('via') ?? '', new RegExp(`branch=${req.fields.branch}`), 'Via copied with its branch');
});

t.test('Via stamping (RFC 3261 §18.2.1, RFC 3581)', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);

  t.test('received and rport are added when sent-by differs and rport is empty', async (t) => {
    const req = rawRequest({ method: 'OPTIONS', sentBy: '192.0.2.1:5060', rport: true });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next((p) => p.callId === req.fields.callId, 2000, 'the 200');
    const via = res.header('via') ?? '';
    t.match(via, /^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;/, 'sent-by kept');
    t.match(via, /;received=127\.0\.0\.1(;|$)/, 'received = the source address');
    t.match(via, new RegExp(`;rport=${peer.port}(;|$)`), 'rport = the source port');
  });

  t.test('received only, when sent-by differs and there is no rport', async (t) => {
    const req = rawRequest({ method: 'OPTIONS', sentBy: 'client.invalid:5060' });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next((p) => p.callId === req.fields.callId, 2000, 'the 200');
    const via = res.header('via') ?? '';
    t.match(via, /;received=127\.0\.0\.1(;|$)/);
    t.notMatch(via, /rport/, 'no rport is invented');
  });

  t.test('rport only, when sent-by is the source address', async (t) => {
    const req = rawRequest({ method: 'OPTIONS', sentBy: `127.0.0.1:${peer.port}`, rport: true });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next((p) => p.callId === req.fields.callId, 2000, 'the 200');
    const via = res.header('via') ?? '';
    t.notMatch(via, /received/, 'no received when the address matches');
    t.match(via, new RegExp(`;rport=${peer.port}(;|$)`));
  });

  t.test('nothing is added when sent-by is the source and rport is absent', async (t) => {
    const req = rawRequest({ method: 'OPTIONS', sentBy: `127.0.0.1:${peer.port}` });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next((p) => p.callId === req.fields.callId, 2000, 'the 200');
    t.equal(res.header('via'), req.fields.via, 'Via comes back exactly as sent');
  });
});

t.test('symmetricResponses=false: the response goes to the Via sent-by, not to the source port', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, symmetricResponses: false });
  const sender = await RawUdpPeer.open(t);
  const viaTarget = await RawUdpPeer.open(t);

  const req = rawRequest({ method: 'OPTIONS', sentBy: `127.0.0.1:${viaTarget.port}` });
  await sender.send(req, engine.port('udp'));
  const res = await viaTarget.inbox.next(isFinal, 2000, 'the 200 at the Via address');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.same(await sender.inbox.settle(200), [], 'nothing goes back to the source port');

  // RFC 3581: with rport the client asks for the source port, whatever the setting.
  const withRport = rawRequest({ method: 'OPTIONS', sentBy: `127.0.0.1:${viaTarget.port}`, rport: true });
  await sender.send(withRport, engine.port('udp'));
  const res2 = await sender.inbox.next(isFinal, 2000, 'the 200 at the source (rport)');
  t.equal(res2.callId, withRport.fields.callId);
  t.same(await viaTarget.inbox.settle(200), [], 'nothing at the Via address when rport is present');
});

t.test('symmetricResponses=true (default) sends to the source even when sent-by names another port', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const sender = await RawUdpPeer.open(t);
  const viaTarget = await RawUdpPeer.open(t);
  const req = rawRequest({ method: 'OPTIONS', sentBy: `127.0.0.1:${viaTarget.port}` });
  await sender.send(req, engine.port('udp'));
  const res = await sender.inbox.next(isFinal, 2000, 'the 200 at the source');
  t.equal(res.callId, req.fields.callId);
  t.same(await viaTarget.inbox.settle(150), []);
});

t.test('keepalives and STUN-like datagrams get no answer; the listener keeps working', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);
  await peer.send('\r\n\r\n', engine.port('udp'));
  await peer.send('\r\n', engine.port('udp'));
  await peer.send(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), engine.port('udp'));
  t.same(await peer.inbox.settle(200), [], 'silence');
  const req = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy });
  await peer.send(req, engine.port('udp'));
  t.equal((await peer.inbox.next(isFinal, 2000, 'the 200')).status, 200);
});

t.test('an oversized UDP request (> maxMessageBytes) gets 513 and the listener keeps working', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, maxMessageBytes: 2048 } });
  const peer = await RawUdpPeer.open(t);
  const big = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy, headers: [`X-Pad: ${'a'.repeat(3000)}`] });
  t.ok(big.length > 2048 && big.length < 65000, 'one datagram, larger than the limit');
  await peer.send(big, engine.port('udp'));
  const res = await peer.inbox.next(isFinal, 2000, 'the 513');
  t.equal(res.status, 513);
  t.equal(res.callId, big.fields.callId);

  const small = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy });
  await peer.send(small, engine.port('udp'));
  t.equal((await peer.inbox.next((p) => p.callId === small.fields.callId, 2000, 'the 200')).status, 200);
});

t.test('an unparseable UDP request gets a stateless 400 to its source', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);
  const bad = rawRequest({ method: 'OPTIONS', sentBy: '192.0.2.7:5060', headers: ['CSeq: 2 OPTIONS'] });
  await peer.send(bad, engine.port('udp'));
  const res = await peer.inbox.next(isFinal, 2000, 'the 400');
  t.equal(res.status, 400);
  t.match(res.startLine, /More than one CSeq/);
  t.equal(res.callId, bad.fields.callId);
  t.match(res.header('to') ?? '', /;tag=/, 'the 400 adds a To tag');
});
