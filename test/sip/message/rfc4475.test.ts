import t, { type Test } from 'tap';
import {
  AbsoluteUri, NameAddr, SipParseError, SipRequest, SipResponse, SipUri, parseMessage, parseUri, unescapeUriPart,
  type SipMessageAny, type Uri,
} from '../../../src/sip/message/index';
import { loadCorpus, readCorpusFile } from '../../fixtures/sip/rfc4475';

const corpus = loadCorpus();

/** Runs the parser (datagram framing unless told) and returns the SipParseError it must throw. */
function parseError(bytes: Buffer, datagram = true): SipParseError {
  try {
    parseMessage(bytes, datagram);
  } catch (err) {
    if (err instanceof SipParseError) return err;
    throw err;
  }
  throw new Error('message was accepted');
}

function request(m: SipMessageAny): SipRequest {
  if (!(m instanceof SipRequest)) throw new Error('expected a request');
  return m;
}

function response(m: SipMessageAny): SipResponse {
  if (!(m instanceof SipResponse)) throw new Error('expected a response');
  return m;
}

function sipUri(u: Uri): SipUri {
  if (!(u instanceof SipUri)) throw new Error(`expected a sip: URI, got ${u.toString()}`);
  return u;
}

function nameAddr(c: NameAddr | '*' | undefined): NameAddr {
  if (!(c instanceof NameAddr)) throw new Error('expected a Contact address');
  return c;
}

/** What each invalid message must be rejected with: the status, and a reason naming the fault where it is meaningful. */
const REJECTIONS: Record<string, { status: number; reason?: RegExp }> = {
  'badinv01.dat': { status: 400, reason: /^Bad Via header/ },
  'clerr.dat': { status: 400, reason: /Content-Length 9999 is larger than the body/ },
  'ncl.dat': { status: 400, reason: /Content-Length: -999/ },
  'scalar02.dat': { status: 400, reason: /^Bad CSeq header/ },
  'scalarlg.dat': { status: 400, reason: /^Bad CSeq header/ },
  'quotbal.dat': { status: 400, reason: /^Bad To header: unterminated quoted string/ },
  'ltgtruri.dat': { status: 400, reason: /Request-URI/ },
  'lwsruri.dat': { status: 400, reason: /Request-Line/ },
  'lwsstart.dat': { status: 400, reason: /Request-Line/ },
  'trws.dat': { status: 400, reason: /Request-Line/ },
  'escruri.dat': { status: 400, reason: /Request-URI must not contain headers/ },
  'regbadct.dat': { status: 400, reason: /^Bad Contact header/ },
  'badaspec.dat': { status: 400, reason: /^Bad To header/ },
  'baddn.dat': { status: 400, reason: /^Bad (From|To) header: display name/ },
  'badvers.dat': { status: 505 },
  'mismatch01.dat': { status: 400, reason: /CSeq method does not match/ },
  'mismatch02.dat': { status: 501 },
  'bigcode.dat': { status: 400, reason: /Status/ },
  'insuf.dat': { status: 400, reason: /^Missing (Call-ID|From|To) header/ },
  'multi01.dat': { status: 400, reason: /^More than one/ },
  'mcl01.dat': { status: 400, reason: /^Conflicting Content-Length/ },
};

/** The values a correct parse of each accepted message yields (RFC 4475 §3.1.1, §3.3, §3.4). */
const VALUES: Record<string, (t: Test, m: SipMessageAny, bytes: Buffer) => void> = {
  'wsinv.dat'(t, m) {
    const req = request(m);
    t.equal(req.method, 'INVITE');
    t.equal(sipUri(req.uri).user, 'vivekg');
    t.equal(sipUri(req.uri).params.get('unknownparam'), null);
    t.equal(m.to.tag, '1918181833n');
    t.equal(m.to.uri.toString(), 'sip:vivekg@chair-dnrc.example.com');
    // "J Rosenberg \\\"" on the wire: an escaped backslash then an escaped quote.
    t.equal(m.from.displayName, 'J Rosenberg \\"');
    t.equal(m.from.tag, '98asjd8');
    t.equal(m.getHeader('Max-Forwards'), '0068');
    t.equal(Number(m.getHeader('max-forwards')), 68);
    t.same(m.cseq, { seq: 9, method: 'INVITE' });
    t.same(m.vias.map((v) => [v.protocol, v.transport, v.host, v.branch]), [
      ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'],
      ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    const contact = nameAddr(m.contacts[0]);
    t.equal(m.contacts.length, 1);
    t.equal(contact.displayName, 'Quoted string ""');
    t.same(contact.params.entries(), [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']]);
    t.equal(m.getHeader('NewFangledHeader'), 'newfangled value continued newfangled value');
    t.equal(m.getHeader('unknownheaderwithunusualvalue'), ';;,,;;,;');
    t.equal(m.getHeader('Subject'), '');
    const route = sipUri(m.routes[0]!.uri);
    t.same(route.params.entries(), [['lr', null], ['unknownwith', 'value'], ['unknown-no-value', null]]);
    t.equal(m.body.length, 150);
  },
  'intmeth.dat'(t, m) {
    const req = request(m);
    t.equal(req.method, "!interesting-Method0123456789_*+`.%indeed'~");
    t.equal(m.cseq.method, req.method);
    const uri = sipUri(req.uri);
    t.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    t.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    t.equal(uri.host, 'example.com');
    t.equal(m.to.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    t.equal(m.from.displayRaw, "token1~` token2'+_ token3*%!.-");
    t.equal(m.from.params.get("fromParam''~+*_!.-%"), '"работающий"');
    t.equal(m.from.tag, "_token~1'+`*%!-.");
    t.equal(m.callId, 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    // The value starts with a UTF-8 BOM, which must survive (String#trim would drop it).
    t.equal(m.getHeader("extensionHeader-!.%*+_`'~"), '\ufeff大停電');
  },
  'esc01.dat'(t, m) {
    const uri = sipUri(request(m).uri);
    t.equal(unescapeUriPart(uri.user!), 'sips:user@example.com');
    t.equal(uri.host, 'example.net');
    t.ok(m.to.uri.equals(parseUri('sip:user@example.com')), 'To sip:%75se%72@ equals sip:user@');
    t.ok(parseUri('sip:user@example.com').equals(m.to.uri), 'and the other way round');
    t.equal(unescapeUriPart(sipUri(m.from.uri).user!), 'I have spaces');
    const contact = nameAddr(m.contacts[0]).uri;
    const plain = parseUri('sip:caller@host5.example.net;lr;name=value%2541');
    t.ok(contact.equals(plain), 'escaped Contact equals its unescaped form');
    t.ok(plain.equals(contact));
    t.notOk(contact.equals(parseUri('sip:caller@host5.example.net;lr;name=value%2542')), 'a different param value differs');
    t.notOk(contact.equals(parseUri('sip:caller@host5.example.net;name=value%2541;maddr=x')), 'maddr on one side only differs');
    t.equal(m.getHeader('Content-Type'), 'application/sdp');
  },
  'escnull.dat'(t, m) {
    const [a, b] = m.contacts.map((c) => sipUri(nameAddr(c).uri));
    t.equal(m.contacts.length, 2);
    t.equal(a!.user, '%00');
    t.equal(b!.user, '%00%00');
    t.equal(unescapeUriPart(a!.user!), '\0');
    t.notOk(a!.equals(b!), 'the two Contacts are distinct');
    t.equal(unescapeUriPart(sipUri(m.to.uri).user!), 'null-\0-null');
  },
  'esc02.dat'(t, m) {
    const req = request(m);
    t.equal(req.method, 'RE%47IST%45R');
    t.not(req.method, 'REGISTER');
    t.equal(m.cseq.method, 'RE%47IST%45R');
    t.equal(m.to.displayName, '%Z%45');
    t.equal(m.topVia.branch, 'z9hG4bK209%fzsnel234');
    // C%6Fntact is an unknown header, not Contact.
    t.same(m.contacts.map((c) => nameAddr(c).uri.toString()), ['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com']);
    t.equal(m.getHeader('C%6Fntact'), '<sip:alias2@host2.example.com>');
  },
  'lwsdisp.dat'(t, m) {
    t.equal(m.from.displayRaw, 'caller');
    t.equal(m.from.uri.toString(), 'sip:caller@example.com');
    t.equal(m.from.tag, '323');
  },
  'longreq.dat'(t, m, bytes) {
    const text = bytes.toString('utf8');
    const tag = /;tag=([0-9]+)/.exec(text)![1]!;
    t.ok(tag.length > 150);
    t.equal(m.from.tag, tag);
    t.equal(m.vias.length, 34);
    t.equal(m.vias[0]!.host, 'sip33.example.com');
    const last = m.vias[33]!;
    t.equal(last.received, '192.0.2.5');
    t.equal(last.branch, /;branch=([a-z]+)/.exec(text)![1]);
    t.ok(last.branch!.length > 200);
    t.match(m.to.displayName, /^I have a user name of (extreme){10} proportion$/);
    const to = sipUri(m.to.uri);
    t.equal(to.port, 6000);
    t.equal(to.params.size, 3);
    t.equal(m.callId, `longreq.one${'really'.repeat(20)}longcallid`);
    t.equal(m.body.length, 150);
  },
  'dblreq.dat'(t, m) {
    t.equal(request(m).method, 'REGISTER');
    t.equal(m.body.length, 0);
    t.equal(m.callId, 'dblreq.0ha0isndaksdj99sdfafnl3lk233412');
  },
  'semiuri.dat'(t, m) {
    const uri = sipUri(request(m).uri);
    t.equal(uri.user, 'user;par=u%40example.net');
    t.equal(unescapeUriPart(uri.user!), 'user;par=u@example.net');
    t.equal(uri.host, 'example.com');
    t.equal(uri.params.size, 0);
    t.equal(m.getHeaders('Accept').length, 6);
  },
  'transports.dat'(t, m) {
    t.same(m.vias.map((v) => `${v.transport} ${v.host}`), [
      'UDP t1.example.com', 'SCTP t2.example.com', 'TLS t3.example.com', 'UNKNOWN t4.example.com', 'TCP t5.example.com',
    ]);
  },
  'mpart01.dat'(t, m) {
    t.equal(m.body.length, 553);
    t.ok(m.body.includes(0x00), 'binary part has NUL octets');
    t.match(m.getHeader('Content-Type'), /^multipart\/mixed/);
  },
  'unreason.dat'(t, m) {
    const res = response(m);
    t.equal(res.status, 200);
    t.equal(res.reason, '= 2**3 * 5**2 но сто девяносто девять - простое');
    t.equal(m.body.length, 154);
  },
  'noreason.dat'(t, m) {
    const res = response(m);
    t.equal(res.status, 100);
    t.equal(res.reason, '');
  },
  'badbranch.dat'(t, m) {
    t.equal(m.topVia.branch, 'z9hG4bK');
  },
  'unkscm.dat'(t, m) {
    const uri = request(m).uri;
    t.type(uri, AbsoluteUri);
    t.equal(uri.toString(), 'nobodyKnowsThisScheme:totallyopaquecontent');
  },
  'novelsc.dat'(t, m) {
    const uri = request(m).uri;
    t.type(uri, AbsoluteUri);
    t.equal((uri as AbsoluteUri).scheme, 'soap.beep');
  },
  'unksm2.dat'(t, m) {
    t.equal(m.to.uri.toString(), 'isbn:2983792873');
    t.equal(m.from.uri.toString(), 'http://www.example.com');
    t.equal(m.from.tag, '3234233');
    t.equal(nameAddr(m.contacts[0]).uri.toString(), 'name:John_Smith');
  },
  'bext01.dat'(t, m) {
    t.ok(m.hasHeader('Require'));
    t.ok(m.hasHeader('Proxy-Require'));
  },
  'invut.dat'(t, m) {
    t.equal(m.getHeader('Content-Type'), 'application/unknownformat');
  },
  'regaut01.dat'(t, m) {
    t.match(m.getHeader('Authorization'), /^NoOneKnowsThisScheme/);
  },
  'bcast.dat'(t, m) {
    t.equal(m.vias[1]!.host, '255.255.255.255');
  },
  'zeromf.dat'(t, m) {
    t.equal(m.getHeader('Max-Forwards'), '0');
  },
  'cparam01.dat'(t, m) {
    const contact = nameAddr(m.contacts[0]);
    t.equal(contact.params.get('unknownparam'), null, 'a Contact header parameter');
    t.notOk(sipUri(contact.uri).params.has('unknownparam'), 'not a URI parameter');
    t.equal(contact.uri.toString(), 'sip:+19725552222@gw1.example.net');
  },
  'cparam02.dat'(t, m) {
    const contact = nameAddr(m.contacts[0]);
    t.notOk(contact.params.has('unknownparam'), 'not a Contact header parameter');
    t.equal(sipUri(contact.uri).params.get('unknownparam'), null, 'a URI parameter');
  },
  'regescrt.dat'(t, m) {
    const uri = sipUri(nameAddr(m.contacts[0]).uri);
    t.equal(uri.headers, 'Route=%3Csip:sip.example.com%3E');
    t.equal(unescapeUriPart(uri.headers!), 'Route=<sip:sip.example.com>');
  },
  'sdp01.dat'(t, m) {
    t.equal(m.getHeader('Accept'), 'text/nobodyKnowsThis');
  },
  'inv2543.dat'(t, m, bytes) {
    t.notOk(m.hasHeader('Content-Length'));
    t.same(m.body, bytes.subarray(bytes.indexOf('\r\n\r\n') + 4), 'body is the rest of the datagram');
    t.ok(m.body.length > 100);
    t.equal(m.topVia.branch, undefined);
    t.equal(m.from.tag, undefined);
  },
};

t.test('the corpus has the 49 messages of RFC 4475 §3', async (t) => {
  t.equal(corpus.length, 49);
  for (const name of [...Object.keys(REJECTIONS), ...Object.keys(VALUES)]) t.ok(corpus.some((c) => c.name === name), name);
});

for (const c of corpus) {
  t.test(`${c.name} (§${c.section}, ${c.kind}): ${c.expected}`, async (t) => {
    if (c.kind === 'invalid') {
      if (c.name === 'baddate.dat') {
        // §3.1.2.12: only an element that uses Date must reject; this parser ignores it.
        try {
          t.equal(parseMessage(c.bytes, true).getHeader('Date'), 'Fri, 01 Jan 2010 16:00:00 EST');
        } catch (err) {
          t.type(err, SipParseError);
          t.equal((err as SipParseError).status, 400);
        }
        return;
      }
      const rule = REJECTIONS[c.name];
      if (!rule) throw new Error(`no expected rejection for ${c.name}`);
      const err = parseError(c.bytes);
      t.equal(err.status, rule.status, err.reason);
      if (rule.reason) t.match(err.reason, rule.reason);
      return;
    }
    const message = parseMessage(c.bytes, true);
    VALUES[c.name]?.(t, message, c.bytes);
    t.ok(message.callId.length > 0);
  });
}

t.test('baddn fails because of the unquoted display name, also when its header section is terminated', async (t) => {
  const err = parseError(readCorpusFile('extra/baddn-terminated.dat'));
  t.equal(err.status, 400);
  t.match(err.reason, /^Bad (From|To) header: display name with non-token characters must be quoted/);
  // The archive copy lacks the empty line: on a stream that is an incomplete message, not a display-name fault.
  t.equal(parseError(readCorpusFile('baddn.dat'), false).reason, 'Incomplete header section');
});

t.test('clerr on a stream is an incomplete message, as the framer would wait for more', async (t) => {
  const err = parseError(readCorpusFile('clerr.dat'), false);
  t.equal(err.status, 400);
  t.match(err.reason, /larger than the body/);
});

t.test('rejections of requests carry the raw header fields for a stateless error response', async (t) => {
  for (const name of ['badinv01.dat', 'mismatch02.dat', 'badvers.dat', 'insuf.dat', 'escruri.dat']) {
    const err = parseError(readCorpusFile(name));
    t.ok(err.raw?.isRequest, name);
    t.ok(err.raw!.headers.some((h) => h.name.toLowerCase() === 'via'), `${name} raw has a Via`);
  }
});

t.test('every accepted message survives parse → toBuffer → parse (stream framing)', async (t) => {
  for (const c of corpus.filter((c) => c.kind !== 'invalid')) {
    const first = parseMessage(c.bytes, true);
    const wire = first.toBuffer();
    const second = parseMessage(wire, false);
    if (first instanceof SipRequest) t.equal((second as SipRequest).method, first.method, `${c.name} method`);
    else t.equal((second as SipResponse).status, (first as SipResponse).status, `${c.name} status`);
    const addedLength = first.hasHeader('content-length') ? 0 : 1;
    t.equal(second.headers.length, first.headers.length + addedLength, `${c.name} header count`);
    t.same(second.body, first.body, `${c.name} body`);
    t.equal(second.getHeader('content-length'), String(first.body.length), `${c.name} Content-Length`);
    t.same(second.toBuffer(), wire, `${c.name} serializes identically the second time`);
  }
});
