// Spec §10 (b): an unmodified drachtio-srf app calls Net::SIP through the engine with Srf.createUAC:
// provisional and final responses, the ACK, BYE both ways, re-INVITE and INFO from the far end, a rejected
// call, CANCEL before the answer, 401/407 challenges answered by srf's digest client, srf.request outside a
// dialog and the 408 of a request nobody answers.
import { createSocket } from 'node:dgram';
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, destroy, sdp, sendResponse, srfRequest, startDrachtio, tagOf, type Dialog } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

interface SipErrorLike {
  status?: number;
  message?: string;
}

for (const proto of ['udp', 'tcp'] as const) t.test(`${proto}: createUAC: 180 and 200 from Net::SIP, the ACK reaches it, dialog.destroy() sends BYE and resolves on its 200`, { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', proto, ring_ms: 100, timeout_s: 15 });
  const transport = proto === 'tcp' ? ';transport=tcp' : '';
  const offer = sdp('createUAC offer');
  let sent: Srf.SrfRequest | undefined;
  const provisional: number[] = [];
  const dialog = (await within(
    srf.createUAC(`${peer.uri(peer.port, 'bob')}${transport}`, { localSdp: offer, callingNumber: '100', headers: { 'X-Test': 'uac' } } as Srf.CreateUACOptions, {
      // srf calls cbRequest(err, req), whatever its typings say.
      cbRequest: ((_err: unknown, req: Srf.SrfRequest) => (sent = req)) as unknown as (req: Srf.SrfRequest) => void,
      cbProvisional: (res: Srf.SrfResponse) => provisional.push(res.status),
    }),
    5000,
    'createUAC',
  )) as Dialog;
  t.ok(provisional.includes(180), `cbProvisional saw 180 (${provisional.join(', ')})`);
  t.ok(sent, 'cbRequest got the INVITE as the engine sent it');
  t.ok(tagOf(sent?.get('From')), 'the echoed INVITE has the From tag the engine chose');
  t.match(sent?.get('From'), /sip:100@127\.0\.0\.1:\d+/, '@localhost in From was replaced by the engine address');
  t.match(sent?.get('Via'), new RegExp(`^SIP/2\\.0/${proto.toUpperCase()} 127\\.0\\.0\\.1:${sut.engine.port(proto)};branch=z9hG4bK`), 'the engine added its Via');
  t.equal(dialog.id, `${sent?.get('Call-ID')};from-tag=${tagOf(sent?.get('From'))}`, 'Dialog.id is <Call-ID>;from-tag=<our tag>');
  t.match(dialog.remote.sdp, /^v=0/, 'Dialog.remote.sdp is the answer from Net::SIP');

  const invite = await peer.waitFor('request', (e) => e.method === 'INVITE');
  t.equal(invite?.body, offer, 'Net::SIP got the app offer byte for byte');
  t.equal(invite?.headers?.['content-type'], 'application/sdp', 'the engine added Content-Type');
  t.equal(invite?.headers?.['x-test'], 'uac', 'custom headers pass');
  t.match(invite?.headers?.contact, /sip:100@127\.0\.0\.1:\d+/, 'Contact @localhost replaced');
  await peer.waitFor('established');
  t.equal(peer.receivedRequests('ACK').length, 1, 'one ACK for the 200');

  await within(destroy(dialog), 5000, 'destroy');
  const bye = await peer.waitFor('in_dialog', (e) => e.method === 'BYE');
  t.equal(Number(bye.headers?.cseq?.split(' ')[0]), Number(sent?.get('CSeq').split(' ')[0]) + 1, 'BYE CSeq = INVITE CSeq + 1');
  t.equal(tagOf(bye.headers?.from), tagOf(sent?.get('From')), 'BYE From tag is ours');
  t.match(bye.uri, `sip:bob@127.0.0.1:${peer.port}`, 'BYE goes to the remote target (the Contact of Net::SIP 200)');
  t.equal(sut.server.dialogCount, 0, 'the engine forgot the dialog');
});

t.test('Net::SIP sends re-INVITE, INFO and BYE in a createUAC dialog: modify, info, destroy', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', actions: [{ do: 'wait', ms: 50 }, { do: 'reinvite' }, { do: 'info' }, { do: 'bye' }], timeout_s: 15 });
  const dialog = await within(srf.createUAC(peer.uri(peer.port), { localSdp: sdp('offer') }), 5000, 'createUAC');
  const seen: string[] = [];
  const destroyed = deferred();
  const reanswer = sdp('answer to the re-INVITE', 40010);
  dialog.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    seen.push(`modify ${req.body ? 'with SDP' : 'without SDP'}`);
    sendResponse(res, 200, { body: reanswer });
  });
  dialog.on('info', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    seen.push(`info ${req.get('Content-Type')}`);
    res.send(200);
  });
  dialog.on('destroy', () => {
    seen.push('destroy');
    destroyed.resolve();
  });
  await within(destroyed.promise, 8000, 'destroy');
  t.same(seen, ['modify with SDP', 'info application/dtmf-relay', 'destroy']);
  const reinvite = await peer.waitFor('response', (e) => e.request === 'INVITE');
  t.equal(reinvite.code, 200);
  t.equal(reinvite.body, reanswer, 're-INVITE 200 carries the app SDP');
  t.equal(reinvite.headers?.['content-type'], 'application/sdp');
  t.ok(reinvite.headers?.contact, 'the 200 to the re-INVITE has a Contact');
  t.equal((await peer.waitFor('response', (e) => e.request === 'INFO')).code, 200);
  t.equal((await peer.waitFor('response', (e) => e.request === 'BYE')).code, 200);
});

t.test('createUAC rejected with 486: SipError 486, and the ACK srf sends for it is swallowed (the engine ACKs)', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', final: 486, timeout_s: 15 });
  const err = (await srf.createUAC(peer.uri(peer.port), { localSdp: sdp('offer') }).then(
    () => undefined,
    (e: unknown) => e,
  )) as SipErrorLike | undefined;
  t.equal(err?.status, 486, 'createUAC rejects with the status');
  await delay(500);
  t.equal(peer.received(486, 'INVITE').length, 0, '(sanity: Net::SIP is the UAS)');
  t.equal(peer.receivedRequests('ACK').length, 1, 'exactly one ACK reached Net::SIP');
  t.equal(sut.server.dialogCount, 0, 'no dialog');
});

t.test('the app CANCELs its INVITE after 180: Net::SIP gets CANCEL, createUAC rejects 487', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', never_answer: true, timeout_s: 15 });
  let invite: Srf.SrfRequest | undefined;
  const outcome = srf
    .createUAC(peer.uri(peer.port), { localSdp: sdp('offer') }, {
      cbRequest: ((_err: unknown, req: Srf.SrfRequest) => (invite = req)) as unknown as (req: Srf.SrfRequest) => void,
      cbProvisional: (res: Srf.SrfResponse) => {
        if (res.status === 180) invite?.cancel(() => undefined);
      },
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  const err = (await within(outcome, 5000, 'createUAC outcome')) as SipErrorLike | undefined;
  t.equal(err?.status, 487, 'createUAC rejects 487');
  await peer.waitFor('received', (e) => e.method === 'CANCEL');
  const cancels = peer.receivedRequests('CANCEL');
  t.equal(cancels.length, 1, 'Net::SIP got one CANCEL');
  t.equal(cancels[0]?.headers?.cseq?.split(' ')[0], invite?.get('CSeq').split(' ')[0], 'with the INVITE CSeq number');
  await delay(300);
  t.equal(peer.receivedRequests('ACK').length, 1, 'the 487 was ACKed once');
});

for (const proxy of [false, true]) {
  const code = proxy ? 407 : 401;
  t.test(`a ${code} challenge from Net::SIP is answered by srf's digest client; the retry keeps Call-ID and From tag`, { skip }, async (t) => {
    const sut = await startDrachtio(t);
    const { srf } = await connectApp(t, sut);
    const peer = await NetSipPeer.start(t, { role: 'uas', auth_user2pass: { alice: 'wonderland' }, auth_proxy: proxy, timeout_s: 15 });
    const dialog = (await within(
      srf.createUAC(peer.uri(peer.port), { localSdp: sdp('offer'), auth: { username: 'alice', password: 'wonderland' } }),
      5000,
      'createUAC with auth',
    )) as Dialog;
    t.ok(dialog.id, 'createUAC resolved after the challenge');
    await peer.waitFor('established');
    const invites = peer.receivedRequests('INVITE');
    t.equal(invites.length, 2, 'two INVITEs: unauthenticated, then with credentials');
    const [first, second] = invites;
    t.ok(peer.receivedRequests('ACK').some((e) => e.headers?.cseq === `${first?.headers?.cseq?.split(' ')[0]} ACK`), `the ${code} was ACKed`);
    const header = proxy ? 'proxy-authorization' : 'authorization';
    t.notOk(first?.headers?.[header], 'the first INVITE has no credentials');
    t.match(second?.headers?.[header], /^Digest .*username="alice"/, `the retry carries ${header}`);
    t.equal(second?.headers?.['call-id'], first?.headers?.['call-id'], 'same Call-ID');
    t.equal(tagOf(second?.headers?.from), tagOf(first?.headers?.from), 'same From tag');
    t.equal(Number(second?.headers?.cseq?.split(' ')[0]), Number(first?.headers?.cseq?.split(' ')[0]) + 1, 'CSeq + 1');
    const ackFor200 = peer.receivedRequests('ACK').find((e) => e.headers?.cseq === `${second?.headers?.cseq?.split(' ')[0]} ACK`);
    t.equal(ackFor200?.headers?.[header], second?.headers?.[header], 'the ACK for the 200 carries the INVITE credentials (RFC 3261 §13.2.2.4), so Net::SIP accepts it');
    await within(destroy(dialog), 5000, 'destroy');
  });
}

t.test('a wrong password: the second challenge is delivered to the app and createUAC rejects 401', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', auth_user2pass: { alice: 'wonderland' }, timeout_s: 15 });
  const err = (await within(
    srf.createUAC(peer.uri(peer.port), { localSdp: sdp('offer'), auth: { username: 'alice', password: 'looking-glass' } }).then(
      () => undefined,
      (e: unknown) => e,
    ),
    5000,
    'createUAC',
  )) as SipErrorLike | undefined;
  t.ok(err?.status === 401 || err?.status === 403, `createUAC rejects (${err?.status})`);
  await delay(300);
  t.equal(peer.receivedRequests('INVITE').length, 2, 'srf retried once only');
});

t.test('srf.request OPTIONS outside a dialog: Net::SIP answers 200 and the app gets the response', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const { srf } = await connectApp(t, sut);
  const peer = await NetSipPeer.start(t, { role: 'uas', timeout_s: 15 });
  const response = deferred<Srf.SrfResponse>();
  const req = await within(srfRequest(srf, peer.uri(peer.port), { method: 'OPTIONS', headers: { 'X-Test': 'ping' } }), 5000, 'srf.request');
  req.on('response', (res?: Srf.SrfResponse) => res && response.resolve(res));
  const res = await within(response.promise, 5000, 'OPTIONS response');
  t.equal(res.status, 200);
  t.equal(req.method, 'OPTIONS');
  t.ok(tagOf(req.get('From')), 'the engine gave From a tag');
  t.ok(req.get('Call-ID'), 'and a Call-ID');
  const options = await peer.waitFor('received', (e) => e.method === 'OPTIONS');
  t.equal(options.headers?.['x-test'], 'ping', 'Net::SIP saw the custom header');
  t.equal(options.headers?.['call-id'], req.get('Call-ID'), 'the echoed request is what went on the wire');
});

t.test('srf.request to a peer that never answers: the engine delivers 408 after 64*T1', async (t) => {
  const sut = await startDrachtio(t, { t1: 50 });
  const { srf } = await connectApp(t, sut);
  const silent = createSocket('udp4');
  let datagrams = 0;
  silent.on('message', () => datagrams++);
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
  t.teardown(() => silent.close());
  const started = Date.now();
  const response = deferred<Srf.SrfResponse>();
  const req = await srfRequest(srf, `sip:nobody@127.0.0.1:${silent.address().port}`, { method: 'MESSAGE', body: 'hello', headers: { 'Content-Type': 'text/plain' } });
  req.on('response', (res?: Srf.SrfResponse) => res && response.resolve(res));
  const res = await within(response.promise, 8000, '408');
  const elapsed = Date.now() - started;
  t.equal(res.status, 408, 'a 408 reaches the app');
  t.ok(elapsed >= 3000 && elapsed < 6000, `after about 64*T1 = 3.2 s (${elapsed} ms)`);
  t.ok(datagrams >= 5, `the MESSAGE was retransmitted (${datagrams} datagrams)`);
});
