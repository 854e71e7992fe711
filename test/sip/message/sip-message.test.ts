import t from 'tap';
import {
  NameAddr, Params, SipRequest, SipResponse, SipSyntaxError, Via, canonicalHeaderName, headerKey, parseCSeq, parseMessage, parseUri,
} from '../../../src/sip/message/index';

const INVITE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP p1.example.com;branch=z9hG4bKp1',
  'VIA: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2',
  'Max-Forwards: 70',
  't: Bob <sip:bob@biloxi.example.com>',
  'f: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'i: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'm: <sip:alice@pc33.atlanta.example.com>',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'c: application/sdp',
  's: lunch',
  'k: timer, 100rel',
  'l: 4',
  '',
  'v=0\n',
].join('\r\n');

const invite = (): SipRequest => parseMessage(Buffer.from(INVITE), true) as SipRequest;
const names = (m: { headers: Array<{ name: string }> }): string[] => m.headers.map((h) => h.name);

t.test('compact header names are the same headers as their long forms (RFC 3261 §7.3.3)', async (t) => {
  const m = invite();
  t.equal(m.getHeader('Call-ID'), 'a84b4c76e66710@pc33.atlanta.example.com');
  t.equal(m.getHeader('content-type'), 'application/sdp');
  t.equal(m.getHeader('Subject'), 'lunch');
  t.same(m.getHeaders('Supported'), ['timer', '100rel']);
  t.equal(m.getHeader('Content-Length'), '4');
  t.equal(m.to.uri.toString(), 'sip:bob@biloxi.example.com');
  t.equal(m.from.tag, '1928301774');
  t.equal(m.contacts.length, 1);
  for (const [short, long] of [['i', 'call-id'], ['m', 'contact'], ['e', 'content-encoding'], ['l', 'content-length'],
    ['c', 'content-type'], ['f', 'from'], ['s', 'subject'], ['k', 'supported'], ['t', 'to'], ['v', 'via'], ['o', 'event'],
    ['r', 'refer-to'], ['b', 'referred-by'], ['u', 'allow-events'], ['x', 'session-expires']]) {
    t.equal(headerKey(short!.toUpperCase()), long, short);
  }
  t.equal(headerKey('z'), 'z', 'an unknown one-letter name stays itself');
});

t.test('header lookup is case-insensitive and list headers split into elements', async (t) => {
  const m = invite();
  t.ok(m.hasHeader('mAx-FoRwArDs'));
  t.notOk(m.hasHeader('Require'));
  t.equal(m.getHeader('Require'), undefined);
  t.same(m.getHeaders('require'), []);
  t.equal(m.getHeaders('VIA').length, 3);
  t.same(m.vias.map((v) => v.host), ['pc33.atlanta.example.com', 'p1.example.com', 'p2.example.com']);
  t.equal(m.topVia.branch, 'z9hG4bK776asdhds');
  t.same(m.routes.map((r) => r.uri.toString()), ['sip:p1.example.com;lr', 'sip:p2.example.com;lr']);
  t.same(m.recordRoutes, []);
  t.same(m.cseq, { seq: 314159, method: 'INVITE' });
  t.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
});

t.test('canonical names for headers onecc adds', async (t) => {
  t.equal(canonicalHeaderName('call-id'), 'Call-ID');
  t.equal(canonicalHeaderName('i'), 'Call-ID');
  t.equal(canonicalHeaderName('CSEQ'), 'CSeq');
  t.equal(canonicalHeaderName('www-authenticate'), 'WWW-Authenticate');
  t.equal(canonicalHeaderName('v'), 'Via');
  t.equal(canonicalHeaderName('x-onecc-queue-id'), 'X-Onecc-Queue-Id');
});

t.test('setHeader replaces every field of that name in the place of the first one', async (t) => {
  const m = invite();
  m.setHeader('Via', 'SIP/2.0/UDP only.example.com;branch=z9hG4bKonly');
  t.same(m.getHeaders('via'), ['SIP/2.0/UDP only.example.com;branch=z9hG4bKonly']);
  t.equal(names(m)[0], 'Via', 'takes the place of the first field, with the name as given');
  m.setHeader('X-New', 'a');
  t.equal(names(m).at(-1), 'X-New', 'a new header is appended');
  m.setHeader('x-new', undefined);
  t.notOk(m.hasHeader('X-New'), 'undefined removes');
});

t.test('addHeader appends, prependHeader goes before the first field of the same name', async (t) => {
  const m = invite();
  m.addHeader('record-route', '<sip:rr2.example.com;lr>');
  m.prependHeader('Record-Route', '<sip:rr1.example.com;lr>');
  t.same(m.recordRoutes.map((r) => r.uri.toString()), ['sip:rr1.example.com;lr', 'sip:rr2.example.com;lr']);
  t.same(names(m).filter((n) => n === 'Record-Route'), ['Record-Route', 'Record-Route'], 'canonical name');
  m.prependHeader('Via', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnew');
  t.equal(names(m)[0], 'Via');
  t.same(m.vias.map((v) => v.branch), ['z9hG4bKnew', 'z9hG4bK776asdhds', 'z9hG4bKp1', 'z9hG4bKp2']);
});

t.test('removeHeader removes every field of that name, compact ones included', async (t) => {
  const m = invite();
  m.removeHeader('Via');
  t.notOk(m.hasHeader('v'));
  t.throws(() => m.topVia, SipSyntaxError);
  t.same(m.vias, []);
});

t.test('shiftListHeader takes one element at a time across comma lists and fields', async (t) => {
  const m = invite();
  t.equal(m.shiftListHeader('Via'), 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
  t.equal(m.topVia.host, 'p1.example.com', 'views refresh');
  t.equal(m.shiftListHeader('via'), 'SIP/2.0/TCP p1.example.com;branch=z9hG4bKp1');
  t.equal(m.shiftListHeader('v'), 'SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2');
  t.equal(m.shiftListHeader('Via'), undefined);
  t.notOk(m.hasHeader('Via'));
  t.equal(m.shiftListHeader('Route'), '<sip:p1.example.com;lr>');
  t.same(m.getHeaders('Route'), ['<sip:p2.example.com;lr>']);
});

t.test('setTopVia rewrites only the first element of the first Via field', async (t) => {
  const m = invite();
  const top = m.topVia.clone();
  top.params.set('received', '192.0.2.4');
  top.params.set('rport', '5070');
  m.setTopVia(top);
  t.same(m.getHeaders('Via'), [
    'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.4;rport=5070',
    'SIP/2.0/TCP p1.example.com;branch=z9hG4bKp1',
    'SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2',
  ]);
  t.equal(m.topVia.received, '192.0.2.4');
  t.equal(m.topVia.rport, 5070);
  const bare = new SipResponse(200, 'OK');
  t.throws(() => bare.setTopVia(new Via('UDP', 'h')), SipSyntaxError);
});

t.test('typed views are refreshed after every header change', async (t) => {
  const m = invite();
  t.equal(m.from.tag, '1928301774');
  t.equal(m.cseq.seq, 314159);
  t.equal(m.contacts.length, 1);
  t.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  m.setHeader('From', '<sip:carol@example.com>;tag=42');
  m.setHeader('CSeq', '314160 INVITE');
  m.addHeader('Contact', '<sip:alice@192.0.2.9>');
  m.setHeader('Call-ID', 'new-call');
  m.setHeader('To', '<sip:bob@biloxi.example.com>;tag=b1');
  t.equal(m.from.tag, '42');
  t.equal(m.cseq.seq, 314160);
  t.equal(m.contacts.length, 2);
  t.equal(m.callId, 'new-call');
  t.equal(m.to.tag, 'b1');
  const view = m.to;
  t.equal(m.to, view, 'unchanged headers keep their cached view');
});

t.test('serialization rewrites Content-Length to the body length, whatever the field said', async (t) => {
  const m = invite();
  m.body = Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
  const text = m.toString();
  t.equal(m.body.length, 31);
  t.match(text, /\r\nl: 31\r\n/, 'the compact field keeps its name, gets the new length');
  t.ok(text.endsWith('\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n'));
  m.removeHeader('Content-Length');
  m.addHeader('Content-Length', '999');
  m.addHeader('Content-Length', '5');
  const again = m.toString();
  t.equal(again.match(/Content-Length: /g)?.length, 1, 'duplicates collapse to one');
  t.match(again, /Content-Length: 31\r\n/);
  m.removeHeader('Content-Length');
  m.body = Buffer.alloc(0);
  t.match(m.toString(), /\r\nContent-Length: 0\r\n\r\n$/, 'added when absent');
  const reparsed = parseMessage(invite().toBuffer(), false);
  t.same(reparsed.body, Buffer.from('v=0\n'));
});

t.test('SipRequest start line follows uri changes; SipResponse start line', async (t) => {
  const m = invite();
  t.equal(m.startLine(), 'INVITE sip:bob@biloxi.example.com SIP/2.0');
  m.uri = parseUri('sip:bob@192.0.2.4:5080;transport=tcp');
  t.equal(m.uriText, 'sip:bob@192.0.2.4:5080;transport=tcp');
  t.ok(m.toString().startsWith('INVITE sip:bob@192.0.2.4:5080;transport=tcp SIP/2.0\r\n'));
  const r = new SipResponse(180, 'Ringing', [{ name: 'Via', value: 'SIP/2.0/UDP h;branch=z9hG4bK1' }]);
  t.equal(r.isRequest, false);
  t.equal(r.toString(), 'SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n');
});

t.test('a message built in code: required views throw SipSyntaxError when their header is absent', async (t) => {
  const m = new SipRequest('OPTIONS', 'sip:h');
  t.equal(m.isRequest, true);
  for (const view of ['callId', 'cseq', 'from', 'to', 'topVia'] as const) t.throws(() => m[view], SipSyntaxError, view);
  m.addHeader('from', new NameAddr(parseUri('sip:a@h'), new Params().set('tag', 'x'), '"A"').toString());
  t.equal(m.getHeader('From'), '"A" <sip:a@h>;tag=x');
  t.equal(m.from.displayName, 'A');
});

t.test('parseCSeq: leading zeros, LWS, range below 2**31', async (t) => {
  t.same(parseCSeq('0009  INVITE'), { seq: 9, method: 'INVITE' });
  t.same(parseCSeq(' 2147483647 ACK '), { seq: 2 ** 31 - 1, method: 'ACK' });
  for (const bad of ['2147483648 INVITE', 'INVITE', '1', '-1 INVITE', '1.5 INVITE', '1 INVITE x', '']) {
    t.throws(() => parseCSeq(bad), SipSyntaxError, bad);
  }
});

t.test('toRetainedBuffer gives the same bytes as toBuffer, in a buffer of its own rather than a slice of the shared pool', async (t) => {
  const message = parseMessage(Buffer.from(
    'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKr1\r\nFrom: <sip:b@example.com>;tag=1\r\n' +
    'To: <sip:a@example.com>\r\nCall-ID: retained\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody',
  ), true);
  const retained = message.toRetainedBuffer();
  t.same(retained, message.toBuffer());
  t.equal(retained.buffer.byteLength, retained.length, 'the buffer owns its whole ArrayBuffer');
});
