import t, { type Test } from 'tap';
import {
  NonInviteClientTransaction, SipTimeoutError, SipTransportError, TransactionState, type ClientTransaction,
} from '../../../src/sip/index';
import { SipRequest, type SipResponse } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { Inbox, RawUdpPeer, closedTcpPort, delay, isRequest } from '../../helpers/raw-peer';
import { rawResponse, uniqueId } from '../../helpers/raw-sip';
import { gaps } from '../../helpers/raw-transaction-user';

/** T1 = 25 ms, T2 = 100 ms: Timer E 25, 50, 100, 100, ...; Timer F 64*T1 = 1600 ms. */
const TIMERS = { t1: 25, t2: 100, t4: 200 };

function outgoing(method: string, target: string): SipRequest {
  return new SipRequest(method, target, [
    { name: 'From', value: `<sip:onecc@example.com>;tag=${uniqueId('uac')}` },
    { name: 'To', value: '<sip:peer@example.com>' },
    { name: 'Call-ID', value: uniqueId('nict-') },
    { name: 'CSeq', value: `3 ${method}` },
  ]);
}

async function optionsToPeer(t: Test) {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);
  const tx = engine.transactions.sendRequest(outgoing('OPTIONS', `sip:peer@127.0.0.1:${peer.port}`)) as NonInviteClientTransaction;
  t.teardown(() => tx.close());
  const responses = new Inbox<SipResponse>();
  tx.on('response', (res) => responses.push(res));
  return { engine, peer, tx, responses };
}

function once<T>(tx: ClientTransaction, event: 'timeout' | 'transportError', ms: number): Promise<{ value: T; after: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    tx.once(event, (value) => {
      clearTimeout(timer);
      resolve({ value: value as T, after: Date.now() - started });
    });
  });
}

t.test('non-INVITE client transaction retransmits on Timer E, doubling up to T2, and times out on Timer F', async (t) => {
  const { peer, tx } = await optionsToPeer(t);
  t.ok(tx instanceof NonInviteClientTransaction);
  const { value: err, after } = await once<SipTimeoutError>(tx, 'timeout', 4000);
  t.ok(err instanceof SipTimeoutError);
  t.match(err.message, /Timer F/);
  t.ok(after >= 1560 && after < 2300, `Timer F after 64*T1 = 1600 ms (${after} ms)`);
  t.equal(tx.state, TransactionState.Terminated);

  const copies = peer.inbox.take(isRequest('OPTIONS'));
  const intervals = gaps(copies.map((p) => p.at));
  // Sent at 0, 25, 75, 175, 275, ..., 1575: 19 in theory; timer slack on a busy machine loses a few.
  t.ok(copies.length >= 13 && copies.length <= 19, `${copies.length} transmissions (gaps ${intervals.join(', ')})`);
  t.ok(intervals[0]! >= 8 && intervals[0]! <= 70, `first after ~T1 = 25 ms (${intervals[0]})`);
  t.ok(intervals[1]! >= 35 && intervals[1]! <= 110, `then ~50 ms (${intervals[1]})`);
  const later = intervals.slice(2);
  t.ok(later.every((g) => g >= 80 && g <= 200), `then every ~T2 = 100 ms, never more (${later.join(', ')})`);
  t.ok(copies.every((p) => p.bytes.equals(copies[0]!.bytes)), 'the same bytes each time');
  t.same((await peer.inbox.settle(200)).length, 0, 'nothing after Timer F');
});

t.test('non-INVITE client transaction: a 1xx moves it to Proceeding (retransmit every T2), the final response ends the retransmissions', async (t) => {
  const { engine, peer, tx, responses } = await optionsToPeer(t);
  const first = await peer.inbox.next(isRequest('OPTIONS'), 1000, 'the OPTIONS');
  await peer.send(rawResponse(100, 'Trying', first), engine.port('udp'));
  t.equal((await responses.next(() => true, 1000, 'the 100 at the TU')).status, 100);
  t.equal(tx.state, TransactionState.Proceeding);
  await delay(380);
  const copies = [first, ...peer.inbox.take(isRequest('OPTIONS'))];
  const intervals = gaps(copies.map((p) => p.at)).slice(1);
  t.ok(intervals.length >= 2 && intervals.every((g) => g >= 80 && g <= 200), `every ~T2 in Proceeding (${intervals.join(', ')})`);

  await peer.send(rawResponse(200, 'OK', first, { toTag: 'p' }), engine.port('udp'));
  t.equal((await responses.next(() => true, 1000, 'the 200 at the TU')).status, 200);
  t.equal(tx.state, TransactionState.Completed, 'Completed (Timer K = T4 over UDP)');
  await delay(20);
  peer.inbox.take(isRequest('OPTIONS'));
  t.same((await peer.inbox.settle(300, isRequest('OPTIONS'))).length, 0, 'no retransmission after the final response');
  await peer.send(rawResponse(200, 'OK', first, { toTag: 'p' }), engine.port('udp'));
  await delay(50);
  t.equal(responses.count(), 2, 'a retransmitted final response is not passed up again');
  t.equal(tx.state, TransactionState.Terminated, 'Timer K has ended it');
});

t.test('non-INVITE client transaction to a TCP port that refuses the connection: transportError', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const port = await closedTcpPort();
  const tx = engine.transactions.sendRequest(outgoing('MESSAGE', `sip:peer@127.0.0.1:${port};transport=tcp`));
  t.teardown(() => tx.close());
  const { value: err, after } = await once<SipTransportError>(tx, 'transportError', 3000);
  t.ok(err instanceof SipTransportError);
  t.match(err.message, /cannot connect to tcp:127\.0\.0\.1/);
  t.ok(after < 1000, `at once, not after Timer F (${after} ms)`);
  t.equal(tx.state, TransactionState.Terminated);
});
