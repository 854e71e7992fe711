import type { NgReply } from '../ng/ng-client';

export interface LegStats {
  /** RTP received from this leg by rtpengine. */
  readonly packets: number;
  readonly bytes: number;
  /** Packets rtpengine could not forward (bad SRTP, unknown payload...). */
  readonly errors: number;
  /** Unix time (s) of the last packet from this leg; 0 when none came. */
  readonly lastPacketAt: number;
  readonly codec: string | undefined;
  /**
   * Quality rtpengine computes from the RTCP reports about this leg's stream (ITU-T G.107 MOS, jitter in ms, loss
   * in %, round trip in µs). Undefined while the endpoints have sent no RTCP: rtpengine has nothing to derive them from.
   */
  readonly quality: { readonly mos: number; readonly jitterMs: number; readonly lossPercent: number; readonly roundTripUs: number } | undefined;
}

export interface CallStats {
  readonly createdAt: number;
  readonly legs: Readonly<Record<string, LegStats>>;
}

type Stream = { flags?: string[]; SSRC?: number; 'last packet'?: number; stats?: { packets?: number; bytes?: number; errors?: number } };
type Tag = { medias?: { codec?: string; streams?: Stream[] }[] };
type SsrcStats = { 'average MOS'?: { MOS?: number; jitter?: number; 'packet loss'?: number; 'round-trip time'?: number } };

/** Turns rtpengine's `query` reply into per-leg figures. */
export function parseCallStats(reply: NgReply): CallStats {
  const tags = (reply.tags ?? {}) as Record<string, Tag>;
  const ssrcs = (reply.SSRC ?? {}) as Record<string, SsrcStats>;
  const legs: Record<string, LegStats> = {};
  for (const [tag, info] of Object.entries(tags)) {
    let packets = 0, bytes = 0, errors = 0, lastPacketAt = 0;
    let quality: LegStats['quality'];
    for (const media of info.medias ?? []) {
      for (const stream of media.streams ?? []) {
        if (!(stream.flags ?? []).includes('RTP')) continue;
        packets += stream.stats?.packets ?? 0;
        bytes += stream.stats?.bytes ?? 0;
        errors += stream.stats?.errors ?? 0;
        lastPacketAt = Math.max(lastPacketAt, stream['last packet'] ?? 0);
        const mos = stream.SSRC === undefined ? undefined : ssrcs[String(stream.SSRC)]?.['average MOS'];
        if (mos?.MOS !== undefined && mos.MOS > 0) {
          // rtpengine reports MOS ×10 and loss ×1 (percent); keep the usual 1-5 scale.
          quality = { mos: mos.MOS / 10, jitterMs: mos.jitter ?? 0, lossPercent: mos['packet loss'] ?? 0, roundTripUs: mos['round-trip time'] ?? 0 };
        }
      }
    }
    legs[tag] = { packets, bytes, errors, lastPacketAt, codec: info.medias?.[0]?.codec, quality };
  }
  return { createdAt: Number(reply.created ?? 0), legs };
}
