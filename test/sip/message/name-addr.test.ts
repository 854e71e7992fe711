import t from 'tap';
import { AbsoluteUri, NameAddr, SipRequest, SipSyntaxError, SipUri, parseMessage } from '../../../src/sip/message/index';

t.test('quoted display name: escapes resolved in displayName, kept in displayRaw', async (t) => {
  const a = NameAddr.parse('"A \\"q\\" \\\\ b, c." <sip:a@b>;tag=3');
  t.equal(a.displayName, 'A "q" \\ b, c.');
  t.equal(a.displayRaw, '"A \\"q\\" \\\\ b, c."');
  t.equal(a.tag, '3');
  t.equal(a.toString(), '"A \\"q\\" \\\\ b, c." <sip:a@b>;tag=3');
  t.equal(NameAddr.parse('"Bob"<sip:b@h>').displayName, 'Bob', 'no LWS before <');
  t.equal(NameAddr.parse('"" <sip:b@h>').displayName, '', 'empty quoted name');
});

t.test('token display name: tokens separated by LWS, kept as written', async (t) => {
  const a = NameAddr.parse('Alice  Smith <sip:a@b>');
  t.equal(a.displayRaw, 'Alice  Smith');
  t.equal(a.displayName, 'Alice  Smith');
  t.equal(NameAddr.parse('caller<sip:c@h>').displayRaw, 'caller');
  t.throws(() => NameAddr.parse('Bell, Alexander <sip:a@b>'), { message: /must be quoted/ });
  t.throws(() => NameAddr.parse('A.G. Bell (inventor) <sip:a@b>'), { message: /must be quoted/ });
});

t.test('setting displayName quotes and escapes it', async (t) => {
  const a = NameAddr.parse('<sip:a@b>');
  t.equal(a.displayName, undefined);
  a.displayName = 'Say "hi" \\';
  t.equal(a.toString(), '"Say \\"hi\\" \\\\" <sip:a@b>');
  t.equal(NameAddr.parse(a.toString()).displayName, 'Say "hi" \\');
  a.displayName = undefined;
  t.equal(a.toString(), '<sip:a@b>');
});

t.test('addr-spec form: parameters after the URI belong to the header, not the URI', async (t) => {
  const a = NameAddr.parse('sip:watson@example.com;tag=7;unknownparam;expires=60');
  const uri = a.uri as SipUri;
  t.equal(uri.toString(), 'sip:watson@example.com');
  t.equal(uri.params.size, 0);
  t.same(a.params.entries(), [['tag', '7'], ['unknownparam', null], ['expires', '60']]);
  t.equal(a.toString(), '<sip:watson@example.com>;tag=7;unknownparam;expires=60');
  const b = NameAddr.parse('<sip:watson@example.com;unknownparam>;tag=7');
  t.equal((b.uri as SipUri).params.get('unknownparam'), null);
  t.same(b.params.entries(), [['tag', '7']]);
});

t.test('addr-spec with headers or a comma must be enclosed in <>', async (t) => {
  t.throws(() => NameAddr.parse('sip:user@example.com?Route=%3Csip:sip.example.com%3E'), { message: /enclosed in <>/ });
  t.equal((NameAddr.parse('<sip:user@example.com?Route=%3Csip:x%3E>').uri as SipUri).headers, 'Route=%3Csip:x%3E');
});

t.test('header parameters: LWS around ; and =, quoted values kept with their quotes', async (t) => {
  const a = NameAddr.parse('<sip:a@b> ; tag = 1 ; reason="a;b, c" ;x');
  t.same(a.params.entries(), [['tag', '1'], ['reason', '"a;b, c"'], ['x', null]]);
  a.tag = 'zz';
  t.equal(a.params.get('TAG'), 'zz', 'names are case-insensitive');
  a.tag = undefined;
  t.equal(a.params.has('tag'), false);
});

t.test('non-SIP URIs are accepted in name-addr', async (t) => {
  const a = NameAddr.parse('"Office" <tel:+15551234;ext=22>;tag=9');
  t.type(a.uri, AbsoluteUri);
  t.equal(a.uri.toString(), 'tel:+15551234;ext=22');
  t.equal(a.tag, '9');
});

t.test('malformed name-addr values throw SipSyntaxError', async (t) => {
  for (const bad of ['"unterminated <sip:a@b>', '"x" sip:a@b', '<sip:a@b', '<sip:a@b> junk', '<sip:a@b>;', '<sip:a@b>;=1', '< sip:a@b >', '', '<>']) {
    t.throws(() => NameAddr.parse(bad), SipSyntaxError, JSON.stringify(bad));
  }
});

t.test('clone is deep', async (t) => {
  const a = NameAddr.parse('"A" <sip:a@b;lr>;tag=1');
  const b = a.clone();
  b.tag = '2';
  (b.uri as SipUri).params.delete('lr');
  t.equal(a.toString(), '"A" <sip:a@b;lr>;tag=1');
  t.equal(b.toString(), '"A" <sip:a@b>;tag=2');
});

const REGISTER = (contacts: string): Buffer =>
  Buffer.from(
    'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:u@example.com>;tag=1\r\n' +
      `To: <sip:u@example.com>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n${contacts}Expires: 0\r\nContent-Length: 0\r\n\r\n`,
  );

t.test('a wildcard Contact is reported as "*" by message.contacts', async (t) => {
  const m = parseMessage(REGISTER('Contact: *\r\n'), true) as SipRequest;
  t.same(m.contacts, ['*']);
});

t.test('message.contacts splits comma lists and repeated fields, commas in quotes and <> do not split', async (t) => {
  const m = parseMessage(REGISTER('Contact: "a, b" <sip:a@h;x=1>;q=0.5, <sip:b@h>\r\nm: sip:c@h;expires=9\r\n'), true);
  const contacts = m.contacts as NameAddr[];
  t.same(contacts.map((c) => c.uri.toString()), ['sip:a@h;x=1', 'sip:b@h', 'sip:c@h']);
  t.equal(contacts[0]!.displayName, 'a, b');
  t.equal(contacts[0]!.params.get('q'), '0.5');
  t.equal(contacts[2]!.params.get('expires'), '9');
});
