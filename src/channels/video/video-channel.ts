import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type Srf from 'drachtio-srf';
import type { AcdEngine, AcdEvent } from '../../acd/index';
import type { OneccConfig } from '../../config/index';
import { randomId, type Logger } from '../../lib/index';
import type { MediaService } from '../../media/index';
import type { InteractionRecord, InteractionRecords } from '../interaction-records';
import type { SurveyLinks } from '../survey/index';
import { taskHeaders } from '../voice/context-headers';
import { dialFirstAnswer, hangUp, phonesToRing, whenEnded, type Dial } from '../voice/dial';
import type { PhoneDirectory } from '../voice/phone-directory';

export type VideoConfig = OneccConfig['video'];

const CALLER = 'caller';

/**
 * Video calls from customers' browsers (docs/video.md): the page /video/ calls `video.user` over SIP on WebSocket
 * with an admission token it got from GET /video/token. onecc does not answer at once: the call rings (180) while it
 * waits in `video.queue` as an ACD task of channel `video`; the offered agent's softphone rings with an offer for the
 * caller's audio and video from rtpengine, and the agent's answer answers the caller (a late answer: the caller's
 * media starts with the agent's). Unanswered, the offer goes back (RONA) and the next agent rings.
 */
export class VideoChannel {
  readonly #secret: Buffer;
  readonly #live = new Set<{ cancel(): void }>();
  readonly #offers = new Map<string, (agentId: string) => void>();
  readonly #log: Logger;

  constructor(
    private readonly deps: {
      readonly srf: Srf;
      readonly acd: AcdEngine;
      readonly media: MediaService;
      readonly phones: PhoneDirectory;
      readonly records: InteractionRecords;
      /** Signs the survey link the page opens after the call. */
      readonly surveyLinks?: SurveyLinks;
      readonly config: VideoConfig;
      /** Shared by every onecc node (voice.nonceSecret): a token from one is good on the others. */
      readonly secret: string | null;
      readonly ringTimeoutMs: number;
      readonly logger: Logger;
    },
  ) {
    this.#secret = deps.secret === null ? randomBytes(32) : Buffer.from(deps.secret);
    this.#log = deps.logger.child({ component: 'video' });
  }

  /** Takes INVITEs for video.user that came over WebSocket; everything else goes on to the voice channel. */
  start(): void {
    this.deps.srf.use('invite', (req: Srf.SrfRequest, res: Srf.SrfResponse, next: Function) => {
      const user = /^sips?:([^@;]+)@/.exec(req.uri)?.[1];
      if (user !== this.deps.config.user || !/^wss?$/i.test(req.protocol ?? '')) return next();
      void this.#onInvite(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'video call failed');
        if (!res.finalResponseSent) res.send(500);
      });
    });
    this.deps.acd.on('event', (event: AcdEvent) => {
      // The call is on this node whichever node made the offer (another one, after a drain handed the task over).
      if (event.type === 'task-offered') this.#offers.get(event.task.id)?.(event.agent.id);
    });
  }

  close(): void {
    for (const call of this.#live) call.cancel();
  }

  /** GET /video/token: an admission token for the page, valid video.tokenSeconds. */
  token(): { token: string; expiresAt: number } {
    const expiresAt = Date.now() + this.deps.config.tokenSeconds * 1000;
    return { token: `${expiresAt}.${this.#sign(String(expiresAt))}`, expiresAt };
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#secret).update(text).digest('base64url');
  }

  #admitted(token: string | undefined): boolean {
    const [expires = '', signature = ''] = (token ?? '').split('.');
    if (!/^\d+$/.test(expires) || Number(expires) < Date.now()) return false;
    const expected = Buffer.from(this.#sign(expires));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  async #onInvite(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    const { acd, config } = this.deps;
    if (!this.#admitted(req.get('X-Onecc-Video-Token'))) return void res.send(403, { headers: { Warning: '399 onecc "an admission token from GET /video/token is required"' } });
    if (this.#live.size >= config.maxCalls) return void res.send(486);
    if (!req.body || !/^m=video /m.test(req.body)) return void res.send(488, { headers: { Warning: '399 onecc "a video call offers video"' } });
    const id = `video-${randomId()}`;
    const log = this.#log.child({ callId: id });
    const name = req.get('X-Onecc-Name')?.slice(0, 80);
    const attributes: Record<string, string> = { caller: name ?? 'Web visitor', interaction: id };
    const topic = req.get('X-Onecc-Topic');
    if (topic) attributes.topic = topic.slice(0, 200);
    const record: InteractionRecord = {
      id, channel: 'video', startedAt: new Date().toISOString(), trunk: 'web', caller: attributes.caller!, called: config.queue, queue: config.queue, legs: [], ...(name ? { name } : {}),
    };
    // Saved before the task exists: the first save links the customer the agent's offer shows.
    await this.deps.records.save(record);
    const task = await acd.enqueue({ channel: 'video', queue: config.queue, attributes });
    const media = this.deps.media.openCall(id);

    let dial: Dial | undefined;
    let gone = false;
    let wake: (() => void) | undefined;
    const offered: string[] = [];
    this.#offers.set(task.id, (agentId) => {
      offered.push(agentId);
      wake?.();
    });
    const live = { cancel: () => { gone = true; dial?.cancel(); wake?.(); } };
    this.#live.add(live);
    req.on('cancel', () => live.cancel());
    res.send(180);
    const current = acd.task(task.id);
    if (current.state === 'offered' && current.offer?.node === acd.nodeId) offered.push(current.offer.agentId);

    let outcome = 'abandoned';
    try {
      const deadline = Date.now() + config.waitSeconds * 1000;
      while (!gone && Date.now() < deadline) {
        const agentId = offered.shift();
        if (agentId === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, Math.max(0, deadline - Date.now()));
          });
          continue;
        }
        const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
        if (targets.length > 0) {
          const tag = `agent-${randomId()}`;
          const sdp = await media.offer(CALLER, req.body, profile, { toTag: tag });
          dial = dialFirstAnswer(this.deps.srf, targets, { sdp, headers: { ...taskHeaders(task), 'X-Onecc-Var-caller': attributes.caller!, 'X-Onecc-Video': '1' }, timeoutMs: this.deps.ringTimeoutMs });
          const result = await dial.result;
          if (result.kind === 'answered' && !gone) {
            await acd.accept(task.id, agentId);
            const answer = await media.answer(CALLER, tag, result.dialog.remote.sdp);
            // The page opens the survey with this once the call is over.
            const survey = this.deps.surveyLinks ? { headers: { 'X-Onecc-Survey': this.deps.surveyLinks.token(id) } } : {};
            const caller = await this.deps.srf.createUAS(req, res, { localSdp: answer, ...survey });
            if (config.record) await media.startRecording(id).catch((err: unknown) => log.warn({ err }, 'video call not recorded'));
            record.agentId = agentId;
            record.legs.push({ kind: 'caller', callId: req.get('Call-ID'), at: new Date().toISOString() }, { kind: 'agent', agentId, at: new Date().toISOString() });
            log.info({ agentId }, 'video call connected');
            outcome = 'handled';
            await new Promise<void>((resolve) => {
              whenEnded(caller, resolve);
              whenEnded(result.dialog, resolve);
              live.cancel = () => resolve();
            });
            await Promise.all([hangUp(caller), hangUp(result.dialog)]);
            if (config.record) {
              const kept = await media.stopRecordingCapture().catch((err: unknown) => void log.warn({ err }, 'video recording lost'));
              if (kept) record.recording = kept.file;
            }
            await acd.complete(task.id).catch(() => undefined);
            return;
          }
          if (result.kind === 'answered') await hangUp(result.dialog);
        }
        if (gone) break;
        // No phone, busy, no answer: as for calls, RONA and the next agent.
        await acd.reject(task.id, agentId).catch(() => undefined);
        await acd.setNotReady(agentId, acd.settings.ronaReason).catch(() => undefined);
      }
      await acd.abandon(task.id, gone ? 'caller-hangup' : 'max-wait').catch(() => undefined);
      if (!gone && !res.finalResponseSent) res.send(480);
      outcome = gone ? 'abandoned' : 'timed-out';
    } finally {
      this.#offers.delete(task.id);
      this.#live.delete(live);
      await media.close();
      record.outcome = outcome;
      record.endedAt = new Date().toISOString();
      await this.deps.records.save(record);
    }
  }
}
