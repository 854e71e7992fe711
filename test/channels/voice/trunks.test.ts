// Trunk identification: Net::SIP calls through onecc's SIP engine into an unmodified drachtio-srf app whose INVITE
// handler asks TrunkDirectory who is calling; the app answers 480 naming the trunk, so the caller sees the verdict.
import t, { type Test } from 'tap';
import type { TrunkConfig } from '../../../src/config/index';
import { DigestAuthenticator } from '../../../src/channels/voice/digest-auth';
import { TrunkDirectory, refuseUnidentified, type TrunkIdentity, type TrunkRequest } from '../../../src/channels/voice/trunks';
import { connectApp, startDrachtio } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';

const skip = netSipMissing();
const auth = () => new DigestAuthenticator({ realm: 'onecc.test', nonceSecret: 'test', nonceTtlSeconds: 60 });

/** Engine + app; every INVITE goes through identify(); an identified trunk gets 480 with X-Test: <trunk name>. */
async function trunkApp(t: Test, trunks: TrunkConfig[]): Promise<{ uri: string; seen: TrunkIdentity['outcome'][] }> {
  const sut = await startDrachtio(t);
  const directory = new TrunkDirectory(trunks, auth());
  const seen: TrunkIdentity['outcome'][] = [];
  await connectApp(t, sut, (srf) => {
    srf.invite((req, res) => {
      const identity = directory.identify(req);
      seen.push(identity.outcome);
      if (identity.outcome !== 'trunk') return refuseUnidentified(res, identity);
      res.send(480, { headers: { 'X-Test': identity.trunk.name } });
    });
  });
  return { uri: sut.uri('5551000'), seen };
}

function call(t: Test, to: string, credentials?: [string, string]): NetSipPeer {
  return new NetSipPeer(t, { role: 'call', to, ...(credentials ? { auth: credentials } : {}), timeout_s: 10 });
}

t.test('an INVITE from a listed address is that trunk\'s, without a challenge', { skip }, async (t) => {
  const { uri, seen } = await trunkApp(t, [{ name: 'local', addresses: ['127.0.0.0/8'], username: null, password: null, outboundUri: null }]);
  const peer = call(t, uri);
  await peer.finished();
  t.equal(peer.received(480, 'INVITE')[0]?.headers?.['x-test'], 'local');
  t.same(seen, ['trunk']);
});

t.test('an INVITE from an unlisted address, with no credential trunks, is refused 403', { skip }, async (t) => {
  const { uri, seen } = await trunkApp(t, [{ name: 'carrier', addresses: ['192.0.2.0/24'], username: null, password: null, outboundUri: null }]);
  const peer = call(t, uri, ['pbx', 'secret']);
  await peer.finished();
  t.equal(peer.received(403, 'INVITE').length, 1);
  t.equal(peer.received(407, 'INVITE').length, 0, 'no challenge: there is nothing to authenticate as');
  t.same(seen, ['reject']);
});

t.test('with a credential trunk: 407 first, then the trunk on the right password, 403 on a wrong one', { skip }, async (t) => {
  const trunks = [
    { name: 'carrier', addresses: ['192.0.2.0/24'], username: null, password: null, outboundUri: null },
    { name: 'pbx', addresses: [], username: 'pbx', password: 'secret', outboundUri: null },
  ];
  const { uri, seen } = await trunkApp(t, trunks);
  const right = call(t, uri, ['pbx', 'secret']);
  await right.finished();
  t.match(right.received(407, 'INVITE')[0]?.headers?.['proxy-authenticate'], /^Digest realm="onecc\.test", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
  t.equal(right.received(480, 'INVITE')[0]?.headers?.['x-test'], 'pbx', 'authenticated as the pbx trunk');
  const wrong = call(t, uri, ['pbx', 'guess']);
  await wrong.finished();
  t.equal(wrong.received(407, 'INVITE').length, 1);
  t.equal(wrong.received(403, 'INVITE').length, 1, 'the wrong password is refused, not challenged again');
  const anonymous = call(t, uri);
  await anonymous.finished();
  t.equal(anonymous.received(407, 'INVITE').length, 1, 'no credentials: challenged, and Net::SIP has nothing to answer with');
  t.same(seen, ['challenge', 'trunk', 'challenge', 'reject', 'challenge']);
});

t.test('a listed address whose trunk also has credentials must authenticate too', { skip }, async (t) => {
  const { uri, seen } = await trunkApp(t, [{ name: 'sbc', addresses: ['127.0.0.1'], username: 'sbc', password: 'pw', outboundUri: null }]);
  const peer = call(t, uri, ['sbc', 'pw']);
  await peer.finished();
  t.equal(peer.received(407, 'INVITE').length, 1);
  t.equal(peer.received(480, 'INVITE')[0]?.headers?.['x-test'], 'sbc');
  t.same(seen, ['challenge', 'trunk']);
});

t.test('identify: the most specific block wins, IPv6 blocks match IPv6 sources, and IPv4-mapped sources match IPv4 blocks', async (t) => {
  const directory = new TrunkDirectory([
    { name: 'carrier', addresses: ['10.0.0.0/8', '2001:db8::/32'], username: null, password: null, outboundUri: null },
    { name: 'pbx', addresses: ['10.1.2.3'], username: null, password: null, outboundUri: null },
  ], auth());
  // identify() reads three fields of drachtio-srf's request; a literal with those is the request as it sees it.
  const from = (source_address: string): TrunkRequest => ({ method: 'INVITE', source_address, get: () => undefined as unknown as string });
  const nameOf = (identity: TrunkIdentity) => (identity.outcome === 'trunk' ? identity.trunk.name : identity.outcome);
  t.equal(nameOf(directory.identify(from('10.1.2.3'))), 'pbx');
  t.equal(nameOf(directory.identify(from('10.1.2.4'))), 'carrier');
  t.equal(nameOf(directory.identify(from('::ffff:10.1.2.3'))), 'pbx');
  t.equal(nameOf(directory.identify(from('2001:db8:1::5'))), 'carrier');
  t.equal(nameOf(directory.identify(from('2001:db9::5'))), 'reject');
  t.equal(nameOf(directory.identify(from('11.0.0.1'))), 'reject');
});
