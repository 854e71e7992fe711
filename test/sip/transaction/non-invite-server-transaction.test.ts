import t from 'tap';
import { TransactionState } from '../../../src/sip/index';
import { createResponse } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { RawStreamPeer, RawUdpPeer, isResponse } from '../../helpers/raw-peer';
import { newBranch, rawRequest } from '../../helpers/raw-sip';
import { RecordingUser } from '../../helpers/raw-transaction-user';
import { delay, waitFor } from '../../helpers/wait';

/** Timer J = 64*T1 = 1280 ms over UDP. */
const TIMERS = { t1: 20, t2: 160, t4: 200 };

t.test('non-INVITE server transaction: Trying absorbs, Completed re-sends the final response until Timer J', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const user = new RecordingUser();
  engine.setApplication(user);
  const peer = await RawUdpPeer.open(t);
  const req = rawRequest({ method: 'MESSAGE', sentBy: peer.sentBy, body: 'hi', headers: ['Content-Type: text/plain'] });
  await peer.send(req, engine.port('udp'));
  const { request, tx } = await user.requests.next(() => true, 1000, 'the MESSAGE at the TU');
  t.equal(tx.state, TransactionState.Trying);

  await peer.send(req, engine.port('udp'));
  t.same(await peer.inbox.settle(100), [], 'a retransmission in Trying gets nothing (no response yet)');

  tx.respond(createResponse(request, 202, 'Accepted', 'msg-tag'));
  const answeredAt = Date.now();
  const first = await peer.inbox.next(() => true, 1000, 'the 202');
  t.equal(first.status, 202);
  t.equal(tx.state, TransactionState.Completed);

  await peer.send(req, engine.port('udp'));
  await peer.send(req, engine.port('udp'));
  const again = await peer.inbox.settle(100);
  t.same(again.map((p) => p.status), [202, 202], 'each retransmission in Completed gets the final response again');
  t.same(again.map((p) => p.bytes.equals(first.bytes)), [true, true], 'byte for byte the same response');
  t.equal(user.requests.count(), 1, 'the TU saw one request');

  await delay(Math.max(0, 1280 + 150 - (Date.now() - answeredAt)));
  t.equal(tx.state, TransactionState.Terminated, 'Timer J (64*T1) ended the transaction');
  await peer.send(req, engine.port('udp'));
  await user.requests.next(() => true, 1000, 'the same bytes as a new request');
  t.equal(user.requests.count(), 2, 'after Timer J the same request is new to the layer');
});

t.test('non-INVITE server transaction over TCP: Timer J is zero, the transaction ends on the final response', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const user = new RecordingUser((request, tx) => tx.respond(createResponse(request, 200, 'OK')));
  engine.setApplication(user);
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  await peer.write(rawRequest({ method: 'OPTIONS', transport: 'TCP', sentBy: '192.0.2.9:5060' }));
  await peer.inbox.next(isResponse(200), 1000, 'the 200');
  const { tx } = await user.requests.next(() => true, 1000, 'the OPTIONS');
  t.ok(await waitFor(() => tx.terminated), 'terminated at once');
  t.equal(engine.transactions.size.servers, 0);
});

t.test('a merged non-INVITE request (another branch, same From tag/Call-ID/CSeq) gets 482 while the first is alive', async (t) => {
  const engine = await startEngine(t, { timers: TIMERS });
  const peer = await RawUdpPeer.open(t);
  const first = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy });
  await peer.send(first, engine.port('udp'));
  t.equal((await peer.inbox.next(() => true, 1000, 'the 200')).status, 200);
  const merged = rawRequest({ method: 'OPTIONS', sentBy: peer.sentBy, branch: newBranch(), callId: first.fields.callId, fromTag: first.fields.fromTag, cseq: first.fields.cseq });
  await peer.send(merged, engine.port('udp'));
  const res = await peer.inbox.next(() => true, 1000, 'the 482');
  t.equal(res.status, 482);
  t.match(res.header('via') ?? '', new RegExp(merged.fields.branch!));
});
