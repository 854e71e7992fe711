import t from 'tap';
import { DigestAuthenticator, digestHa1, digestResponse, parseDigestCredentials } from '../../../src/channels/voice/digest-auth';

// RFC 2617 §3.5's worked example, and RFC 7616 §3.9.1's MD5 one.
const RFC2617 = {
  username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b', response: '6629fae49393a05397450978507c4ef1',
};
const RFC7616 = {
  username: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', response: '8ca523f5e9506fed4657c9700eebdbec',
};

t.test('digestResponse reproduces the worked examples of RFC 2617 and RFC 7616', async (t) => {
  for (const example of [RFC2617, RFC7616]) {
    const ha1 = digestHa1(example.username, example.realm, example.password);
    t.equal(digestResponse({ ha1, nonce: example.nonce, method: 'GET', uri: example.uri, qop: example.qop, nc: example.nc, cnonce: example.cnonce }), example.response, example.realm);
  }
});

t.test('parseDigestCredentials reads quoted and bare parameters, and refuses other schemes', async (t) => {
  t.same(parseDigestCredentials('Digest username="Mufasa", realm="testrealm@host.com", nc=00000001, qop=auth, opaque="a\\"b"'), {
    username: 'Mufasa', realm: 'testrealm@host.com', nc: '00000001', qop: 'auth', opaque: 'a"b',
  });
  t.equal(parseDigestCredentials('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='), undefined);
});

function authorization(params: Record<string, string>): string {
  return `Digest ${Object.entries(params).map(([k, v]) => (k === 'nc' || k === 'qop' || k === 'algorithm' ? `${k}=${v}` : `${k}="${v}"`)).join(', ')}`;
}

/** What a client answers to `challenge` with this password. */
function answer(challenge: string, method: string, username: string, password: string, uri = 'sip:onecc.test'): string {
  const { realm, nonce } = parseDigestCredentials(challenge)!;
  const fields = { username, realm: realm!, nonce: nonce!, uri, qop: 'auth', nc: '00000001', cnonce: 'c0ffee' };
  const response = digestResponse({ ...fields, method, ha1: digestHa1(username, realm!, password) });
  return authorization({ ...fields, response, algorithm: 'MD5' });
}

t.test('DigestAuthenticator: its own challenge answered with the right password passes; a wrong one, an unknown user or a missing header do not', async (t) => {
  const auth = new DigestAuthenticator({ realm: 'onecc.test', nonceSecret: 's3cret', nonceTtlSeconds: 60 });
  const ha1Of = (user: string) => (user === 'alice' ? digestHa1('alice', 'onecc.test', 'wonderland') : undefined);
  const challenge = auth.challenge();
  t.match(challenge, /^Digest realm="onecc\.test", nonce="[A-Za-z0-9_-]+", algorithm=MD5, qop="auth"$/);
  t.same(auth.verify('REGISTER', answer(challenge, 'REGISTER', 'alice', 'wonderland'), ha1Of), { result: 'ok', username: 'alice' });
  t.match(auth.verify('REGISTER', answer(challenge, 'REGISTER', 'alice', 'looking-glass'), ha1Of), { result: 'rejected', username: 'alice' });
  t.match(auth.verify('INVITE', answer(challenge, 'REGISTER', 'alice', 'wonderland'), ha1Of), { result: 'rejected' }, 'the method is part of the digest');
  t.match(auth.verify('REGISTER', answer(challenge, 'REGISTER', 'mallory', 'x'), ha1Of), { result: 'rejected', reason: 'unknown user' });
  t.same(auth.verify('REGISTER', undefined, ha1Of), { result: 'missing' });
  t.same(auth.verify('REGISTER', answer(new DigestAuthenticator({ realm: 'elsewhere', nonceSecret: null, nonceTtlSeconds: 60 }).challenge(), 'REGISTER', 'alice', 'wonderland'), ha1Of), { result: 'missing' }, 'credentials for another realm');
  t.ok(auth.challenge(true).endsWith(', stale=true'));
});

t.test('DigestAuthenticator: a nonce is checked without state by any node with the same key, and goes stale after its lifetime', async (t) => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const nodeA = new DigestAuthenticator({ realm: 'onecc.test', nonceSecret: 'shared', nonceTtlSeconds: 60, now: clock });
  const nodeB = new DigestAuthenticator({ realm: 'onecc.test', nonceSecret: 'shared', nonceTtlSeconds: 60, now: clock });
  const stranger = new DigestAuthenticator({ realm: 'onecc.test', nonceSecret: 'other', nonceTtlSeconds: 60, now: clock });
  const ha1Of = () => digestHa1('alice', 'onecc.test', 'wonderland');
  const credentials = answer(nodeA.challenge(), 'REGISTER', 'alice', 'wonderland');
  t.same(nodeB.verify('REGISTER', credentials, ha1Of), { result: 'ok', username: 'alice' }, 'node B takes node A\'s nonce');
  t.same(stranger.verify('REGISTER', credentials, ha1Of), { result: 'stale', username: 'alice' }, 'a key that did not sign it: stale, so the client retries by itself');
  now += 60_000;
  t.equal(nodeB.verify('REGISTER', credentials, ha1Of).result, 'ok', 'still fresh at exactly its lifetime');
  now += 1;
  t.same(nodeB.verify('REGISTER', credentials, ha1Of), { result: 'stale', username: 'alice' });
  t.equal(nodeB.verify('REGISTER', answer(nodeA.challenge(), 'REGISTER', 'alice', 'nope'), ha1Of).result, 'rejected', 'a wrong password is never just stale');
});

t.test('DigestAuthenticator: the RFC 2617 example itself is a right answer to a nonce onecc never issued: stale, not ok', async (t) => {
  const auth = new DigestAuthenticator({ realm: RFC2617.realm, nonceSecret: 'k', nonceTtlSeconds: 60 });
  const header = authorization({ username: RFC2617.username, realm: RFC2617.realm, nonce: RFC2617.nonce, uri: RFC2617.uri, qop: 'auth', nc: RFC2617.nc, cnonce: RFC2617.cnonce, response: RFC2617.response });
  const ha1Of = () => digestHa1(RFC2617.username, RFC2617.realm, RFC2617.password);
  t.same(auth.verify('GET', header, ha1Of), { result: 'stale', username: 'Mufasa' });
  t.equal(auth.verify('POST', header, ha1Of).result, 'rejected');
});
