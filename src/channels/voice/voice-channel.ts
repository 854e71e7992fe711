import type Srf from 'drachtio-srf';
import type { AcdEngine } from '../../acd/index';
import { TaskControlError, type TaskControls } from '../../agents/index';
import { IvrRunner, type DialplanSet, type TextPrompts } from '../../ivr/index';
import { randomId, type Logger } from '../../lib/index';
import { MediaError, type MediaCall, type MediaService } from '../../media/index';
import type { PromptLibrary } from '../../media/prompts/index';
import type { ReportRecorder } from '../../reports/index';
import type { InteractionRecord, InteractionRecords } from '../interaction-records';
import { CALLER_LEG, InboundCall, type TransferLeg } from './inbound-call';
import { ManualDialer, type ManualDialSettings } from './manual-dial';
import { CallbackDialer, type CallbackRetries, type CallbackSettings } from './callbacks';
import type { PhoneDirectory } from './phone-directory';
import { outboundUri, refuseUnidentified, type TrunkDirectory } from './trunks';
import { placeNotificationCall, type NotificationCallRequest, type NotificationCallResult } from './notification-call';

export interface VoiceChannelOptions {
  readonly srf: Srf;
  readonly media: MediaService;
  readonly prompts: PromptLibrary;
  readonly textPrompts: TextPrompts;
  readonly dialplans: DialplanSet;
  readonly acd: AcdEngine;
  readonly trunks: TrunkDirectory;
  readonly phones: PhoneDirectory;
  readonly records: InteractionRecords;
  /** Transfers and callbacks are reported here. */
  readonly reports?: ReportRecorder;
  /** Record callers' conversations with agents (voice.record). */
  readonly record?: boolean;
  readonly ringTimeoutMs: number;
  readonly transferRingTimeoutMs: number;
  /** Metrics: each INVITE's final answer (answered, 4xx, 5xx...) and each call's media quality at its end. */
  readonly observe?: {
    readonly call: (outcome: string) => void;
    readonly quality: (legs: readonly { readonly lossPercent: number; readonly jitterMs: number; readonly mos: number }[]) => void;
  };
  readonly callbacks: Omit<CallbackSettings, 'agentRingTimeoutMs'>;
  readonly callbackRetries: CallbackRetries;
  readonly manualDial: Omit<ManualDialSettings, 'agentRingTimeoutMs'>;
  readonly logger: Logger;
}

/**
 * Inbound voice: INVITEs from trunks are identified (403/407 otherwise), routed by the called number to a dialplan
 * (404 when none answers it), answered by onecc with rtpengine as the media end, and walked through the dialplan by
 * the IVR runner; queued callers are delivered to agents' phones by InboundCall.
 */
export class VoiceChannel implements TaskControls {
  readonly #calls = new Map<string, InboundCall>();
  readonly #callsByTask = new Map<string, InboundCall>();
  /** Every INVITE being handled, until its interaction record is written: close() waits for them. */
  readonly #handling = new Set<Promise<void>>();
  readonly #log: Logger;
  readonly #callbacks: CallbackDialer;
  readonly #manualDialer: ManualDialer;
  #closing = false;
  #draining = false;

  constructor(private readonly options: VoiceChannelOptions) {
    this.#log = options.logger.child({ component: 'voice' });
    this.#callbacks = new CallbackDialer({
      srf: options.srf,
      acd: options.acd,
      media: options.media,
      phones: options.phones,
      records: options.records,
      retries: options.callbackRetries,
      settings: { ...options.callbacks, agentRingTimeoutMs: options.ringTimeoutMs },
      logger: options.logger,
    });
    this.#manualDialer = new ManualDialer({
      srf: options.srf,
      acd: options.acd,
      media: options.media,
      phones: options.phones,
      records: options.records,
      settings: { ...options.manualDial, agentRingTimeoutMs: options.ringTimeoutMs },
      logger: options.logger,
    });
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  start(): void {
    this.options.srf.invite((req, res) => {
      // drachtio-srf's Response is an EventEmitter that says 'end' with the final status (its typings omit it).
      (res as unknown as NodeJS.EventEmitter).once('end', ({ status }: { status: number }) => this.options.observe?.call(status < 300 ? 'answered' : `${Math.floor(status / 100)}xx`));
      const handling = this.#onInvite(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'INVITE handling failed');
        if (!res.finalResponseSent) res.send(500);
      });
      this.#handling.add(handling);
      void handling.finally(() => this.#handling.delete(handling));
    });
    this.options.acd.on('event', (event) => {
      if ('task' in event) this.#callsByTask.get(event.task.id)?.onAcdEvent(event);
    });
    this.#callbacks.start();
  }

  // ---- the agent's call controls (agent feed) ----------------------------------------------------------------------

  async hangup(taskId: string, agentId: string): Promise<void> {
    await this.#talkingTo(taskId, agentId).hangupAgent();
  }

  async hold(taskId: string, agentId: string): Promise<void> {
    await this.#talkingTo(taskId, agentId).hold(this.options.prompts.musicOnHold);
  }

  async unhold(taskId: string, agentId: string): Promise<void> {
    await this.#talkingTo(taskId, agentId).unhold();
  }

  async transfer(taskId: string, agentId: string, to: { readonly agent: string } | { readonly number: string } | { readonly queue: string }): Promise<void> {
    const session = this.#talkingTo(taskId, agentId);
    if ('queue' in to && !this.options.acd.settings.queues.some((q) => q.name === to.queue)) throw new TaskControlError('not-found', `no queue ${to.queue}`);
    await asControlError(() => ('queue' in to ? session.transferToQueue(to.queue, this.options.prompts.musicOnHold) : session.transferTo(transferLeg(to))));
  }

  async consult(taskId: string, agentId: string, to: { readonly agent: string } | { readonly number: string } | { readonly queue: string }): Promise<void> {
    const session = this.#talkingTo(taskId, agentId);
    if ('queue' in to && !this.options.acd.settings.queues.some((q) => q.name === to.queue)) throw new TaskControlError('not-found', `no queue ${to.queue}`);
    await asControlError(() => session.consult('queue' in to ? { kind: 'queue', queue: to.queue } : transferLeg(to), this.options.prompts.musicOnHold));
  }

  async completeConsult(taskId: string, agentId: string): Promise<void> {
    const session = this.#talkingTo(taskId, agentId);
    await asControlError(() => session.completeConsult());
  }

  async cancelConsult(taskId: string, agentId: string): Promise<void> {
    const session = this.#talkingTo(taskId, agentId);
    await asControlError(() => session.cancelConsult());
  }

  async conference(taskId: string, agentId: string): Promise<void> {
    const session = this.#talkingTo(taskId, agentId);
    await asControlError(() => session.conference());
  }

  async supervise(taskId: string, supervisor: string, mode: 'whisper' | 'barge'): Promise<void> {
    const call = this.#callsByTask.get(taskId);
    if (call === undefined) throw new TaskControlError('unavailable', `the call of task ${taskId} is not on this onecc node`);
    const session = call.queueSession;
    if (session?.talkingAgent === undefined) throw new TaskControlError('invalid-state', `the caller of task ${taskId} is not talking to an agent`);
    await asControlError(() => session.supervise(supervisor, mode));
  }

  dial(agentId: string, number: string): Promise<{ readonly interaction: string }> {
    return this.#manualDialer.dial(agentId, number);
  }

  /**
   * A voice notification (src/notifications): calls `number` through `trunk` and runs the dialplan; resolves with
   * how it went once the call is over. Counted among the calls a drain waits for.
   */
  async notificationCall(trunkName: string, request: Omit<NotificationCallRequest, 'uri'>): Promise<NotificationCallResult> {
    const trunk = this.options.trunks.trunks.find((t) => t.name === trunkName);
    const uri = trunk === undefined ? undefined : outboundUri(trunk, request.number, '');
    if (uri === undefined || this.#closing) return { outcome: 'failed', interaction: '' };
    const call = placeNotificationCall({ ...this.options, agentRingTimeoutMs: this.options.ringTimeoutMs, logger: this.#log }, { ...request, uri });
    const settled = call.then(() => undefined);
    this.#handling.add(settled);
    void settled.finally(() => this.#handling.delete(settled));
    return call;
  }

  async monitor(taskId: string, supervisor: string, listen: 'both' | 'caller' | 'agent'): Promise<void> {
    const call = this.#callsByTask.get(taskId);
    if (call === undefined) throw new TaskControlError('unavailable', `the call of task ${taskId} is not on this onecc node`);
    try {
      await call.monitor(supervisor, listen);
    } catch (err) {
      throw new TaskControlError('invalid-state', (err as Error).message);
    }
  }

  declined(taskId: string, agentId: string): void {
    this.#callsByTask.get(taskId)?.queueSession?.declined(agentId);
  }

  #talkingTo(taskId: string, agentId: string) {
    const call = this.#callsByTask.get(taskId);
    if (call === undefined) throw new TaskControlError('unavailable', `the call of task ${taskId} is not on this onecc node`);
    const session = call.talkingTo(agentId);
    if (session === undefined) throw new TaskControlError('invalid-state', `the caller of task ${taskId} is not talking to you`);
    return session;
  }

  /**
   * Stops taking new calls (503, so that the trunk tries another node) and resolves when the calls in progress have
   * ended, or at `deadline` (ms since the epoch), whichever comes first. close() then hangs up what is left.
   */
  async drain(deadline: number): Promise<void> {
    this.#draining = true;
    while (this.#handling.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.race(this.#handling), new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))))]);
    }
  }

  /** Hangs up every call (BYE both ways, media released) and refuses new ones. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#callbacks.close();
    await this.#manualDialer.close();
    await Promise.all([...this.#calls.values()].map((call) => call.end()));
    await Promise.all(this.#handling);
  }

  async #onInvite(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    if (this.#closing || this.#draining) return void res.send(503, { headers: { 'Retry-After': '5' } });
    const identity = this.options.trunks.identify(req);
    if (identity.outcome !== 'trunk') return refuseUnidentified(res, identity);
    const called = req.calledNumber;
    const route = this.options.dialplans.route(called);
    if (route === undefined) {
      this.#log.info({ called, trunk: identity.trunk.name }, 'no dialplan answers this number');
      return void res.send(404);
    }
    if (!req.body) return void res.send(488, { headers: { Warning: '399 onecc "an SDP offer is required in the INVITE"' } });
    let cancelled = false;
    req.on('cancel', () => (cancelled = true));

    const id = `in-${randomId()}`;
    let media: MediaCall | undefined;
    let localSdp: string;
    try {
      media = this.options.media.openCall(id);
      await media.offer(CALLER_LEG, req.body, 'rtp');
      localSdp = await media.answerWithPrompts(CALLER_LEG);
    } catch (err) {
      await media?.close();
      const status = err instanceof MediaError ? err.sipStatus : 500;
      this.#log.warn({ err, called }, `call refused with ${status}`);
      // 503 (no rtpengine answers): the trunk or the SIP front end tries another node, or again shortly.
      return void res.send(status, status === 503 ? { headers: { 'Retry-After': '5' } } : {});
    }
    if (cancelled) return void (await media.close());
    const call = new InboundCall(id, media, req.body, {
      srf: this.options.srf,
      acd: this.options.acd,
      phones: this.options.phones,
      logger: this.#log.child({ callId: id }),
      ringTimeoutMs: this.options.ringTimeoutMs,
      transferRingTimeoutMs: this.options.transferRingTimeoutMs,
      callbackUri: (number) => outboundUri(identity.trunk, number, hostPort(req.source_address, Number(req.source_port))),
      onQueueTask: (taskId, owner) => (owner ? this.#callsByTask.set(taskId, owner) : this.#callsByTask.delete(taskId)),
      record: this.options.record ?? false,
    });
    let dialog: Srf.Dialog;
    try {
      dialog = await this.options.srf.createUAS(req, res, { localSdp });
    } catch (err) {
      // CANCEL or a transport failure before the 200 OK was acknowledged.
      await media.close();
      this.#log.info({ err: (err as Error)?.message, called }, 'call ended before it was answered');
      return;
    }
    this.#calls.set(id, call);
    const record: InteractionRecord = {
      id,
      channel: 'voice',
      startedAt: new Date().toISOString(),
      trunk: identity.trunk.name,
      caller: req.callingNumber,
      called,
      dialplan: route.dialplan.id,
      legs: [{ kind: 'caller', callId: req.get('Call-ID'), at: new Date().toISOString() }],
    };
    void this.options.records.save(record);

    const runner = new IvrRunner({
      callId: id,
      dialplan: route.dialplan,
      variables: { caller: req.callingNumber, called, language: route.language },
      call: media,
      leg: CALLER_LEG,
      prompts: this.options.prompts,
      textPrompts: this.options.textPrompts,
      host: call,
      dialplans: (dialplanId) => this.options.dialplans.get(dialplanId),
      logger: this.#log,
    });
    call.attachCaller(dialog, () => runner.callerHungUp());
    const path = await runner.run();
    // A transferred caller talks to the target until either hangs up; onecc stays in the path until then.
    await call.transferEnded();
    const stats = this.options.observe ? await media.stats().catch(() => undefined) : undefined;
    await call.end();
    if (stats) this.options.observe!.quality(Object.values(stats.legs).flatMap((leg) => (leg.quality ? [leg.quality] : [])));
    this.#calls.delete(id);
    const handled = path.queues.find((visit) => visit.agent !== undefined);
    const lastQueue = path.queues.at(-1);
    record.endedAt = new Date().toISOString();
    record.ivr = path;
    const hungUpInQueue = path.outcome?.kind === 'caller-hangup' && lastQueue !== undefined && path.steps.at(-1)?.node === lastQueue.node;
    record.outcome = handled ? 'handled' : hungUpInQueue ? 'abandoned' : lastQueue?.result === 'callback' ? 'callback-requested' : (path.outcome?.kind ?? 'unknown');
    const transferred = call.transferTarget;
    if (transferred !== undefined) {
      const target = transferred.kind === 'sip' ? { target: transferred.uri } : transferred.kind === 'number' ? { target: transferred.number } : { agentId: transferred.agentId };
      record.legs.push({ kind: 'transfer', ...target, at: call.transferredAt ?? record.endedAt });
    }
    if (handled?.agent !== undefined) {
      record.agentId = handled.agent;
      record.legs.push({ kind: 'agent', agentId: handled.agent, at: handled.connectedAt ?? record.endedAt });
    }
    const answers = path.inputs.filter((i) => i.kind === 'survey');
    const survey = Object.fromEntries(answers.map((i) => [i.variable ?? i.node, i.file ?? i.digits]));
    if (Object.keys(survey).length > 0) record.survey = survey;
    const scored = (scale: string) => answers.find((i) => i.scale === scale);
    const [csat, nps, comment] = [scored('csat'), scored('nps'), scored('comment')];
    if (csat || nps || comment) {
      record.feedback = {
        at: answers.at(-1)!.at,
        ...(csat ? { csat: Number(csat.digits) } : {}), ...(nps ? { nps: Number(nps.digits) } : {}), ...(comment?.file ? { commentRecording: comment.file } : {}),
      };
    }
    if (call.recordingFile !== undefined) record.recording = call.recordingFile;
    const queue = (handled ?? lastQueue)?.queue;
    if (queue !== undefined) record.queue = queue;
    const { reports } = this.options;
    if (reports && queue !== undefined) {
      if (transferred !== undefined) await reports.transfer(Date.parse(call.transferredAt ?? record.endedAt), queue, 'voice');
      if (record.outcome === 'callback-requested') await reports.callbackRequested(Date.parse(lastQueue!.leftAt ?? record.endedAt), queue, 'voice');
    }
    await this.options.records.save(record);
  }
}

/** `192.0.2.1:5060`, `[2001:db8::1]:5060` */
function transferLeg(to: { readonly agent: string } | { readonly number: string }): TransferLeg {
  return 'agent' in to ? { kind: 'agent', agentId: to.agent } : { kind: 'number', number: to.number };
}

/** A call control's failure (a target that did not answer, no consultation...) as the feed reports it. */
async function asControlError(control: () => Promise<void>): Promise<void> {
  try {
    await control();
  } catch (err) {
    throw err instanceof TaskControlError ? err : new TaskControlError('invalid-state', (err as Error).message);
  }
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
