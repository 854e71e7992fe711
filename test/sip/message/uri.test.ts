import t from 'tap';
import { AbsoluteUri, Params, SipSyntaxError, SipUri, parseUri, unescapeUriPart } from '../../../src/sip/message/index';

function sip(text: string): SipUri {
  const uri = parseUri(text);
  if (!(uri instanceof SipUri)) throw new Error(`${text} did not parse as a sip: URI`);
  return uri;
}

t.test('sip: URI with user, password, IPv6 reference host, port, parameters and headers', async (t) => {
  const uri = sip('sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr?Subject=hi&Priority=urgent');
  t.equal(uri.scheme, 'sips');
  t.equal(uri.user, 'alice');
  t.equal(uri.password, 'secret');
  t.equal(uri.host, '[2001:db8::1]');
  t.equal(uri.hostAddress, '2001:db8::1');
  t.equal(uri.port, 5071);
  t.same(uri.params.entries(), [['transport', 'tcp'], ['lr', null]]);
  t.equal(uri.headers, 'Subject=hi&Priority=urgent');
  t.equal(uri.toString(), 'sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr?Subject=hi&Priority=urgent');
});

t.test('scheme is case-insensitive and normalized; host-only and IPv4 URIs', async (t) => {
  const a = sip('SIP:example.com');
  t.equal(a.scheme, 'sip');
  t.equal(a.user, undefined);
  t.equal(a.port, undefined);
  const b = sip('sip:192.0.2.1:5060');
  t.equal(b.host, '192.0.2.1');
  t.equal(b.port, 5060);
  t.equal(sip('sip:[::1]').hostAddress, '::1');
});

t.test('tel:, urn: and unknown schemes are AbsoluteUri kept as written', async (t) => {
  const tel = parseUri('tel:+1-201-555-0123;phone-context=example.com');
  t.type(tel, AbsoluteUri);
  t.equal((tel as AbsoluteUri).scheme, 'tel');
  t.equal((tel as AbsoluteUri).rest, '+1-201-555-0123;phone-context=example.com');
  t.equal(tel.isSip, false);
  t.equal(tel.toString(), 'tel:+1-201-555-0123;phone-context=example.com');
  t.equal(parseUri('urn:service:sos').toString(), 'urn:service:sos');
  t.ok(parseUri('TEL:+1').equals(parseUri('tel:+1')), 'scheme compares case-insensitively');
  t.notOk(parseUri('tel:+1').equals(parseUri('tel:+2')));
  t.notOk(parseUri('tel:+1').equals(parseUri('sip:+1@h')));
});

t.test('escapes: kept as written, validated, and resolved by unescapeUriPart', async (t) => {
  const uri = sip('sip:I%20have%20spaces@example.net');
  t.equal(uri.user, 'I%20have%20spaces');
  t.equal(unescapeUriPart(uri.user!), 'I have spaces');
  t.equal(unescapeUriPart('100%25'), '100%');
  t.equal(unescapeUriPart('no-escape'), 'no-escape');
  for (const bad of ['sip:a%2@h', 'sip:a%zz@h', 'sip:a@h;p=%G1', 'sip:a@h?x=%']) {
    t.throws(() => parseUri(bad), SipSyntaxError, bad);
  }
});

t.test('malformed URIs throw SipSyntaxError', async (t) => {
  const cases: Record<string, RegExp> = {
    'sip:a@h:65536': /bad port/,
    'sip:a@h:': /bad port/,
    'sip:a@h:-1': /bad port/,
    'sip:a@h:5o60': /bad port/,
    'sip:a@[::1': /unterminated IPv6/,
    'sip:a@[::1]x': /junk after IPv6/,
    'sip:a@[zz]': /bad IPv6/,
    'sip:@h': /empty user/,
    'sip:a@': /no host/,
    'sip:': /no host/,
    'sip:a@h;;x': /empty parameter/,
    'sip:a@h;x=': /empty value/,
    'sip:a@h?': /empty header/,
    'sip:a b@h': /white space/,
    'sip:<a@h>': /angle brackets/,
    'sip:a@h!x': /not allowed in host/,
    'sip:a#b@h': /not allowed in URI user/,
    noscheme: /no valid scheme/,
    ':x': /no valid scheme/,
    '1sip:a@h': /no valid scheme/,
    'tel:': /empty after its scheme/,
  };
  for (const [text, reason] of Object.entries(cases)) {
    t.throws(() => parseUri(text), { name: 'SipSyntaxError', message: reason }, text);
  }
  t.equal(sip('sip:a@h:65535').port, 65535);
  t.equal(sip('sip:a@h:0').port, 0);
});

t.test('equality follows RFC 3261 §19.1.4', async (t) => {
  const eq = (a: string, b: string): boolean => {
    const ab = parseUri(a).equals(parseUri(b));
    t.equal(parseUri(b).equals(parseUri(a)), ab, `${a} vs ${b} is symmetric`);
    return ab;
  };
  t.ok(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'), 'RFC example 1');
  t.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'), 'params on one side only are ignored');
  t.ok(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5'));
  t.ok(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'), 'parameter order');
  t.ok(eq('sip:a@h;tr%61nsport=tcp', 'sip:a@h;transport=tcp'), 'escaped parameter name');
  t.notOk(eq('sip:a@h;n%61me=x', 'sip:a@h;name=y'), 'escaped parameter name, different value');
  t.notOk(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'), 'user is case-sensitive');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'), 'explicit default port differs');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'), 'transport on one side only');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;user=phone'), 'user param on one side only');
  t.notOk(eq('sip:bob@biloxi.com;maddr=x', 'sip:bob@biloxi.com'), 'maddr on one side only');
  t.notOk(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'));
  t.notOk(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'), 'headers must match');
  t.notOk(eq('sip:a@h', 'sips:a@h'), 'sip vs sips');
  t.notOk(eq('sip:a:pw@h', 'sip:a:PW@h'), 'password is case-sensitive');
  t.ok(eq('sip:a:p%77@h', 'sip:a:pw@h'), 'password unescaped');
});

t.test('clone is deep and toString round-trips', async (t) => {
  const uri = sip('sip:bob@h;lr');
  const copy = uri.clone();
  copy.params.set('transport', 'tls');
  copy.port = 5061;
  t.equal(uri.toString(), 'sip:bob@h;lr');
  t.equal(copy.toString(), 'sip:bob@h:5061;lr;transport=tls');
  t.equal(new SipUri('sip', 'h', undefined, 'u', undefined, new Params().set('a', 'b')).toString(), 'sip:u@h;a=b');
});
