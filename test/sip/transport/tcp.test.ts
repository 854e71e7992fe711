import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { SipRequest, createResponse } from '../../../src/sip/message/index';
import type { ServerTransaction, TransactionUser } from '../../../src/sip/index';
import { startEngine, TEST_LIMITS } from '../../helpers/sip-engine';
import { Inbox, RawPacket, RawStreamPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';
import { delay } from '../../helpers/wait';

const TIMERS = { t1: 50, t2: 400, t4: 500 };

function options(extra: Parameters<typeof rawRequest>[0] extends infer S ? Partial<S> : never = {}): ReturnType<typeof rawRequest> {
  return rawRequest({ method: 'OPTIONS', transport: 'TCP', sentBy: '192.0.2.1:5060', ...extra });
}

t.test('TCP: OPTIONS is answered on the connection it came on (§18.2.2), which the engine keeps', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  // The Via names an address nobody listens on: only the inbound connection can carry the answer.
  const req = options();
  await peer.write(req);
  const res = await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.match(res.header('via') ?? '', /^SIP\/2\.0\/TCP 192\.0\.2\.1:5060;branch=[^;]+;received=127\.0\.0\.1$/, 'received stamped, no rport invented');
  t.equal(engine.transport.connectionCount, 1, 'one connection, no new one opened for the response');

  const invite = rawRequest({ method: 'INVITE', transport: 'TCP', sentBy: '192.0.2.1:5060' });
  await peer.write(invite);
  const trying = await peer.inbox.next((p) => p.status === 100, 2000, '100 Trying');
  const final = await peer.inbox.next(isFinal, 2000, '503');
  t.equal(trying.callId, invite.fields.callId);
  t.equal(final.status, 503);
  t.equal(engine.transport.connectionCount, 1, 'still one connection');
  t.equal(peer.isClosed, false);
});

t.test('TCP: a message written one byte at a time is framed and answered', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  peer.socket.setNoDelay(true);
  const req = options({ body: 'hello', headers: ['Content-Type: text/plain'] });
  for (let i = 0; i < req.length; i++) {
    await peer.write(req.subarray(i, i + 1));
    if (i % 64 === 0) await delay(2);
  }
  const res = await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(res.status, 200);
  t.equal(res.callId, req.fields.callId);
  t.equal(peer.inbox.count(), 1, 'exactly one response');
});

t.test('TCP: two requests in one write each get their response, in order', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const a = options();
  const b = rawRequest({ method: 'MESSAGE', transport: 'TCP', sentBy: '192.0.2.1:5060', body: 'hi there', headers: ['Content-Type: text/plain'] });
  await peer.write(Buffer.concat([a, b]));
  const first = await peer.inbox.next(isFinal, 2000, 'first response');
  const second = await peer.inbox.next(isFinal, 2000, 'second response');
  t.same([first.callId, first.status], [a.fields.callId, 200]);
  t.same([second.callId, second.status], [b.fields.callId, 503]);
});

t.test('TCP: a CRLFCRLF ping gets a CRLF pong (RFC 5626 §3.5.1); a lone CRLF gets nothing', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  await peer.write('\r\n\r\n');
  await delay(150);
  t.equal(peer.received.toString('latin1'), '\r\n', 'exactly one CRLF back');
  await peer.write('\r\n');
  await delay(150);
  t.equal(peer.received.length, 2, 'a single CRLF is a keepalive, not a ping');
  const req = options();
  await peer.write(req);
  t.equal((await peer.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId, 'messages still flow after pings');
});

t.test('TCP: a slow-drip client is cut off after partialMessageTimeoutMs; another connection keeps working', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, partialMessageTimeoutMs: 300 } });
  const good = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const drip = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const started = Date.now();
  const partial = options();
  // One byte every 50 ms: the connection is never idle, but the message never completes.
  let i = 0;
  const dripper = setInterval(() => {
    if (!drip.isClosed && i < partial.length - 10) drip.socket.write(partial.subarray(i, ++i));
  }, 50);
  t.teardown(() => clearInterval(dripper));

  const req1 = options();
  await good.write(req1);
  t.equal((await good.inbox.next(isFinal, 2000, 'the 200 on the good connection')).callId, req1.fields.callId);

  t.equal(await drip.waitClosed(3000), true, 'the dripping connection is closed');
  const elapsed = Date.now() - started;
  t.ok(elapsed >= 300, `not before the timeout (${elapsed} ms)`);
  t.ok(elapsed < 2500, `within timeout + one sweep (${elapsed} ms)`);
  t.equal(drip.inbox.count(), 0, 'nothing was answered on it');

  const req2 = options();
  await good.write(req2);
  t.equal((await good.inbox.next(isFinal, 2000, 'the second 200')).callId, req2.fields.callId, 'the other connection still works');
  t.equal(good.isClosed, false);
});

t.test('TCP: a busy connection whose writes always end mid-message is not taken for a slow drip', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, partialMessageTimeoutMs: 300 } });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  peer.socket.setNoDelay(true);
  // Every 100 ms a write finishes one message and starts the next, for 1.8 s: the stream is never empty
  // between writes, but no message stays unfinished for more than 100 ms.
  const requests = Array.from({ length: 19 }, () => options());
  const stream = Buffer.concat(requests);
  const cuts = requests.map((_, k) => requests.slice(0, k).reduce((n, r) => n + r.length, 0) + 40);
  let from = 0;
  for (const cut of [...cuts.slice(1), stream.length]) {
    if (peer.isClosed) break;
    await peer.write(stream.subarray(from, cut));
    from = cut;
    await delay(100);
  }
  for (let k = 0; k < requests.length && !peer.isClosed; k++) await peer.inbox.next(isFinal, 2000, `response ${k + 1}`).catch(() => undefined);
  t.equal(peer.isClosed, false, 'the connection is still open');
  t.equal(peer.inbox.count(isFinal), requests.length, 'every request was answered');
});

t.test('TCP: an idle inbound connection is closed after idleConnectionTimeoutMs', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, idleConnectionTimeoutMs: 400 } });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const req = options();
  await peer.write(req);
  await peer.inbox.next(isFinal, 2000, 'the 200');
  t.equal(await peer.waitClosed(300), false, 'open while younger than the idle timeout');
  t.equal(await peer.waitClosed(2500), true, 'closed once idle for longer');
});

t.test('TCP: an oversized message closes that connection only', async (t) => {
  const limits = { ...TEST_LIMITS, maxMessageBytes: 2048 };

  t.test('a header section that never ends within maxMessageBytes: closed, no answer', async (t) => {
    const engine = await startEngine(t, { timers: TIMERS, limits });
    const other = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
    const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
    await peer.write(`OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nX-Pad: ${'a'.repeat(3000)}`);
    t.equal(await peer.waitClosed(1000), true, 'closed');
    t.equal(peer.inbox.count(), 0, 'no answer: there is nothing to build one from');
    const req = options();
    await other.write(req);
    t.equal((await other.inbox.next(isFinal, 2000, 'the 200 on the other connection')).callId, req.fields.callId);
  });

  t.test(
    'a readable header section announcing a body over the limit: 513, then closed',
    async (t) => {
      const engine = await startEngine(t, { timers: TIMERS, limits });
      const other = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
      const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
      const req = options({ contentLength: 5000 });
      await peer.write(req);
      t.equal(await peer.waitClosed(1000), true, 'closed');
      t.same(peer.inbox.all.map((p) => [p.status, p.callId]), [[513, req.fields.callId]], 'a 513 was sent before closing');
      const ok = options();
      await other.write(ok);
      t.equal((await other.inbox.next(isFinal, 2000, 'the 200 on the other connection')).callId, ok.fields.callId);
    },
  );

  t.test('a whole message over the limit in one write: closed; the other connection keeps working', async (t) => {
    const engine = await startEngine(t, { timers: TIMERS, limits });
    const other = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
    const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
    const big = options({ headers: [`X-Pad: ${'a'.repeat(3000)}`] });
    await peer.write(big);
    t.equal(await peer.waitClosed(1000), true, 'closed');
    // 513 when the header section arrives whole; split across reads it may overflow the limit unseen, then no answer can be built.
    t.ok(peer.inbox.all.length <= 1 && peer.inbox.all.every((p) => p.status === 513 && p.callId === big.fields.callId), 'at most a 513 is sent');
    const ok = options();
    await other.write(ok);
    t.equal((await other.inbox.next(isFinal, 2000, 'the 200')).callId, ok.fields.callId);
    t.equal(engine.transport.connectionCount, 1, 'only the oversized connection was dropped');
  });
});

t.test('TCP: a framing error (no Content-Length) gets a 400, then the connection is closed', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const req = options({ contentLength: null });
  await peer.write(req);
  const res = await peer.inbox.next(isFinal, 2000, 'the 400');
  t.equal(res.status, 400);
  t.equal(res.callId, req.fields.callId);
  t.equal(await peer.waitClosed(1000), true, 'closed after the answer');
});

t.test('TCP: maxConnections refuses connections beyond the limit; the admitted ones keep working', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS, limits: { ...TEST_LIMITS, maxConnections: 2 } });
  const a = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const b = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  for (const peer of [a, b]) {
    const req = options();
    await peer.write(req);
    t.equal((await peer.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId);
  }
  t.equal(engine.transport.connectionCount, 2);
  // The kernel completes the handshake; the engine then drops the socket at once.
  const extra = await RawStreamPeer.connectTcp(t, engine.port('tcp')).catch(() => undefined);
  if (extra) {
    await extra.write(options()).catch(() => undefined);
    t.equal(await extra.waitClosed(1000), true, 'the third connection is closed by the engine');
    t.equal(extra.inbox.count(), 0, 'and gets no answer');
  } else {
    t.pass('the third connection was refused outright');
  }
  t.equal(engine.transport.connectionCount, 2, 'still two connections');
  a.close();
  await delay(100);
  const c = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const req = options();
  await c.write(req);
  t.equal((await c.inbox.next(isFinal, 2000, 'the 200')).callId, req.fields.callId, 'a freed slot admits a new connection');
});

/** An application that holds every INVITE until the test answers it. */
class HoldingApp implements TransactionUser {
  readonly invites = new Inbox<{ request: SipRequest; tx: ServerTransaction }>();
  onRequest(request: SipRequest, tx: ServerTransaction): void {
    if (request.method === 'INVITE') this.invites.push({ request, tx });
    else tx.respond(createResponse(request, 200, 'OK'));
  }
  onAck(): void {}
  onStrayResponse(): void {}
}

t.test('TCP: when the request\'s connection is gone, the response goes over a new connection to the Via sent-by (§18.2.2)', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const app = new HoldingApp();
  engine.setApplication(app);

  // A TCP server standing for the client's listening address named in its Via.
  const accepted = new Inbox<RawPacket>();
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) accepted.push(new RawPacket(buf.subarray(0, end + 4), Date.now()));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const viaPort = (server.address() as { port: number }).port;

  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  const invite = rawRequest({ method: 'INVITE', transport: 'TCP', sentBy: `127.0.0.1:${viaPort}` });
  await peer.write(invite);
  const { request, tx } = await app.invites.next(() => true, 2000, 'the INVITE at the application');
  t.equal(request.callId, invite.fields.callId);
  await peer.inbox.next((p) => p.status === 100, 2000, '100 Trying on the original connection');
  peer.close();
  await delay(100);

  tx.respond(createResponse(request, 486, 'Busy Here'));
  const res = await accepted.next(() => true, 2000, 'the 486 at the Via address');
  t.equal(res.status, 486);
  t.equal(res.callId, invite.fields.callId);
  t.equal(sockets.length, 1, 'one new connection');
});

t.test('TCP: close() during an outbound connect leaves no connection behind and sends nothing', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  let bytes = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as { port: number }).port;
  const request = new SipRequest('OPTIONS', `sip:peer@127.0.0.1:${port};transport=tcp`, [
    { name: 'From', value: '<sip:onecc@example.com>;tag=c1' },
    { name: 'To', value: '<sip:peer@example.com>' },
    { name: 'Call-ID', value: 'close-during-connect' },
    { name: 'CSeq', value: '1 OPTIONS' },
  ]);
  engine.transactions.sendRequest(request);
  await engine.close();
  await delay(300);
  t.equal(engine.transport.connectionCount, 0, 'no connection registered after close');
  t.equal(bytes, 0, 'the request was not sent after close');
  t.ok(sockets.every((s) => s.destroyed || s.readableEnded), 'any connection the kernel accepted is closed');
});
