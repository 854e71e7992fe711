import t, { type Test } from 'tap';
import {
  InviteClientTransaction, SipTimeoutError, SipTransportError, TransactionState,
} from '../../../src/sip/index';
import { SipRequest, type SipResponse } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { Inbox, RawUdpPeer, closedTcpPort, isRequest, type RawPacket } from '../../helpers/raw-peer';
import { rawResponse, uniqueId } from '../../helpers/raw-sip';
import { gaps, waitEvent } from '../../helpers/raw-transaction-user';
import { delay } from '../../helpers/wait';

function outgoingInvite(target: string): SipRequest {
  return new SipRequest('INVITE', target, [
    { name: 'From', value: `<sip:onecc@example.com>;tag=${uniqueId('uac')}` },
    { name: 'To', value: '<sip:peer@example.com>' },
    { name: 'Call-ID', value: uniqueId('uac-call-') },
    { name: 'CSeq', value: '10 INVITE' },
    { name: 'Contact', value: '<sip:onecc@127.0.0.1>' },
  ]);
}

/** Starts an engine with the given T1 and a raw UDP peer playing the UAS, and sends it an INVITE. */
async function inviteToPeer(t: Test, timers: { t1: number; t2: number; t4: number }) {
  const engine = await startEngine(t, { timers });
  const peer = await RawUdpPeer.open(t);
  const request = outgoingInvite(`sip:peer@127.0.0.1:${peer.port}`);
  const startedAt = Date.now();
  const tx = engine.transactions.sendRequest(request) as InviteClientTransaction;
  t.teardown(() => tx.close());
  const responses = new Inbox<SipResponse>();
  tx.on('response', (res) => responses.push(res));
  const reply = (to: RawPacket, status: number, reason: string, toTag?: string): Promise<void> =>
    peer.send(rawResponse(status, reason, to, { toTag }), engine.port('udp'));
  return { engine, peer, tx, responses, reply, request, startedAt };
}

t.test('INVITE client transaction retransmits on Timer A with doubling intervals and stops on a 1xx', async (t) => {
  const { peer, tx, responses, reply, startedAt } = await inviteToPeer(t, { t1: 50, t2: 400, t4: 500 });
  t.ok(tx instanceof InviteClientTransaction);
  const first = await peer.inbox.next(isRequest('INVITE'), 1000, 'the INVITE');
  await delay(420); // copies at +50, +150, +350
  const copies = [first, ...peer.inbox.take(isRequest('INVITE'))];
  const intervals = gaps(copies.map((p) => p.at));
  t.equal(copies.length, 4, `4 transmissions in 420 ms (gaps ${intervals.join(', ')})`);
  // Timer A starts with the transaction; the first send waits for the transport, so time the first
  // retransmission from the start, not from the first copy's arrival.
  const firstRetransmission = copies[1]!.at - startedAt;
  t.ok(firstRetransmission >= 45 && firstRetransmission <= 150, `first retransmission ~T1 = 50 ms after the start (${firstRetransmission})`);
  t.ok(intervals[1]! >= 80 && intervals[1]! <= 160, `then ~100 ms (${intervals[1]})`);
  t.ok(intervals[2]! >= 170 && intervals[2]! <= 290, `then ~200 ms (${intervals[2]})`);
  t.ok(copies.every((p) => p.bytes.equals(first.bytes)), 'each retransmission is the same bytes');

  await reply(first, 180, 'Ringing', 'peer-tag');
  const ringing = await responses.next(() => true, 1000, '180 at the TU');
  t.equal(ringing.status, 180);
  t.equal(tx.state, TransactionState.Proceeding);
  t.same((await peer.inbox.settle(500, isRequest('INVITE'))).length, 0, 'no retransmission after the 1xx (the next was due at +750 ms)');
});

t.test('INVITE client transaction times out on Timer B (64*T1) with a timeout event', async (t) => {
  const { peer, tx } = await inviteToPeer(t, { t1: 20, t2: 160, t4: 200 });
  const { value: err, after } = await waitEvent<SipTimeoutError>(tx, 'timeout', 3000);
  t.ok(err instanceof SipTimeoutError);
  t.equal(err.code, 'SIP_TX_TIMEOUT');
  t.match(err.message, /Timer B/);
  t.ok(after >= 1240 && after < 1900, `after 64*T1 = 1280 ms (${after} ms)`);
  t.equal(tx.state, TransactionState.Terminated);
  await delay(60); // a retransmission sent just before Timer B may still be on its way
  const copies = peer.inbox.take(isRequest('INVITE')).length;
  t.ok(copies >= 6 && copies <= 7, `sent at 0, 20, 60, 140, 300, 620 (and 1260) ms: ${copies} copies`);
  t.same((await peer.inbox.settle(200, isRequest('INVITE'))).length, 0, 'nothing more after Timer B');
});

t.test('INVITE client transaction acknowledges a 4xx itself and re-sends the ACK for each retransmitted 4xx', async (t) => {
  const { peer, tx, responses, reply, request } = await inviteToPeer(t, { t1: 50, t2: 400, t4: 500 });
  const inv = await peer.inbox.next(isRequest('INVITE'), 1000, 'the INVITE');
  await reply(inv, 486, 'Busy Here', 'busy-tag');
  const ack = await peer.inbox.next(isRequest('ACK'), 1000, 'the ACK');
  t.equal(ack.startLine, `ACK ${request.uriText} SIP/2.0`, 'same Request-URI');
  t.same(ack.headers('via'), [inv.header('via')], 'one Via: the INVITE\'s (same branch)');
  t.same(ack.cseq, { seq: 10, method: 'ACK' });
  t.equal(ack.callId, inv.callId);
  t.equal(ack.header('from'), inv.header('from'));
  t.match(ack.header('to') ?? '', /;tag=busy-tag$/, 'To of the response, with its tag');
  t.equal((await responses.next(() => true, 1000, '486 at the TU')).status, 486);
  t.equal(tx.state, TransactionState.Completed);

  await reply(inv, 486, 'Busy Here', 'busy-tag');
  const ack2 = await peer.inbox.next(isRequest('ACK'), 1000, 'the second ACK');
  t.ok(ack2.bytes.equals(ack.bytes), 'the same ACK again');
  await delay(100);
  t.equal(responses.count(), 1, 'the retransmitted 486 is not passed up');
  t.equal(peer.inbox.count(isRequest('INVITE')), 1, 'no INVITE retransmission after the final response');
});

t.test('INVITE client transaction passes a 2xx and its retransmissions up in Accepted and sends no ACK itself', async (t) => {
  const { peer, tx, responses, reply } = await inviteToPeer(t, { t1: 50, t2: 400, t4: 500 });
  const inv = await peer.inbox.next(isRequest('INVITE'), 1000, 'the INVITE');
  await reply(inv, 200, 'OK', 'ok-tag');
  t.equal((await responses.next(() => true, 1000, 'the 200')).status, 200);
  t.equal(tx.state, TransactionState.Accepted);
  await reply(inv, 200, 'OK', 'ok-tag');
  await reply(inv, 200, 'OK', 'ok-tag');
  t.equal((await responses.next(() => true, 1000, 'the first retransmission')).status, 200);
  t.equal((await responses.next(() => true, 1000, 'the second retransmission')).status, 200);
  t.equal(responses.count(), 3, 'every 2xx goes to the TU (it sends the ACK)');
  t.same((await peer.inbox.settle(150)).map((p) => p.method), [], 'the transaction sends no ACK and no retransmission');
});

t.test('cancel() before any provisional waits for the 180, then sends a CANCEL with the INVITE\'s branch', async (t) => {
  const { peer, tx, responses, reply, request } = await inviteToPeer(t, { t1: 50, t2: 400, t4: 500 });
  tx.cancel();
  const inv = await peer.inbox.next(isRequest('INVITE'), 1000, 'the INVITE');
  t.same((await peer.inbox.settle(200, isRequest('CANCEL'))).length, 0, 'no CANCEL before a provisional response (§9.1)');
  await reply(inv, 180, 'Ringing', 'ring-tag');
  const cancel = await peer.inbox.next(isRequest('CANCEL'), 1000, 'the CANCEL');
  t.equal(cancel.startLine, `CANCEL ${request.uriText} SIP/2.0`);
  t.same(cancel.headers('via'), [inv.header('via')], 'a single Via, equal to the INVITE\'s top Via (same branch)');
  t.same(cancel.cseq, { seq: 10, method: 'CANCEL' });
  t.equal(cancel.callId, inv.callId);
  t.equal(cancel.header('to'), inv.header('to'), 'the INVITE\'s To, without the tag of the 180');

  await reply(cancel, 200, 'OK', 'ring-tag');
  await reply(inv, 487, 'Request Terminated', 'ring-tag');
  const statuses = [(await responses.next(() => true, 1000, '180')).status, (await responses.next(() => true, 1000, '487')).status];
  t.same(statuses, [180, 487], 'the TU sees the 180 and the 487');
  await peer.inbox.next(isRequest('ACK'), 1000, 'the ACK for the 487');
  t.equal(tx.state, TransactionState.Completed);
});

t.test('a TCP destination that refuses the connection gives transportError and ends the transaction', async (t) => {
  const engine = await startEngine(t, { timers: { t1: 50, t2: 400, t4: 500 } });
  const port = await closedTcpPort();
  const tx = engine.transactions.sendRequest(outgoingInvite(`sip:peer@127.0.0.1:${port};transport=tcp`));
  t.teardown(() => tx.close());
  let timedOut = false;
  tx.on('timeout', () => {
    timedOut = true;
  });
  const { value: err } = await waitEvent<SipTransportError>(tx, 'transportError', 3000);
  t.ok(err instanceof SipTransportError);
  t.equal(err.code, 'SIP_TRANSPORT');
  t.match(err.message, new RegExp(`cannot connect to tcp:127\\.0\\.0\\.1:${port}`));
  t.equal(tx.state, TransactionState.Terminated);
  t.equal(engine.transactions.size.clients, 0, 'the layer forgot it');
  await delay(100);
  t.equal(timedOut, false, 'no timeout after a transport error');
});
