// Spec §10 (d): Srf.createB2BUA between two Net::SIP user agents: SDP passed through both ways, 180 relayed,
// BYE from either leg ends the other, CANCEL on the A leg cancels the B leg, a B-leg failure reaches A.
import t, { type Test } from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, destroy, startDrachtio, tagOf, type Dialog, type DrachtioUnderTest } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing, type PeerConfig } from '../../helpers/peers/net-sip-peer';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

interface B2bua {
  legs: Promise<{ uas: Dialog; uac: Dialog }>;
  failure: Promise<unknown>;
  aInvite: Promise<Srf.SrfRequest>;
}

/** An app that bridges every INVITE to `target` with createB2BUA and hangs up one leg when the other ends. */
async function b2buaApp(t: Test, sut: DrachtioUnderTest, target: () => string): Promise<B2bua> {
  const legs = deferred<{ uas: Dialog; uac: Dialog }>();
  const failure = deferred<unknown>();
  const aInvite = deferred<Srf.SrfRequest>();
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      aInvite.resolve(req);
      srf.createB2BUA(req, res, target(), { headers: { 'X-Test': 'b-leg' } }).then(
        ({ uas, uac }) => {
          uas.on('destroy', () => void destroy(uac).catch(() => undefined));
          uac.on('destroy', () => void destroy(uas).catch(() => undefined));
          legs.resolve({ uas: uas as Dialog, uac: uac as Dialog });
        },
        (err: unknown) => failure.resolve(err),
      );
    });
  });
  return { legs: legs.promise, failure: failure.promise, aInvite: aInvite.promise };
}

async function callee(t: Test, config: Partial<PeerConfig> = {}): Promise<NetSipPeer & { port: number }> {
  return NetSipPeer.start(t, { role: 'uas', user: 'bob', timeout_s: 15, ...config });
}

t.test('B2BUA: A offer reaches B unchanged, B answer reaches A unchanged, 180 relayed, A BYE ends B', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const b = await callee(t, { ring_ms: 100 });
  const app = await b2buaApp(t, sut, () => b.uri(b.port, 'bob'));
  const a = new NetSipPeer(t, { role: 'call', user: 'alice', to: sut.uri('bob'), actions: [{ do: 'wait', ms: 100 }, { do: 'bye' }], timeout_s: 15 });

  const { uas, uac } = await within(app.legs, 5000, 'createB2BUA');
  const finalA = await a.waitFor('final');
  t.equal(finalA.code, 200, 'A is answered');
  const [inviteB] = b.all('request', 'INVITE');
  const aInvite = await app.aInvite;
  t.equal(inviteB?.body, aInvite.body, 'B got A offer byte for byte');
  t.equal(inviteB?.headers?.['content-type'], 'application/sdp');
  t.equal(inviteB?.headers?.['x-test'], 'b-leg', 'B-leg headers from the app');
  t.not(inviteB?.headers?.['call-id'], aInvite.get('Call-ID'), 'the B leg is a new call');
  t.ok(a.all('provisional').some((e) => e.code === 180), 'A got the 180 B sent');
  const okB = b.events.find((e) => e.event === 'answered');
  t.ok(okB, 'B answered');
  t.equal(finalA.body, uac.remote.sdp, 'A got B answer SDP unchanged');
  t.equal(uas.local.sdp, uac.remote.sdp, 'the UAS dialog local SDP is the B answer');
  t.not(uas.id, uac.id, 'two dialogs');

  await b.waitFor('recv_bye');
  const bye = b.all('in_dialog').find((e) => e.method === 'BYE');
  t.equal(bye?.headers?.['call-id'], inviteB?.headers?.['call-id'], 'the BYE on B is in the B call');
  t.equal(tagOf(bye?.headers?.from), tagOf(inviteB?.headers?.from), 'with the B-leg From tag');
  t.equal((await a.waitFor('response', (e) => e.request === 'BYE')).code, 200, 'A BYE answered 200');
  t.equal(await a.finished(), 0);
  await delay(100);
  t.equal(sut.server.dialogCount, 0, 'both dialogs are gone from the engine');
});

t.test('B2BUA: B hangs up, A gets the BYE', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const b = await callee(t, { actions: [{ do: 'wait', ms: 100 }, { do: 'bye' }] });
  const app = await b2buaApp(t, sut, () => b.uri(b.port, 'bob'));
  const a = new NetSipPeer(t, { role: 'call', user: 'alice', to: sut.uri('bob'), actions: [{ do: 'await_bye' }], timeout_s: 15 });
  await within(app.legs, 5000, 'createB2BUA');
  t.equal((await b.waitFor('response', (e) => e.request === 'BYE')).code, 200, 'B BYE answered 200');
  await a.waitFor('recv_bye');
  t.equal(await a.finished(), 0, 'A saw the BYE and ended');
});

t.test('B2BUA: A cancels while B rings: CANCEL reaches B, A gets 487, createB2BUA rejects', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const b = await callee(t, { never_answer: true });
  const app = await b2buaApp(t, sut, () => b.uri(b.port, 'bob'));
  const a = new NetSipPeer(t, { role: 'call', user: 'alice', to: sut.uri('bob'), cancel_on_ring: true, linger_ms: 300, timeout_s: 15 });
  const finalA = await a.waitFor('final');
  t.equal(finalA.code, 487, 'A INVITE ends 487');
  t.equal((await a.waitFor('response', (e) => e.request === 'CANCEL')).code, 200, 'A CANCEL answered 200');
  const err = (await within(app.failure, 5000, 'createB2BUA rejection')) as { status?: number };
  t.equal(err.status, 487, 'createB2BUA rejects 487');
  await a.finished();
  const cancelB = b.receivedRequests('CANCEL');
  t.equal(cancelB.length, 1, 'B got one CANCEL');
  await delay(200);
  t.equal(b.receivedRequests('ACK').length, 1, 'the 487 on B was ACKed');
  t.equal(a.received(487, 'INVITE').length, 1, 'A got a single 487');
});

t.test('B2BUA: B rejects 486, A gets 486', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const b = await callee(t, { final: 486 });
  const app = await b2buaApp(t, sut, () => b.uri(b.port, 'bob'));
  const a = new NetSipPeer(t, { role: 'call', user: 'alice', to: sut.uri('bob'), timeout_s: 15 });
  const finalA = await a.waitFor('final');
  t.equal(finalA.code, 486, 'the B failure is passed to A');
  const err = (await within(app.failure, 5000, 'createB2BUA rejection')) as { status?: number };
  t.equal(err.status, 486);
  t.equal(sut.server.dialogCount, 0);
});
