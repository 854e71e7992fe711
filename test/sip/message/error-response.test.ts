import t from 'tap';
import { SipParseError, SipResponse, buildErrorResponse, parseMessage, readHeaderSection } from '../../../src/sip/message/index';

const REQUEST = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP pc33.example.com;branch=z9hG4bKa1;received=192.0.2.1',
  'v: SIP/2.0/TCP origin.example.com;branch=z9hG4bKo1',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@example.com>',
  'f: Alice <sip:alice@example.com>;tag=1928301774',
  'i: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.example.com>',
  'Content-Type: application/sdp',
  '',
  '',
].join('\r\n');

t.test('copies Via, From, To, Call-ID and CSeq as received and adds a To tag', async (t) => {
  const out = buildErrorResponse(readHeaderSection(REQUEST), 400, 'Bad Request', 'srv1')!;
  t.equal(out.toString(), [
    'SIP/2.0 400 Bad Request',
    'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP pc33.example.com;branch=z9hG4bKa1;received=192.0.2.1',
    'Via: SIP/2.0/TCP origin.example.com;branch=z9hG4bKo1',
    'From: Alice <sip:alice@example.com>;tag=1928301774',
    'To: Bob <sip:bob@example.com>;tag=srv1',
    'Call-ID: a84b4c76e66710',
    'CSeq: 314159 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'));
  const parsed = parseMessage(out, false) as SipResponse;
  t.equal(parsed.status, 400);
  t.equal(parsed.vias.length, 3);
  t.equal(parsed.to.tag, 'srv1');
});

t.test('keeps an existing To tag', async (t) => {
  const raw = readHeaderSection(REQUEST.replace('To: Bob <sip:bob@example.com>', 'To: <sip:bob@example.com> ; TAG = b2'));
  const out = buildErrorResponse(raw, 481, 'Call/Transaction Does Not Exist', 'unused')!.toString();
  t.match(out, /\r\nTo: <sip:bob@example.com> ; TAG = b2\r\n/);
  t.notMatch(out, /unused/);
});

t.test('the reason phrase is made printable', async (t) => {
  const out = buildErrorResponse(readHeaderSection(REQUEST), 400, 'Bad\r\nInjected: header', 't')!.toString();
  t.ok(out.startsWith('SIP/2.0 400 Bad??Injected: header\r\n'));
});

t.test('returns undefined for a response and for a request without Via', async (t) => {
  t.equal(buildErrorResponse(readHeaderSection('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1'), 400, 'x', 't'), undefined);
  t.equal(buildErrorResponse(readHeaderSection('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c'), 400, 'x', 't'), undefined);
});

t.test('answers a request the parser rejected, from the raw form on the error', async (t) => {
  let err: SipParseError | undefined;
  try {
    parseMessage(Buffer.from(REQUEST.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE')), true);
  } catch (e) {
    err = e as SipParseError;
  }
  t.type(err, SipParseError);
  const out = buildErrorResponse(err!.raw!, err!.status, err!.reason, 'z')!.toString();
  t.match(out, /^SIP\/2.0 400 CSeq method does not match the Request-Line\r\n/);
  t.match(out, /\r\nCSeq: 314159 BYE\r\n/);
  t.match(out, /\r\nCall-ID: a84b4c76e66710\r\n/);
});
