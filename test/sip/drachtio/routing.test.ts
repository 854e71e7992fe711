// Several drachtio-srf apps on one engine: requests outside a dialog are routed by verb (round-robin among
// the apps that route it, 503 when none does), in-dialog requests go to the app that owns the dialog, and
// cdr:attempt/start/stop reach the app that subscribed to them.
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, destroy, disconnect, sdp, sendResponse, startDrachtio, type Dialog } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

/** An app that answers every INVITE with createUAS and records which calls it got. */
function answeringApp(name: string, log: string[]): (srf: Srf) => void {
  return (srf) => {
    srf.invite((req, res) => {
      log.push(`${name} ${req.get('Call-ID')}`);
      void srf.createUAS(req, res, { localSdp: sdp(name) }).catch(() => undefined);
    });
  };
}

t.test('two apps routing "invite" get calls in turn; an app routing only "register" gets the REGISTERs', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const log: string[] = [];
  await connectApp(t, sut, answeringApp('app1', log));
  await connectApp(t, sut, answeringApp('app2', log));
  const registers: string[] = [];
  await connectApp(t, sut, (srf) => {
    srf.use('register', (req, res) => {
      registers.push(req.get('Call-ID'));
      sendResponse(res, 200, { headers: { Contact: `${req.get('Contact')};expires=60` } });
    });
  });

  for (let i = 0; i < 4; i++) {
    const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(`call${i}`), actions: [{ do: 'bye' }], timeout_s: 10 });
    t.equal((await peer.waitFor('final')).code, 200, `call ${i} answered`);
    t.equal((await peer.waitFor('response', (e) => e.request === 'BYE')).code, 200, `call ${i} BYE answered by the app that took it`);
    await peer.finished();
  }
  t.same(
    log.map((l) => l.split(' ')[0]),
    ['app1', 'app2', 'app1', 'app2'],
    'INVITEs alternate between the two apps',
  );
  const reg = new NetSipPeer(t, { role: 'register', registrar: `127.0.0.1:${sut.engine.port('udp')}`, expires: 60, timeout_s: 10 });
  t.equal((await reg.waitFor('registered')).code, 200, 'REGISTER answered 200 by the register app');
  t.equal(registers.length, 1, 'the register app got it');
  t.equal(log.length, 4, 'the invite apps did not');
});

t.test('a verb no app routes is answered 503 by the engine; an app that disconnects gets no more requests', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const log: string[] = [];
  const first = await connectApp(t, sut, answeringApp('app1', log));
  await connectApp(t, sut, answeringApp('app2', log));

  const options = new NetSipPeer(t, { role: 'request', method: 'OPTIONS', to: sut.uri(), timeout_s: 10 });
  t.equal((await options.waitFor('response')).code, 503, 'OPTIONS: no app routes it, 503');
  const message = new NetSipPeer(t, { role: 'request', method: 'MESSAGE', body: 'hi', to: sut.uri(), timeout_s: 10 });
  t.equal((await message.waitFor('response')).code, 503, 'MESSAGE: 503');

  disconnect(first.srf);
  await delay(100);
  for (let i = 0; i < 2; i++) {
    const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(), actions: [{ do: 'bye' }], timeout_s: 10 });
    t.equal((await peer.waitFor('final')).code, 200);
    await peer.finished();
  }
  t.same(log.map((l) => l.split(' ')[0]), ['app2', 'app2'], 'only the app still connected gets calls');
});

t.test('an app disconnecting mid-call: the caller BYE gets 481, the engine keeps serving other apps', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const up = deferred<Dialog>();
  const leaving = await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => void srf.createUAS(req, res, { localSdp: sdp('leaving') }).then((d) => up.resolve(d as Dialog)));
  });
  const peer = new NetSipPeer(t, { role: 'call', to: sut.uri(), actions: [{ do: 'wait', ms: 300 }, { do: 'bye' }], timeout_s: 10 });
  await within(up.promise, 5000, 'createUAS');
  disconnect(leaving.srf);
  const bye = await peer.waitFor('response', (e) => e.request === 'BYE');
  t.equal(bye.code, 481, 'the dialog went with its app: 481');
  const log: string[] = [];
  await connectApp(t, sut, answeringApp('next', log));
  const again = new NetSipPeer(t, { role: 'call', to: sut.uri(), timeout_s: 10 });
  t.equal((await again.waitFor('final')).code, 200, 'the next app answers the next call');
  t.equal((await again.waitFor('response', (e) => e.request === 'BYE')).code, 200);
});

t.test('an app that disconnects before answering: its pending INVITE is failed with 480 at once', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const got = deferred<void>();
  const leaving = await connectApp(t, sut, (srf) => {
    srf.invite(() => got.resolve());
  });
  const peer = new NetSipPeer(t, { role: 'call', to: sut.uri('unanswered'), timeout_s: 10 });
  await within(got.promise, 5000, 'the app got the INVITE');
  const left = Date.now();
  disconnect(leaving.srf);
  t.equal((await peer.waitFor('final')).code, 480, 'failed with 480, not left to the 180 s answer timeout');
  t.ok(Date.now() - left < 3000, 'within seconds of the app leaving');
});

interface Cdr {
  kind: string;
  source: string;
  extra?: string;
  method: string;
  callId: string;
}

function cdrApp(cdrs: Cdr[]): (srf: Srf) => void {
  return (srf) => {
    srf.on('cdr:attempt', (source: string, _time: string, msg: Srf.SipMessage) => cdrs.push({ kind: 'attempt', source, method: (msg as Srf.SrfRequest).method, callId: msg.get('Call-ID') }));
    (srf.on as unknown as (event: string, fn: (...args: unknown[]) => void) => void).call(srf, 'cdr:start', (source: unknown, _time: unknown, role: unknown, msg: unknown) =>
      cdrs.push({ kind: 'start', source: String(source), extra: String(role), method: (msg as Srf.SrfRequest).method, callId: (msg as Srf.SipMessage).get('Call-ID') }),
    );
    (srf.on as unknown as (event: string, fn: (...args: unknown[]) => void) => void).call(srf, 'cdr:stop', (source: unknown, _time: unknown, reason: unknown, msg: unknown) =>
      cdrs.push({ kind: 'stop', source: String(source), extra: String(reason), method: (msg as Srf.SrfRequest).method, callId: (msg as Srf.SipMessage).get('Call-ID') }),
    );
  };
}

t.test('cdr:attempt, cdr:start and cdr:stop reach the app that subscribed, for inbound and outbound calls', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const cdrs: Cdr[] = [];
  await connectApp(t, sut, cdrApp(cdrs));
  const log: string[] = [];
  const { srf } = await connectApp(t, sut, answeringApp('uas', log));

  // Inbound: Net::SIP calls, the other app answers, Net::SIP hangs up.
  const caller = new NetSipPeer(t, { role: 'call', to: sut.uri(), actions: [{ do: 'bye' }], timeout_s: 10 });
  const final = await caller.waitFor('final');
  await caller.waitFor('response', (e) => e.request === 'BYE');
  const inboundCallId = final.headers?.['call-id'];
  await delay(100);
  const inbound = cdrs.filter((c) => c.callId === inboundCallId).map((c) => [c.kind, c.source, c.extra ?? ''].join(' '));
  t.same(inbound, ['attempt network ', 'start application uas', 'stop network normal-release'], 'inbound call: attempt, start (uas), stop');

  // Outbound: the app calls Net::SIP and hangs up.
  const callee = await NetSipPeer.start(t, { role: 'uas', timeout_s: 10 });
  const dialog = (await within(srf.createUAC(callee.uri(callee.port), { localSdp: sdp('out') }), 5000, 'createUAC')) as Dialog;
  await destroy(dialog);
  await delay(100);
  const outboundCallId = dialog.sip.callId;
  const outbound = cdrs.filter((c) => c.callId === outboundCallId).map((c) => [c.kind, c.source, c.extra ?? ''].join(' '));
  t.same(outbound, ['attempt application ', 'start network uac', 'stop application normal-release'], 'outbound call: attempt, start (uac), stop');
  t.ok(cdrs.every((c) => c.method === 'INVITE' || c.method === 'BYE'), 'CDRs carry the SIP message');

  // Rejected: call-rejected.
  const busy = await NetSipPeer.start(t, { role: 'uas', final: 486, timeout_s: 10 });
  await srf.createUAC(busy.uri(busy.port), { localSdp: sdp('busy') }).catch(() => undefined);
  await delay(100);
  t.ok(cdrs.some((c) => c.kind === 'stop' && c.extra === 'call-rejected'), 'a rejected call stops with call-rejected');
});

t.test('OPTIONS and MESSAGE from Net::SIP reach the app that routes them; its responses go back with its headers', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const seen: string[] = [];
  await connectApp(t, sut, (srf) => {
    srf.use('options', (req, res) => {
      seen.push(`OPTIONS ${req.source_address}`);
      sendResponse(res, 200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS', 'X-Test': 'options-app' } });
    });
    srf.use('message', (req, res) => {
      seen.push(`MESSAGE ${req.body}`);
      sendResponse(res, 202);
    });
  });
  const options = new NetSipPeer(t, { role: 'request', method: 'OPTIONS', to: sut.uri(), timeout_s: 10 });
  const ok = await options.waitFor('response');
  t.equal(ok.code, 200);
  t.equal(ok.headers?.['x-test'], 'options-app', "the app's header is in the 200");
  t.ok(ok.headers?.to?.includes('tag='), 'the engine gave the 200 a To tag');
  const message = new NetSipPeer(t, { role: 'request', method: 'MESSAGE', body: 'hello app', to: sut.uri(), timeout_s: 10 });
  t.equal((await message.waitFor('response')).code, 202);
  t.same(seen, ['OPTIONS 127.0.0.1', 'MESSAGE hello app']);
});
