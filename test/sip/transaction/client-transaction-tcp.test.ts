import t from 'tap';
import type { ClientTransaction } from '../../../src/sip/index';
import { SipRequest, type SipResponse } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { Inbox, RawTcpServer } from '../../helpers/raw-peer';
import { rawResponse, uniqueId } from '../../helpers/raw-sip';
import { delay, waitFor } from '../../helpers/wait';

/** Client transactions over TCP, a reliable transport: no retransmission timers, one connection per peer. */
const TIMERS = { t1: 50, t2: 400, t4: 500 };

function outgoing(method: string, port: number, cseq = 1): SipRequest {
  return new SipRequest(method, `sip:peer@127.0.0.1:${port};transport=tcp`, [
    { name: 'From', value: `<sip:onecc@example.com>;tag=${uniqueId('t')}` },
    { name: 'To', value: '<sip:peer@example.com>' },
    { name: 'Call-ID', value: uniqueId('tcp-') },
    { name: 'CSeq', value: `${cseq} ${method}` },
    ...(method === 'INVITE' ? [{ name: 'Contact', value: '<sip:onecc@127.0.0.1;transport=tcp>' }] : []),
  ]);
}

function responsesOf(tx: ClientTransaction): Inbox<SipResponse> {
  const inbox = new Inbox<SipResponse>();
  tx.on('response', (res) => inbox.push(res));
  return inbox;
}

t.test('non-INVITE over TCP: sent once (no Timer E), answered on the same connection, which the next request reuses', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const server = await RawTcpServer.listen(t);
  const tx = engine.transactions.sendRequest(outgoing('OPTIONS', server.port));
  t.teardown(() => tx.close());
  const responses = responsesOf(tx);
  const got = await server.inbox.next(() => true, 2000, 'the OPTIONS');
  t.match(got.packet.header('via') ?? '', new RegExp(`^SIP/2\\.0/TCP 127\\.0\\.0\\.1:${engine.port('tcp')};branch=z9hG4bK[^;]+;rport$`));
  await delay(300);
  t.equal(server.inbox.count(), 1, 'no retransmission over a reliable transport (T1 = 50 ms)');

  got.socket.write(rawResponse(200, 'OK', got.packet, { toTag: 'srv' }));
  t.equal((await responses.next(() => true, 1000, 'the 200')).status, 200);
  t.ok(await waitFor(() => tx.terminated), 'Timer K is zero on TCP: terminated at once');

  const tx2 = engine.transactions.sendRequest(outgoing('MESSAGE', server.port, 2));
  t.teardown(() => tx2.close());
  const second = await server.inbox.next(() => true, 2000, 'the MESSAGE');
  t.equal(second.connection, got.connection, 'the second request reuses the open connection');
  t.equal(server.sockets.length, 1, 'one connection in all');
});

t.test('INVITE over TCP: the ACK for a 486 goes over the INVITE\'s connection; no Timer A', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const server = await RawTcpServer.listen(t);
  const tx = engine.transactions.sendRequest(outgoing('INVITE', server.port));
  t.teardown(() => tx.close());
  const responses = responsesOf(tx);
  const invite = await server.inbox.next(() => true, 2000, 'the INVITE');
  await delay(200);
  t.equal(server.inbox.count(), 1, 'no INVITE retransmission over TCP');

  invite.socket.write(rawResponse(486, 'Busy Here', invite.packet, { toTag: 'busy' }));
  const ack = await server.inbox.next((p) => p.packet.method === 'ACK', 1000, 'the ACK');
  t.equal(ack.connection, invite.connection, 'same connection');
  t.same(ack.packet.headers('via'), [invite.packet.header('via')], 'the INVITE\'s Via');
  t.equal((await responses.next(() => true, 1000, 'the 486')).status, 486);
  t.ok(await waitFor(() => tx.terminated), 'Timer D is zero on TCP: terminated at once');
});
