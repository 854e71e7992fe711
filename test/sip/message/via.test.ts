import t from 'tap';
import { BRANCH_MAGIC_COOKIE, Params, SipSyntaxError, Via } from '../../../src/sip/message/index';

t.test('a plain Via: protocol, transport, host, port, branch', async (t) => {
  const v = Via.parse('SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds');
  t.equal(v.protocol, 'SIP/2.0');
  t.equal(v.transport, 'UDP');
  t.equal(v.host, 'pc33.atlanta.com');
  t.equal(v.port, 5066);
  t.equal(v.branch, 'z9hG4bK776asdhds');
  t.ok(v.branch!.startsWith(BRANCH_MAGIC_COOKIE));
  t.equal(v.received, undefined);
  t.equal(v.rport, undefined);
  t.equal(v.toString(), 'SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds');
});

t.test('received and rport (RFC 3581): empty rport is null, a filled one a number', async (t) => {
  const asked = Via.parse('SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bKa');
  t.equal(asked.rport, null);
  const filled = Via.parse('SIP/2.0/UDP 10.0.0.1;rport=40123;received=192.0.2.7;branch=z9hG4bKa');
  t.equal(filled.rport, 40123);
  t.equal(filled.received, '192.0.2.7');
  t.equal(Via.parse('SIP/2.0/UDP h;received=2001:db8::9;branch=z9hG4bKa').received, '2001:db8::9', 'bare IPv6 received');
  t.throws(() => Via.parse('SIP/2.0/UDP h;rport=abc'), { message: /bad rport/ });
  t.throws(() => Via.parse('SIP/2.0/UDP h;rport=123456'), { message: /bad rport/ });
  for (const name of ['branch', 'received', 'ttl', 'maddr']) {
    t.throws(() => Via.parse(`SIP/2.0/UDP h;${name}`), { message: /needs a value/ }, name);
  }
});

t.test('IPv6 sent-by with and without port', async (t) => {
  const v = Via.parse('SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKx');
  t.equal(v.host, '[2001:db8::9]');
  t.equal(v.hostAddress, '2001:db8::9');
  t.equal(v.port, 5061);
  t.equal(v.toString(), 'SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKx');
  const w = Via.parse('SIP/2.0/TCP [::1];branch=z9hG4bKy');
  t.equal(w.host, '[::1]');
  t.equal(w.port, undefined);
});

t.test('white space around / ; and = is allowed, transport and protocol are upper-cased', async (t) => {
  const v = Via.parse('  sip  /  2.0 /\ttcp   spindle.example.com   ;  branch  =   z9hG4bK9ikj8 ; rport ');
  t.equal(v.protocol, 'SIP/2.0');
  t.equal(v.transport, 'TCP');
  t.equal(v.host, 'spindle.example.com');
  t.equal(v.branch, 'z9hG4bK9ikj8');
  t.equal(v.rport, null);
  t.equal(v.toString(), 'SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8;rport');
});

t.test('unknown transports and parameters are kept', async (t) => {
  const v = Via.parse('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx;alias;keep=30');
  t.equal(v.transport, 'WSS');
  t.same(v.params.entries(), [['branch', 'z9hG4bKx'], ['alias', null], ['keep', '30']]);
});

t.test('malformed Via values throw SipSyntaxError', async (t) => {
  const bad = ['SIP/2.0 h', 'SIP/2.0/UDP', 'SIP/2.0/UDP ;branch=x', 'SIP/2.0/UDP h;;branch=x', 'SIP/2.0/UDP h junk',
    'SIP/2.0/UDP h:99999', 'SIP/2.0/UDP [::1', 'SIP//UDP h', '/2.0/UDP h', ''];
  for (const v of bad) t.throws(() => Via.parse(v), SipSyntaxError, JSON.stringify(v));
});

t.test('a built Via serializes and clone is deep', async (t) => {
  const v = new Via('UDP', '192.0.2.1', 5060, new Params().set('branch', 'z9hG4bKabc').set('rport'));
  t.equal(v.toString(), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport');
  const c = v.clone();
  c.params.set('received', '198.51.100.1');
  c.params.set('rport', '7000');
  t.equal(v.toString(), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport');
  t.equal(c.toString(), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport=7000;received=198.51.100.1');
});
