import type Srf from 'drachtio-srf';
import type { MediaProfile } from '../../media/index';
import type { PhoneDevice } from './phone-directory';

/** Where one INVITE goes: a request URI, and for registered phones the address their REGISTER came from. */
export interface DialTarget {
  readonly uri: string;
  readonly proxy?: string;
}

export interface DialOptions {
  /** The SDP offer every INVITE carries. */
  readonly sdp: string;
  readonly headers?: Record<string, string>;
  /** The user part of From (the number the called party sees); without it drachtio-srf's default. */
  readonly callingNumber?: string;
  /** Ringing this long without an answer: every INVITE is cancelled and the dial fails with `no-answer`. */
  readonly timeoutMs: number;
}

export type DialResult =
  | { readonly kind: 'answered'; readonly dialog: Srf.Dialog }
  | { readonly kind: 'failed'; readonly reason: 'no-answer' | 'busy' | 'declined' | 'cancelled'; readonly statuses: readonly number[] };

export interface Dial {
  /** The first 2xx wins; the others are cancelled, or hung up if they answered at the same moment. */
  readonly result: Promise<DialResult>;
  /** Stops the dial (the caller hung up): pending INVITEs are cancelled; the result is `cancelled`. */
  cancel(): void;
}

/**
 * Rings every target at once with the same offer (an agent's several phones; one URI for a transfer or a callback).
 * A phone that never answered at all (a stale registration) cannot be cancelled (RFC 3261 §9.1) and would hold the
 * dial until Timer B, so half a second past the timeout the dial has failed whatever is still outstanding.
 */
export function dialFirstAnswer(srf: Srf, targets: readonly DialTarget[], options: DialOptions): Dial {
  const pending = new Map<number, Srf.SrfRequest>();
  let stopped: 'no-answer' | 'cancelled' | undefined;
  const cancelPending = () => {
    for (const req of pending.values()) {
      try {
        req.cancel(() => undefined);
      } catch {
        // Answered a moment ago: its dialog is hung up below instead.
      }
    }
    pending.clear();
  };
  const stop = (why: 'no-answer' | 'cancelled') => {
    stopped ??= why;
    cancelPending();
  };
  const attempts = targets.map((target, i) => {
    const attempt = srf.createUAC(
      target.uri,
      { proxy: target.proxy, localSdp: options.sdp, headers: options.headers ?? {}, ...(options.callingNumber ? { callingNumber: options.callingNumber } : {}) },
      { cbRequest: sentRequest((req) => (stopped ? req.cancel(() => undefined) : pending.set(i, req))) },
    );
    void attempt.then(() => pending.delete(i), () => pending.delete(i));
    return attempt;
  });
  let wake: (() => void) | undefined;
  const stoppedEarly = new Promise<undefined>((resolve) => (wake = () => resolve(undefined)));
  const timer = setTimeout(() => stop('no-answer'), options.timeoutMs);
  const giveUp = setTimeout(() => wake?.(), options.timeoutMs + 500);

  const result = (async (): Promise<DialResult> => {
    let dialog: Srf.Dialog | undefined;
    let statuses: number[] = [];
    try {
      dialog = await Promise.race([Promise.any(attempts), stoppedEarly]);
    } catch (err) {
      statuses = ((err as AggregateError).errors ?? []).map((e: { status?: number }) => e?.status ?? 0);
    } finally {
      clearTimeout(timer);
      clearTimeout(giveUp);
    }
    cancelPending();
    void Promise.allSettled(attempts).then((results) => {
      for (const r of results) if (r.status === 'fulfilled' && r.value !== dialog) void hangUp(r.value);
    });
    if (dialog !== undefined && stopped === undefined) return { kind: 'answered', dialog };
    if (dialog !== undefined) await hangUp(dialog);
    if (stopped === 'cancelled') return { kind: 'failed', reason: 'cancelled', statuses };
    if (stopped === 'no-answer' || dialog === undefined && statuses.length === 0) return { kind: 'failed', reason: 'no-answer', statuses };
    return { kind: 'failed', reason: statuses.some((s) => s === 486 || s === 600) ? 'busy' : 'declined', statuses };
  })();
  return {
    result,
    cancel: () => {
      stop('cancelled');
      wake?.();
    },
  };
}

/**
 * An agent's phones to ring for one offer, and the media profile their SDP must have. rtpengine holds one offer per
 * leg, so one kind of endpoint is rung per offer: the kind of the most recently registered device.
 */
export function phonesToRing(devices: readonly PhoneDevice[]): { profile: MediaProfile; targets: DialTarget[] } {
  const profileOf = (d: PhoneDevice): MediaProfile => (d.transport === 'ws' || d.transport === 'wss' ? 'webrtc' : 'rtp');
  const latest = [...devices].sort((a, b) => b.expiresAt - a.expiresAt)[0];
  const profile: MediaProfile = latest ? profileOf(latest) : 'rtp';
  return { profile, targets: devices.filter((d) => profileOf(d) === profile).map((d) => ({ uri: d.uri, proxy: d.proxy })) };
}

/**
 * Calls `then` once the dialog has ended, now if it already has. drachtio-srf says 'destroy' once, for the far end's
 * BYE, and then drops its listeners: one attached after an await (bridging, an ACD commit) would miss a BYE that came
 * meanwhile and wait for ever.
 */
export function whenEnded(dialog: Srf.Dialog, then: () => void): void {
  if ((dialog as Srf.Dialog & { connected?: boolean }).connected === false) queueMicrotask(then);
  else dialog.once('destroy', then);
}

/** Sends BYE (or nothing, if the dialog is already gone); never throws. */
export async function hangUp(dialog: Srf.Dialog): Promise<void> {
  await new Promise<void>((resolve) => {
    try {
      dialog.destroy(undefined, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** drachtio-srf calls cbRequest as (err, req), not (req) as its typings say: take the request from where it is. */
function sentRequest(use: (req: Srf.SrfRequest) => void): (req: Srf.SrfRequest) => void {
  return (...args: unknown[]) => {
    const req = (args[1] ?? args[0]) as Srf.SrfRequest | null;
    if (req) use(req);
  };
}
