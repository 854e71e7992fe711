import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { startEngine } from '../../helpers/sip-engine';
import { RawStreamPeer, RawWsPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';
import { makeSelfSignedCert } from '../../helpers/raw-tls';
import { delay } from '../../helpers/wait';

const TIMERS = { t1: 50, t2: 400, t4: 500 };
const cert = makeSelfSignedCert(t.testdir());

async function tlsEngine(t: Parameters<typeof startEngine>[0]): ReturnType<typeof startEngine> {
  return startEngine(t, {
    timers: TIMERS,
    tls: { cert: cert.cert, key: cert.key, ca: cert.ca },
    listen: [
      { transport: 'tls', host: '127.0.0.1', port: 0 },
      { transport: 'wss', host: '127.0.0.1', port: 0 },
    ],
  });
}

t.test('TLS: OPTIONS over a verified TLS connection is answered on it', async (t) => {
  const engine = await tlsEngine(t);
  const peer = await RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca);
  t.equal((peer.socket as import('node:tls').TLSSocket).authorized, true, 'the client verified the engine\'s certificate');
  const req = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061' });
  await peer.write(req);
  const res = await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.match(res.header('via') ?? '', /^SIP\/2\.0\/TLS 192\.0\.2\.1:5061;branch=[^;]+;received=127\.0\.0\.1$/);
});

t.test('TLS: pipelined and partial messages are framed inside the TLS stream', async (t) => {
  const engine = await tlsEngine(t);
  const peer = await RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca);
  const a = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061' });
  const b = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061' });
  const c = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061' });
  const all = Buffer.concat([a, b, c]);
  const cut = a.length + b.length + 17;
  await peer.write(all.subarray(0, cut));
  await delay(50);
  await peer.write(all.subarray(cut));
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await peer.inbox.next(isFinal, 2000, `response ${i + 1}`)).callId);
  t.same(got, [a.fields.callId, b.fields.callId, c.fields.callId]);
});

t.test('TLS: a framing error gets its 400 through TLS before the connection closes', async (t) => {
  const engine = await tlsEngine(t);
  const peer = await RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca);
  const req = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061', contentLength: null });
  await peer.write(req);
  const res = await peer.inbox.next(isFinal, 2000, 'the 400');
  t.equal(res.status, 400);
  t.equal(res.callId, req.fields.callId);
  t.equal(await peer.waitClosed(1000), true);
});

t.test('TLS: a client that does not trust the certificate cannot connect; the listener keeps serving', async (t) => {
  const engine = await tlsEngine(t);
  const err = await new Promise<Error>((resolve) => {
    const socket = tlsConnect({ port: engine.port('tls'), host: '127.0.0.1' });
    socket.once('error', (e) => {
      socket.destroy();
      resolve(e);
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(new Error('connected'));
    });
  });
  t.match(err.message, /self[- ]signed/i, 'rejected by the client: self-signed certificate');
  const peer = await RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca);
  const req = rawRequest({ method: 'OPTIONS', transport: 'TLS', sentBy: '192.0.2.1:5061' });
  await peer.write(req);
  t.equal((await peer.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId);
});

t.test('WSS: "sip" subprotocol over TLS; OPTIONS answered', async (t) => {
  const engine = await tlsEngine(t);
  const url = `wss://127.0.0.1:${engine.port('wss')}`;
  await t.rejects(RawWsPeer.connect(t, url, { protocols: [], ca: cert.ca }), /HTTP 400/, 'refused without "sip"');
  const peer = await RawWsPeer.connect(t, url, { ca: cert.ca });
  t.equal(peer.socket.protocol, 'sip');
  const req = rawRequest({ method: 'OPTIONS', transport: 'WSS', sentBy: 'h8s0dfs.invalid' });
  await peer.send(req.toString('utf8'));
  const res = await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.match(res.header('via') ?? '', /^SIP\/2\.0\/WSS h8s0dfs\.invalid;branch=[^;]+;received=127\.0\.0\.1$/);
});
