import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { SipRequest } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { RawStreamPeer, RawUdpPeer, isFinal } from '../../helpers/raw-peer';
import { rawRequest } from '../../helpers/raw-sip';

const TIMERS = { t1: 50, t2: 400, t4: 500 };

/** Why ::1 cannot be used here (no IPv6 loopback in this container/kernel), or undefined when it can. */
async function ipv6Unavailable(): Promise<string | undefined> {
  const udp = await new Promise<string | undefined>((resolve) => {
    const s = createSocket('udp6');
    s.once('error', (err) => {
      s.close();
      resolve(`UDP bind to [::1] failed: ${err.message}`);
    });
    s.bind(0, '::1', () => {
      s.close();
      resolve(undefined);
    });
  });
  if (udp) return udp;
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => resolve(`TCP listen on [::1] failed: ${err.message}`));
    server.listen(0, '::1', () => server.close(() => resolve(undefined)));
  });
}

t.test('IPv6 loopback listeners', async (t) => {
  const why = await ipv6Unavailable();
  await t.test('UDP and TCP on [::1]', { skip: why === undefined ? false : `::1 cannot be bound here (${why})` }, (t) => ipv6Tests(t));
});

async function ipv6Tests(t: Test): Promise<void> {
  const engine = await startEngine(t, {
    timers: TIMERS,
    listen: [
      { transport: 'udp', host: '::1', port: 0 },
      { transport: 'tcp', host: '::1', port: 0 },
    ],
  });

  t.test('UDP over ::1: answered from [::1], rport filled', async (t) => {
    const peer = await RawUdpPeer.open(t, '::1');
    const req = rawRequest({ method: 'OPTIONS', uri: 'sip:service@[::1]', sentBy: peer.sentBy, rport: true });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next(isFinal, 2000, 'the 200');
    t.equal(res.status, 200);
    t.equal(res.callId, req.fields.callId);
    t.same(res.from, { address: '::1', port: engine.port('udp') });
    const via = res.header('via') ?? '';
    t.match(via, new RegExp(`^SIP/2\\.0/UDP \\[::1\\]:${peer.port};`), 'bracketed IPv6 sent-by kept');
    t.notMatch(via, /received/, 'sent-by matches the source: no received');
    t.match(via, new RegExp(`;rport=${peer.port}(;|$)`));
  });

  t.test('UDP over ::1: a foreign sent-by gets received=::1', async (t) => {
    const peer = await RawUdpPeer.open(t, '::1');
    const req = rawRequest({ method: 'OPTIONS', sentBy: '[2001:db8::1]:5060' });
    await peer.send(req, engine.port('udp'));
    const res = await peer.inbox.next(isFinal, 2000, 'the 200');
    t.match(res.header('via') ?? '', /;received=::1(;|$)/);
  });

  t.test('TCP over ::1: answered on the connection', async (t) => {
    const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'), '::1');
    const req = rawRequest({ method: 'OPTIONS', transport: 'TCP', sentBy: '[2001:db8::1]:5060' });
    await peer.write(req);
    const res = await peer.inbox.next(isFinal, 2000, 'the 200');
    t.equal(res.status, 200);
    t.equal(res.callId, req.fields.callId);
    t.match(res.header('via') ?? '', /^SIP\/2\.0\/TCP \[2001:db8::1\]:5060;branch=[^;]+;received=::1$/);
  });

  t.test('the engine sends a request over UDP/IPv6 from its ::1 listener, with a bracketed Via', async (t) => {
    const peer = await RawUdpPeer.open(t, '::1');
    const request = new SipRequest('OPTIONS', `sip:peer@[::1]:${peer.port}`, [
      { name: 'From', value: '<sip:onecc@example.com>;tag=v6' },
      { name: 'To', value: '<sip:peer@example.com>' },
      { name: 'Call-ID', value: 'v6-out-1' },
      { name: 'CSeq', value: '1 OPTIONS' },
    ]);
    const tx = engine.transactions.sendRequest(request);
    t.teardown(() => tx.close());
    const got = await peer.inbox.next(() => true, 2000, 'the OPTIONS');
    t.equal(got.method, 'OPTIONS');
    t.match(got.header('via') ?? '', new RegExp(`^SIP/2\\.0/UDP \\[::1\\]:${engine.port('udp')};branch=z9hG4bK`));
    t.same(got.from, { address: '::1', port: engine.port('udp') });
  });
}
