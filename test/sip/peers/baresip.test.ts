// The engine against baresip (a SIP user agent we did not write) as the caller over UDP on 127.0.0.1: no
// sound card (ausine plays a tone into the call, aubridge swallows what comes back), driven by ctrl_tcp.
import t from 'tap';
import { TransactionState, type InviteServerTransaction } from '../../../src/sip/index';
import { BaresipPeer, baresipMissing } from '../../helpers/peers/baresip-peer';
import { TestUas, waitForState } from '../../helpers/peers/test-uas';
import { startEngine } from '../../helpers/sip-engine';

const skip = baresipMissing() ?? false;

t.test('baresip calls the engine: 180, 200 with SDP, ACK to the TU, hangup sends BYE, 200', { skip }, async (t) => {
  const engine = await startEngine(t);
  const uas = new TestUas(engine);
  t.teardown(() => uas.close());
  const baresip = await BaresipPeer.start(t, { timeoutS: 20 });
  const dial = await baresip.command('dial', `sip:onecc@127.0.0.1:${engine.port('udp')}`);
  t.equal(dial.ok, true, 'baresip accepted the dial command');
  const established = await baresip.event('CALL_ESTABLISHED', 5000);
  t.match(established.peeruri ?? established.param, /onecc@127\.0\.0\.1/);

  const ack = await uas.waitFor('ack');
  const [invite] = uas.requests('INVITE');
  t.equal(invite?.getHeader('content-type'), 'application/sdp', 'baresip offered SDP');
  t.match(invite?.body.toString(), /m=audio \d+ RTP\/AVP/);
  t.equal(ack.ack.cseq.seq, invite?.cseq.seq);
  t.equal(ack.invite?.request, invite, 'onAck names the INVITE transaction');
  t.equal(ack.invite?.state, TransactionState.Accepted);
  t.equal(ack.invite?.awaitingAck, false);

  const hangup = await baresip.command('hangup');
  t.equal(hangup.ok, true);
  const bye = await uas.waitFor('request', (s) => s.method === 'BYE');
  t.equal(bye.request.callId, invite?.callId);
  await baresip.event('CALL_CLOSED', 5000);
  t.equal(bye.tx.status, 200, 'BYE answered 200');
  t.same(uas.summary(), ['INVITE', 'ack', 'BYE']);
});

t.test('baresip hangs up while ringing: CANCEL, 487, its ACK absorbed', { skip }, async (t) => {
  const engine = await startEngine(t);
  const uas = new TestUas(engine, { invite: 'ring' });
  t.teardown(() => uas.close());
  const baresip = await BaresipPeer.start(t, { timeoutS: 20 });
  await baresip.command('dial', `sip:onecc@127.0.0.1:${engine.port('udp')}`);
  await baresip.event('CALL_RINGING', 5000);
  const invite = await uas.waitFor('request', (s) => s.method === 'INVITE');
  const tx = invite.tx as InviteServerTransaction;
  await baresip.command('hangup');
  const cancel = await uas.waitFor('cancel');
  t.equal(cancel.invite, invite.request);
  await baresip.event('CALL_CLOSED', 5000);
  // The ACK for the 487 moves the transaction to Confirmed.
  await waitForState(tx, TransactionState.Confirmed, 3000);
  t.equal(tx.status, 487);
  t.same(uas.inviteStates.get(tx), [TransactionState.Completed, TransactionState.Confirmed], 'baresip ACKed the 487 and the transaction absorbed it');
  t.same(uas.summary(), ['INVITE', 'cancel'], 'no ACK reached the TU');
});
