import { MediaError } from '../errors';

/** What kind of endpoint an SDP describes: plain RTP (trunks, desk phones) or WebRTC (browsers). */
export type MediaProfile = 'rtp' | 'webrtc';

export interface SdpMediaSection {
  readonly kind: string;
  readonly port: number;
  readonly proto: string;
  /** Encoding names by payload type, upper-cased (static types filled in when no rtpmap is given). */
  readonly codecs: ReadonlyMap<number, string>;
  readonly direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  readonly connection: string | undefined;
}

export interface SdpSummary {
  readonly profile: MediaProfile;
  readonly media: readonly SdpMediaSection[];
}

const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, string> = new Map([
  [0, 'PCMU'], [3, 'GSM'], [4, 'G723'], [8, 'PCMA'], [9, 'G722'], [13, 'CN'], [18, 'G729'],
]);

/** Audio codecs rtpengine 10.5 can relay and transcode between (`rtpengine --codecs`, full support). */
export const TRANSCODABLE_AUDIO = new Set(['PCMU', 'PCMA', 'G722', 'G729', 'G729A', 'G723', 'GSM', 'SPEEX', 'OPUS']);

/**
 * Reads what onecc needs from an SDP body and rejects one it cannot negotiate: not SDP at all, no audio or video
 * stream, or audio offering only codecs rtpengine cannot handle. The error is INCOMPATIBLE_SDP (SIP 488).
 */
export function inspectSdp(sdp: string): SdpSummary {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw incompatible('not an SDP body (first line must be "v=0")');
  let sessionConnection: string | undefined;
  let sessionDirection: SdpMediaSection['direction'] = 'sendrecv';
  const sections: { kind: string; port: number; proto: string; formats: number[]; rtpmap: Map<number, string>; direction?: SdpMediaSection['direction']; connection?: string }[] = [];
  for (const [index, line] of lines.entries()) {
    const current = sections.at(-1);
    if (line.startsWith('m=')) {
      const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+)(?: (.*))?$/.exec(line);
      if (!m) throw incompatible(`line ${index + 1}: malformed media line "${line}"`);
      const formats = (m[4] ?? '').split(' ').filter(Boolean).map(Number).filter((n) => Number.isInteger(n));
      sections.push({ kind: m[1]!, port: Number(m[2]), proto: m[3]!, formats, rtpmap: new Map() });
    } else if (line.startsWith('c=')) {
      const address = line.split(' ')[2];
      if (current) current.connection = address;
      else sessionConnection = address;
    } else if (line.startsWith('a=rtpmap:')) {
      const r = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
      if (r && current) current.rtpmap.set(Number(r[1]), r[2]!.toUpperCase());
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      const direction = line.slice(2) as SdpMediaSection['direction'];
      if (current) current.direction = direction;
      else sessionDirection = direction;
    }
  }
  const media = sections.map((s): SdpMediaSection => ({
    kind: s.kind,
    port: s.port,
    proto: s.proto,
    codecs: new Map(s.formats.map((pt) => [pt, s.rtpmap.get(pt) ?? STATIC_PAYLOAD_TYPES.get(pt) ?? `PT${pt}`])),
    direction: s.direction ?? sessionDirection,
    connection: s.connection ?? sessionConnection,
  }));
  const active = media.filter((m) => m.port !== 0 && (m.kind === 'audio' || m.kind === 'video'));
  if (active.length === 0) throw incompatible('no active audio or video stream (m=audio/m=video with a non-zero port)');
  if (active.some((m) => m.connection === undefined)) throw incompatible('a stream has no connection address (c= line)');
  for (const audio of active.filter((m) => m.kind === 'audio')) {
    const names = [...audio.codecs.values()];
    if (!names.some((name) => TRANSCODABLE_AUDIO.has(name))) {
      throw incompatible(`no audio codec onecc can handle among ${names.join(', ') || 'none'} (supported: ${[...TRANSCODABLE_AUDIO].join(', ')})`);
    }
  }
  const webrtc = active.some((m) => /^(UDP\/TLS\/RTP\/SAVPF|RTP\/SAVPF)$/.test(m.proto));
  return { profile: webrtc ? 'webrtc' : 'rtp', media };
}

function incompatible(reason: string): MediaError {
  return new MediaError('INCOMPATIBLE_SDP', `SDP cannot be negotiated: ${reason}`, { reason });
}
