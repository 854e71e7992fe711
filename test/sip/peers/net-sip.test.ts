// The engine against a SIP stack we did not write: Net::SIP (Perl, Debian libnet-sip-perl), over UDP and
// TCP on 127.0.0.1, in both directions, with a UDP relay that loses chosen packets on purpose.
import t, { type Test } from 'tap';
import { InviteClientTransaction, KNOWN_METHODS, TransactionState, type InviteServerTransaction } from '../../../src/sip/index';
import { EngineUac } from '../../helpers/peers/engine-uac';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { TestUas, waitForState, type TestUasOptions } from '../../helpers/peers/test-uas';
import { UdpRelay } from '../../helpers/peers/udp-relay';
import { startEngine } from '../../helpers/sip-engine';

// Every test is skipped, with the reason, where Net::SIP cannot run.
const skip = netSipMissing();

type Engine = Awaited<ReturnType<typeof startEngine>>;

async function engineWithUas(t: Test, options: TestUasOptions = {}): Promise<{ engine: Engine; uas: TestUas }> {
  const engine = await startEngine(t);
  const uas = new TestUas(engine, options);
  t.teardown(() => uas.close());
  return { engine, uas };
}

function target(engine: Engine, proto: 'udp' | 'tcp', port = engine.port(proto)): string {
  return `sip:onecc@127.0.0.1:${port}${proto === 'tcp' ? ';transport=tcp' : ''}`;
}

/** Net::SIP joins repeated headers with ", "; a Via value has no comma of its own here. */
function splitVias(joined: string | undefined): string[] {
  return (joined ?? '').split(/\s*,\s*/).filter((v) => v.length > 0);
}

function tag(header: string | undefined): string | undefined {
  return /;\s*tag=([^;>\s]+)/i.exec(header ?? '')?.[1];
}

for (const proto of ['udp', 'tcp'] as const) {
  t.test(`${proto}: Net::SIP's OPTIONS gets the engine's own 200 when no application is attached`, { skip }, async (t) => {
    const engine = await startEngine(t);
    const peer = new NetSipPeer(t, { role: 'request', method: 'OPTIONS', proto, to: target(engine, proto), timeout_s: 10 });
    const res = await peer.waitFor('response', (e) => e.request === 'OPTIONS');
    t.equal(res.code, 200);
    t.equal(res.errno, 0);
    const allow = (res.headers?.allow ?? '').split(/\s*,\s*/);
    t.same(new Set(allow), KNOWN_METHODS, 'Allow lists every method the engine knows');
    t.equal(res.headers?.server, 'onecc-test');
    t.equal(res.headers?.accept, 'application/sdp');
    t.ok(tag(res.headers?.to), 'the 200 has a To tag');
    t.equal(res.headers?.cseq, '1 OPTIONS');
    t.equal(await peer.finished(), 0, 'Net::SIP exits 0');
  });

  t.test(`${proto}: Net::SIP's OPTIONS reaches the application, which answers 200 with Allow`, { skip }, async (t) => {
    const { engine, uas } = await engineWithUas(t);
    const peer = new NetSipPeer(t, { role: 'request', method: 'OPTIONS', proto, to: target(engine, proto), timeout_s: 10 });
    const res = await peer.waitFor('response', (e) => e.request === 'OPTIONS');
    t.equal(res.code, 200);
    t.match(res.headers?.allow, /INVITE.*ACK.*CANCEL.*BYE.*OPTIONS/);
    t.equal(await peer.finished(), 0);
    t.same(uas.summary(), ['OPTIONS'], 'the application saw exactly one OPTIONS');
    const [options] = uas.requests('OPTIONS');
    t.equal(uas.seen[0]?.kind === 'request' && uas.seen[0].incoming.remote.protocol, proto, `it came over ${proto}`);
    t.match(options?.topVia.branch, /^z9hG4bK/, 'Net::SIP sent an RFC 3261 branch');
  });

  t.test(`${proto}: Net::SIP calls the engine: 180, 200 with SDP, ACK to the TU, BYE 200`, { skip }, async (t) => {
    const { engine, uas } = await engineWithUas(t);
    const peer = new NetSipPeer(t, { role: 'call', proto, to: target(engine, proto), actions: [{ do: 'wait', ms: 300 }, { do: 'bye' }], timeout_s: 15 });
    const final = await peer.waitFor('final');
    t.equal(final.status, 'OK', 'Net::SIP accepted the answer');
    t.equal(final.code, 200);
    t.equal(final.headers?.['content-type'], 'application/sdp');
    t.ok((final.body_length ?? 0) > 0, 'the 200 carries SDP');
    t.ok(peer.all('provisional').some((e) => e.code === 180), 'Net::SIP got 180 Ringing');

    const ack = await uas.waitFor('ack');
    const [invite] = uas.requests('INVITE');
    t.ok(invite, 'the TU got the INVITE');
    t.equal(ack.ack.callId, invite!.callId);
    t.equal(ack.ack.cseq.seq, invite!.cseq.seq, 'ACK has the INVITE CSeq number');
    t.equal(ack.ack.cseq.method, 'ACK');
    t.equal(ack.invite?.request, invite, 'onAck names the INVITE server transaction it acknowledges');
    t.equal(ack.invite?.state, TransactionState.Accepted, 'the INVITE transaction waits in Accepted (RFC 6026)');
    t.equal(ack.invite?.awaitingAck, false, 'the ACK stopped the 2xx retransmissions');
    t.equal(tag(ack.ack.getHeader('to')), ack.invite?.toTag, 'the ACK carries our To tag');

    const bye = await peer.waitFor('response', (e) => e.request === 'BYE');
    t.equal(bye.code, 200, 'BYE answered 200');
    t.equal(bye.errno, 0);
    t.equal(await peer.finished(), 0);
    t.same(uas.summary(), ['INVITE', 'ack', 'BYE'], 'the TU saw INVITE, ACK, BYE once each, in order');
    t.equal(uas.requests('BYE')[0]?.callId, invite!.callId, 'the BYE is in the same dialog');
    t.equal(tag(uas.requests('BYE')[0]?.getHeader('to')), ack.invite?.toTag);
  });

  t.test(`${proto}: the engine calls Net::SIP: INVITE, 200, stateless ACK, BYE with CSeq + 1`, { skip }, async (t) => {
    const engine = await startEngine(t);
    const peer = new NetSipPeer(t, { role: 'uas', proto, timeout_s: 20 });
    const ready = await peer.waitFor('ready');
    const uac = new EngineUac(engine, { protocol: proto, target: { address: '127.0.0.1', port: ready.port! } });
    const invite = uac.invite();
    const ok = await invite.waitFor(200, 299);
    t.equal(ok.getHeader('content-type'), 'application/sdp', 'Net::SIP answered with SDP');
    t.ok(tag(ok.getHeader('to')), '200 has a To tag');
    t.equal(invite.tx.state, TransactionState.Accepted, 'INVITE client transaction in Accepted after 2xx');

    const ack = await uac.ack();
    await peer.waitFor('established');
    const ackSeen = peer.all('received', 'ACK');
    t.equal(ackSeen.length, 1, 'Net::SIP received one ACK');
    t.equal(ackSeen[0]?.headers?.cseq, `${invite.tx.request.cseq.seq} ACK`);
    t.not(ack.topVia.branch, invite.tx.request.topVia.branch, 'the ACK for a 2xx has its own branch');

    const bye = uac.bye();
    const byeOk = await bye.final();
    t.equal(byeOk.status, 200, 'BYE answered 200');
    t.equal(bye.tx.request.cseq.seq, invite.tx.request.cseq.seq + 1, 'BYE CSeq is INVITE CSeq + 1');
    await peer.waitFor('recv_bye');
  });

  t.test(`${proto}: Net::SIP cancels before answer: 200 to CANCEL, 487 to INVITE, its ACK absorbed`, { skip }, async (t) => {
    const { engine, uas } = await engineWithUas(t, { invite: 'ring' });
    const peer = new NetSipPeer(t, { role: 'call', cancel_on_ring: true, proto, to: target(engine, proto), linger_ms: 700, timeout_s: 15 });
    const cancelled = await uas.waitFor('cancel');
    const tx = uas.seen.find((s) => s.kind === 'request' && s.method === 'INVITE');
    const inviteTx = (tx?.kind === 'request' ? tx.tx : undefined) as InviteServerTransaction | undefined;
    t.ok(inviteTx, 'the TU got the INVITE');
    t.equal(cancelled.invite, inviteTx?.request, "the transaction's cancel event names the INVITE");

    const cancelOk = await peer.waitFor('response', (e) => e.request === 'CANCEL');
    t.equal(cancelOk.code, 200, 'CANCEL answered 200');
    const final = await peer.waitFor('final');
    t.equal(final.status, 'FAIL');
    t.equal(final.code, 487, 'INVITE answered 487 Request Terminated');
    t.equal(tag(final.headers?.to), inviteTx?.toTag, '487 has the same To tag as the 180');
    t.equal(tag(cancelOk.headers?.to), inviteTx?.toTag, "200 to CANCEL has the INVITE's To tag (§9.2)");

    t.equal(await peer.finished(), 0);
    // Net::SIP sent its ACK for the 487 (same branch as the INVITE): the transaction must absorb it.
    const confirmed = [TransactionState.Completed, TransactionState.Confirmed];
    t.same(uas.inviteStates.get(inviteTx!), proto === 'tcp' ? [...confirmed, TransactionState.Terminated] : confirmed, 'the ACK confirmed the transaction');
    t.same(uas.summary(), ['INVITE', 'cancel'], 'the TU saw the INVITE and the cancel, and no ACK');
    // UDP: Timer I (T4 = 5 s here) ends the transaction.
    await waitForState(inviteTx!, TransactionState.Terminated, 7000);
    t.equal(inviteTx?.terminated, true, 'the INVITE server transaction ended (UDP: Timer I)');
    t.equal(engine.transactions.size.servers, proto === 'udp' ? 1 : 0, "only the CANCEL's transaction is left (UDP: Timer J, 64*T1)");
  });

  t.test(`${proto}: the engine cancels its INVITE to a ringing Net::SIP: 487 arrives`, { skip }, async (t) => {
    const engine = await startEngine(t);
    const peer = new NetSipPeer(t, { role: 'uas', proto, never_answer: true, timeout_s: 20 });
    const ready = await peer.waitFor('ready');
    const uac = new EngineUac(engine, { protocol: proto, target: { address: '127.0.0.1', port: ready.port! } });
    const invite = uac.invite();
    await invite.waitFor(180);
    t.ok(invite.tx instanceof InviteClientTransaction);
    (invite.tx as InviteClientTransaction).cancel();
    const inviteVia = invite.tx.request.getHeaders('via')[0];

    const cancel = await peer.waitFor('received', (e) => e.method === 'CANCEL');
    t.equal(cancel.headers?.cseq, `${invite.tx.request.cseq.seq} CANCEL`);
    // §9.1: exactly the INVITE's top Via, so that the UAS matches the CANCEL to the INVITE by branch. (Until
    // 187ca08 the layer prepended a second Via with a new branch; Net::SIP then sent its 487 with the CANCEL's
    // Vias, the 487 matched no client transaction, and the INVITE never ended.)
    t.same(splitVias(cancel.headers?.via), [inviteVia], 'CANCEL carries exactly the INVITE top Via (§9.1)');
    const final = await invite.final(3000);
    t.equal(final.status, 487, 'INVITE ends with 487');

    t.equal(invite.tx.state, TransactionState.Completed, 'client transaction Completed on the 487');
    const ack = await peer.waitFor('received', (e) => e.method === 'ACK');
    t.equal(ack.headers?.cseq, `${invite.tx.request.cseq.seq} ACK`, 'the transaction ACKed the 487');
    t.same(splitVias(ack.headers?.via), [inviteVia], 'ACK for a non-2xx has the INVITE top Via (§17.1.1.3)');
    t.equal(tag(ack.headers?.to), tag(final.getHeader('to')), "ACK's To is the 487's To");
    if (proto === 'tcp') {
      // Timer D is zero on TCP: a timer of 0 ms, which a loaded machine may run after the peer already saw the ACK.
      await waitForState(invite.tx, TransactionState.Terminated, 1000);
      t.equal(invite.tx.state, TransactionState.Terminated, 'TCP: Timer D is zero, the transaction is gone');
    }
  });
}

t.test('udp loss: the first INVITE to the engine is lost; Net::SIP retransmits; the TU sees one INVITE', { skip }, async (t) => {
  const engine = await startEngine(t);
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: engine.port('udp') });
  const uas = new TestUas(engine, { contact: () => `<sip:uas@127.0.0.1:${relay.port}>` });
  t.teardown(() => uas.close());
  relay.drop('toServer', 'INVITE');
  const peer = new NetSipPeer(t, { role: 'call', proto: 'udp', to: target(engine, 'udp', relay.port), actions: [{ do: 'wait', ms: 100 }, { do: 'bye' }], timeout_s: 15 });
  const final = await peer.waitFor('final', undefined, 8000);
  t.equal(final.code, 200, 'the call was answered', { relay: relay.describe() });
  t.equal(relay.seen('toServer', 'INVITE', true).length, 1, 'the relay dropped one INVITE');
  t.ok(relay.seen('toServer', 'INVITE', false).length >= 1, 'a retransmitted INVITE got through');
  await peer.waitFor('response', (e) => e.request === 'BYE');
  t.equal(await peer.finished(), 0);
  t.same(uas.summary(), ['INVITE', 'ack', 'BYE'], 'the TU saw the INVITE once');
});

t.test('udp loss: the first 200 to the INVITE is lost; the engine retransmits it at T1; one ACK ends it', { skip }, async (t) => {
  const engine = await startEngine(t);
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: engine.port('udp') });
  const uas = new TestUas(engine, { contact: () => `<sip:uas@127.0.0.1:${relay.port}>` });
  t.teardown(() => uas.close());
  relay.drop('toClient', '200 INVITE');
  const peer = new NetSipPeer(t, { role: 'call', proto: 'udp', to: target(engine, 'udp', relay.port), actions: [{ do: 'wait', ms: 1500 }, { do: 'bye' }], timeout_s: 15 });
  const final = await peer.waitFor('final', undefined, 8000);
  t.equal(final.code, 200, 'the call was answered', { relay: relay.describe() });
  const [dropped] = relay.seen('toClient', '200 INVITE', true);
  const passed = relay.seen('toClient', '200 INVITE', false);
  t.ok(dropped, 'the relay dropped the first 200');
  t.ok(passed.length >= 1, 'a retransmitted 200 got through');
  const gap = passed[0]!.at - dropped!.at;
  t.ok(gap >= 450 && gap <= 1400, `the 2xx was retransmitted about T1 = 500 ms later (Timer G), took ${gap} ms`);
  t.equal(peer.received(200, 'INVITE').length, passed.length, 'Net::SIP got every 200 the relay let through');
  const ack = await uas.waitFor('ack');
  t.equal(ack.invite?.awaitingAck, false);
  await peer.waitFor('response', (e) => e.request === 'BYE');
  const afterAck = relay.seen('toClient', '200 INVITE').filter((r) => r.at > ack.at + 50);
  t.same(afterAck, [], 'no 2xx retransmission after the ACK arrived (hold 1.5 s covers two more T1 intervals)');
  t.same(uas.summary(), ['INVITE', 'ack', 'BYE'], 'the TU saw the INVITE and the ACK once');
  t.equal(await peer.finished(), 0);
});

t.test('udp loss: the engine INVITEs through a lossy relay: Timer A resends at T1; BYE 200 lost, Timer E resends', { skip }, async (t) => {
  const engine = await startEngine(t);
  const peer = new NetSipPeer(t, { role: 'uas', proto: 'udp', timeout_s: 20 });
  const ready = await peer.waitFor('ready');
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: ready.port! });
  relay.drop('toServer', 'INVITE').drop('toClient', '200 BYE');
  const uac = new EngineUac(engine, {
    protocol: 'udp',
    target: { address: '127.0.0.1', port: relay.port },
    via: { protocol: 'udp', address: '127.0.0.1', port: relay.port },
  });
  const invite = uac.invite();
  await invite.waitFor(200, 299, 5000);
  const [lost] = relay.seen('toServer', 'INVITE', true);
  const [resent] = relay.seen('toServer', 'INVITE', false);
  t.ok(lost && resent, 'one INVITE lost, a later one passed', { relay: relay.describe() });
  const gapA = resent!.at - lost!.at;
  t.ok(gapA >= 450 && gapA <= 1400, `Timer A fired about T1 = 500 ms later (took ${gapA} ms)`);
  t.equal(peer.all('received', 'INVITE').length, 1, 'Net::SIP received the INVITE once');

  await uac.ack();
  await peer.waitFor('established');
  const bye = uac.bye();
  const byeOk = await bye.final(5000);
  t.equal(byeOk.status, 200);
  const [lostOk] = relay.seen('toClient', '200 BYE', true);
  const byes = relay.seen('toServer', 'BYE', false);
  t.ok(lostOk, 'the first 200 to BYE was dropped');
  t.equal(byes.length, 2, 'Timer E resent the BYE once', { relay: relay.describe() });
  const gapE = byes[1]!.at - byes[0]!.at;
  t.ok(gapE >= 450 && gapE <= 1400, `Timer E fired about T1 = 500 ms later (took ${gapE} ms)`);
  t.same(bye.statuses.filter((s) => s >= 200), [200], 'one final response reached the TU');
});

t.test('udp loss: OPTIONS from the engine, first 200 lost: Timer E retransmission gets the answer', { skip }, async (t) => {
  const engine = await startEngine(t);
  const peer = new NetSipPeer(t, { role: 'uas', proto: 'udp', timeout_s: 20 });
  const ready = await peer.waitFor('ready');
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: ready.port! });
  relay.drop('toClient', '200 OPTIONS');
  const uac = new EngineUac(engine, { protocol: 'udp', target: { address: '127.0.0.1', port: relay.port } });
  const options = uac.request('OPTIONS');
  const ok = await options.final(5000);
  t.equal(ok.status, 200);
  t.match(ok.getHeader('allow'), /INVITE/, "Net::SIP's own Allow");
  const sent = relay.seen('toServer', 'OPTIONS');
  t.equal(sent.length, 2, 'OPTIONS sent twice', { relay: relay.describe() });
  const gap = sent[1]!.at - sent[0]!.at;
  t.ok(gap >= 450 && gap <= 1400, `Timer E fired about T1 = 500 ms later (took ${gap} ms)`);
  t.equal(relay.seen('toClient', '200 OPTIONS', true).length, 1);
  t.equal(relay.seen('toClient', '200 OPTIONS', false).length, 1);
  t.equal(options.tx.state, TransactionState.Completed, 'non-INVITE client transaction Completed (Timer K running)');
});
