import t from 'tap';
import { DEFAULT_LIMITS, SipParseError, StreamFramer, parseMessage, type FramerOutput } from '../../../src/sip/message/index';

function message(callId: string, body = '', lengthHeader: string | null = `Content-Length: ${Buffer.byteLength(body)}`): Buffer {
  const lines = [
    'MESSAGE sip:bob@example.com SIP/2.0', 'Via: SIP/2.0/TCP pc33.example.com;branch=z9hG4bK776', 'Max-Forwards: 70',
    'To: <sip:bob@example.com>', 'From: <sip:alice@example.com>;tag=1', `Call-ID: ${callId}`, 'CSeq: 1 MESSAGE',
  ];
  if (lengthHeader !== null) lines.push(lengthHeader);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

const messages = (out: FramerOutput[]): Buffer[] => out.flatMap((o) => (o.kind === 'message' ? [o.bytes] : []));
const pings = (out: FramerOutput[]): number => out.filter((o) => o.kind === 'ping').length;

/** The first framing error a stream of chunks produces; the framer reports it after the messages cut before it. */
function framingError(chunks: Buffer[], limits = DEFAULT_LIMITS): SipParseError {
  const framer = new StreamFramer(limits);
  for (const chunk of chunks) {
    const error = framer.push(chunk).find((o) => o.kind === 'error');
    if (error?.kind === 'error') return error.error;
  }
  throw new Error('framer accepted the stream');
}

t.test('a message delivered one byte at a time comes out once, whole, on its last byte', async (t) => {
  const bytes = message('bytewise', 'hello\r\n\r\nworld');
  const framer = new StreamFramer(DEFAULT_LIMITS);
  t.equal(framer.partialSince, undefined);
  for (let i = 0; i < bytes.length - 1; i++) {
    if (framer.push(bytes.subarray(i, i + 1)).length > 0) t.fail(`output after byte ${i}`);
  }
  t.type(framer.partialSince, 'number', 'a partial message is pending');
  const out = framer.push(bytes.subarray(-1));
  t.same(messages(out), [bytes]);
  t.equal(framer.partialSince, undefined, 'nothing pending afterwards');
  t.equal(parseMessage(messages(out)[0]!, false).body.toString(), 'hello\r\n\r\nworld');
});

t.test('pipelined messages in one chunk come out in order, each exact', async (t) => {
  const a = message('a', 'first');
  const b = message('b');
  const c = message('c', 'x'.repeat(300));
  const out = new StreamFramer(DEFAULT_LIMITS).push(Buffer.concat([a, b, c]));
  t.same(messages(out), [a, b, c]);
  t.same(messages(out).map((m) => parseMessage(m, false).callId), ['a', 'b', 'c']);
});

t.test('a chunk boundary anywhere in two messages gives the same two messages', async (t) => {
  const stream = Buffer.concat([message('a', 'body-a'), message('b', 'body-b')]);
  for (let cut = 1; cut < stream.length; cut++) {
    const framer = new StreamFramer(DEFAULT_LIMITS);
    const got = [...messages(framer.push(stream.subarray(0, cut))), ...messages(framer.push(stream.subarray(cut)))];
    if (got.length !== 2 || !Buffer.concat(got).equals(stream)) t.fail(`cut at ${cut}`);
  }
  t.pass('every cut point');
});

t.test('CRLF keepalives are skipped; CRLFCRLF is a ping (RFC 5626 §3.5.1)', async (t) => {
  const framer = new StreamFramer(DEFAULT_LIMITS);
  t.same(framer.push(Buffer.from('\r\n')), [], 'a single CRLF is a keepalive, no answer');
  t.equal(framer.partialSince, undefined);
  t.same(framer.push(Buffer.from('\r\n\r\n')), [{ kind: 'ping' }]);
  const m = message('after-ping');
  const out = framer.push(Buffer.concat([Buffer.from('\r\n\r\n\r\n\r\n'), m, Buffer.from('\r\n\r\n')]));
  t.equal(pings(out), 3, 'two pings before, one after');
  t.same(messages(out), [m]);
  t.same(out.map((o) => o.kind), ['ping', 'ping', 'message', 'ping']);
});

t.test('missing Content-Length is a framing error that carries the header fields', async (t) => {
  const err = framingError([message('nolen', '', null)]);
  t.equal(err.status, 400);
  t.equal(err.reason, 'Content-Length is required on stream transports');
  t.equal(err.raw?.startLine, 'MESSAGE sip:bob@example.com SIP/2.0');
  t.same(err.raw?.headers.find((h) => h.name === 'Call-ID'), { name: 'Call-ID', value: 'nolen' });
});

t.test('negative and conflicting Content-Length are framing errors with the raw form', async (t) => {
  const negative = framingError([message('neg', '', 'Content-Length: -999')]);
  t.equal(negative.status, 400);
  t.match(negative.reason, /^Bad Content-Length: -999/);
  t.ok(negative.raw?.headers.some((h) => h.name === 'Via'));
  const conflicting = framingError([message('mcl', 'hello', 'Content-Length: 5\r\nl: 13')]);
  t.equal(conflicting.reason, 'Conflicting Content-Length values');
  t.equal(conflicting.raw?.headers.filter((h) => /^(content-length|l)$/i.test(h.name)).length, 2);
  t.equal(framingError([message('x', '', 'content-length: 1e3')]).status, 400);
});

t.test('size limit: an endless header section or a large Content-Length gives 513 before the octets arrive', async (t) => {
  const limits = { maxMessageBytes: 1000, maxHeaders: 200 };
  const endless = framingError([
    Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\n'),
    ...Array.from({ length: 100 }, (_, i) => Buffer.from(`X-Filler-${i}: ${'y'.repeat(20)}\r\n`)),
  ], limits);
  t.equal(endless.status, 513);
  t.match(endless.reason, /header section/);
  const head = message('big', '', 'Content-Length: 5000');
  const large = framingError([head], limits);
  t.equal(large.status, 513);
  t.equal(large.reason, 'Message Too Large');
  const fits = message('fits', 'z'.repeat(100));
  t.ok(fits.length < 1000);
  t.same(messages(new StreamFramer(limits).push(fits)), [fits], 'under the limit passes');
});

t.test('LF-only framing is accepted', async (t) => {
  const m = Buffer.from(message('lf', 'abc').toString().replace(/\r\n/g, '\n'));
  t.same(messages(new StreamFramer(DEFAULT_LIMITS).push(m)), [m]);
});

t.test('folding is read as the parser reads it: a continuation line is never a Content-Length of its own', async (t) => {
  const folded = message('fold', 'abc', 'Content-Length:\r\n   3');
  t.same(messages(new StreamFramer(DEFAULT_LIMITS).push(folded)), [folded], 'a folded Content-Length value counts');
  t.equal(parseMessage(folded, false).body.toString(), 'abc');
  const inSubject = message('subject', '', 'Subject: hello\r\n l: 99\r\nContent-Length: 0');
  t.same(messages(new StreamFramer(DEFAULT_LIMITS).push(inSubject)), [inSubject], '" l: 99" is part of Subject');
  t.equal(parseMessage(inSubject, false).getHeader('Subject'), 'hello l: 99');
});

t.test('a CRLFCRLF ping split across two segments is still one ping', async (t) => {
  const framer = new StreamFramer(DEFAULT_LIMITS);
  t.equal(pings(framer.push(Buffer.from('\r\n'))), 0);
  t.equal(framer.partialSince, undefined, 'a held-back CRLF is not an unfinished message');
  t.equal(pings(framer.push(Buffer.from('\r\n'))), 1);
  const out = framer.push(Buffer.concat([Buffer.from('\r\n'), message('after-ping')]));
  t.equal(messages(out).length, 1, 'a lone CRLF before a message is a keepalive');
});

t.test('a message arriving one byte at a time is framed in linear time (complexity guard)', async (t) => {
  // Compares a 60 KB message with a 6 KB one in the same process, so machine load cancels out: linear framing
  // takes about 10x as long for 10x the bytes, the quadratic framing this guards against about 100x.
  const timeBytewise = (size: number): number => {
    const bytes = message(`slow-${size}`, 'x'.repeat(size));
    const framer = new StreamFramer({ ...DEFAULT_LIMITS, maxMessageBytes: 65_535 });
    const started = process.hrtime.bigint();
    let out: FramerOutput[] = [];
    for (let i = 0; i < bytes.length; i++) out = framer.push(bytes.subarray(i, i + 1));
    t.same(messages(out)[0], bytes);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  timeBytewise(6_000);
  const small = Math.min(timeBytewise(6_000), timeBytewise(6_000));
  const large = Math.min(timeBytewise(60_000), timeBytewise(60_000));
  t.ok(large / small < 35, `60 KB took ${large.toFixed(1)} ms, 6 KB ${small.toFixed(1)} ms: ratio ${(large / small).toFixed(1)}`);
});

t.test('messages cut before a framing error in the same chunk are delivered before the error', async (t) => {
  const framer = new StreamFramer(DEFAULT_LIMITS);
  const out = framer.push(Buffer.concat([message('first'), message('second', '', 'Content-Length: -1')]));
  t.same(out.map((o) => o.kind), ['message', 'error']);
  t.match(messages(out)[0]!.toString(), /Call-ID: first/);
});
