import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseMessage } from '../../../src/sip/message/index';
import type { TransportProtocol } from '../../../src/sip/index';
import { startEngine, TEST_LIMITS } from '../../helpers/sip-engine';
import { RawPacket, RawStreamPeer, RawUdpPeer, isFinal } from '../../helpers/raw-peer';

/**
 * RFC 4475 on the wire: every torture message goes to a running engine over UDP (one datagram) and over
 * TCP (a fresh connection), and the engine's answer is checked against what RFC 4475 (and README.md of the
 * corpus) says a UAS with no application attached does.
 */

const CORPUS_DIR = path.resolve(__dirname, '../../..', '../shared/testdata/rfc4475');

interface Case {
  name: string;
  section: string;
  kind: string;
  bytes: Buffer;
}

const cases: Case[] = readFileSync(path.join(CORPUS_DIR, 'index.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [name, section, kind] = line.split('\t') as [string, string, string];
    return { name, section, kind, bytes: readFileSync(path.join(CORPUS_DIR, name)) };
  });

/**
 * What the engine must do with a message: answer with one of `status` (the first final response),
 * send nothing back (`none`), and on TCP possibly close the connection afterwards.
 */
type Expect = { status: number[]; close?: boolean } | 'none' | 'wait';

const RESPONSE_WAIT_MS = 2000;
const SILENCE_MS = 300;

/** Valid requests with no application attached: OPTIONS 200, everything else 503, unless a §8.2 check answers first. */
const COMMON: Record<string, Expect> = {
  'wsinv.dat': { status: [503] },
  'intmeth.dat': { status: [501] }, // unknown method: §8.2.1
  'esc01.dat': { status: [503] },
  'escnull.dat': { status: [503] },
  'esc02.dat': { status: [501] }, // RE%47IST%45R is not REGISTER
  'lwsdisp.dat': { status: [200] },
  'longreq.dat': { status: [503] },
  'semiuri.dat': { status: [200] },
  'transports.dat': { status: [200] },
  'mpart01.dat': { status: [503] },
  'unreason.dat': 'none', // responses are never answered
  'noreason.dat': 'none',
  'badinv01.dat': { status: [400] },
  'scalar02.dat': { status: [400] },
  'scalarlg.dat': 'none',
  'quotbal.dat': { status: [400] },
  'ltgtruri.dat': { status: [400] },
  'lwsruri.dat': { status: [400] },
  'lwsstart.dat': { status: [400] },
  'trws.dat': { status: [400] },
  'escruri.dat': { status: [400] },
  'baddate.dat': { status: [503, 400] }, // Date does not matter to this UAS: either answer is allowed
  'regbadct.dat': { status: [400] },
  'badaspec.dat': { status: [400] },
  'baddn.dat': { status: [400] },
  'badvers.dat': { status: [505] },
  'mismatch01.dat': { status: [400] },
  'mismatch02.dat': { status: [501] },
  'bigcode.dat': 'none',
  'badbranch.dat': { status: [200] }, // RFC 2543 matching fallback, then OPTIONS 200
  'insuf.dat': { status: [400] },
  'unkscm.dat': { status: [416] },
  'novelsc.dat': { status: [416] },
  'unksm2.dat': { status: [503] },
  'bext01.dat': { status: [420] },
  'invut.dat': { status: [415] },
  'regaut01.dat': { status: [503] },
  'multi01.dat': { status: [400] },
  'bcast.dat': 'none',
  'zeromf.dat': { status: [200] }, // an endpoint processes Max-Forwards 0
  'cparam01.dat': { status: [503] },
  'cparam02.dat': { status: [503] },
  'regescrt.dat': { status: [503] },
  'sdp01.dat': { status: [406] },
};

const EXPECTED: Record<'udp' | 'tcp', Record<string, Expect>> = {
  udp: {
    ...COMMON,
    'dblreq.dat': { status: [503] }, // the REGISTER; the trailing INVITE octets are ignored
    'clerr.dat': { status: [400] },
    'ncl.dat': { status: [400] },
    'mcl01.dat': { status: [400] },
    'inv2543.dat': { status: [503] }, // body = rest of the datagram
  },
  tcp: {
    ...COMMON,
    // The REGISTER first; the INVITE is the next message on the stream. Its Content-Length (150) is 5 octets
    // short of its body, so "C\r\n\r\n" is left over: a message without Content-Length, a framing error.
    'dblreq.dat': { status: [503], close: true },
    'clerr.dat': 'wait', // Content-Length 9999: the engine waits for the rest of the body
    'baddn.dat': 'wait', // the archive's baddn.dat lacks the empty line (README): the header section never ends
    'ncl.dat': { status: [400], close: true }, // framing error: answer, then close
    'mcl01.dat': { status: [400], close: true },
    'inv2543.dat': { status: [400], close: true }, // a stream needs Content-Length
  },
};


/** Checks made beyond the status, per message. */
const EXTRA: Record<string, (t: Test, response: RawPacket, transport: 'udp' | 'tcp') => void> = {
  'bext01.dat'(t, res) {
    const unsupported = res.headers('unsupported').flatMap((v) => v.split(',')).map((v) => v.trim());
    t.same(unsupported.sort(), ['nothingSupportsThis', 'nothingSupportsThisEither'], 'Unsupported lists both Require tags');
  },
  'sdp01.dat'(t, res) {
    t.match(res.header('warning') ?? '', /^399 /, 'a 399 Warning says why');
  },
  'invut.dat'(t, res) {
    t.equal(res.header('accept'), 'application/sdp', '415 says what is accepted');
  },
  'intmeth.dat'(t, res) {
    t.match(res.header('allow') ?? '', /\bINVITE\b/, '501 lists the allowed methods');
  },
};

t.test('every RFC 4475 case has an expectation on both transports', async (t) => {
  t.equal(cases.length, 49);
  for (const transport of ['udp', 'tcp'] as const) {
    t.same(cases.map((c) => c.name).filter((n) => !(n in EXPECTED[transport])), [], `${transport}: no case left out`);
  }
});

/**
 * Several corpus messages share a branch, sent-by and method (unkscm/novelsc, escnull/regescrt,
 * cparam01/cparam02): to RFC 3261 §17.2.3 they are the same transaction, so the second would get the
 * first's response as a retransmission. Such messages go to a second engine.
 */
function transactionKey(bytes: Buffer): string | undefined {
  try {
    const m = parseMessage(bytes, true);
    if (!m.isRequest) return undefined;
    return `${m.topVia.branch}|${m.topVia.host}:${m.topVia.port ?? ''}|${m.method}`;
  } catch {
    return undefined;
  }
}

function callIdOf(bytes: Buffer): string | undefined {
  return new RawPacket(bytes, 0).callId;
}

for (const transport of ['udp', 'tcp'] as const) {
  t.test(`RFC 4475 messages over ${transport.toUpperCase()}`, async (t) => {
    const engines: Array<Awaited<ReturnType<typeof startEngine>>> = [];
    const engineFor = async (i: number): Promise<Awaited<ReturnType<typeof startEngine>>> => {
      while (engines.length <= i) {
        engines.push(
          await startEngine(t, {
            timers: { t1: 50, t2: 400, t4: 500 },
            limits: TEST_LIMITS,
            listen: [
              { transport: 'udp', host: '127.0.0.1', port: 0 },
              { transport: 'tcp', host: '127.0.0.1', port: 0 },
            ],
          }),
        );
      }
      return engines[i]!;
    };
    const seenKeys = new Map<string, number>();

    for (const c of cases) {
      const expect = EXPECTED[transport][c.name]!;
      const key = transactionKey(c.bytes);
      const use = key === undefined ? 0 : (seenKeys.get(key) ?? 0);
      if (key !== undefined) seenKeys.set(key, use + 1);
      const engine = await engineFor(use);
      const callId = callIdOf(c.bytes);
      const label = typeof expect === 'string' ? expect : expect.status.join(' or ');


      await t.test(`${c.name} (§${c.section}, ${c.kind}) → ${label}`, async (t) => {
        const sameCall = (p: RawPacket): boolean => callId === undefined || p.callId === callId;
        let inbox;
        let stream: RawStreamPeer | undefined;
        if (transport === 'udp') {
          const peer = await RawUdpPeer.open(t);
          inbox = peer.inbox;
          await peer.send(c.bytes, engine.port('udp'));
        } else {
          stream = await RawStreamPeer.connectTcp(t, engine.port(protocolOf(transport)));
          inbox = stream.inbox;
          await stream.write(c.bytes);
        }

        if (expect === 'none' || expect === 'wait') {
          const got = await inbox.settle(SILENCE_MS);
          t.same(got.map((p) => p.startLine), [], `nothing is sent back within ${SILENCE_MS} ms`);
          if (stream) t.equal(stream.isClosed, false, 'the connection stays open');
          return;
        }

        const response = await inbox.next((p) => isFinal(p), RESPONSE_WAIT_MS, `a final response to ${c.name}`);
        t.ok(expect.status.includes(response.status!), `status ${response.status} is one of ${expect.status.join(', ')}`);
        if (callId !== undefined) t.equal(response.callId, callId, 'the response carries the request\'s Call-ID');
        else t.equal(response.callId, undefined, 'no Call-ID to echo');
        t.not(response.status, undefined, 'it is a response');
        EXTRA[c.name]?.(t, response, transport);

        if (c.name === 'dblreq.dat') {
          t.equal(response.cseq?.method, 'REGISTER', 'the first answer is for the REGISTER');
          const inviteCallId = 'dblreq.0ha0isnda977644900765@192.0.2.15';
          if (transport === 'udp') {
            const later = await inbox.settle(SILENCE_MS);
            t.same(later.filter((p) => p.callId === inviteCallId).map((p) => p.startLine), [], 'the trailing INVITE octets get no answer');
            t.equal(inbox.count(isFinal), 1, 'exactly one final response');
          } else {
            const invite = await inbox.next((p) => isFinal(p) && p.callId === inviteCallId, RESPONSE_WAIT_MS, 'the INVITE\'s answer');
            t.equal(invite.status, 503, 'on a stream the INVITE after the REGISTER is the next message');
            inbox.take((p) => p.callId === inviteCallId);
          }
        }

        if (stream) {
          if (expect.close) t.equal(await stream.waitClosed(1000), true, 'the engine closes the connection after a framing error');
          else t.equal(await stream.waitClosed(50), false, 'the connection stays open');
        }
        const others = inbox.take((p) => !sameCall(p));
        t.same(others.map((p) => p.startLine), [], 'nothing for other calls arrives on this socket');
      });
    }
  });
}

function protocolOf(transport: 'udp' | 'tcp'): TransportProtocol {
  return transport;
}

t.test('baddn with its empty line restored (extra/baddn-terminated.dat) over TCP → 400', async (t) => {
  const engine = await startEngine(t, { timers: { t1: 50, t2: 400, t4: 500 } });
  const bytes = readFileSync(path.join(CORPUS_DIR, 'extra/baddn-terminated.dat'));
  const peer = await RawStreamPeer.connectTcp(t, engine.port('tcp'));
  await peer.write(bytes);
  const response = await peer.inbox.next(isFinal, RESPONSE_WAIT_MS, 'the 400');
  t.equal(response.status, 400);
  t.equal(response.callId, callIdOf(bytes));
  t.equal(await peer.waitClosed(100), false, 'a parse error (not a framing error) keeps the connection');
});
