/**
 * SIP message parse + serialize throughput and latency (see bench/README.md).
 *
 *   npm run build && node dist/bench/sip-parse/run.js [--seconds 5] [--sample-every 16]
 *
 * Each iteration does what the transport and transaction layers do with a datagram: parseMessage(buf, true), read
 * the typed views a transaction is matched by (top Via branch, CSeq, Call-ID, From and To tags), then toBuffer().
 */
import { parseMessage } from '../../src/sip/message/index';

// The reference that runs here: drachtio-srf's own SIP parser, which every drachtio application (onecc's included)
// uses on each message it gets. It is plain JavaScript, so the ratio compares like with like.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DrachtioSipMessage = require('drachtio-srf/lib/sip-parser/message') as new (text: string) => {
  getParsedHeader(name: string): any;
  toString(): string;
};

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const SECONDS = arg('seconds', 5);
const SAMPLE_EVERY = Math.floor(arg('sample-every', 16));
const WARMUP_MS = 500;
const BATCH = 64;

// ---- corpus: one call through a carrier trunk, plus registration --------------------------------------------------

const CRLF = '\r\n';
const SDP_OFFER = [
  'v=0', 'o=- 1618033988 1618033988 IN IP4 198.51.100.7', 's=-', 'c=IN IP4 198.51.100.8', 't=0 0',
  'm=audio 18234 RTP/AVP 0 8 18 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=maxptime:40', 'a=sendrecv', '',
].join(CRLF);
const SDP_ANSWER = [
  'v=0', 'o=onecc 3141592653 3141592654 IN IP4 203.0.113.20', 's=onecc', 'c=IN IP4 203.0.113.21', 't=0 0',
  'm=audio 40002 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  'a=ptime:20', 'a=sendrecv', 'a=rtcp:40003', '',
].join(CRLF);

const VIAS = [
  'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---4f9c2e7a1b3d5c6e;rport=5060;received=203.0.113.10',
  'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKa9c8e7f6d5c4b3a2;received=198.51.100.7',
];
const FROM = 'From: "ACME Corp" <sip:+12125550100@198.51.100.7;user=phone>;tag=as4f1c2d3e';
const TO = 'To: <sip:+14155550123@203.0.113.10;user=phone>';
const CALL_ID = 'Call-ID: 3c26f2a84b1e4c8a9d2f0e6b7a5c4d3e@198.51.100.7';
const RECORD_ROUTES = ['Record-Route: <sip:203.0.113.10;lr;ftag=as4f1c2d3e;nat=yes>', 'Record-Route: <sip:198.51.100.7;lr>'];
const ALLOW = 'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PRACK, UPDATE, MESSAGE';

function build(startLine: string, headers: string[], body = ''): Buffer {
  return Buffer.from(`${startLine}${CRLF}${[...headers, `Content-Length: ${Buffer.byteLength(body)}`].join(CRLF)}${CRLF}${CRLF}${body}`);
}

const RURI = 'sip:+14155550123@10.0.0.20:5060;transport=udp';
const REPLY_BASE = [...VIAS, ...RECORD_ROUTES, FROM, `${TO};tag=onecc-7d1f0a`, CALL_ID, 'CSeq: 102 INVITE'];
const DIALOG = ['Max-Forwards: 70', FROM, `${TO};tag=onecc-7d1f0a`, CALL_ID];

const CORPUS: Array<{ kind: string; bytes: Buffer }> = [
  { kind: 'INVITE+SDP', bytes: build(`INVITE ${RURI} SIP/2.0`, [
    ...VIAS, ...RECORD_ROUTES, 'Route: <sip:10.0.0.20;lr>', 'Max-Forwards: 68', FROM, TO, CALL_ID, 'CSeq: 102 INVITE',
    'Contact: <sip:+12125550100@198.51.100.7:5060;transport=udp>',
    'P-Asserted-Identity: "ACME Corp" <sip:+12125550100@198.51.100.7;user=phone>', ALLOW,
    'Supported: replaces, timer, 100rel', 'Session-Expires: 1800;refresher=uac', 'Min-SE: 90', 'User-Agent: CarrierSBC/4.2',
    'Content-Type: application/sdp',
  ], SDP_OFFER) },
  { kind: '100 Trying', bytes: build('SIP/2.0 100 Trying', [...VIAS, FROM, TO, CALL_ID, 'CSeq: 102 INVITE']) },
  { kind: '180 Ringing', bytes: build('SIP/2.0 180 Ringing', [...REPLY_BASE, 'Contact: <sip:agent-1042@203.0.113.20:5060>', ALLOW]) },
  { kind: '200 OK+SDP', bytes: build('SIP/2.0 200 OK', [
    ...REPLY_BASE, 'Contact: <sip:agent-1042@203.0.113.20:5060>', ALLOW, 'Supported: replaces, timer',
    'Session-Expires: 1800;refresher=uac', 'Require: timer', 'Content-Type: application/sdp',
  ], SDP_ANSWER) },
  { kind: 'REGISTER+auth', bytes: build('REGISTER sip:pbx.example.com SIP/2.0', [
    'Via: SIP/2.0/UDP 192.0.2.44:5062;branch=z9hG4bK.7cVd2sQ1a;rport', 'Max-Forwards: 70',
    'From: <sip:1042@pbx.example.com>;tag=Gw8Qk1aP', 'To: <sip:1042@pbx.example.com>', 'Call-ID: 9sLk2mQ8vB',
    'CSeq: 21 REGISTER', 'Contact: <sip:1042@192.0.2.44:5062;transport=udp>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>";expires=600',
    'Authorization: Digest username="1042", realm="pbx.example.com", nonce="5f3a9c0e2b8d4f61a7c3e5b9d1f2a4c6", ' +
      'uri="sip:pbx.example.com", response="8b2f5d1c9e7a3b6f4d2c1e0a9b8c7d6e", algorithm=MD5, cnonce="a1b2c3d4", qop=auth, nc=00000001',
    'User-Agent: Linphone/5.2.0', 'Supported: outbound, path, gruu', 'Expires: 600',
  ]) },
  { kind: '401 Unauthorized', bytes: build('SIP/2.0 401 Unauthorized', [
    'Via: SIP/2.0/UDP 192.0.2.44:5062;branch=z9hG4bK.7cVd2sQ1a;rport=5062;received=192.0.2.44',
    'From: <sip:1042@pbx.example.com>;tag=Gw8Qk1aP', 'To: <sip:1042@pbx.example.com>;tag=onecc-reg-1', 'Call-ID: 9sLk2mQ8vB',
    'CSeq: 20 REGISTER',
    'WWW-Authenticate: Digest realm="pbx.example.com", nonce="5f3a9c0e2b8d4f61a7c3e5b9d1f2a4c6", opaque="c0ffee", algorithm=MD5, qop="auth"',
  ]) },
  { kind: 'ACK', bytes: build('ACK sip:agent-1042@203.0.113.20:5060 SIP/2.0', [
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---8a7b6c5d4e3f2a1b;rport', 'Route: <sip:198.51.100.7;lr>',
    ...DIALOG, 'CSeq: 102 ACK',
  ]) },
  { kind: 'BYE', bytes: build('BYE sip:agent-1042@203.0.113.20:5060 SIP/2.0', [
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---0f1e2d3c4b5a6978;rport', 'Route: <sip:198.51.100.7;lr>',
    ...DIALOG, 'CSeq: 103 BYE', 'Reason: Q.850;cause=16;text="Normal call clearing"',
  ]) },
  { kind: 'OPTIONS', bytes: build('OPTIONS sip:10.0.0.20:5060 SIP/2.0', [
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-ka-000173;rport', 'Max-Forwards: 70',
    'From: <sip:ping@203.0.113.10>;tag=ka173', 'To: <sip:10.0.0.20:5060>', 'Call-ID: keepalive-000173@203.0.113.10',
    'CSeq: 173 OPTIONS', 'Accept: application/sdp',
  ]) },
];

// ---- the measured operation ---------------------------------------------------------------------------------------

let sink = 0;

/** Parse as the UDP transport would, read what transaction matching reads, serialize as a proxy would. */
function roundTrip(bytes: Buffer): void {
  const m = parseMessage(bytes, true);
  const branch = m.topVia.branch ?? '';
  const cseq = m.cseq;
  const key = `${branch}|${cseq.method}|${cseq.seq}|${m.callId}|${m.from.tag ?? ''}|${m.to.tag ?? ''}`;
  sink += key.length + m.toBuffer().length;
}

/** The same work with drachtio-srf's parser: decode, parse, read the same fields, serialize. */
function referenceRoundTrip(bytes: Buffer): void {
  const m = new DrachtioSipMessage(bytes.toString('utf8'));
  const branch = m.getParsedHeader('via')[0].params.branch ?? '';
  const cseq = m.getParsedHeader('cseq');
  const key = `${branch}|${cseq.method}|${cseq.seq}|${m.getParsedHeader('call-id')}|${m.getParsedHeader('from').params.tag ?? ''}|${m.getParsedHeader('to').params.tag ?? ''}`;
  sink += key.length + Buffer.byteLength(m.toString());
}

interface KindStats {
  kind: string;
  bytes: number;
  count: number;
  ns: bigint;
  samples: number[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function run(): void {
  for (const { kind, bytes } of CORPUS) {
    const m = parseMessage(bytes, true);
    if (!m.topVia.branch || !m.callId || !m.from.tag) throw new Error(`${kind}: corpus message lacks a transaction key`);
  }
  const [onecc, reference] = measure([roundTrip, referenceRoundTrip]);
  report(onecc, reference);
}

/**
 * Times each parser on the same batches, taking turns batch by batch, so that a change in machine load during
 * the run weighs on both alike and the ratio stays meaningful (one after the other, it swung 0.8-1.3x here).
 */
function measure(parsers: Array<(bytes: Buffer) => void>): KindStats[][] {
  const warmUntil = Date.now() + WARMUP_MS;
  while (Date.now() < warmUntil) for (const parse of parsers) for (const { bytes } of CORPUS) parse(bytes);

  const stats = parsers.map(() => CORPUS.map(({ kind, bytes }): KindStats => ({ kind, bytes: bytes.length, count: 0, ns: 0n, samples: [] })));
  // Each parser gets SECONDS of measured time, so the run lasts about SECONDS × parsers.
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * parsers.length * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let k = 0; k < CORPUS.length; k++) {
      const bytes = CORPUS[k]!.bytes;
      parsers.forEach((parse, p) => timeBatch(parse, bytes, stats[p]![k]!));
    }
  }
  return stats;
}

function timeBatch(parse: (bytes: Buffer) => void, bytes: Buffer, s: KindStats): void {
  const start = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) {
    if (i % SAMPLE_EVERY === 0) {
      const t0 = process.hrtime.bigint();
      parse(bytes);
      s.samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    } else {
      parse(bytes);
    }
  }
  s.ns += process.hrtime.bigint() - start;
  s.count += BATCH;
}

interface Row {
  kind: string;
  bytes: number;
  messages: number;
  msgsPerSec: number;
  mbPerSec: number;
  p50us: number;
  p99us: number;
}

function summarize(stats: KindStats[]): { rows: Row[]; total: Row } {
  const rows = stats.map((s) => {
    const seconds = Number(s.ns) / 1e9;
    const sorted = s.samples.sort((a, b) => a - b);
    return {
      kind: s.kind, bytes: s.bytes, messages: s.count, msgsPerSec: s.count / seconds, mbPerSec: (s.count * s.bytes) / seconds / 1e6,
      p50us: percentile(sorted, 50), p99us: percentile(sorted, 99),
    };
  });
  const totalSeconds = Number(stats.reduce((sum, s) => sum + s.ns, 0n)) / 1e9;
  const totalMessages = stats.reduce((sum, s) => sum + s.count, 0);
  const totalBytes = stats.reduce((sum, s) => sum + s.count * s.bytes, 0);
  const all = stats.flatMap((s) => s.samples).sort((a, b) => a - b);
  const total = {
    kind: 'total', bytes: Math.round(totalBytes / totalMessages), messages: totalMessages, msgsPerSec: totalMessages / totalSeconds,
    mbPerSec: totalBytes / totalSeconds / 1e6, p50us: percentile(all, 50), p99us: percentile(all, 99),
  };
  return { rows, total };
}

function report(oneccStats: KindStats[], referenceStats: KindStats[]): void {
  const { rows, total } = summarize(oneccStats);
  const reference = summarize(referenceStats).total;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  const header = ['message', 'bytes', 'msgs/s', 'MB/s', 'p50 µs', 'p99 µs'];
  const widths = [18, 6, 10, 8, 8, 8];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const cells = (r: Row): string[] => [
    r.kind, String(r.bytes), Math.round(r.msgsPerSec).toLocaleString('en-US'), r.mbPerSec.toFixed(1), r.p50us.toFixed(1), r.p99us.toFixed(1),
  ];
  console.log(`sip-parse: parseMessage(datagram) + transaction views + toBuffer, ${SECONDS} s, Node ${process.version}, latency sampled 1 in ${SAMPLE_EVERY}`);
  console.log(line(header));
  for (const r of rows) console.log(line(cells(r)));
  console.log(line(cells(total)));
  console.log(line(cells({ ...reference, kind: 'drachtio-srf ref' })));
  const ratio = total.msgsPerSec / reference.msgsPerSec;
  console.log(`onecc/drachtio-srf parser throughput ratio: ${ratio.toFixed(2)}x (same corpus, same fields read, same run)`);
  console.log(`peak RSS: ${peakRssMb.toFixed(1)} MB (both parsers ran in this process)`);
  const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
  console.log(JSON.stringify({
    bench: 'sip-parse', node: process.version, seconds: SECONDS, sampleEvery: SAMPLE_EVERY,
    kinds: rows.map((r) => ({ ...r, msgsPerSec: Math.round(r.msgsPerSec), mbPerSec: round(r.mbPerSec), p50us: round(r.p50us, 2), p99us: round(r.p99us, 2) })),
    total: { messages: total.messages, msgsPerSec: Math.round(total.msgsPerSec), mbPerSec: round(total.mbPerSec), p50us: round(total.p50us, 2), p99us: round(total.p99us, 2) },
    reference: { parser: 'drachtio-srf sip-parser', msgsPerSec: Math.round(reference.msgsPerSec), p50us: round(reference.p50us, 2), p99us: round(reference.p99us, 2) },
    ratio: round(ratio, 2),
    peakRssMb: round(peakRssMb), checksum: sink % 1_000_000_007,
  }));
}

run();
