// Spec §6: srf.proxyRequest through the engine's stateful proxy, between two Net::SIP agents: provisional and
// final responses relayed, Record-Route so that ACK and BYE pass through the engine, serial forking past a
// failure, the best failure when every target fails, and the caller's CANCEL reaching the callee.
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, startDrachtio, type DrachtioUnderTest } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import { deferred, delay, within } from '../../helpers/wait';

const skip = netSipMissing();

interface ProxyResult {
  connected: boolean;
  finalStatus: number;
  finalResponse?: unknown;
  /** srf groups the per-target final responses by address (lib/request.js). */
  responses?: Array<{ msgs: Array<{ status: number }> }>;
}

function statuses(r: ProxyResult): number[] {
  return (r.responses ?? []).flatMap((group) => group.msgs.map((m) => m.status));
}

/** An app that proxies every INVITE to the targets `targets()` names. */
async function proxyApp(t: { teardown(fn: () => unknown): void }, sut: DrachtioUnderTest, targets: () => string[], options: Srf.ProxyRequestOptions) {
  const result = deferred<ProxyResult>();
  await connectApp(t, sut, (srf) => {
    srf.invite((req) => {
      (srf.proxyRequest as unknown as (req: Srf.SrfRequest, dest: string[], opts: Srf.ProxyRequestOptions) => Promise<ProxyResult>)
        .call(srf, req, targets(), options)
        .then(result.resolve, result.reject);
    });
  });
  return result.promise;
}

t.test('proxyRequest with remainInDialog: 180/200 relayed, Record-Route added, ACK and BYE pass through the engine', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const callee = await NetSipPeer.start(t, { role: 'uas', user: 'bob', ring_ms: 100, actions: [{ do: 'await_bye' }], timeout_s: 15 });
  const result = proxyApp(t, sut, () => [`127.0.0.1:${callee.port}`], { remainInDialog: true });
  const caller = new NetSipPeer(t, { role: 'call', user: 'alice', to: sut.uri('bob'), actions: [{ do: 'wait', ms: 100 }, { do: 'bye' }], timeout_s: 15 });

  const final = await caller.waitFor('final');
  t.equal(final.code, 200, 'the caller is answered by the callee through the proxy');
  t.ok(caller.all('provisional').some((e) => e.code === 180), 'the 180 was relayed');
  const engineRoute = `<sip:127.0.0.1:${sut.engine.port('udp')};transport=udp;lr>`;
  t.equal(final.headers?.['record-route'], engineRoute, 'the 200 carries the engine Record-Route');
  const r = await within(result, 5000, 'proxyRequest result');
  t.equal(r.connected, true);
  t.equal(r.finalStatus, 200);

  const invite = await callee.waitFor('request', (e) => e.method === 'INVITE');
  const vias = (invite?.headers?.via ?? '').split(/,\s*(?=SIP\/2\.0)/);
  t.equal(vias.length, 2, 'the callee sees the engine Via above the caller Via');
  t.match(vias[0], new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${sut.engine.port('udp')};branch=z9hG4bK`));
  t.equal(invite?.uri, `sip:127.0.0.1:${callee.port}`, 'the request-URI is the proxy target');
  t.equal(invite?.headers?.['record-route'], engineRoute);
  t.equal(invite?.headers?.['call-id'], final.headers?.['call-id'], 'same call on both sides');

  await callee.waitFor('established');
  const ack = callee.receivedRequests('ACK')[0];
  t.equal((ack?.headers?.via ?? '').split(/,\s*(?=SIP\/2\.0)/).length, 2, 'the ACK came through the engine');
  t.equal((await caller.waitFor('response', (e) => e.request === 'BYE')).code, 200, 'BYE answered by the callee');
  const bye = await callee.waitFor('in_dialog', (e) => e.method === 'BYE');
  t.equal((bye?.headers?.via ?? '').split(/,\s*(?=SIP\/2\.0)/).length, 2, 'the BYE came through the engine');
  t.notOk(bye?.headers?.route, 'the engine popped its own Route');
  t.equal(await caller.finished(), 0);
});

t.test('serial forking: the first target answers 486, the second 200; the caller gets the 200', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const busy = await NetSipPeer.start(t, { role: 'uas', final: 486, timeout_s: 15 });
  const free = await NetSipPeer.start(t, { role: 'uas', timeout_s: 15 });
  const result = proxyApp(t, sut, () => [`sip:127.0.0.1:${busy.port}`, `sip:127.0.0.1:${free.port}`], { forking: 'sequential' });
  const caller = new NetSipPeer(t, { role: 'call', to: sut.uri(), timeout_s: 15 });
  const final = await caller.waitFor('final');
  t.equal(final.code, 200);
  const r = await within(result, 5000, 'proxyRequest');
  t.equal(r.finalStatus, 200);
  t.equal(r.connected, true);
  t.same(statuses(r), [486, 200], 'srf got each target final response (the engine sent them with "continue")');
  await busy.waitFor('request');
  await free.waitFor('request');
  t.equal(busy.all('request', 'INVITE').length, 1, 'the busy target was tried');
  t.equal(free.all('request', 'INVITE').length, 1, 'then the free one');
  t.equal(caller.received(486, 'INVITE').length, 0, 'the 486 was not relayed');
  t.notOk(final.headers?.['record-route'], 'no Record-Route without remainInDialog');
  t.equal((await caller.waitFor('response', (e) => e.request === 'BYE')).code, 200, 'the BYE goes to the callee directly');
});

t.test('every target fails: the caller gets the best failure, srf gets connected:false', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const busy = await NetSipPeer.start(t, { role: 'uas', final: 486, timeout_s: 15 });
  const gone = await NetSipPeer.start(t, { role: 'uas', final: 404, timeout_s: 15 });
  const result = proxyApp(t, sut, () => [`127.0.0.1:${busy.port}`, `127.0.0.1:${gone.port}`], {});
  const caller = new NetSipPeer(t, { role: 'call', to: sut.uri(), timeout_s: 15 });
  const final = await caller.waitFor('final');
  t.equal(final.code, 404, 'RFC 3261 §16.7: the lowest 4xx');
  const r = await within(result, 5000, 'proxyRequest');
  t.equal(r.connected, false);
  t.same(statuses(r), [486, 404], 'one response per target');
  t.equal(r.finalStatus, 404, 'srf reports the last one');
});

t.test('the caller CANCELs a proxied INVITE: CANCEL reaches the callee, 487 reaches the caller', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const callee = await NetSipPeer.start(t, { role: 'uas', never_answer: true, timeout_s: 15 });
  const result = proxyApp(t, sut, () => [`127.0.0.1:${callee.port}`], { remainInDialog: true });
  const caller = new NetSipPeer(t, { role: 'call', to: sut.uri(), cancel_on_ring: true, linger_ms: 300, timeout_s: 15 });
  t.equal((await caller.waitFor('final')).code, 487, 'the caller INVITE ends 487');
  t.equal((await caller.waitFor('response', (e) => e.request === 'CANCEL')).code, 200);
  await caller.finished();
  t.equal(callee.receivedRequests('CANCEL').length, 1, 'the callee got the CANCEL');
  await delay(200);
  t.equal(callee.receivedRequests('ACK').length, 1, 'the callee 487 was ACKed by the engine');
  t.equal(caller.received(487, 'INVITE').length, 1, 'one 487 to the caller');
  const r = await within(result, 5000, 'proxyRequest');
  t.equal(r.connected, false);
});
