import t, { type Test } from 'tap';
import {
  NonInviteClientTransaction, SipTimeoutError, SipTransportError, TransactionState,
} from '../../../src/sip/index';
import { SipRequest, type SipResponse } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { Inbox, RawUdpPeer, closedTcpPort, isRequest } from '../../helpers/raw-peer';
import { rawResponse, uniqueId } from '../../helpers/raw-sip';
import { gaps, median, waitEvent } from '../../helpers/raw-transaction-user';
import { delay, waitFor } from '../../helpers/wait';

/** T1 = 25 ms, T2 = 100 ms: Timer E 25, 50, 100, 100, ...; Timer F 64*T1 = 1600 ms; Timer K = T4 = 500 ms. */
const TIMERS = { t1: 25, t2: 100, t4: 500 };

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
  const startedAt = Date.now();
  const tx = engine.transactions.sendRequest(outgoing('OPTIONS', `sip:peer@127.0.0.1:${peer.port}`)) as NonInviteClientTransaction;
  t.teardown(() => tx.close());
  const responses = new Inbox<SipResponse>();
  tx.on('response', (res) => responses.push(res));
  return { engine, peer, tx, responses, startedAt };
}

t.test('non-INVITE client transaction retransmits on Timer E, doubling up to T2, and times out on Timer F', async (t) => {
  const { peer, tx, startedAt } = await optionsToPeer(t);
  t.ok(tx instanceof NonInviteClientTransaction);
  const { value: err, after } = await waitEvent<SipTimeoutError>(tx, 'timeout', 4000);
  t.ok(err instanceof SipTimeoutError);
  t.match(err.message, /Timer F/);
  t.ok(after >= 1560 && after < 2300, `Timer F after 64*T1 = 1600 ms (${after} ms)`);
  t.equal(tx.state, TransactionState.Terminated);

  await delay(60); // a retransmission sent just before Timer F may still be on its way
  const copies = peer.inbox.take(isRequest('OPTIONS'));
  const intervals = gaps(copies.map((p) => p.at));
  // Sent at 0, 25, 75, 175, 275, ..., 1575: 19 in theory; timer slack on a busy machine loses a few.
  t.ok(copies.length >= 13 && copies.length <= 19, `${copies.length} transmissions (gaps ${intervals.join(', ')})`);
  const firstRetransmission = copies[1]!.at - startedAt;
  t.ok(firstRetransmission >= 20 && firstRetransmission <= 110, `first retransmission ~T1 = 25 ms after the start (${firstRetransmission})`);
  t.ok(intervals[1]! >= 35 && intervals[1]! <= 110, `then ~50 ms (${intervals[1]})`);
  const later = intervals.slice(2);
  // Arrival times jitter when the machine is busy; the median shows the cap (doubling would give 200, 400, 800).
  t.ok(median(later) >= 85 && median(later) <= 130, `then every ~T2 = 100 ms (median ${median(later)} of ${later.join(', ')})`);
  t.ok(Math.max(...later) < 350, `never far beyond T2 (${Math.max(...later)})`);
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
  t.ok(intervals.length >= 2 && median(intervals) >= 85 && median(intervals) <= 150, `every ~T2 in Proceeding (${intervals.join(', ')})`);

  await peer.send(rawResponse(200, 'OK', first, { toTag: 'p' }), engine.port('udp'));
  t.equal((await responses.next(() => true, 1000, 'the 200 at the TU')).status, 200);
  t.equal(tx.state, TransactionState.Completed, 'Completed (Timer K = T4 over UDP)');
  const completedAt = Date.now();
  // Absorbed while Completed: the retransmitted 200 arrives well within Timer K (500 ms).
  await peer.send(rawResponse(200, 'OK', first, { toTag: 'p' }), engine.port('udp'));
  t.ok(await waitFor(() => tx.terminated, 2000), 'Timer K ends it');
  t.equal(responses.count(), 2, 'the retransmitted final response was not passed up again');
  const late = peer.inbox.take(isRequest('OPTIONS')).filter((p) => p.at > completedAt + 100);
  t.same(late.length, 0, 'no retransmission after the final response');
});

t.test('non-INVITE client transaction to a TCP port that refuses the connection: transportError', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const port = await closedTcpPort();
  const tx = engine.transactions.sendRequest(outgoing('MESSAGE', `sip:peer@127.0.0.1:${port};transport=tcp`));
  t.teardown(() => tx.close());
  const { value: err, after } = await waitEvent<SipTransportError>(tx, 'transportError', 3000);
  t.ok(err instanceof SipTransportError);
  t.match(err.message, /cannot connect to tcp:127\.0\.0\.1/);
  t.ok(after < 1000, `at once, not after Timer F (${after} ms)`);
  t.equal(tx.state, TransactionState.Terminated);
});
