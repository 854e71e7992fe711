import t from 'tap';
import {
  DEFAULT_LIMITS, SipParseError, SipRequest, SipResponse, findHeaderEnd, parseContentLength, parseMessage, printable, readHeaderSection,
} from '../../../src/sip/message/index';

const HEADERS = [
  'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: <sip:alice@example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 1 OPTIONS',
];

/** An OPTIONS request: `extra` header lines are added after the required ones; `body` gets a matching Content-Length. */
function options(extra: string[] = [], body = '', startLine = 'OPTIONS sip:bob@example.com SIP/2.0', eol = '\r\n'): Buffer {
  const lines = [startLine, ...HEADERS, ...extra, `Content-Length: ${Buffer.byteLength(body)}`];
  return Buffer.from(lines.join(eol) + eol + eol + body);
}

function response(startLine: string): Buffer {
  return Buffer.from(options([], '', startLine).toString().replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'));
}

function parseError(buf: Buffer | string, datagram = true, limits = DEFAULT_LIMITS): SipParseError {
  try {
    parseMessage(Buffer.from(buf), datagram, limits);
  } catch (err) {
    if (err instanceof SipParseError) return err;
    throw err;
  }
  throw new Error('message was accepted');
}

t.test('a plain request parses on both framings', async (t) => {
  for (const datagram of [true, false]) {
    const m = parseMessage(options([], 'hello'), datagram) as SipRequest;
    t.equal(m.method, 'OPTIONS');
    t.equal(m.uri.toString(), 'sip:bob@example.com');
    t.equal(m.headers.length, 7);
    t.equal(m.body.toString(), 'hello');
  }
});

t.test('CRLFs before the start line are ignored (§7.5); LF-only line ends are accepted', async (t) => {
  t.equal((parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), options()]), false) as SipRequest).method, 'OPTIONS');
  const lf = parseMessage(options([], 'body', undefined, '\n'), false);
  t.equal(lf.callId, 'a84b4c76e66710');
  t.equal(lf.body.toString(), 'body');
});

t.test('folded header values are joined with one SP; names may have LWS before the colon', async (t) => {
  const m = parseMessage(options(['Subject  \t:   first', ' \t second  ', '\tthird']), true);
  t.equal(m.getHeader('Subject'), 'first second third');
  t.equal(m.headers.find((h) => h.name === 'Subject')?.name, 'Subject');
});

t.test('header values keep non-ASCII edges: only SP and HTAB are trimmed', async (t) => {
  const m = parseMessage(options(['X-Note: \ufeffhello\u00a0 ']), true);
  t.equal(m.getHeader('X-Note'), '\ufeffhello\u00a0');
});

t.test('malformed header section lines are 400 with the raw form', async (t) => {
  const noColon = parseError(options(['Foobar roobar']));
  t.equal(noColon.status, 400);
  t.match(noColon.reason, /^Malformed header line: Foobar roobar/);
  t.equal(noColon.raw?.startLine, 'OPTIONS sip:bob@example.com SIP/2.0');
  t.match(parseError(options(['Bad Name: x'])).reason, /Malformed header line/);
  t.match(parseError(options([': x'])).reason, /Malformed header line/);
  t.match(parseError('OPTIONS sip:a@b SIP/2.0\r\n folded\r\n\r\n').reason, /Continuation line before any header/);
  t.match(parseError('\r\n\r\n').reason, /Empty start line/);
  t.match(parseError(Buffer.alloc(0)).reason, /Empty start line/);
  t.match(parseError(options().toString().replace('\r\n\r\n', '\r\n'), false).reason, /Incomplete header section/);
});

t.test('Request-Line checks', async (t) => {
  const cases: Record<string, [number, RegExp]> = {
    'OPTIONS  sip:bob@example.com SIP/2.0': [400, /Malformed Request-Line/],
    'OPTIONS sip:bob@example.com SIP/2.0 ': [400, /Malformed Request-Line/],
    'OPTIONS sip:bob@example.com': [400, /Malformed Request-Line/],
    'OPT(IONS sip:bob@example.com SIP/2.0': [400, /Malformed method/],
    'OPTIONS sip:bob@example.com SIP/2': [400, /Malformed SIP-Version/],
    'OPTIONS sip:bob@example.com HTTP/1.1': [400, /Malformed SIP-Version/],
    'OPTIONS sip:bob@example.com SIP/3.0': [505, /Version Not Supported/],
    'OPTIONS sip:bob@exa mple.com SIP/2.0': [400, /Malformed Request-Line/],
    'OPTIONS sip:bob@example.com:99999 SIP/2.0': [400, /Bad Request-URI: bad port/],
    'OPTIONS sip:bob@example.com?Subject=x SIP/2.0': [400, /must not contain headers/],
  };
  for (const [line, [status, reason]] of Object.entries(cases)) {
    const err = parseError(options([], '', line));
    t.equal(err.status, status, line);
    t.match(err.reason, reason, line);
  }
  t.equal((parseMessage(options([], '', 'OPTIONS sip:bob@example.com sip/2.0'), true) as SipRequest).method, 'OPTIONS', 'version is case-insensitive');
});

t.test('Status-Line checks: 100-699 only, any reason phrase', async (t) => {
  const ok = parseMessage(response('SIP/2.0 699 Whatever: it, takes'), true) as SipResponse;
  t.equal(ok.status, 699);
  t.equal(ok.reason, 'Whatever: it, takes');
  t.equal((parseMessage(response('SIP/2.0 100 '), true) as SipResponse).reason, '');
  for (const line of ['SIP/2.0 700 Too High', 'SIP/2.0 999 Way Too High', 'SIP/2.0 099 Too Low']) {
    t.match(parseError(response(line)).reason, /Status code out of range/, line);
  }
  for (const line of ['SIP/2.0 2000 OK', 'SIP/2.0 20 OK', 'SIP/2.0 200', 'SIP/2.0  200 OK']) {
    t.match(parseError(response(line)).reason, /Malformed Status-Line/, line);
  }
  t.equal(parseError(response('SIP/2.1 200 OK')).status, 505);
});

t.test('semantic checks of §8.2: required and single headers, Max-Forwards, Call-ID, CSeq method', async (t) => {
  for (const name of ['Via', 'To', 'From', 'Call-ID', 'CSeq']) {
    const buf = options().toString().replace(new RegExp(`\\r\\n${name}: [^\\r]*`), '');
    t.equal(parseError(buf).reason, `Missing ${name} header`);
  }
  t.equal(parseError(options(['Content-Type: a/b', 'c: a/b'])).reason, 'More than one Content-Type header');
  t.equal(parseError(options(['Max-Forwards: 1'])).reason, 'More than one Max-Forwards header');
  for (const mf of ['256', 'abc', '-1', '']) {
    t.equal(parseError(options().toString().replace('Max-Forwards: 70', `Max-Forwards: ${mf}`)).reason, 'Bad Max-Forwards header', mf);
  }
  t.ok(parseMessage(Buffer.from(options().toString().replace('Max-Forwards: 70', 'Max-Forwards: 255')), true));
  t.equal(parseError(options().toString().replace('Call-ID: a84b4c76e66710', 'Call-ID: a b')).reason, 'Bad Call-ID header');
  const mismatch = parseError(options().toString().replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'));
  t.equal(mismatch.status, 400);
  t.equal(mismatch.reason, 'CSeq method does not match the Request-Line');
  const unknown = parseError(options([], '', 'FOO sip:bob@example.com SIP/2.0'));
  t.equal(unknown.status, 501);
  t.match(parseError(options().toString().replace('CSeq: 1 OPTIONS', 'CSeq: x OPTIONS')).reason, /^Bad CSeq header/);
  t.match(parseError(options(['Contact: <sip:a@b'])).reason, /^Bad Contact header/);
  t.match(parseError(options().toString().replace('<sip:alice@example.com>', '<sip:alice@example.com')).reason, /^Bad From header/);
});

t.test('Content-Length framing: datagram ignores extra octets, stream must match exactly', async (t) => {
  const extra = Buffer.concat([options([], 'abc'), Buffer.from('trailing')]);
  t.equal(parseMessage(extra, true).body.toString(), 'abc');
  t.match(parseError(extra, false).reason, /smaller than the body/);
  const short = options([], 'abc').subarray(0, -1);
  t.match(parseError(short).reason, /Content-Length 3 is larger than the body \(2 octets\)/);
  const noLength = Buffer.from(options([], 'xyz').toString().replace('Content-Length: 3\r\n', ''));
  t.equal(parseMessage(noLength, true).body.toString(), 'xyz', 'datagram: body is the rest');
  t.match(parseError(noLength, false).reason, /required on stream/);
  const noLengthNoBody = Buffer.from(options().toString().replace('Content-Length: 0\r\n', ''));
  t.equal(parseMessage(noLengthNoBody, false).body.length, 0, 'stream without body may omit it');
  t.equal(parseMessage(Buffer.from(options([], 'abc').toString().replace('Content-Length: 3', 'l: 0003')), false).body.toString(), 'abc');
});

t.test('parseContentLength: one non-negative decimal value, duplicates must agree', async (t) => {
  t.equal(parseContentLength(['0']), 0);
  t.equal(parseContentLength(['42', '42']), 42);
  const rejection = (values: string[]): unknown => {
    try {
      return parseContentLength(values);
    } catch (err) {
      return err;
    }
  };
  t.match(rejection(['1', '2']), { constructor: SipParseError, status: 400, reason: 'Conflicting Content-Length values' });
  for (const bad of ['-1', '1.0', '', 'abc', '12345678901', '+5']) {
    t.match(rejection([bad]), { constructor: SipParseError, status: 400, reason: /^Bad Content-Length/ }, bad);
  }
});

t.test('limits: too many header fields or too many octets give 513 with the raw form', async (t) => {
  const many = options(Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`));
  t.ok(parseMessage(many, true, { maxMessageBytes: 65535, maxHeaders: 17 }), '17 fields fit a limit of 17');
  const tooMany = parseError(many, true, { maxMessageBytes: 65535, maxHeaders: 16 });
  t.equal(tooMany.status, 513);
  t.match(tooMany.reason, /too many header fields/);
  t.ok(tooMany.raw?.headers.length === 17);
  const body = 'x'.repeat(1000);
  const big = options([], body);
  t.ok(parseMessage(big, false, { maxMessageBytes: big.length, maxHeaders: 200 }), 'exactly at the limit');
  const tooBig = parseError(big, false, { maxMessageBytes: big.length - 1, maxHeaders: 200 });
  t.equal(tooBig.status, 513);
  t.equal(tooBig.reason, 'Message Too Large');
  t.equal(tooBig.raw?.method, 'OPTIONS');
  t.same(DEFAULT_LIMITS, { maxMessageBytes: 65535, maxHeaders: 200 });
  t.equal(parseError(options(Array.from({ length: 200 }, (_, i) => `X-H${i}: ${i}`))).status, 513, 'the default is 200 fields');
});

t.test('findHeaderEnd and readHeaderSection', async (t) => {
  t.same(findHeaderEnd(Buffer.from('A\r\nB: c\r\n\r\nbody')), { headEnd: 7, bodyStart: 11 });
  t.same(findHeaderEnd(Buffer.from('A\nB: c\n\nbody')), { headEnd: 6, bodyStart: 8 });
  t.same(findHeaderEnd(Buffer.from('A\r\nB: c\r\n\r\nx\n\ny')), { headEnd: 7, bodyStart: 11 }, 'LF LF in the body does not count');
  t.equal(findHeaderEnd(Buffer.from('A\r\nB: c\r\n')), undefined);
  const raw = readHeaderSection('SIP/2.0 200 OK\r\nVia: a\r\n  b\r\nX:\r\n');
  t.equal(raw.isRequest, false);
  t.equal(raw.method, undefined);
  t.same(raw.headers, [{ name: 'Via', value: 'a b' }, { name: 'X', value: '' }]);
  t.equal(readHeaderSection('BYE sip:x SIP/2.0').method, 'BYE');
});

t.test('printable keeps reason text to printable characters and a bounded length', async (t) => {
  t.equal(printable('a\r\nb\x00c\x7f'), 'a??b?c?');
  t.equal(printable('x'.repeat(200)).length, 80);
  t.equal(printable('x'.repeat(200), 10), 'x'.repeat(10));
});
