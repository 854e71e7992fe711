// Spec §10 (a): Net::SIP calls the engine, an unmodified drachtio-srf app answers with Srf.createUAS, and
// in-dialog requests flow in both directions (re-INVITE, INFO, BYE from the caller; re-INVITE, INFO, BYE from
// the app); CANCEL before the answer; the engine's own BYE when the caller never ACKs.
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, destroy, sdp, sendResponse, startDrachtio, tagOf, type Dialog } from '../../helpers/drachtio-harness';
import { UdpSipPeer, header } from '../../helpers/drachtio-wire';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

for (const proto of ['udp', 'tcp'] as const) t.test(`${proto}: createUAS answers Net::SIP: 200 with SDP, To-tag, Contact and Content-Type; ACK and caller BYE reach the Dialog`, { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const dialogUp = deferred<Dialog>();
  const acked = deferred<Srf.SrfRequest>();
  const destroyed = deferred<Srf.SrfRequest>();
  const invites: Srf.SrfRequest[] = [];
  const answer = sdp('createUAS answer');
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      invites.push(req);
      srf.createUAS(req, res, { localSdp: answer }).then((dialog) => {
        dialog.on('ack', (ack) => acked.resolve(ack));
        dialog.on('destroy', (bye) => destroyed.resolve(bye));
        dialogUp.resolve(dialog as Dialog);
      }, dialogUp.reject);
    });
  });
  const peer = new NetSipPeer(t, { role: 'call', proto, to: sut.uri('alice', proto), actions: [{ do: 'wait', ms: 200 }, { do: 'bye' }], timeout_s: 15 });

  const dialog = await within(dialogUp.promise, 5000, 'createUAS');
  const final = await peer.waitFor('final');
  t.equal(final.status, 'OK', 'Net::SIP accepted the 200');
  t.equal(final.code, 200);
  t.equal(final.body, answer, 'the 200 carries the app SDP byte for byte');
  t.equal(final.headers?.['content-type'], 'application/sdp', 'the engine added Content-Type: application/sdp');
  t.equal(final.headers?.contact, `<sip:127.0.0.1:${sut.engine.port(proto)};transport=${proto}>`, 'the engine added its Contact for the transport the INVITE came on');
  t.equal(tagOf(final.headers?.to), dialog.sip.localTag, 'the To-tag is the one srf learned from the echo');
  t.ok(peer.received(100, 'INVITE').length >= 1, 'the engine sent 100 Trying itself');

  const [invite] = invites;
  t.equal(invite?.method, 'INVITE');
  t.equal(invite?.source_address, '127.0.0.1');
  if (proto === 'udp') t.equal(String(invite?.source_port), String(peer.events.find((e) => e.event === 'ready')?.port), 'source_port is the caller port');
  else t.match(String(invite?.source_port), /^[1-9][0-9]*$/, 'source_port is the port of the caller connection');
  t.equal(invite?.protocol, proto);
  t.match(invite?.body ?? '', /^v=0/, 'the app got the caller SDP');
  t.equal(dialog.id, `${invite?.get('Call-ID')};from-tag=${tagOf(invite?.get('From'))}`, 'Dialog.id is <Call-ID>;from-tag=<caller tag>');
  t.equal(dialog.remote.sdp, invite?.body, 'Dialog.remote.sdp is the offer');

  const ack = await within(acked.promise, 5000, 'Dialog ack');
  t.equal(ack.method, 'ACK');
  const bye = await within(destroyed.promise, 5000, 'Dialog destroy');
  t.equal(bye.method, 'BYE');
  const byeOk = await peer.waitFor('response', (e) => e.request === 'BYE');
  t.equal(byeOk.code, 200, 'the app answered the BYE 200 (srf does it for a Dialog)');
  t.equal(await peer.finished(), 0, 'Net::SIP exits 0');
  t.equal(sut.server.dialogCount, 0, 'the engine forgot the dialog');
});

t.test('caller re-INVITE, INFO and BYE reach the Dialog as modify, info and destroy', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const seen: string[] = [];
  const destroyed = deferred();
  const reanswer = sdp('re-INVITE answer', 40002);
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      void srf.createUAS(req, res, { localSdp: sdp('first answer') }).then((dialog) => {
        dialog.on('modify', (r: Srf.SrfRequest, s: Srf.SrfResponse) => {
          seen.push(`modify ${r.body ? 'with SDP' : 'without SDP'}`);
          sendResponse(s, 200, { body: reanswer });
        });
        dialog.on('info', (r: Srf.SrfRequest, s: Srf.SrfResponse) => {
          seen.push(`info ${r.get('Content-Type')} ${r.body.trim().split(/\r?\n/)[0]}`);
          s.send(200);
        });
        dialog.on('destroy', () => {
          seen.push('destroy');
          destroyed.resolve();
        });
      });
    });
  });
  const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(), actions: [{ do: 'reinvite' }, { do: 'info' }, { do: 'bye' }], timeout_s: 15 });
  const reinvite = await peer.waitFor('response', (e) => e.request === 'INVITE');
  t.equal(reinvite.status, 'OK', 're-INVITE answered 200');
  t.equal(reinvite.body, reanswer, 'with the SDP the app gave');
  t.equal(reinvite.headers?.['content-type'], 'application/sdp');
  const info = await peer.waitFor('response', (e) => e.request === 'INFO');
  t.equal(info.code, 200, 'INFO answered 200');
  const bye = await peer.waitFor('response', (e) => e.request === 'BYE');
  t.equal(bye.code, 200, 'BYE answered 200');
  await within(destroyed.promise, 5000, 'destroy');
  t.same(seen, ['modify with SDP', 'info application/dtmf-relay Signal=5', 'destroy']);
  t.equal(await peer.finished(), 0);
});

t.test('the app sends re-INVITE (modify), INFO (request) and BYE (destroy) in a createUAS dialog', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const results = deferred<{ modifySdp: string; infoStatus: number; byeStatus: number }>();
  const offer = sdp('app re-offer', 40004);
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      void srf.createUAS(req, res, { localSdp: sdp('answer') }).then((dialog) => {
        dialog.once('ack', () => {
          void (async () => {
            const modifySdp = await dialog.modify(offer);
            const info = await dialog.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay', 'X-Test': 'app-info' }, body: 'Signal=1\r\nDuration=100\r\n' } as unknown as Srf.SrfRequest);
            await destroy(dialog);
            results.resolve({ modifySdp, infoStatus: info.status, byeStatus: 200 });
          })().catch(results.reject);
        });
      });
    });
  });
  const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(), actions: [{ do: 'await_bye' }], timeout_s: 15 });
  const r = await within(results.promise, 10_000, 'app requests');
  t.match(r.modifySdp, /^v=0/, 'modify() resolved with Net::SIP answer SDP');
  t.equal(r.infoStatus, 200, 'INFO got 200 from Net::SIP');

  await peer.waitFor('recv_bye');
  const inDialog = peer.all('in_dialog').filter((e) => e.method !== 'ACK');
  t.same(inDialog.map((e) => e.method), ['INVITE', 'INFO', 'BYE'], 'Net::SIP got re-INVITE, INFO, BYE in the call');
  const [reinvite, info, bye] = inDialog;
  t.equal(reinvite?.body, offer, 'the re-INVITE carries the app offer');
  t.equal(reinvite?.headers?.['content-type'], 'application/sdp');
  t.ok(reinvite?.headers?.contact, 're-INVITE has a Contact');
  t.equal(info?.headers?.['x-test'], 'app-info', 'custom headers pass through');
  t.equal(info?.headers?.['content-type'], 'application/dtmf-relay');
  const seqs = inDialog.map((e) => Number(e.headers?.cseq?.split(' ')[0]));
  t.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, `CSeq increases: ${seqs.join(', ')}`);
  const final = peer.all('final')[0];
  t.equal(tagOf(bye?.headers?.from), tagOf(final?.headers?.to), 'requests carry the dialog tag as From tag');
  t.equal(peer.receivedRequests('ACK').length, 1, 'the app ACKed the 200 to its re-INVITE');
  await peer.waitFor('recv_bye');
  t.equal(await peer.finished(), 0);
});

t.test('CANCEL before the answer: 200 to CANCEL and 487 from the engine, req "cancel" in the app, createUAS rejects 487', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const canceled = deferred<string>();
  const lateAnswer = deferred<unknown>();
  const cdrs: string[] = [];
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      req.on('cancel', () => {
        canceled.resolve(req.get('Call-ID'));
        // Answering after the CANCEL is refused by the engine (the transaction already ended with 487).
        sendResponse(res, 200, { body: sdp('too late') }, (err) => lateAnswer.resolve(err));
      });
      res.send(180);
    });
    srf.on('cdr:stop', (_source: string, _time: string, reason: string) => cdrs.push(reason));
  });
  const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(), cancel_on_ring: true, linger_ms: 300, timeout_s: 15 });
  const cancelResponse = await peer.waitFor('response', (e) => e.request === 'CANCEL');
  t.equal(cancelResponse.code, 200, 'CANCEL answered 200');
  const final = await peer.waitFor('final');
  t.equal(final.code, 487, 'INVITE answered 487');
  const callId = await within(canceled.promise, 5000, 'req cancel');
  t.equal(callId, final.headers?.['call-id']);
  await peer.finished();
  t.equal(peer.received(487, 'INVITE').length, 1, 'one 487 (the ACK stopped retransmissions)');
  t.equal(peer.received(200, 'INVITE').length, 0, 'no 200 went out');
  t.ok(cdrs.includes('call-canceled'), 'cdr:stop call-canceled');
  t.ok(await within(lateAnswer.promise, 5000, 'late answer callback'), 'a 200 sent after the CANCEL fails in the app');
});

t.test('a caller that never ACKs the 200: after 64*T1 the engine sends BYE and the Dialog emits destroy (unsolicited)', async (t) => {
  const sut = await startDrachtio(t, { t1: 50 });
  const answered = deferred<number>();
  const destroyed = deferred<{ at: number; bye: Srf.SrfRequest }>();
  const stops: string[] = [];
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      void srf.createUAS(req, res, { localSdp: sdp('never acked') }).then((dialog) => {
        answered.resolve(Date.now());
        dialog.on('destroy', (bye: Srf.SrfRequest) => destroyed.resolve({ at: Date.now(), bye }));
      });
    });
    srf.on('cdr:stop', (_source: string, _time: string, reason: string) => stops.push(reason));
  });
  const peer = await UdpSipPeer.start(t);
  const port = sut.engine.port('udp');
  const offer = sdp('offer');
  const callId = `no-ack-${Date.now()}`;
  peer.send(
    [
      `INVITE sip:onecc@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKnoack1;rport`,
      `From: <sip:raw@127.0.0.1:${peer.port}>;tag=noack`,
      `To: <sip:onecc@127.0.0.1:${port}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:raw@127.0.0.1:${peer.port}>`,
      'Max-Forwards: 70',
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(offer)}`,
      '',
      offer,
    ].join('\r\n'),
    port,
  );
  const answeredAt = await within(answered.promise, 3000, 'createUAS');
  const [bye] = await peer.waitFor(/^BYE /, 6000);
  const byeAt = Date.now();
  const { at, bye: byeInApp } = await within(destroyed.promise, 2000, 'Dialog destroy');
  t.ok(byeAt - answeredAt >= 3000 && byeAt - answeredAt < 5000, `BYE after about 64*T1 = 3.2 s (${byeAt - answeredAt} ms)`);
  t.ok(Math.abs(at - byeAt) < 1000, 'the Dialog learned of it at the same time');
  t.equal(byeInApp.method, 'BYE');
  t.equal(byeInApp.source, 'application', "the app's BYE is the engine's unsolicited one");
  t.equal(header(bye!, 'Call-ID'), callId);
  t.equal(tagOf(header(bye!, 'To')), 'noack', 'BYE goes to the caller dialog');
  t.match(header(bye!, 'Reason') ?? '', /ACK timeout/, 'with a Reason');
  const oks = peer.matching(/^SIP\/2\.0 200/).filter((m) => header(m, 'CSeq') === '1 INVITE');
  t.ok(oks.length >= 5, `the 200 was retransmitted meanwhile (${oks.length} times)`);
  // Answer the BYE; the app must not have answered anything itself.
  const via = header(bye!, 'Via')!;
  peer.send([`SIP/2.0 200 OK`, `Via: ${via}`, `From: ${header(bye!, 'From')}`, `To: ${header(bye!, 'To')}`, `Call-ID: ${callId}`, `CSeq: ${header(bye!, 'CSeq')}`, 'Content-Length: 0', '', ''].join('\r\n'), port);
  await delay(200);
  t.equal(peer.matching(/^BYE /).length, 1, 'one BYE: our 200 stopped its retransmissions');
  t.equal(sut.server.dialogCount, 0, 'the engine forgot the dialog');
  t.ok(stops.includes('system-initiated-termination'), `cdr:stop with system-initiated-termination (${stops.join(', ')})`);
});

t.test('a CANCEL that crosses the 200: answered 200 with no effect on the call (RFC 3261 §9.2; drachtio-server answers 481 and hangs up)', async (t) => {
  const sut = await startDrachtio(t);
  const up = deferred<Dialog>();
  let destroyed = false;
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      void srf.createUAS(req, res, { localSdp: sdp('answer') }).then((dialog) => {
        dialog.on('destroy', () => (destroyed = true));
        up.resolve(dialog as Dialog);
      });
    });
  });
  const peer = await UdpSipPeer.start(t);
  const port = sut.engine.port('udp');
  const lines = (method: string): string[] => [
    `${method} sip:onecc@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKcrossing;rport`,
    `From: <sip:raw@127.0.0.1:${peer.port}>;tag=crossing`,
    `To: <sip:onecc@127.0.0.1:${port}>`,
    'Call-ID: cancel-crosses-200',
    `CSeq: 1 ${method}`,
    `Contact: <sip:raw@127.0.0.1:${peer.port}>`,
    'Max-Forwards: 70',
  ];
  const offer = sdp('offer');
  peer.send([...lines('INVITE'), 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(offer)}`, '', offer].join('\r\n'), port);
  await within(up.promise, 3000, 'createUAS');
  await peer.waitFor(/^SIP\/2\.0 200/);
  peer.send([...lines('CANCEL'), 'Content-Length: 0', '', ''].join('\r\n'), port);
  const [cancelResponse] = await peer.waitForMatch((m) => header(m, 'CSeq') === '1 CANCEL');
  t.match(cancelResponse?.split('\r\n')[0], /^SIP\/2\.0 200 /, 'the CANCEL is answered 200');
  await delay(300);
  t.equal(peer.matching(/^BYE /).length, 0, 'no BYE: the call stands');
  t.equal(peer.matching(/^SIP\/2\.0 487/).length, 0, 'no 487');
  t.notOk(destroyed, 'the Dialog lives');
  t.equal(sut.server.dialogCount, 1);
});
