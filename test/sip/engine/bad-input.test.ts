import { connect as netConnect } from 'node:net';
import t, { type Test } from 'tap';
import { startEngine } from '../../helpers/sip-engine';
import { RawPacket, RawStreamPeer, RawUdpPeer, RawWsPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';
import { makeSelfSignedCert } from '../../helpers/raw-tls';
import { Prng, badInputs, framed } from '../../helpers/raw-bad-input';
import { delay } from '../../helpers/wait';

/**
 * Garbage, truncated and mutated messages at every transport. Whatever arrives, the engine must stay up,
 * throw nothing uncaught, answer only with well-formed status lines, and still answer a valid OPTIONS on
 * every transport afterwards. The inputs come from a seeded PRNG: change SEED to explore, keep it to replay.
 */
const SEED = 0x4475bad;
const COUNTS = { udp: 3000, tcp: 1500, ws: 1500, tls: 500 };

/** Every status the engine may answer bad or odd input with. */
const ALLOWED_STATUSES = new Set([100, 200, 400, 406, 415, 416, 420, 481, 482, 501, 503, 505, 513]);

const uncaught: string[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(`uncaughtException: ${err instanceof Error ? err.stack : String(err)}`);
};
const onRejection = (reason: unknown): void => {
  uncaught.push(`unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
};
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onRejection);
t.teardown(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
});

const cert = makeSelfSignedCert(t.testdir());

/** Checks what came back from the engine: status lines only, from the allowed set. */
function checkAnswers(t: Test, packets: RawPacket[], transport: string): void {
  const malformed = packets.filter((p) => !/^SIP\/2\.0 [1-6][0-9]{2} [^\r\n]*$/.test(p.startLine)).map((p) => p.startLine.slice(0, 80));
  t.same(malformed.slice(0, 5), [], `${transport}: every answer starts with a well-formed Status-Line (${packets.length} answers)`);
  const statuses = [...new Set(packets.map((p) => p.status ?? 0))].sort((a, b) => a - b);
  t.same(statuses.filter((s) => !ALLOWED_STATUSES.has(s)), [], `${transport}: statuses ${statuses.join(', ')} are all expected ones`);
}

function mustAnswerOptions(transport: 'UDP' | 'TCP' | 'WS' | 'TLS'): ReturnType<typeof rawRequest> {
  return rawRequest({ method: 'OPTIONS', transport, sentBy: transport === 'WS' ? 'check.invalid' : '192.0.2.200:5060' });
}

/**
 * Feeds `inputs` to stream connections: `perConnection` writes each (then the client closes it abruptly),
 * `parallel` connections at a time. Connections the engine closes are replaced.
 */
async function feedStreams(
  inputs: Buffer[],
  open: () => Promise<{ write(b: Buffer): Promise<void>; close(): void; isClosed: boolean; inbox: { all: RawPacket[] } }>,
  perConnection: number,
  parallel: number,
): Promise<{ answers: RawPacket[]; connections: number; closedByEngine: number }> {
  const answers: RawPacket[] = [];
  let next = 0;
  let connections = 0;
  let closedByEngine = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const batch = inputs.slice(next, next + perConnection);
      next += perConnection;
      const peer = await open();
      connections++;
      for (const input of batch) {
        if (peer.isClosed) break;
        await peer.write(input).catch(() => undefined);
      }
      await delay(15);
      if (peer.isClosed) closedByEngine++;
      peer.close();
      answers.push(...peer.inbox.all);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { answers, connections, closedByEngine };
}

/** Half of the inputs made framable for a stream (seeded), so that they reach the parser. */
function streamInputs(seed: number, count: number): Buffer[] {
  const rng = new Prng(seed ^ 0x5a5a);
  return badInputs(seed, count).map((b) => (rng.int(2) === 0 ? framed(b) : b));
}

t.test('bad input at every transport leaves the engine answering', async (t) => {
  const engine = await startEngine(t, {
    timers: { t1: 50, t2: 400, t4: 500 },
    tls: { cert: cert.cert, key: cert.key, ca: cert.ca },
    listen: [
      { transport: 'udp', host: '127.0.0.1', port: 0 },
      { transport: 'tcp', host: '127.0.0.1', port: 0 },
      { transport: 'ws', host: '127.0.0.1', port: 0 },
      { transport: 'tls', host: '127.0.0.1', port: 0 },
    ],
  });

  await t.test(`UDP: ${COUNTS.udp} datagrams`, async (t) => {
    const inputs = badInputs(SEED, COUNTS.udp).filter((b) => b.length > 0 && b.length < 60_000);
    const peer = await RawUdpPeer.open(t);
    for (let i = 0; i < inputs.length; i++) {
      await peer.send(inputs[i]!, engine.port('udp'));
      if (i % 50 === 49) await delay(2);
    }
    // Once this OPTIONS is answered every input before it has been read (loopback keeps datagram order). A
    // flood may overflow the socket's receive buffer, so it is re-sent (same transaction) until answered.
    const marker = mustAnswerOptions('UDP');
    const answered = peer.inbox.next((p) => p.callId === marker.fields.callId, 10_000, 'the answer to the closing OPTIONS');
    let sends = 0;
    const resend = async (): Promise<void> => {
      sends++;
      await peer.send(marker, engine.port('udp'));
    };
    await resend();
    const again = setInterval(() => void resend(), 500);
    await answered.finally(() => clearInterval(again));
    t.comment(`closing OPTIONS sent ${sends} time(s)`);
    checkAnswers(t, peer.inbox.all, 'UDP');
    t.ok(peer.inbox.all.length > inputs.length / 10, `the engine answered many of them (${peer.inbox.all.length})`);
  });

  await t.test(`TCP: ${COUNTS.tcp} inputs, 3 per connection`, async (t) => {
    const inputs = streamInputs(SEED + 1, COUNTS.tcp);
    const { answers, connections, closedByEngine } = await feedStreams(inputs, () => RawStreamPeer.connectTcp(t, engine.port('tcp')), 3, 8);
    t.equal(connections, Math.ceil(inputs.length / 3), 'every connection was accepted');
    // Clients close 15 ms after their last write: on a loaded machine some answers come too late to count.
    t.ok(answers.length > inputs.length / 50, `the engine answered some of them (${answers.length})`);
    t.comment(`${closedByEngine} of ${connections} connections closed by the engine (framing errors)`);
    checkAnswers(t, answers, 'TCP');
  });

  await t.test(`WS: ${COUNTS.ws} messages`, async (t) => {
    const inputs = badInputs(SEED + 2, COUNTS.ws);
    const rng = new Prng(SEED + 2);
    const answers: RawPacket[] = [];
    let peer = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`);
    let connections = 1;
    for (let i = 0; i < inputs.length; i++) {
      if (peer.isClosed) {
        answers.push(...peer.inbox.all);
        peer = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`);
        connections++;
      }
      // Half as binary frames, half as text frames.
      await peer.send(rng.int(2) === 0 ? inputs[i]! : inputs[i]!.toString('latin1')).catch(() => undefined);
    }
    if (peer.isClosed) peer = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`);
    // One WebSocket delivers in order: once this OPTIONS is answered, every input before it has been handled.
    const marker = mustAnswerOptions('WS');
    await peer.send(marker.toString());
    await peer.inbox.next((p) => p.callId === marker.fields.callId, 10_000, 'the answer to the closing OPTIONS');
    answers.push(...peer.inbox.all);
    peer.close();
    t.ok(answers.length > inputs.length / 10, `the engine answered many of them (${answers.length})`);
    checkAnswers(t, answers, 'WS');
    t.comment(`${connections} WebSocket connection(s) used`);

    // And garbage where the HTTP upgrade should be.
    const httpRng = new Prng(SEED + 3);
    for (let i = 0; i < 30; i++) {
      const junk = i % 3 === 0 ? Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n${httpRng.bytes(50).toString('latin1')}\r\n\r\n`, 'latin1') : httpRng.bytes(1 + httpRng.int(500));
      await rawWriteAndClose(engine.port('ws'), junk);
    }
  });

  await t.test(`TLS: ${COUNTS.tls} inputs, 5 per connection, and non-TLS garbage`, async (t) => {
    const inputs = streamInputs(SEED + 4, COUNTS.tls);
    const { answers, connections, closedByEngine } = await feedStreams(inputs, () => RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca), 5, 4);
    t.ok(answers.length > inputs.length / 50, `the engine answered some of them (${answers.length})`);
    t.comment(`${closedByEngine} of ${connections} connections closed by the engine (framing errors)`);
    checkAnswers(t, answers, 'TLS');
    const rng = new Prng(SEED + 5);
    for (let i = 0; i < 30; i++) await rawWriteAndClose(engine.port('tls'), rng.bytes(1 + rng.int(800)));
  });

  await t.test('afterwards every transport answers a valid OPTIONS with 200', async (t) => {
    const udp = await RawUdpPeer.open(t);
    const u = mustAnswerOptions('UDP');
    await udp.send(u, engine.port('udp'));
    t.equal((await udp.inbox.next((p) => p.callId === u.fields.callId, 2000, 'UDP 200')).status, 200, 'UDP');

    const tcp = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
    const c = mustAnswerOptions('TCP');
    await tcp.write(c);
    t.equal((await tcp.inbox.next(isFinal, 2000, 'TCP 200')).callId, c.fields.callId, 'TCP');

    const ws = await RawWsPeer.connect(t, `ws://127.0.0.1:${engine.port('ws')}`);
    const w = mustAnswerOptions('WS');
    await ws.send(w.toString());
    t.equal((await ws.inbox.next(isFinal, 2000, 'WS 200')).callId, w.fields.callId, 'WS');

    const tls = await RawStreamPeer.connectTls(t, engine.port('tls'), cert.ca);
    const s = mustAnswerOptions('TLS');
    await tls.write(s);
    t.equal((await tls.inbox.next(isFinal, 2000, 'TLS 200')).callId, s.fields.callId, 'TLS');

    for (const p of [tcp, tls]) p.close();
    ws.close();
    let open = engine.transport.connectionCount;
    for (let i = 0; i < 40 && open > 0; i++) {
      await delay(50);
      open = engine.transport.connectionCount;
    }
    t.equal(open, 0, 'every connection closed by the clients is gone from the connection table');
  });

  t.same(uncaught, [], 'no uncaught exception and no unhandled rejection');
});

/** Opens a plain TCP connection, writes `bytes`, and closes it after a short wait (bounded). */
function rawWriteAndClose(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 500);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.write(bytes, () => setTimeout(done, 5)));
  });
}
