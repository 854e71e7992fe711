// Spec §10 (c): REGISTER through srf middleware: a drachtio-srf registrar built from drachtio-mw-digest-auth
// and drachtio-mw-registration-parser challenges Net::SIP with 401, accepts its credentials, refuses a wrong
// password with 403, and sees an unregister.
import t from 'tap';
import type Srf from 'drachtio-srf';
import { connectApp, sendResponse, startDrachtio, type DrachtioUnderTest } from '../../helpers/drachtio-harness';
import { NetSipPeer, netSipMissing } from '../../helpers/peers/net-sip-peer';
import digestAuth = require('drachtio-mw-digest-auth');
import registrationParser = require('drachtio-mw-registration-parser');

const skip = netSipMissing();

const USERS: Record<string, string> = { alice: 'wonderland' };
const REALM = 'onecc.test';

interface Registration {
  type: 'register' | 'unregister';
  expires: number;
  aor: string;
  contact: Array<{ uri: string }>;
}

interface Registrar {
  /** Every REGISTER that reached the app, authenticated or not. */
  seen: Srf.SrfRequest[];
  /** Registrations that passed authentication. */
  accepted: Registration[];
}

async function registrarApp(t: { teardown(fn: () => unknown): void }, sut: DrachtioUnderTest): Promise<Registrar> {
  const registrar: Registrar = { seen: [], accepted: [] };
  await connectApp(t, sut, (srf) => {
    srf.use('register', (req, _res, next) => {
      registrar.seen.push(req);
      next();
    });
    srf.use('register', digestAuth({ realm: REALM, passwordLookup: (username: string, _realm: string, cb: (err: Error | null, password?: string) => void) => cb(null, USERS[username]) }));
    srf.use('register', registrationParser);
    srf.use('register', (req, res) => {
      const registration = (req as Srf.SrfRequest & { registration: Registration }).registration;
      registrar.accepted.push(registration);
      const contact = req.get('Contact');
      sendResponse(res, 200, { headers: { Contact: `${contact};expires=${registration.expires}`, Expires: String(registration.expires) } });
    });
  });
  return registrar;
}

t.test('Net::SIP registers: 401 with a digest challenge, then 200 with its Contact and expiry', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const registrar = await registrarApp(t, sut);
  const peer = new NetSipPeer(t, { role: 'register', user: 'alice', registrar: `127.0.0.1:${sut.engine.port('udp')}`, expires: 600, auth: ['alice', 'wonderland'], timeout_s: 10 });
  const result = await peer.waitFor('registered');
  t.equal(result.status, 'OK', 'Net::SIP is registered');
  t.equal(result.code, 200);
  t.equal(Number(result.expires), 600, 'for the expiry it asked');
  const [challenge] = peer.received(401, 'REGISTER');
  t.match(challenge?.headers?.['www-authenticate'], /^Digest realm="onecc\.test", algorithm=MD5, qop="auth", nonce="/, 'the 401 carries the app challenge');
  t.ok(challenge?.headers?.to?.includes('tag='), 'the engine added a To tag to the 401');
  t.equal(registrar.seen.length, 2, 'the app saw both REGISTERs');
  t.notOk(registrar.seen[0]?.has('Authorization'));
  t.match(registrar.seen[1]?.get('Authorization'), /username="alice"/);
  t.equal(registrar.accepted.length, 1, 'one accepted registration');
  t.equal(registrar.accepted[0]?.type, 'register');
  t.equal(registrar.accepted[0]?.expires, 600);
  t.match(registrar.accepted[0]?.aor, /^sip:alice@127\.0\.0\.1/);
  t.equal(registrar.seen[1]?.get('Call-ID'), registrar.seen[0]?.get('Call-ID'), 'Net::SIP kept its Call-ID');
  t.notOk(peer.received(200, 'REGISTER')[0]?.headers?.contact?.includes(';transport=udp>'), 'the engine added no Contact of its own to the REGISTER 200');
  t.equal(await peer.finished(), 0);
});

t.test('a wrong password is refused 403 by the registrar', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const registrar = await registrarApp(t, sut);
  const peer = new NetSipPeer(t, { role: 'register', user: 'alice', registrar: `127.0.0.1:${sut.engine.port('udp')}`, auth: ['alice', 'looking-glass'], timeout_s: 10 });
  const result = await peer.waitFor('registered');
  t.equal(result.status, 'FAIL');
  t.equal(result.code, 403);
  t.equal(registrar.accepted.length, 0);
});

t.test('REGISTER with Expires 0 reaches the registrar as an unregister', { skip }, async (t) => {
  const sut = await startDrachtio(t);
  const registrar = await registrarApp(t, sut);
  const peer = new NetSipPeer(t, { role: 'register', user: 'alice', registrar: `127.0.0.1:${sut.engine.port('udp')}`, expires: 0, auth: ['alice', 'wonderland'], timeout_s: 10 });
  const result = await peer.waitFor('registered');
  t.equal(result.code, 200);
  t.equal(registrar.accepted[0]?.type, 'unregister');
});
