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
  TransferTarget,
  VoicemailMessage,
} from '../../ivr/index';
import type { Logger } from '../../lib/index';
import type { MediaCall, MediaProfile } from '../../media/index';
import { callbackAttributes } from './callbacks';
import { contextHeaders, taskHeaders } from './context-headers';
import { dialFirstAnswer, hangUp, phonesToRing, type Dial, type DialTarget } from './dial';
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
  /** A transfer target rings this long before the dialplan's onFail runs. */
  readonly transferRingTimeoutMs: number;
  /** Where this caller would be called back at `number` (through the trunk the call came from); undefined: nowhere. */
  readonly callbackUri: (number: string) => string | undefined;
  /** Registers (or with undefined, forgets) which call a queue task belongs to, so ACD events reach it. */
  readonly onQueueTask: (taskId: string, call: InboundCall | undefined) => void;
}

type AgentLeg = { readonly agentId: string; readonly tag: string; dialog: Srf.Dialog };

/** Who a transfer handed the caller to. */
export type TransferLeg = { readonly kind: 'sip'; readonly uri: string } | { readonly kind: 'agent'; readonly agentId: string };

/** The not-ready reason an agent has while talking on a call transferred to them directly (not through a queue). */
export const DIRECT_CALL_REASON = 'direct-call';

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
  #dial: Dial | undefined;
  #transfers = 0;
  #transferLeg: TransferLeg | undefined;
  #transferredAt: string | undefined;
  #transferDialog: Srf.Dialog | undefined;
  #transferDone: Promise<void> | undefined;

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
      this.#dial?.cancel();
      void this.#queue?.callerLeft();
    });
  }

  get callerGone(): boolean {
    return this.#callerGone;
  }

  async enterQueue(request: QueueRequest): Promise<QueueSession> {
    const attributes: Record<string, string> = { ...request.variables, language: request.language, dialplan: request.dialplan };
    const task = await this.deps.acd.enqueue({ channel: 'voice', queue: request.queue, priority: request.priority, attributes });
    // A `callbackNumber` variable (collected in the dialplan) is called back instead of the calling number.
    const number = request.variables.callbackNumber ?? request.variables.caller ?? '';
    const uri = this.deps.callbackUri(number);
    const callback = uri === undefined ? undefined : {
      [callbackAttributes.marker]: 'requested',
      [callbackAttributes.number]: number,
      [callbackAttributes.uri]: uri,
      [callbackAttributes.attempt]: '1',
      [callbackAttributes.interaction]: this.id,
    };
    const session = new VoiceQueueSession(this, task, request, callback, this.deps);
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

  /**
   * A blind transfer with onecc staying in the path: the target (a SIP URI, or an available agent's phones) is rung
   * with the caller's context; once it answers, caller and target talk through rtpengine until either hangs up
   * (transferEnded). Busy, no answer or an agent who is not available fail the transfer (the node's onFail).
   */
  async transfer(target: Exclude<TransferTarget, { kind: 'dialplan' }>, context: IvrCallContext): Promise<TransferResult> {
    const headers = contextHeaders(context);
    if (target.kind === 'sip') return this.#transferTo({ kind: 'sip', uri: target.uri }, [{ uri: target.uri }], 'rtp', headers);
    const agentId = target.agent;
    const { acd } = this.deps;
    let state: string;
    try {
      state = acd.agentState(agentId);
    } catch {
      return { kind: 'failed', reason: `unknown agent ${agentId}` };
    }
    if (state !== 'available') return { kind: 'failed', reason: `agent ${agentId} is ${state}` };
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
    if (targets.length === 0) return { kind: 'failed', reason: `agent ${agentId} has no registered phone` };
    // Not-ready while this call rings and talks, so that the ACD offers the agent nothing else meanwhile.
    await acd.setNotReady(agentId, DIRECT_CALL_REASON);
    const release = async () => {
      try {
        if (acd.agentState(agentId) === 'not-ready' && acd.agent(agentId).reason === DIRECT_CALL_REASON) await acd.setReady(agentId);
      } catch (err) {
        this.deps.logger.warn({ err, agentId }, 'could not make the agent ready after a direct call');
      }
    };
    if (acd.agentState(agentId) !== 'not-ready') {
      await release();
      return { kind: 'failed', reason: `agent ${agentId} was just offered another task` };
    }
    const result = await this.#transferTo({ kind: 'agent', agentId }, targets, profile, { ...headers, 'X-Onecc-Transfer': 'direct' });
    if (result.kind === 'failed') await release();
    else void this.#transferDone!.then(release);
    return result;
  }

  /** Resolves when the conversation a transfer started is over (at once when there was none). */
  transferEnded(): Promise<void> {
    return this.#transferDone ?? Promise.resolve();
  }

  get transferTarget(): TransferLeg | undefined {
    return this.#transferLeg;
  }

  get transferredAt(): string | undefined {
    return this.#transferredAt;
  }

  async #transferTo(leg: TransferLeg, targets: readonly DialTarget[], profile: MediaProfile, headers: Record<string, string>): Promise<TransferResult> {
    if (this.#callerGone) return { kind: 'failed', reason: 'the caller hung up' };
    const log = this.deps.logger.child({ callId: this.id, transfer: leg });
    let sdp: string;
    try {
      sdp = await this.media.offer(CALLER_LEG, this.callerSdp, profile);
    } catch (err) {
      log.warn({ err }, 'media offer for the transfer failed');
      return { kind: 'failed', reason: 'media offer failed' };
    }
    const dial = dialFirstAnswer(this.deps.srf, targets, { sdp, headers, timeoutMs: this.deps.transferRingTimeoutMs });
    this.#dial = dial;
    const result = await dial.result;
    this.#dial = undefined;
    if (result.kind === 'failed') return { kind: 'failed', reason: `${result.reason}${result.statuses.length ? ` (${result.statuses.join(', ')})` : ''}` };
    const { dialog } = result;
    if (this.#callerGone) {
      await hangUp(dialog);
      return { kind: 'failed', reason: 'the caller hung up' };
    }
    try {
      await this.media.answer(CALLER_LEG, `transfer-${this.#transfers++}`, dialog.remote.sdp);
    } catch (err) {
      log.error({ err }, 'bridging the caller to the transfer target failed');
      await hangUp(dialog);
      return { kind: 'failed', reason: 'bridge failed' };
    }
    log.info('caller transferred');
    this.#transferLeg = leg;
    this.#transferredAt = new Date().toISOString();
    this.#transferDialog = dialog;
    this.#transferDone = new Promise<void>((resolve) => {
      dialog.once('destroy', () => resolve());
      this.#caller?.once('destroy', () => resolve());
      if (this.#callerGone) resolve();
    });
    return { kind: 'transferred' };
  }

  async deliverVoicemail(message: VoicemailMessage): Promise<void> {
    this.deps.logger.info({ callId: this.id, mailbox: message.mailbox, file: message.file, durationMs: message.durationMs }, 'voicemail left');
  }

  async hangup(reason: IvrHangupReason): Promise<void> {
    this.deps.logger.debug({ callId: this.id, reason }, 'onecc hangs up');
    await this.end();
  }

  /** Ends every leg (idempotent): BYE to the agent or transfer target and the caller, the media call closed. */
  async end(): Promise<void> {
    this.#dial?.cancel();
    const agent = this.#agentLeg;
    this.#agentLeg = undefined;
    if (agent) await hangUp(agent.dialog);
    const transferred = this.#transferDialog;
    this.#transferDialog = undefined;
    if (transferred) await hangUp(transferred);
    if (this.#caller && !this.#callerGone) {
      this.#callerGone = true;
      await hangUp(this.#caller);
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
  readonly callbackAvailable: boolean;
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
    /** The attributes that make the task a callback, if the caller can be called back. */
    private readonly callback: Record<string, string> | undefined,
    private readonly deps: InboundCallDeps,
  ) {
    this.callbackAvailable = callback !== undefined;
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
      if (reason === 'callback' && this.callback !== undefined) await this.deps.acd.continueAs(this.#task.id, { attributes: { ...this.#task.attributes, ...this.callback } });
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
    } else if (event.type === 'callback-offered' && !this.#connected) {
      // The queue's offer-callback escalation step: the runner says the node's callback offer now.
      this.request.offerCallback();
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
    const { profile, targets } = phonesToRing(devices);
    if (targets.length === 0) {
      log.info('agent has no registered phone; offer rejected (RONA)');
      await this.#ringFailed(task.id, agentId, 'no-phone');
      return;
    }
    let sdp: string;
    try {
      sdp = await this.call.media.offer(CALLER_LEG, this.call.callerSdp, profile);
    } catch (err) {
      log.error({ err }, 'media offer for the agent failed');
      await this.#ringFailed(task.id, agentId, 'media-error');
      return;
    }
    const dial = dialFirstAnswer(this.deps.srf, targets, { sdp, headers: { ...contextHeaders(this.request), ...taskHeaders(task) }, timeoutMs: this.deps.ringTimeoutMs });
    this.#ringing = { agentId, offerId, cancel: () => dial.cancel() };
    log.debug({ devices: targets.map((d) => d.uri), profile }, 'ringing the agent');
    const result = await dial.result;
    if (this.#ringing?.offerId === offerId) this.#ringing = undefined;
    if (result.kind === 'failed' || this.#settled || this.call.callerGone) {
      if (result.kind === 'answered') await hangUp(result.dialog);
      else log.info({ statuses: result.statuses, reason: result.reason }, 'the agent did not answer');
      if (!this.#settled && !this.call.callerGone) await this.#ringFailed(task.id, agentId, result.kind === 'failed' ? result.reason : 'caller-gone');
      return;
    }
    await this.#connect(task.id, agentId, `agent-${offerId}`, result.dialog, log);
  }

  async #connect(taskId: string, agentId: string, tag: string, dialog: Srf.Dialog, log: Logger): Promise<void> {
    try {
      await this.deps.acd.accept(taskId, agentId);
    } catch (err) {
      log.warn({ err }, 'the task is no longer offered to this agent; hanging up the agent');
      await hangUp(dialog);
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
      await hangUp(dialog);
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
      await hangUp(dialog);
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
