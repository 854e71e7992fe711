import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Reproducible bad input for the engine: random bytes, and valid SIP messages (ours and the RFC 4475
 * corpus) truncated, bit-flipped, spliced and given hostile header values. The same seed gives the same
 * inputs, so a failure can be replayed by its seed and index.
 */

/** mulberry32: a tiny seeded PRNG; `next()` is uniform in [0, 1). */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

const CORPUS_DIR = path.resolve(__dirname, '../..', '../shared/testdata/rfc4475');

function seedMessages(): Buffer[] {
  const own = [
    'OPTIONS sip:service@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz1;rport\r\nMax-Forwards: 70\r\n' +
      'From: <sip:a@example.com>;tag=f1\r\nTo: <sip:b@example.com>\r\nCall-ID: fuzz-1@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    'INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz2\r\nMax-Forwards: 70\r\n' +
      'From: "Alice" <sip:alice@example.com>;tag=f2\r\nTo: <sip:bob@example.com>\r\nCall-ID: fuzz-2@example.com\r\nCSeq: 1 INVITE\r\n' +
      'Contact: <sip:alice@192.0.2.1>\r\nContent-Type: application/sdp\r\nContent-Length: 42\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n',
    'REGISTER sip:example.com SIP/2.0\r\nv: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKfuzz3\r\nf: <sip:a@example.com>;tag=f3\r\n' +
      't: <sip:a@example.com>\r\ni: fuzz-3\r\nCSeq: 7 REGISTER\r\nm: <sip:a@192.0.2.1>;expires=60\r\nl: 0\r\n\r\n',
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfuzz4\r\nFrom: <sip:a@example.com>;tag=f4\r\n' +
      'To: <sip:b@example.com>;tag=t4\r\nCall-ID: fuzz-4\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    'CANCEL sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz2\r\nMax-Forwards: 70\r\n' +
      'From: "Alice" <sip:alice@example.com>;tag=f2\r\nTo: <sip:bob@example.com>\r\nCall-ID: fuzz-2@example.com\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n',
    'ACK sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz5\r\nFrom: <sip:a@example.com>;tag=f5\r\n' +
      'To: <sip:b@example.com>;tag=t5\r\nCall-ID: fuzz-5\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n',
  ].map((s) => Buffer.from(s));
  const corpus = readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(path.join(CORPUS_DIR, f)));
  return [...own, ...corpus];
}

const SPECIALS = [':', ';', ',', '<', '>', '"', '\\', '%', '%0', ' ', '\t', '\r', '\n', '\r\n', '\r\n ', '\0', '\xff', '=', '@', '[', ']', '?', '&', '*'];
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'INFO', 'MESSAGE', 'UPDATE', 'FOO', ''];
const HEADERS = ['Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Contact', 'm', 'Content-Length', 'l', 'Content-Type', 'c', 'Max-Forwards', 'Route', 'Record-Route', 'Require', 'Accept', 'Expires', 'X-Junk'];
const HOSTILE_VALUES = [
  '', ' ', '-1', '99999999999999999999', '4294967296', '0x10', '1e3', 'NaN', '<', '>', '<<sip:a@b>>', '"unterminated', 'sip:', 'sip:@', 'sip:[::1',
  'SIP/2.0/UDP', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDP host;branch', 'SIP/2.0/UDP host;rport=abc', 'SIP/2.0/UDP host:99999', '1 INVITE extra',
  '2147483648 INVITE', ';;;;', ',,,,', 'a'.repeat(3000), ';x'.repeat(500), '%%%', '\\"', 'sip:a@b;lr;lr;lr', 'tel:+1', 'urn:x', '*',
];

function mutate(rng: Prng, seed: Buffer, seeds: Buffer[]): Buffer {
  const op = rng.int(12);
  switch (op) {
    case 0: {
      // bit flips
      const out = Buffer.from(seed);
      for (let i = 1 + rng.int(8); i > 0 && out.length > 0; i--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1:
      // truncated
      return seed.subarray(0, rng.int(seed.length + 1));
    case 2: {
      // a slice deleted
      const a = rng.int(seed.length + 1);
      const b = a + rng.int(40);
      return Buffer.concat([seed.subarray(0, a), seed.subarray(b)]);
    }
    case 3: {
      // random bytes inserted
      const a = rng.int(seed.length + 1);
      return Buffer.concat([seed.subarray(0, a), rng.bytes(1 + rng.int(20)), seed.subarray(a)]);
    }
    case 4: {
      // a special character inserted or replacing one
      const s = seed.toString('latin1');
      const a = rng.int(s.length + 1);
      const cut = rng.int(2);
      return Buffer.from(s.slice(0, a) + rng.pick(SPECIALS) + s.slice(a + cut), 'latin1');
    }
    case 5: {
      // a header line duplicated
      const lines = seed.toString('latin1').split('\r\n');
      const i = 1 + rng.int(Math.max(1, lines.length - 1));
      lines.splice(i, 0, lines[i] ?? '');
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
    case 6: {
      // a header value replaced by something hostile
      const lines = seed.toString('latin1').split('\r\n');
      const i = 1 + rng.int(Math.max(1, lines.length - 2));
      const colon = (lines[i] ?? '').indexOf(':');
      lines[i] = `${colon > 0 ? lines[i]!.slice(0, colon) : rng.pick(HEADERS)}: ${rng.pick(HOSTILE_VALUES)}`;
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
    case 7: {
      // a hostile header added
      const s = seed.toString('latin1');
      const at = s.indexOf('\r\n');
      if (at < 0) return Buffer.from(`${s}\r\n${rng.pick(HEADERS)}: ${rng.pick(HOSTILE_VALUES)}\r\n\r\n`, 'latin1');
      return Buffer.from(`${s.slice(0, at)}\r\n${rng.pick(HEADERS)}: ${rng.pick(HOSTILE_VALUES)}${s.slice(at)}`, 'latin1');
    }
    case 8: {
      // two messages spliced
      const other = rng.pick(seeds);
      return Buffer.concat([seed.subarray(0, rng.int(seed.length + 1)), other.subarray(rng.int(other.length + 1))]);
    }
    case 9: {
      // a mangled start line
      const s = seed.toString('latin1');
      const eol = s.indexOf('\r\n');
      const line = rng.pick([
        `${rng.pick(METHODS)} ${rng.pick(HOSTILE_VALUES)} SIP/2.0`, `${rng.pick(METHODS)}  sip:a@b SIP/2.0`, `${rng.pick(METHODS)} sip:a@b SIP/3.0`,
        'SIP/2.0 999 Too Big', 'SIP/2.0 99 Small', 'SIP/2.0 200', 'SIP/2.0', '', ' ', 'GET / HTTP/1.1', `${rng.pick(METHODS)} sip:a@b`,
      ]);
      return Buffer.from(line + (eol < 0 ? '\r\n\r\n' : s.slice(eol)), 'latin1');
    }
    case 10: {
      // line endings changed: bare LF, bare CR, or none
      const s = seed.toString('latin1');
      return Buffer.from(s.replace(/\r\n/g, rng.pick(['\n', '\r', '', '\r\r\n', '\n\r'])), 'latin1');
    }
    default: {
      // many folded continuation lines or a very long header
      const s = seed.toString('latin1');
      const at = s.indexOf('\r\n');
      const junk = rng.int(2) === 0 ? `X-Fold: a${'\r\n b'.repeat(1 + rng.int(400))}` : `Via: ${'SIP/2.0/UDP h;branch=z9hG4bKx, '.repeat(1 + rng.int(300))}SIP/2.0/UDP h`;
      return Buffer.from(`${s.slice(0, Math.max(0, at))}\r\n${junk}${at < 0 ? '\r\n\r\n' : s.slice(at)}`, 'latin1');
    }
  }
}

/** `count` bad inputs: about a fifth random bytes, the rest mutated SIP messages (1-3 mutations each). */
export function badInputs(seed: number, count: number): Buffer[] {
  const rng = new Prng(seed);
  const seeds = seedMessages();
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (rng.int(5) === 0) {
      out.push(rng.bytes(rng.int(700)));
      continue;
    }
    let message = rng.pick(seeds);
    for (let n = 1 + rng.int(3); n > 0; n--) message = mutate(rng, message, seeds);
    out.push(message);
  }
  return out;
}

/**
 * For stream transports: makes an input framable (header section ended, Content-Length equal to what
 * follows), so that it reaches the parser instead of stalling or breaking the framer.
 */
export function framed(input: Buffer): Buffer {
  const s = input.toString('latin1');
  let end = s.indexOf('\r\n\r\n');
  const text = end < 0 ? `${s}\r\n\r\n` : s;
  if (end < 0) end = s.length;
  const head = text.slice(0, end).replace(/\r\n(content-length|l)[ \t]*:[^\r\n]*/gi, '');
  const body = text.slice(end + 4);
  return Buffer.from(`${head}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
}
