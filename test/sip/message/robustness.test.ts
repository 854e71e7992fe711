import t, { type Test } from 'tap';
import { performance } from 'node:perf_hooks';
import { DEFAULT_LIMITS, SipParseError, StreamFramer, parseMessage, type SipMessageAny } from '../../../src/sip/message/index';
import { loadCorpus } from '../../fixtures/sip/rfc4475';

/** mulberry32: a seeded generator, so that a failing input can be reproduced from the seed in the test name. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 4475;
const random = rng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

/** Octets that steer the parser into its interesting branches. */
const SIP_ALPHABET = Buffer.from('SIP/2.0 INVITE sip:a@b;<>"\\,:=%?&[]\t\r\n\r\n\x00\xff\xc3');
const corpus = loadCorpus().map((c) => c.bytes);

function randomBuffer(): Buffer {
  const buf = Buffer.alloc(int(1500));
  const alphabet = random() < 0.5 ? undefined : SIP_ALPHABET;
  for (let i = 0; i < buf.length; i++) buf[i] = alphabet ? alphabet[int(alphabet.length)]! : int(256);
  // Half of them start like a message, so that more than the start line gets read.
  return random() < 0.5 ? Buffer.concat([Buffer.from(pick(['INVITE sip:a@b SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n', 'Via: '])), buf]) : buf;
}

function mutate(input: Buffer): Buffer {
  let buf = input;
  for (let n = random() < 0.7 ? 1 : 2 + int(3); n > 0; n--) {
    const at = int(buf.length + 1);
    switch (int(6)) {
      case 0: // truncate
        buf = buf.subarray(0, at);
        break;
      case 1: { // flip some bytes
        buf = Buffer.from(buf);
        for (let k = 1 + int(2); k > 0 && buf.length > 0; k--) buf[int(buf.length)] ^= 1 << int(8);
        break;
      }
      case 2: { // duplicate a line
        const start = buf.lastIndexOf('\n', at) + 1;
        const end = buf.indexOf('\n', at);
        const line = buf.subarray(start, end < 0 ? buf.length : end + 1);
        buf = Buffer.concat([buf.subarray(0, start), line, line, buf.subarray(start + line.length)]);
        break;
      }
      case 3: // insert CR, LF, NUL, CRLF or a separator
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(pick(['\r', '\n', '\x00', '\r\n', '\r\n\r\n', ';', ',', '"', '<', ' '])), buf.subarray(at)]);
        break;
      case 4: // delete a range
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + int(40))]);
        break;
      default: // splice in a piece of another message
        const other = pick(corpus);
        const from = int(other.length);
        buf = Buffer.concat([buf.subarray(0, at), other.subarray(from, from + int(200)), buf.subarray(at)]);
    }
  }
  return buf;
}

/** What a layer above does with an accepted message; none of it may throw, and the result must parse again. */
function use(m: SipMessageAny): void {
  void [m.callId, m.cseq, m.from.tag, m.to.tag, m.topVia.branch, m.contacts.length];
  const wire = m.toBuffer();
  try {
    parseMessage(wire, false);
  } catch (err) {
    throw new Error(`the serialized form of an accepted message is rejected: ${String(err)}`);
  }
}

let accepted = 0;

/** Feeds one input to every entry point; returns the error that is not a SipParseError, if any. */
function feed(buf: Buffer): unknown {
  for (const datagram of [true, false]) {
    try {
      use(parseMessage(buf, datagram));
      accepted++;
    } catch (err) {
      if (!(err instanceof SipParseError)) return err;
    }
  }
  try {
    const framer = new StreamFramer(DEFAULT_LIMITS);
    const cut = int(buf.length + 1);
    for (const chunk of [buf.subarray(0, cut), buf.subarray(cut)]) {
      for (const out of framer.push(chunk)) if (out.kind === 'message') use(parseMessage(out.bytes, false));
    }
  } catch (err) {
    if (!(err instanceof SipParseError)) return err;
  }
  return undefined;
}

/** Runs `count` inputs; returns how many parses accepted them. */
function fuzz(t: Test, label: string, count: number, make: () => Buffer): number {
  let failures = 0;
  accepted = 0;
  for (let i = 0; i < count; i++) {
    const buf = make();
    const err = feed(buf);
    if (err !== undefined && failures++ < 5) {
      t.fail(`${label} #${i} threw ${String(err)}`, { input: buf.toString('latin1').slice(0, 400) });
    }
  }
  t.equal(failures, 0, `${count} ${label}: only SipParseError was thrown`);
  return accepted;
}

t.test(`random octets never throw anything but SipParseError (seed ${SEED})`, async (t) => {
  fuzz(t, 'random buffers', 20_000, randomBuffer);
});

t.test(`mutated RFC 4475 messages never throw anything but SipParseError (seed ${SEED})`, async (t) => {
  const ok = fuzz(t, 'mutations', 20_000, () => mutate(pick(corpus)));
  // Guards the fuzzer itself: enough mutants must get through to exercise the typed views and the serializer.
  t.ok(ok > 2_000, `${ok} of 40,000 parses accepted a mutant`);
});

/** A request whose one extra header line is `line`, about 60 KB of it. */
function withLine(line: string, requestUri = 'sip:bob@example.com'): Buffer {
  return Buffer.from(
    `OPTIONS ${requestUri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:bob@example.com>\r\n` +
      `From: <sip:a@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n${line}\r\nContent-Length: 0\r\n\r\n`,
  );
}

const distinctParams = (): string => {
  let out = '';
  for (let i = 0; out.length < 58_000; i++) out += `;p${i}`;
  return out;
};

/**
 * Complexity guard, not a benchmark: every input below is ~60 KB of a pattern that makes a backtracking regex or a
 * nested scan quadratic. A linear parser handles each in a few ms; 200 ms leaves room for a slow CI machine but
 * not for O(n²), which took 0.5-1.3 s on these inputs before it was fixed.
 */
t.test('pathological 60 KB header values are handled in linear time (< 200 ms each)', async (t) => {
  const cases: Record<string, Buffer> = {
    'semicolons in Via': withLine(`Via: SIP/2.0/UDP h${';'.repeat(60_000)}`),
    'semicolons in Contact': withLine(`Contact: <sip:a@b>${';'.repeat(60_000)}`),
    'semicolon-equals in Contact': withLine(`Contact: <sip:a@b>${';a='.repeat(20_000)}`),
    'quote-backslash pairs in To': withLine(`To: "${'"\\'.repeat(30_000)}`),
    'escaped quotes in a display name': withLine(`Contact: "${'\\"'.repeat(29_000)}" <sip:a@b>`),
    'unterminated quoted display name': withLine(`Contact: "${'a'.repeat(60_000)} <sip:a@b>`),
    'repeated < in To': withLine(`To: ${'<'.repeat(60_000)}`),
    'repeated < in Contact list': withLine(`Contact: ${'<sip:a@b'.repeat(7_500)}`),
    'repeated <> in Contact list': withLine(`Contact: ${'<>,'.repeat(20_000)}`),
    'commas in Via': withLine(`Via: ${','.repeat(60_000)}`),
    'many valid Contacts': withLine(`Contact: ${Array.from({ length: 4_500 }, (_, i) => `<sip:u${i}@h>`).join(',')}`),
    'distinct Via params': withLine(`Via: SIP/2.0/UDP h${distinctParams()}`),
    'distinct Contact params': withLine(`Contact: <sip:a@b>${distinctParams()}`),
    'distinct Request-URI params': withLine('X: y', `sip:bob@example.com${distinctParams()}`),
    'blanks before a header colon': withLine(`X${' '.repeat(60_000)}Y: v`),
    'blanks inside a value': withLine(`Subject: a${' \t'.repeat(30_000)}b`),
    'folded continuation lines': withLine(`Subject: a${'\r\n b'.repeat(14_000)}`),
    'URI escapes': withLine(`Contact: <sip:${'%41'.repeat(20_000)}@h>`),
    'many short header lines': withLine('X: y\r\n'.repeat(10_000)),
  };
  cases['CSeq with many words'] = Buffer.from(withLine('X: y').toString().replace('CSeq: 1 OPTIONS', `CSeq: 1 ${'a '.repeat(30_000)}`));
  for (const [name, buf] of Object.entries(cases)) {
    t.ok(buf.length > 55_000 && buf.length <= DEFAULT_LIMITS.maxMessageBytes, `${name}: ${buf.length} octets`);
    let worst = 0;
    for (const run of [(): unknown => parseMessage(buf, true), (): unknown => new StreamFramer(DEFAULT_LIMITS).push(buf)]) {
      const start = performance.now();
      try {
        run();
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
      }
      worst = Math.max(worst, performance.now() - start);
    }
    t.ok(worst < 200, `${name} took ${worst.toFixed(1)} ms`);
  }
});
