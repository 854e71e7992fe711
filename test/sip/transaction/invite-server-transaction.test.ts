import t, { type Test } from 'tap';
import { TransactionState, type InviteServerTransaction, type ServerTransaction } from '../../../src/sip/index';
import { createResponse, type SipRequest } from '../../../src/sip/message/index';
import { startEngine } from '../../helpers/sip-engine';
import { RawUdpPeer, isResponse } from '../../helpers/raw-peer';
import { rawAck, rawCancel, rawRequest, newBranch, tagOf, SDP } from '../../helpers/raw-sip';
import { RecordingUser, gaps } from '../../helpers/raw-transaction-user';
import { delay, waitFor } from '../../helpers/wait';

/** t1 = 20 ms: Timer G 20, 40, 80, 160 (T2), ...; Timers H and L 64*T1 = 1280 ms; Timer I = T4 = 500 ms. */
const TIMERS = { t1: 20, t2: 160, t4: 500 };

async function setup(t: Test, answer?: (request: SipRequest, tx: ServerTransaction) => void) {
  const engine = await startEngine(t, { timers: TIMERS });
  const user = new RecordingUser(answer);
  engine.setApplication(user);
  const peer = await RawUdpPeer.open(t);
  const send = (bytes: Buffer): Promise<void> => peer.send(bytes, engine.port('udp'));
  return { engine, user, peer, send };
}

function invite(peer: RawUdpPeer, extra: Partial<Parameters<typeof rawRequest>[0]> = {}): ReturnType<typeof rawRequest> {
  return rawRequest({
    method: 'INVITE', sentBy: peer.sentBy, body: SDP, headers: ['Content-Type: application/sdp', 'Contact: <sip:caller@127.0.0.1>'], ...extra,
  });
}

t.test('INVITE server transaction sends 100 Trying at once and absorbs retransmitted INVITEs in Proceeding', async (t) => {
  const { user, peer, send } = await setup(t);
  const req = invite(peer);
  const sentAt = Date.now();
  await send(req);
  const trying = await peer.inbox.next(isResponse(100), 1000, '100 Trying');
  t.ok(trying.at - sentAt < 150, `100 Trying within 150 ms (${trying.at - sentAt} ms), before the TU answers`);
  t.equal(tagOf(trying.header('to')), undefined, '100 Trying carries no To tag');
  t.equal(trying.callId, req.fields.callId);
  const { request, tx } = await user.requests.next(() => true, 1000, 'the INVITE at the TU');
  t.equal(request.method, 'INVITE');

  await send(req);
  t.equal((await peer.inbox.next(() => true, 1000, 'the 100 again')).status, 100, 'retransmission before any answer gets the 100 again');

  tx.respond(createResponse(request, 180, 'Ringing', 'uas-tag-1'));
  t.equal((await peer.inbox.next(() => true, 1000, '180')).status, 180);
  await send(req);
  await send(req);
  const again = await peer.inbox.settle(200);
  t.same(again.map((p) => p.status), [180, 180], 'each retransmission gets the last provisional again');
  t.same(again.map((p) => tagOf(p.header('to'))), ['uas-tag-1', 'uas-tag-1']);
  t.equal(user.requests.count(), 1, 'the TU saw one request');
  t.equal(tx.state, TransactionState.Proceeding);
});

t.test('a 486 is retransmitted on Timer G (doubling, capped at T2) until the ACK; the ACK is absorbed', async (t) => {
  const { user, peer, send } = await setup(t, (request, tx) => tx.respond(createResponse(request, 486, 'Busy Here', 'busy-tag')));
  const req = invite(peer);
  await send(req);
  await peer.inbox.next(isResponse(100), 1000, '100 Trying');
  const { tx } = await user.requests.next(() => true, 1000, 'the INVITE');

  const busy = await peer.inbox.next(isResponse(486), 1000, 'the 486');
  await delay(330); // copies at +20, +60, +140, +300 ms
  const copies = [busy, ...peer.inbox.take(isResponse(486))];
  const intervals = gaps(copies.map((p) => p.at));
  t.ok(copies.length >= 4 && copies.length <= 6, `4-6 transmissions of the 486 in 330 ms (got ${copies.length}: gaps ${intervals.join(', ')})`);
  t.ok(intervals[0]! >= 10 && intervals[0]! <= 60, `first retransmission after ~T1 (${intervals[0]} ms)`);
  t.ok(intervals[2]! > intervals[0]! * 2, `the interval doubles (${intervals.join(', ')})`);
  t.ok(Math.max(...intervals) < 300, `no interval far beyond T2 = 160 ms (${intervals.join(', ')})`);

  await send(rawAck(req.fields, 'busy-tag'));
  t.ok(await waitFor(() => tx.state === TransactionState.Confirmed), 'Confirmed after the ACK (Timer I = T4 = 500 ms)');
  await delay(100);
  peer.inbox.take(); // a 486 sent just before the ACK was processed may still have been on its way
  await send(req);
  const afterAck = await peer.inbox.settle(250);
  t.equal(tx.state, TransactionState.Confirmed, 'still Confirmed');
  t.same(afterAck.map((p) => p.status), [], 'no 486 after the ACK, and none for the INVITE retransmitted in Confirmed');
  t.ok(await waitFor(() => tx.terminated, 1500), 'Terminated once Timer I has run');
  t.equal(user.acks.count(), 0, 'the ACK for a non-2xx is not passed to the TU');
  t.equal(user.requests.count(), 1);
});

t.test('Timer H fires ackTimeout when no ACK comes for a 486, and the retransmissions stop', async (t) => {
  const { user, peer, send } = await setup(t, (request, tx) => tx.respond(createResponse(request, 486, 'Busy Here')));
  const req = invite(peer);
  await send(req);
  const { tx } = await user.requests.next(() => true, 1000, 'the INVITE');
  const started = Date.now();
  const fired = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ackTimeout within 3 s')), 3000);
    tx.once('ackTimeout', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
  t.ok(fired >= 1200 && fired < 2200, `ackTimeout after 64*T1 = 1280 ms (${fired} ms)`);
  t.equal(tx.state, TransactionState.Terminated);
  peer.inbox.take();
  t.same((await peer.inbox.settle(400)).length, 0, 'nothing is sent after Timer H');
});

t.test('a 2xx is retransmitted until its ACK (new branch, matched by Call-ID/CSeq/From tag), which reaches the TU', async (t) => {
  const { user, peer, send } = await setup(t, (request, tx) => {
    tx.respond(createResponse(request, 200, 'OK', 'ok-tag').addHeader('Contact', '<sip:uas@127.0.0.1>'));
  });
  const req = invite(peer);
  await send(req);
  const { tx } = await user.requests.next(() => true, 1000, 'the INVITE');
  await peer.inbox.next(isResponse(200), 1000, 'the 200');
  await delay(180); // retransmissions at +20, +60, +140
  const before = 1 + peer.inbox.take(isResponse(200)).length;
  t.ok(before >= 3, `the 2xx is retransmitted while unacknowledged (${before} copies)`);
  t.equal(tx.state, TransactionState.Accepted);

  const ack = rawAck(req.fields, 'ok-tag', { branch: newBranch(), sentBy: peer.sentBy });
  await send(ack);
  const got = await user.acks.next(() => true, 1000, 'the ACK at the TU');
  t.equal(got.ack.method, 'ACK');
  t.equal(got.ack.callId, req.fields.callId);
  t.equal(got.invite, tx as InviteServerTransaction, 'the ACK names the INVITE transaction it acknowledges');
  const ackedAt = Date.now();
  const late = (await peer.inbox.settle(400, isResponse(200))).filter((p) => p.at > ackedAt + 100);
  t.same(late.length, 0, 'no 2xx retransmission after the ACK (one may have been in flight)');
  t.equal(user.acks.count(), 1);
  t.equal(user.requests.count(), 1);
});

t.test('CANCEL for a ringing INVITE: 200 to the CANCEL, 487 to the INVITE, a cancel event; the ACK for the 487 is absorbed', async (t) => {
  const { user, peer, send } = await setup(t, (request, tx) => tx.respond(createResponse(request, 180, 'Ringing', 'ring-tag')));
  const req = invite(peer);
  await send(req);
  const { tx } = await user.requests.next(() => true, 1000, 'the INVITE');
  await peer.inbox.next(isResponse(180), 1000, '180');
  const cancelled = new Promise<SipRequest>((resolve) => tx.once('cancel', resolve));

  await send(rawCancel(req.fields));
  const okCancel = await peer.inbox.next(isResponse(200, 'CANCEL'), 1000, '200 to the CANCEL');
  const terminated = await peer.inbox.next(isResponse(487, 'INVITE'), 1000, '487 to the INVITE');
  t.equal(okCancel.callId, req.fields.callId);
  t.equal(tagOf(okCancel.header('to')), 'ring-tag', 'the 200 to the CANCEL has the INVITE responses\' To tag');
  t.equal(tagOf(terminated.header('to')), 'ring-tag', 'the 487 keeps the To tag');
  t.equal(terminated.cseq?.seq, req.fields.cseq);
  t.equal((await cancelled).method, 'CANCEL', 'the transaction emitted cancel with the CANCEL request');
  t.equal(user.requests.count(), 1, 'the CANCEL itself is not passed to the TU as a request');

  await send(rawAck(req.fields, 'ring-tag'));
  t.ok(await waitFor(() => tx.state === TransactionState.Confirmed), 'the ACK for the 487 confirms the transaction');
  t.equal(user.acks.count(), 0);
});

t.test('CANCEL for an unknown transaction gets 481', async (t) => {
  const { user, peer, send } = await setup(t);
  const req = invite(peer);
  await send(rawCancel(req.fields));
  const res = await peer.inbox.next(() => true, 1000, 'the 481');
  t.equal(res.status, 481);
  t.equal(res.cseq?.method, 'CANCEL');
  t.equal(res.callId, req.fields.callId);
  t.equal(user.requests.count(), 0);
});

t.test('a merged request (same From tag, Call-ID and CSeq, another branch, no To tag) gets 482 (§8.2.2.2)', async (t) => {
  const { user, peer, send } = await setup(t);
  const first = invite(peer);
  await send(first);
  await user.requests.next(() => true, 1000, 'the first INVITE');
  const merged = invite(peer, { callId: first.fields.callId, fromTag: first.fields.fromTag, cseq: first.fields.cseq, branch: newBranch() });
  await send(merged);
  const res = await peer.inbox.next(isResponse(482), 1000, 'the 482');
  t.match(res.header('via') ?? '', new RegExp(merged.fields.branch!), 'the 482 answers the second branch');
  t.equal(user.requests.count(), 1, 'the TU saw only the first');
});

t.test('an RFC 2543 INVITE without branch is matched by the fallback rules: retransmission and ACK absorbed', async (t) => {
  const { user, peer, send } = await setup(t);
  const req = invite(peer, { branch: null });
  await send(req);
  const { request, tx } = await user.requests.next(() => true, 1000, 'the INVITE');
  t.equal(request.topVia.branch, undefined);
  await peer.inbox.next(isResponse(100), 1000, '100 Trying');
  // A provisional is not retransmitted by any timer: a second 180 can only answer the retransmitted INVITE.
  tx.respond(createResponse(request, 180, 'Ringing', 'old-tag'));
  await peer.inbox.next(isResponse(180), 1000, '180');
  await send(req);
  t.equal((await peer.inbox.next(() => true, 1000, 'the 180 again')).status, 180, 'the retransmitted INVITE gets the 180 again');
  t.equal(user.requests.count(), 1, 'and is not a new request');
  tx.respond(createResponse(request, 486, 'Busy Here', 'old-tag'));
  await peer.inbox.next(isResponse(486), 1000, '486');
  await send(rawAck(req.fields, 'old-tag'));
  t.ok(await waitFor(() => tx.state === TransactionState.Confirmed), 'the branchless ACK matched the transaction');
  t.equal(user.acks.count(), 0);
});
