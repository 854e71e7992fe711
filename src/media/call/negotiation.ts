import type { MediaProfile } from '../sdp/sdp';

/**
 * The NG flags that turn a leg's media into what its endpoint speaks (see ../shared/specs/rtpengine-notes.md,
 * "WebRTC with a real browser"). An offer carries the flags of the side that will receive it; an answer those of
 * the offerer, who receives the answer.
 */
export function profileFlags(profile: MediaProfile): Record<string, unknown> {
  return profile === 'webrtc'
    ? {
        ICE: 'force',
        'transport-protocol': 'UDP/TLS/RTP/SAVPF',
        'rtcp-mux': ['offer', 'require'],
        // Browsers use DTLS-SRTP; SDES keys in the SDP would only be noise. No DTLS role is forced: 'passive' makes
        // Chromium's handshake fail intermittently, rtpengine's default works every time.
        SDES: ['off'],
      }
    : { ICE: 'remove', 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'] };
}

/**
 * Offered to the other side besides the offerer's own codecs, so that two endpoints with nothing in common (a G.729
 * trunk and a browser) still meet on G.711, with rtpengine transcoding. Where both share a codec no transcoding
 * happens: the answerer picks the shared one.
 */
export const FALLBACK_CODECS = ['PCMU', 'PCMA'];

/**
 * The SDP a one-leg call is answered with while onecc itself is the far end (IVR, queue): rtpengine plays prompts
 * towards the caller and reports the caller's digits only once the call has an answer. It must be sendrecv (rtpengine
 * refuses to play into a recvonly answer) and names a discard port, since nothing listens for the caller's audio.
 */
export function promptSinkSdp(codecs: ReadonlyMap<number, string>, telephoneEventPt: number | undefined): string {
  const audio = [...codecs.entries()].filter(([, name]) => name === 'PCMU' || name === 'PCMA');
  const chosen = audio.length > 0 ? audio[0]! : ([0, 'PCMU'] as const);
  const pts = [chosen[0], ...(telephoneEventPt === undefined ? [] : [telephoneEventPt])];
  return [
    'v=0',
    'o=onecc 1 1 IN IP4 127.0.0.1',
    's=onecc',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio 9 RTP/AVP ${pts.join(' ')}`,
    `a=rtpmap:${chosen[0]} ${chosen[1]}/8000`,
    ...(telephoneEventPt === undefined ? [] : [`a=rtpmap:${telephoneEventPt} telephone-event/8000`, `a=fmtp:${telephoneEventPt} 0-16`]),
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/**
 * rtpengine 10.5 refuses a subscription answer whose sections do not list every codec its offer listed ("Failed to
 * process subscription answer"), while phones answer with the subset they take. A fork only relays what the forked
 * leg sends, without transcoding, so the answer's codec lists are replaced by the offer's, section by section;
 * ports, addresses and directions stay the answerer's.
 */
export function mirrorOfferedCodecs(offer: string, answer: string): string {
  const sections = (sdp: string) => sdp.split(/\r?\n(?=m=)/).map((part) => part.split(/\r?\n/).filter((line) => line !== ''));
  const offered = sections(offer).slice(1);
  const [session = [], ...answered] = sections(answer);
  const codecLine = /^a=(rtpmap|fmtp):/;
  const mirrored = answered.map((lines, i) => {
    const from = offered[i];
    if (from === undefined) return lines;
    const [m = '', ...rest] = lines;
    const mline = [...m.split(' ').slice(0, 3), ...from[0]!.split(' ').slice(3)].join(' ');
    return [mline, ...rest.filter((l) => !codecLine.test(l)), ...from.filter((l) => codecLine.test(l))];
  });
  return [...session, ...mirrored.flat()].join('\r\n') + '\r\n';
}
