// The engine against JsSIP (a SIP stack we did not write) running in Node over WebSocket (RFC 7118,
// subprotocol "sip") to the engine's WS listener on 127.0.0.1. JsSIP needs WebRTC to place a call; Node has
// none, so the calls here run with FakeRTCPeerConnection: real JsSIP signalling, no media.
import t, { type Test } from 'tap';
import { TransactionState, type InviteServerTransaction } from '../../../src/sip/index';
import { installFakeWebRtc } from '../../helpers/peers/fake-rtc-peer-connection';
import { firstEvent, startJsSipUa } from '../../helpers/peers/jssip-ua';
import { TestUas, waitForState, type TestUasOptions } from '../../helpers/peers/test-uas';
import { startEngine } from '../../helpers/sip-engine';

interface ResponseLike {
  status_code: number;
  reason_phrase: string;
  getHeader(name: string): string | undefined;
}

async function setup(t: Test, uasOptions: TestUasOptions = {}) {
  const engine = await startEngine(t);
  const uas = new TestUas(engine, uasOptions);
  t.teardown(() => uas.close());
  const ua = await startJsSipUa(t, `ws://127.0.0.1:${engine.port('ws')}`);
  const target = `sip:onecc@127.0.0.1:${engine.port('ws')};transport=ws`;
  return { engine, uas, ua, target };
}

t.test('JsSIP OPTIONS over WebSocket gets 200 with Allow', async (t) => {
  const { uas, ua, target } = await setup(t);
  // UA.sendOptions exists in JsSIP 3.13 but is missing from its type declarations.
  const options = (ua as unknown as { sendOptions(target: string, body: string | null, options: object): unknown }).sendOptions(target, null, {});
  const { event, arg } = await firstEvent<{ response?: ResponseLike; cause?: string }>(options as never, ['succeeded', 'failed']);
  t.equal(event, 'succeeded', `JsSIP reported ${event} ${arg.cause ?? ''}`);
  t.equal(arg.response?.status_code, 200);
  t.match(arg.response?.getHeader('Allow'), /MESSAGE/);
  t.same(uas.summary(), ['OPTIONS']);
  const seen = uas.seen[0];
  t.equal(seen?.kind === 'request' && seen.incoming.remote.protocol, 'ws', 'it arrived over the WebSocket listener');
  t.equal(seen?.kind === 'request' && seen.request.topVia.transport, 'WS', 'JsSIP put WS in its Via');
});

t.test('JsSIP MESSAGE over WebSocket reaches the application and gets 200', async (t) => {
  const { uas, ua, target } = await setup(t);
  const message = ua.sendMessage(target, 'hello from JsSIP', { contentType: 'text/plain' });
  const { event, arg } = await firstEvent<{ response?: ResponseLike; cause?: string }>(message as never, ['succeeded', 'failed']);
  t.equal(event, 'succeeded', `JsSIP reported ${event} ${arg.cause ?? ''}`);
  t.equal(arg.response?.status_code, 200);
  const [request] = uas.requests('MESSAGE');
  t.equal(request?.body.toString(), 'hello from JsSIP');
  t.equal(request?.getHeader('content-type'), 'text/plain');
  t.equal(uas.requests('MESSAGE').length, 1, 'once: no retransmission over a reliable transport');
});

t.test('JsSIP calls over WebSocket (fake WebRTC): 180, 200, ACK to the TU, BYE 200', async (t) => {
  t.teardown(installFakeWebRtc());
  const { uas, ua, target } = await setup(t);
  const session = ua.call(target, { mediaConstraints: { audio: false, video: false } });
  const progress = firstEvent<{ response: ResponseLike }>(session as never, ['progress'], 5000);
  const confirmed = await firstEvent<{ originator: string; cause?: string }>(session as never, ['confirmed', 'failed', 'ended'], 5000);
  t.equal(confirmed.event, 'confirmed', `JsSIP reported ${confirmed.event} ${confirmed.arg.cause ?? ''}`);
  t.equal((await progress).arg.response.status_code, 180);

  const ack = await uas.waitFor('ack');
  const [invite] = uas.requests('INVITE');
  t.equal(invite?.getHeader('content-type'), 'application/sdp', 'JsSIP offered SDP (from the fake peer connection)');
  t.equal(ack.ack.cseq.seq, invite?.cseq.seq);
  t.equal(ack.invite?.request, invite, 'onAck names the INVITE transaction');
  t.equal(ack.invite?.awaitingAck, false);
  t.equal(ack.incoming.remote.protocol, 'ws');

  const ended = firstEvent<{ originator: string; cause: string }>(session as never, ['ended'], 5000);
  session.terminate();
  const bye = await uas.waitFor('request', (s) => s.method === 'BYE');
  t.equal(bye.request.callId, invite?.callId, 'the BYE is in the call');
  t.equal((await ended).arg.originator, 'local');
  t.same(uas.summary(), ['INVITE', 'ack', 'BYE']);
  // JsSIP ends the session on sending BYE; wait for the engine's 200 to have gone out.
  await waitForState(bye.tx, TransactionState.Completed, 2000);
  t.equal(bye.tx.status, 200, 'BYE answered 200');
});

t.test('JsSIP cancels a ringing call over WebSocket: 487, its ACK absorbed, transaction ends', async (t) => {
  t.teardown(installFakeWebRtc());
  const { uas, ua, target } = await setup(t, { invite: 'ring' });
  const session = ua.call(target, { mediaConstraints: { audio: false, video: false } });
  const progress = await firstEvent<{ response: ResponseLike }>(session as never, ['progress', 'failed'], 5000);
  t.equal(progress.event, 'progress');
  const invite = await uas.waitFor('request', (s) => s.method === 'INVITE');
  const tx = invite.tx as InviteServerTransaction;
  const failed = firstEvent<{ originator: string; cause: string }>(session as never, ['failed', 'ended'], 5000);
  session.terminate();
  const cancelled = await uas.waitFor('cancel');
  t.equal(cancelled.invite, tx.request);
  const end = await failed;
  t.equal(end.event, 'failed');
  t.equal(end.arg.cause, 'Canceled', 'JsSIP saw its call cancelled');
  // Over WebSocket Timer I is zero: the ACK for the 487 confirms and ends the transaction at once.
  await waitForState(tx, TransactionState.Terminated, 3000);
  t.same(uas.inviteStates.get(tx), [TransactionState.Completed, TransactionState.Confirmed, TransactionState.Terminated], 'JsSIP ACKed the 487 and the transaction absorbed it');
  t.equal(tx.status, 487, 'the INVITE got 487');
  t.same(uas.summary(), ['INVITE', 'cancel'], 'no ACK reached the TU');
});
