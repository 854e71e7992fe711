import type Srf from 'drachtio-srf';
import type { AcdEngine, AcdEvent, TaskRecord } from '../../acd/index';
import type {
  IvrCallContext,
  IvrHangupReason,
  IvrHost,
  QueueLeaveReason,
  QueueOutcome,
  QueueRequest,
  QueueSession,
  QueueStatus,
  TransferResult,
  VoicemailMessage,
} from '../../ivr/index';
import type { Logger } from '../../lib/index';
import type { MediaCall, MediaProfile } from '../../media/index';
import type { PhoneDevice, PhoneDirectory } from './phone-directory';

/** The leg names the call uses on rtpengine. */
export const CALLER_LEG = 'caller';

export interface InboundCallDeps {
  readonly srf: Srf;
  readonly acd: AcdEngine;
  readonly phones: PhoneDirectory;
  readonly logger: Logger;
  /** An agent's phones ring this long before the offer counts as unanswered (RONA). */
  readonly ringTimeoutMs: number;
  /** Registers (or with undefined, forgets) which call a queue task belongs to, so ACD events reach it. */
  readonly onQueueTask: (taskId: string, call: InboundCall | undefined) => void;
}

type AgentLeg = { readonly agentId: string; readonly tag: string; dialog: Srf.Dialog };

/**
 * One call from a trunk, from the INVITE to the last BYE: onecc answered it (the caller hears prompts from
 * rtpengine), the IVR runner walks its dialplan, and this object does what only the voice channel can do for the
 * runner (IvrHost): queue the caller as an ACD task, ring the offered agent's phones, bridge, hang up.
 */
export class InboundCall implements IvrHost {
  #caller: Srf.Dialog | undefined;
  #callerGone = false;
  #queue: VoiceQueueSession | undefined;
  #agentLeg: AgentLeg | undefined;

  constructor(
    readonly id: string,
    readonly media: MediaCall,
    readonly callerSdp: string,
    private readonly deps: InboundCallDeps,
  ) {}

  get callerDialog(): Srf.Dialog | undefined {
    return this.#caller;
  }

  /** The caller's dialog once answered; its BYE ends everything this call holds. */
  attachCaller(dialog: Srf.Dialog, onCallerGone: () => void): void {
    this.#caller = dialog;
    dialog.on('destroy', () => {
      this.#callerGone = true;
      onCallerGone();
      void this.#queue?.callerLeft();
    });
  }

  get callerGone(): boolean {
    return this.#callerGone;
  }

  async enterQueue(request: QueueRequest): Promise<QueueSession> {
    const attributes: Record<string, string> = { ...request.variables, language: request.language, dialplan: request.dialplan };
    const task = await this.deps.acd.enqueue({ channel: 'voice', queue: request.queue, priority: request.priority, attributes });
    const session = new VoiceQueueSession(this, task, request, this.deps);
    this.#queue = session;
    this.deps.onQueueTask(task.id, this);
    void session.outcome.finally(() => this.deps.onQueueTask(task.id, undefined));
    // The ACD may have offered the task while enqueue() was still returning, before events could be routed here.
    session.catchUp();
    return session;
  }

  /** An ACD event about this call's task (the voice channel routes them here by task id). */
  onAcdEvent(event: AcdEvent): void {
    this.#queue?.onAcdEvent(event);
  }

  async transfer(): Promise<TransferResult> {
    // Blind transfer to a SIP URI or an agent needs the outbound leg rules of the dialer issue; until then the
    // dialplan's onFail branch runs (documented in dialplans/README.md).
    return { kind: 'failed', reason: 'transfer out of onecc is not available yet' };
  }

  async deliverVoicemail(message: VoicemailMessage): Promise<void> {
    this.deps.logger.info({ callId: this.id, mailbox: message.mailbox, file: message.file, durationMs: message.durationMs }, 'voicemail left');
  }

  async hangup(reason: IvrHangupReason): Promise<void> {
    this.deps.logger.debug({ callId: this.id, reason }, 'onecc hangs up');
    await this.end();
  }

  /** Ends every leg (idempotent): BYE to the agent and the caller, the media call closed. */
  async end(): Promise<void> {
    const agent = this.#agentLeg;
    this.#agentLeg = undefined;
    if (agent) await destroy(agent.dialog);
    if (this.#caller && !this.#callerGone) {
      this.#callerGone = true;
      await destroy(this.#caller);
    }
    await this.media.close();
  }

  setAgentLeg(leg: AgentLeg | undefined): void {
    this.#agentLeg = leg;
  }
}

/**
 * The caller's time in one queue: the ACD task, and for each offer the agent's phones ringing. A failed ring
 * (busy, declined, no answer within ringTimeoutMs) rejects the offer and puts the agent in not-ready (RONA), and the
 * ACD offers the task to the next agent while the caller keeps hearing the queue's music.
 */
class VoiceQueueSession implements QueueSession {
  readonly outcome: Promise<QueueOutcome>;
  #resolve!: (outcome: QueueOutcome) => void;
  #settled = false;
  #task: TaskRecord;
  #ringing: { agentId: string; offerId: string; cancel: () => void } | undefined;
  #connected = false;
  readonly #rungOffers = new Set<string>();
  #leaving: Promise<void> | undefined;

  constructor(
    private readonly call: InboundCall,
    task: TaskRecord,
    private readonly request: QueueRequest,
    private readonly deps: InboundCallDeps,
  ) {
    this.#task = task;
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  status(): QueueStatus | undefined {
    const task = this.#currentTask();
    if (task === undefined || task.state !== 'waiting') return undefined;
    return { position: this.deps.acd.position(task.id), estimatedWaitSeconds: this.deps.acd.estimatedWait(task.id).waitMs / 1000 };
  }

  async leave(reason: QueueLeaveReason): Promise<void> {
    if (this.#settled || this.#connected) return;
    if (reason === 'caller-hangup') return this.callerLeft();
    this.#ringing?.cancel();
    try {
      if (reason === 'callback') await this.deps.acd.continueAs(this.#task.id, { attributes: { ...this.#task.attributes, callback: 'requested' } });
      else await this.deps.acd.abandon(this.#task.id, reason);
    } catch (err) {
      this.deps.logger.warn({ err, taskId: this.#task.id }, 'could not end the queue task');
    }
    this.#settle({ kind: 'left', reason });
  }

  /** The caller hung up: while waiting or ringing that is an abandon; while talking, the end of the conversation. */
  callerLeft(): Promise<void> {
    // The caller's BYE and the runner noticing it both land here: the first one ends the task.
    if (this.#settled || this.#connected) return this.#leaving ?? Promise.resolve(); // while talking, #connect settles it
    this.#leaving ??= (async () => {
      this.#ringing?.cancel();
      await this.deps.acd.abandon(this.#task.id, 'caller-hangup').catch(() => undefined);
      this.#settle({ kind: 'caller-hangup' });
    })();
    return this.#leaving;
  }

  /** Acts on an offer made before this session was registered for the task's events. */
  catchUp(): void {
    const task = this.#currentTask();
    if (task?.state === 'offered' && task.offer?.node === this.deps.acd.nodeId && this.#ringing === undefined) {
      this.#task = task;
      void this.#ring(task, task.offer.agentId);
    }
  }

  onAcdEvent(event: AcdEvent): void {
    if (this.#settled || !('task' in event)) return;
    this.#task = event.task;
    if (event.type === 'task-offered' && event.task.offer?.node === this.deps.acd.nodeId) {
      void this.#ring(event.task, event.agent.id);
    } else if (event.type === 'task-abandoned' && !this.#connected) {
      // Ended by the ACD itself (the queue's max wait or size, no fallback): the node's onTimeout.
      this.#settle({ kind: 'timed-out' });
    }
  }

  async #ring(task: TaskRecord, agentId: string): Promise<void> {
    const offerId = task.offer!.id;
    if (this.#rungOffers.has(offerId)) return;
    this.#rungOffers.add(offerId);
    const log = this.deps.logger.child({ callId: this.call.id, taskId: task.id, agentId });
    let devices: PhoneDevice[];
    try {
      devices = await this.deps.phones.devicesOf(agentId);
    } catch (err) {
      log.warn({ err }, 'phone directory unavailable; offer rejected');
      devices = [];
    }
    // rtpengine holds one offer per leg, so one kind of endpoint is rung per offer: the most recently registered.
    const latest = [...devices].sort((a, b) => b.expiresAt - a.expiresAt)[0];
    const profile: MediaProfile = latest && (latest.transport === 'ws' || latest.transport === 'wss') ? 'webrtc' : 'rtp';
    const targets = devices.filter((d) => ((d.transport === 'ws' || d.transport === 'wss') ? 'webrtc' : 'rtp') === profile);
    if (targets.length === 0) {
      log.info('agent has no registered phone; offer rejected (RONA)');
      await this.#ringFailed(task.id, agentId, 'no-phone');
      return;
    }
    const tag = `agent-${offerId}`;
    let sdp: string;
    try {
      sdp = await this.call.media.offer(CALLER_LEG, this.call.callerSdp, profile);
    } catch (err) {
      log.error({ err }, 'media offer for the agent failed');
      await this.#ringFailed(task.id, agentId, 'media-error');
      return;
    }
    // One INVITE per device; a device's INVITE is cancelled only while it has no final answer.
    const pending = new Map<number, Srf.SrfRequest>();
    let cancelled = false;
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
    const timer = setTimeout(() => {
      cancelled = true;
      cancelPending();
    }, this.deps.ringTimeoutMs);
    this.#ringing = { agentId, offerId, cancel: () => ((cancelled = true), cancelPending()) };
    const headers = contextHeaders(this.request, task);
    const attempts = targets.map((device, i) => {
      const attempt = this.deps.srf.createUAC(device.uri, { proxy: device.proxy, localSdp: sdp, headers }, { cbRequest: sentRequest((req) => pending.set(i, req)) });
      void attempt.then(() => pending.delete(i), () => pending.delete(i));
      return attempt;
    });
    log.debug({ devices: targets.map((d) => d.uri), profile }, 'ringing the agent');
    let dialog: Srf.Dialog | undefined;
    // A phone that never answered at all (a stale registration) cannot be cancelled (RFC 3261 §9.1) and would hold
    // the caller until Timer B: past the ring timeout, the ring has failed whatever is still outstanding.
    let giveUp: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (giveUp = setTimeout(() => resolve(undefined), this.deps.ringTimeoutMs + 500)));
    try {
      dialog = await Promise.race([Promise.any(attempts), deadline]);
      if (dialog === undefined) cancelled = true;
    } catch (err) {
      log.info({ statuses: (err as AggregateError).errors?.map((e: { status?: number }) => e?.status), cancelled }, 'the agent did not answer');
      dialog = undefined;
    } finally {
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (this.#ringing?.offerId === offerId) this.#ringing = undefined;
    }
    // The agent's other phones stop ringing; any that answered at the same moment are hung up.
    cancelPending();
    void Promise.allSettled(attempts).then((results) => {
      for (const r of results) if (r.status === 'fulfilled' && r.value !== dialog) void destroy(r.value);
    });
    if (dialog === undefined || cancelled || this.#settled || this.call.callerGone) {
      if (dialog) await destroy(dialog);
      if (!this.#settled && !this.call.callerGone) await this.#ringFailed(task.id, agentId, cancelled ? 'no-answer' : 'declined');
      return;
    }
    await this.#connect(task.id, agentId, tag, dialog, log);
  }

  async #connect(taskId: string, agentId: string, tag: string, dialog: Srf.Dialog, log: Logger): Promise<void> {
    try {
      await this.deps.acd.accept(taskId, agentId);
    } catch (err) {
      log.warn({ err }, 'the task is no longer offered to this agent; hanging up the agent');
      await destroy(dialog);
      return;
    }
    this.#connected = true;
    const leg: AgentLeg = { agentId, tag, dialog };
    this.call.setAgentLeg(leg);
    try {
      await this.request.stopHoldAudio();
      await this.call.media.answer(CALLER_LEG, tag, dialog.remote.sdp);
    } catch (err) {
      log.error({ err }, 'bridging caller and agent failed');
      await destroy(dialog);
      this.call.setAgentLeg(undefined);
      await this.deps.acd.complete(taskId).catch(() => undefined);
      this.#settle({ kind: 'failed', reason: 'bridge failed' });
      return;
    }
    log.info('caller and agent connected');
    const endedBy = await new Promise<'agent' | 'caller'>((resolve) => {
      dialog.once('destroy', () => resolve('agent'));
      this.call.callerDialog?.once('destroy', () => resolve('caller'));
      if (this.call.callerGone) resolve('caller');
    });
    this.call.setAgentLeg(undefined);
    if (endedBy === 'caller') {
      await destroy(dialog);
    } else {
      // Back to onecc as the caller's far end, so the dialplan can go on (survey, goodbye).
      await this.call.media.offer(CALLER_LEG, this.call.callerSdp, 'rtp').then(() => this.call.media.answerWithPrompts(CALLER_LEG)).catch((err) => log.warn({ err }, 'could not take the caller back from the agent'));
    }
    await this.deps.acd.complete(taskId).catch((err) => log.warn({ err }, 'could not complete the task'));
    this.#settle({ kind: 'conversation-ended', agent: agentId, endedBy });
  }

  async #ringFailed(taskId: string, agentId: string, why: string): Promise<void> {
    try {
      await this.deps.acd.reject(taskId, agentId);
      await this.deps.acd.setNotReady(agentId, this.deps.acd.settings.ronaReason);
    } catch (err) {
      this.deps.logger.warn({ err, taskId, agentId, why }, 'could not release the offer');
    }
  }

  #currentTask(): TaskRecord | undefined {
    try {
      return this.deps.acd.task(this.#task.id);
    } catch {
      return undefined;
    }
  }

  #settle(outcome: QueueOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(outcome);
  }
}

/** What the agent's phone shows and the desktop reads: the IVR's inputs and variables, one header each. */
function contextHeaders(request: IvrCallContext, task: TaskRecord): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Onecc-Task': task.id,
    'X-Onecc-Queue': task.queue,
    'X-Onecc-Language': request.language,
    'X-Onecc-Dialplan': request.dialplan,
  };
  for (const [name, value] of Object.entries(request.variables)) {
    const key = name.replace(/[^A-Za-z0-9-]/g, '-');
    if (key.length > 0) headers[`X-Onecc-Var-${key}`] = value.replace(/[\r\n]/g, ' ').slice(0, 200);
  }
  return headers;
}

/**
 * drachtio-srf calls cbRequest as (err, req), not (req) as its typings say: take the request from where it is.
 */
function sentRequest(use: (req: Srf.SrfRequest) => void): (req: Srf.SrfRequest) => void {
  return (...args: unknown[]) => {
    const req = (args[1] ?? args[0]) as Srf.SrfRequest | null;
    if (req) use(req);
  };
}

async function destroy(dialog: Srf.Dialog): Promise<void> {
  await new Promise<void>((resolve) => {
    try {
      dialog.destroy(undefined, () => resolve());
    } catch {
      resolve();
    }
  });
}
