// UDP loss recovered by retransmission (RFC 3261 §17), with drachtio-srf apps on the engine and Net::SIP on
// the far side of a relay that drops chosen datagrams: each loss is repaired by whichever side must
// retransmit, and the apps see every request exactly once.
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, destroy, sdp, startDrachtio, type Dialog } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { UdpRelay } from '../../helpers/peers/udp-relay';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

t.test('Net::SIP calls through a lossy relay: lost INVITE, 200, BYE and 200-to-BYE are all retransmitted; the app sees each once', { skip }, async (t) => {
  const sut = await startDrachtio(t, { t1: 100 });
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: sut.engine.port('udp') });
  relay.drop('toServer', 'INVITE').drop('toClient', '200 INVITE').drop('toServer', 'BYE').drop('toClient', '200 BYE');
  const seen: string[] = [];
  const destroyed = deferred();
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      seen.push(req.method);
      void srf.createUAS(req, res, { localSdp: sdp('answer') }).then((dialog) => {
        dialog.on('ack', () => seen.push('ACK'));
        dialog.on('destroy', () => {
          seen.push('BYE');
          destroyed.resolve();
        });
      });
    });
  });
  const peer = new NetSipPeer(t, {
    role: 'call',
    to: sut.uri(),
    outgoing_proxy: `sip:127.0.0.1:${relay.port}`,
    contact: `sip:netsip@127.0.0.1:${relay.serverSidePort}`,
    actions: [{ do: 'wait', ms: 200 }, { do: 'bye' }],
    timeout_s: 20,
  });
  const final = await peer.waitFor('final', undefined, 10_000);
  t.equal(final.code, 200, 'the call is answered despite the losses');
  const bye = await peer.waitFor('response', (e) => e.request === 'BYE', 10_000);
  t.equal(bye.code, 200, 'the BYE is answered despite the losses');
  await within(destroyed.promise, 5000, 'destroy');
  t.same(seen, ['INVITE', 'ACK', 'BYE'], 'the app saw INVITE, ACK and BYE once each');

  t.equal(relay.count('toServer', 'INVITE', 'dropped'), 1, relay.describe());
  t.ok(relay.count('toServer', 'INVITE', 'passed') >= 1, 'Net::SIP retransmitted the lost INVITE');
  t.equal(relay.count('toClient', '200 INVITE', 'dropped'), 1);
  t.ok(relay.count('toClient', '200 INVITE', 'passed') >= 1, 'the engine retransmitted the lost 200 (RFC 3261 §13.3.1.4)');
  t.equal(relay.count('toServer', 'BYE', 'dropped'), 1);
  t.ok(relay.count('toServer', 'BYE', 'passed') >= 2, 'Net::SIP retransmitted the BYE, twice: once for the lost BYE, once for the lost 200');
  t.equal(relay.count('toClient', '200 BYE', 'dropped'), 1);
  t.ok(relay.count('toClient', '200 BYE', 'passed') >= 1, 'the engine answered the retransmitted BYE from its transaction');
  t.equal(await peer.finished(), 0);
});

t.test('the app calls Net::SIP through a lossy relay: lost INVITE, ACK and BYE are retransmitted', { skip }, async (t) => {
  const sut = await startDrachtio(t, { t1: 100 });
  const relay = await UdpRelay.start(t, { address: '127.0.0.1', port: sut.engine.port('udp') });
  const callee = await NetSipPeer.start(t, {
    role: 'uas',
    user: 'bob',
    outgoing_proxy: `sip:127.0.0.1:${relay.port}`,
    contact: `sip:bob@127.0.0.1:${relay.serverSidePort}`,
    timeout_s: 20,
  });
  relay.setClient(callee.port);
  relay.drop('toClient', 'INVITE').drop('toClient', 'ACK').drop('toClient', 'BYE');
  const { srf } = await connectApp(t, sut);
  const dialog = (await within(srf.createUAC(`sip:bob@127.0.0.1:${relay.serverSidePort}`, { localSdp: sdp('offer') }), 8000, 'createUAC')) as Dialog;
  t.ok(dialog.id, 'createUAC resolved despite the lost INVITE');
  t.equal(relay.count('toClient', 'INVITE', 'dropped'), 1, relay.describe());
  t.ok(relay.count('toClient', 'INVITE', 'passed') >= 1, 'the engine retransmitted the INVITE (Timer A)');
  await callee.waitFor('request', (e) => e.method === 'INVITE');
  t.equal(callee.all('request', 'INVITE').length, 1, 'Net::SIP took one call');

  await callee.waitFor('established', undefined, 8000);
  t.equal(relay.count('toClient', 'ACK', 'dropped'), 1);
  t.ok(relay.count('toClient', 'ACK', 'passed') >= 1, 'the engine ACKed the retransmitted 200 again (RFC 3261 §13.2.2.4), through the same path');
  t.equal(relay.count('toServer', '200 INVITE'), 2, 'one retransmission of the 200 was enough: it was ACKed at once, not after the transaction ended');

  const modified = deferred<Srf.SrfRequest>();
  dialog.on('destroy', (bye: Srf.SrfRequest) => modified.resolve(bye));
  await within(destroy(dialog), 8000, 'destroy');
  t.equal(relay.count('toClient', 'BYE', 'dropped'), 1);
  t.ok(relay.count('toClient', 'BYE', 'passed') >= 1, 'the engine retransmitted the BYE (Timer E)');
  await callee.waitFor('in_dialog', (e) => e.method === 'BYE');
  await delay(200);
  t.equal(callee.all('in_dialog').filter((e) => e.method === 'BYE').length, 1, 'Net::SIP handled one BYE');
});
