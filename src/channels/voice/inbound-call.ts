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
import { randomId, type Logger } from '../../lib/index';
import type { AudioMixer, MediaCall, MediaProfile } from '../../media/index';
import { callbackAttributes, requestedCallback } from './callbacks';
import { contextHeaders, taskHeaders } from './context-headers';
import { dialFirstAnswer, hangUp, phonesToRing, whenEnded, type Dial, type DialTarget } from './dial';
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
  /** Record the caller's conversation with agents (voice.record): a stereo WAV, the caller left, the agents right. */
  readonly record: boolean;
}

/** Who talks to the caller: the agent who answered, or a transfer target (release: its end of a direct call). */
type AgentLeg = { readonly agentId: string; readonly tag: string; dialog: Srf.Dialog; readonly release?: () => Promise<void> };

/** Who a transfer handed the caller to. */
export type TransferLeg = { readonly kind: 'sip'; readonly uri: string } | { readonly kind: 'agent'; readonly agentId: string } | { readonly kind: 'number'; readonly number: string };

/** A consultation's task goes before the queue's callers: an agent is waiting for it, with a caller on hold. */
const CONSULT_PRIORITY = 100;

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
  /** Supervisors listening in: hung up with the call. */
  readonly #monitors = new Set<Srf.Dialog>();
  #recording: 'on' | 'off' = 'off';
  #recordingFile: string | undefined;

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

  /** The conversation's recording (voice.record), once it has ended. */
  get recordingFile(): string | undefined {
    return this.#recordingFile;
  }

  /** From the first agent on; a transfer or a requeue keeps the one recording going. */
  async startRecording(log: Logger): Promise<void> {
    if (!this.deps.record || this.#recording === 'on') return;
    try {
      await this.media.startRecording(`call-${this.id}`);
      this.#recording = 'on';
    } catch (err) {
      log.warn({ err }, 'the call is not recorded');
    }
  }

  async stopRecording(log: Logger): Promise<void> {
    if (this.#recording === 'off') return;
    this.#recording = 'off';
    try {
      this.#recordingFile = (await this.media.stopRecording(CALLER_LEG)).file;
    } catch (err) {
      log.warn({ err }, 'the call\'s recording is lost');
    }
  }

  async enterQueue(request: QueueRequest): Promise<QueueSession> {
    // `interaction` names this call's interaction record: the agent's wrap-up adds its disposition there.
    // A `callbackNumber` variable (collected in the dialplan) is called back instead of the calling number.
    const number = request.variables.callbackNumber ?? request.variables.caller ?? '';
    const uri = this.deps.callbackUri(number);
    const attributes: Record<string, string> = {
      ...request.variables, language: request.language, dialplan: request.dialplan, interaction: this.id,
      // Where this call is, and how to call the caller back should this node die while they wait (callbacks.ts).
      [callbackAttributes.callNode]: this.deps.acd.nodeId,
      ...(uri === undefined ? {} : { [callbackAttributes.number]: number, [callbackAttributes.uri]: uri }),
    };
    const task = await this.deps.acd.enqueue({ channel: 'voice', queue: request.queue, priority: request.priority, attributes });
    const session = new VoiceQueueSession(this, task, request, uri !== undefined, this.deps);
    this.#queue = session;
    this.deps.onQueueTask(task.id, this);
    void session.outcome.finally(() => this.deps.onQueueTask(session.taskId, undefined));
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
    const leg: TransferLeg = target.kind === 'sip' ? { kind: 'sip', uri: target.uri } : { kind: 'agent', agentId: target.agent };
    const tag = `transfer-${this.#transfers++}`;
    const rung = await this.ringTransferTarget(leg, contextHeaders(context), tag);
    if (!rung.ok) return { kind: 'failed', reason: rung.reason };
    const { dialog } = rung;
    try {
      await this.media.answer(CALLER_LEG, tag, dialog.remote.sdp);
    } catch (err) {
      this.deps.logger.error({ err, callId: this.id }, 'bridging the caller to the transfer target failed');
      await hangUp(dialog);
      await rung.release();
      return { kind: 'failed', reason: 'bridge failed' };
    }
    this.deps.logger.info({ callId: this.id, transfer: leg }, 'caller transferred');
    this.noteTransfer(leg);
    this.#transferDialog = dialog;
    this.#transferDone = new Promise<void>((resolve) => {
      whenEnded(dialog, resolve);
      this.#caller?.once('destroy', () => resolve());
      if (this.#callerGone) resolve();
    });
    void this.#transferDone.then(rung.release);
    return { kind: 'transferred' };
  }

  /**
   * Rings a transfer target with an offer for the caller's media: a SIP URI, an agent's phones (only an available
   * agent, made not-ready `direct-call` while it lasts: `release` makes them ready again), or a number through the
   * trunk the call came from; its answer is to be bridged as leg `tag`, to the caller or to `offerFrom` (an agent
   * consulting the target). Resolves with the answered dialog, not yet bridged; the caller hung up, busy, no answer
   * and the like are failures.
   */
  async ringTransferTarget(
    leg: TransferLeg,
    headers: Record<string, string>,
    tag: string,
    offerFrom: { readonly leg: string; readonly sdp: string } = { leg: CALLER_LEG, sdp: this.callerSdp },
  ): Promise<{ ok: true; dialog: Srf.Dialog; release: () => Promise<void> } | { ok: false; reason: string }> {
    if (this.#callerGone) return { ok: false, reason: 'the caller hung up' };
    let targets: DialTarget[];
    let profile: MediaProfile = 'rtp';
    let release = async () => {};
    if (leg.kind === 'sip') {
      targets = [{ uri: leg.uri }];
    } else if (leg.kind === 'number') {
      const uri = this.deps.callbackUri(leg.number);
      if (uri === undefined) return { ok: false, reason: `no route to ${leg.number}: the caller's trunk has no outboundUri` };
      targets = [{ uri }];
    } else {
      const agent = await this.#reserveForDirectCall(leg.agentId);
      if (!agent.ok) return agent;
      ({ profile, targets } = agent);
      release = agent.release;
      headers = { ...headers, 'X-Onecc-Transfer': 'direct' };
    }
    let sdp: string;
    try {
      sdp = await this.media.offer(offerFrom.leg, offerFrom.sdp, profile, { toTag: tag });
    } catch (err) {
      this.deps.logger.warn({ err, callId: this.id }, 'media offer for the transfer failed');
      await release();
      return { ok: false, reason: 'media offer failed' };
    }
    const dial = dialFirstAnswer(this.deps.srf, targets, { sdp, headers, timeoutMs: this.deps.transferRingTimeoutMs });
    this.#dial = dial;
    const result = await dial.result;
    this.#dial = undefined;
    if (result.kind === 'answered' && this.#callerGone) await hangUp(result.dialog);
    if (result.kind === 'failed' || this.#callerGone) {
      await release();
      return { ok: false, reason: result.kind === 'failed' ? `${result.reason}${result.statuses.length ? ` (${result.statuses.join(', ')})` : ''}` : 'the caller hung up' };
    }
    return { ok: true, dialog: result.dialog, release };
  }

  /** An available agent, made not-ready `direct-call` so that the ACD offers them nothing else meanwhile. */
  async #reserveForDirectCall(agentId: string): Promise<{ ok: true; profile: MediaProfile; targets: DialTarget[]; release: () => Promise<void> } | { ok: false; reason: string }> {
    const { acd } = this.deps;
    let state: string;
    try {
      state = acd.agentState(agentId);
    } catch {
      return { ok: false, reason: `unknown agent ${agentId}` };
    }
    if (state !== 'available') return { ok: false, reason: `agent ${agentId} is ${state}` };
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
    if (targets.length === 0) return { ok: false, reason: `agent ${agentId} has no registered phone` };
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
      return { ok: false, reason: `agent ${agentId} was just offered another task` };
    }
    return { ok: true, profile, targets, release };
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

  /** The interaction record shows the last transfer. */
  noteTransfer(leg: TransferLeg): void {
    this.#transferLeg = leg;
    this.#transferredAt = new Date().toISOString();
  }

  /**
   * A supervisor listens in: their phones ring with a fork of the call's audio (rtpengine subscribe: the caller and
   * the agent as two streams, or one of them); it lasts until they hang up or the call ends. Whisper and barge,
   * which need mixing, are the queue session's supervise().
   */
  async monitor(supervisor: string, listen: 'both' | 'caller' | 'agent'): Promise<void> {
    const talking = this.#agentLeg;
    if (talking === undefined) throw new Error('the caller is not talking to an agent');
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(supervisor).catch(() => []));
    if (targets.length === 0) throw new Error(`${supervisor} has no registered phone (voice.phones with agent: ${supervisor})`);
    const legs = listen === 'both' ? [CALLER_LEG, talking.tag] : listen === 'caller' ? [CALLER_LEG] : [talking.tag];
    const { forkId, sdp } = await this.media.forkOffer(legs, profile);
    const dial = dialFirstAnswer(this.deps.srf, targets, { sdp, headers: { 'X-Onecc-Monitor': this.id, 'X-Onecc-Agent': talking.agentId }, timeoutMs: this.deps.transferRingTimeoutMs });
    this.#dial = dial;
    const result = await dial.result;
    this.#dial = undefined;
    if (result.kind === 'failed') {
      await this.media.stopFork(forkId).catch(() => undefined);
      throw new Error(`the supervisor's phone did not answer (${result.reason})`);
    }
    const dialog = result.dialog;
    this.#monitors.add(dialog);
    await this.media.answerFork(forkId, dialog.remote.sdp);
    whenEnded(dialog, () => {
      this.#monitors.delete(dialog);
      void this.media.stopFork(forkId).catch(() => undefined);
    });
  }

  /** The conversation a supervisor listened to is over: their phones are hung up. */
  async endMonitors(): Promise<void> {
    const dialogs = [...this.#monitors];
    this.#monitors.clear();
    await Promise.all(dialogs.map(hangUp));
  }

  get queueSession(): VoiceQueueSession | undefined {
    return this.#queue;
  }

  /** The queue session whose caller is talking to `agentId` now, for the agent's call controls. */
  talkingTo(agentId: string): VoiceQueueSession | undefined {
    return this.#queue?.talkingAgent === agentId ? this.#queue : undefined;
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
    await this.endMonitors();
    if (this.#caller && !this.#callerGone) {
      this.#callerGone = true;
      await hangUp(this.#caller);
      this.#queue?.callerHungUpByOnecc();
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
  #talking: AgentLeg | undefined;
  /** Ends the current wait in #connect: who talks to the caller changed, or a side hung up from onecc. */
  #wakeTalk: ((endedBy: 'agent' | 'caller') => void) | undefined;
  readonly #rungOffers = new Set<string>();
  #leaving: Promise<void> | undefined;
  /** The agent's consultation: the caller on hold, the agent talking to `target` on leg `tag`. */
  #consult: { readonly from: AgentLeg; readonly target: TransferLeg; readonly tag: string; readonly dialog: Srf.Dialog; readonly release: () => Promise<void> } | undefined;
  /** A consultation target is ringing (one at a time). */
  #consultRinging = false;
  /** onecc's mixer while more than two talk: a three-way conference, or a supervisor whispering or barging in. */
  #mixer: AudioMixer | undefined;
  /** The supervisor coaching (whisper: heard by the agent only) or barged in (heard by both). */
  #supervisor: { readonly name: string; readonly leg: string; readonly dialog: Srf.Dialog; mode: 'whisper' | 'barge' } | undefined;
  /** A supervisor's phone is ringing to join. */
  #supervisorRinging = false;
  /** The first agent who talked to the caller: a caller transferred to a queue who hangs up there was still handled. */
  #handledBy: string | undefined;
  /** Back in a queue by an agent's transfer: onecc plays music itself (the runner's hold loop is over). */
  #requeued = false;

  constructor(
    private readonly call: InboundCall,
    task: TaskRecord,
    private readonly request: QueueRequest,
    /** The caller can be called back: the task's attributes hold the number and URI (continueAs() keeps them). */
    readonly callbackAvailable: boolean,
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
      if (reason === 'callback' && this.callbackAvailable) await this.deps.acd.continueAs(this.#task.id, { attributes: requestedCallback });
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
      // Not the caller's doing: the rtpengine carrying the call died. A caller who can be called back keeps the place.
      if (this.call.media.ended === 'rtpengine-lost' && this.callbackAvailable && this.#handledBy === undefined) {
        const kept = await this.deps.acd.continueAs(this.#task.id, { attributes: requestedCallback }).then(
          () => true,
          (err: unknown) => (this.deps.logger.warn({ err, taskId: this.#task.id }, 'media lost: the caller could not be kept as a callback'), false),
        );
        if (kept) {
          this.deps.logger.warn({ taskId: this.#task.id }, 'media lost while queued (rtpengine died): the caller will be called back, keeping the place');
          return this.#settle({ kind: 'left', reason: 'callback' });
        }
      }
      await this.deps.acd.abandon(this.#task.id, 'caller-hangup').catch(() => undefined);
      this.#settle(this.#handledBy === undefined ? { kind: 'caller-hangup' } : { kind: 'conversation-ended', agent: this.#handledBy, endedBy: 'caller' });
    })();
    return this.#leaving;
  }

  /** Acts on an offer made before this session was registered for the task's events. */
  catchUp(): void {
    const task = this.#currentTask();
    if (task?.state === 'offered' && task.offer !== null && this.#ringing === undefined) {
      this.#task = task;
      void this.#ring(task, task.offer.agentId);
    }
  }

  onAcdEvent(event: AcdEvent): void {
    // After a transfer to a queue, the previous task's last events still arrive: only the current task counts.
    if (this.#settled || !('task' in event) || event.task.id !== this.#task.id) return;
    this.#task = event.task;
    // Whichever node made the offer (the task's owner: this node, or another after a drain handed it over), the call
    // is here: this node rings the agent.
    if (event.type === 'task-offered') {
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
      sdp = await this.call.media.offer(CALLER_LEG, this.call.callerSdp, profile, { toTag: `agent-${offerId}` });
    } catch (err) {
      // onecc's own failure, not the agent's: the offer goes back without RONA.
      log.error({ err }, 'media offer for the agent failed');
      await this.deps.acd.reject(task.id, agentId).catch((e) => log.warn({ err: e }, 'could not release the offer'));
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
    this.#handledBy ??= agentId;
    const leg: AgentLeg = { agentId, tag, dialog };
    this.#talking = leg;
    this.call.setAgentLeg(leg);
    try {
      await this.request.stopHoldAudio();
      if (this.#requeued) await this.call.media.stopPlayback(CALLER_LEG);
      await this.call.media.answer(CALLER_LEG, tag, dialog.remote.sdp);
    } catch (err) {
      log.error({ err }, 'bridging caller and agent failed');
      await hangUp(dialog);
      this.#talking = undefined;
      this.call.setAgentLeg(undefined);
      await this.deps.acd.complete(taskId).catch(() => undefined);
      this.#settle({ kind: 'failed', reason: 'bridge failed' });
      return;
    }
    log.info('caller and agent connected');
    await this.call.startRecording(log);
    // Until the caller or whoever talks to them last hangs up; a transfer by the agent hands over to its target.
    let endedBy: 'agent' | 'caller';
    for (;;) {
      const talking: AgentLeg | undefined = this.#talking;
      // Transferred to a queue: this conversation is over; the next agent's #connect takes the caller on.
      if (talking === undefined) return;
      endedBy = await new Promise<'agent' | 'caller'>((resolve) => {
        // drachtio-srf says 'destroy' for the far end's BYE only: onecc's own hang-ups and transfers wake this too.
        this.#wakeTalk = resolve;
        whenEnded(talking.dialog, () => resolve('agent'));
        this.call.callerDialog?.once('destroy', () => resolve('caller'));
        if (this.call.callerGone) resolve('caller');
      });
      this.#wakeTalk = undefined;
      // The agent hung up while consulting: the caller goes to the consulted party (as on a desk phone).
      if (endedBy === 'agent' && this.#talking === talking && this.#consult?.from === talking) {
        await this.completeConsult().catch((err) => log.warn({ err }, 'could not hand the caller to the consulted party'));
      }
      if (endedBy === 'caller' || this.#talking === talking) break;
    }
    const last = this.#talking!;
    this.#talking = undefined;
    this.call.setAgentLeg(undefined);
    // Before the caller is back with the dialplan: a survey comment is recorded on its own.
    await this.call.stopRecording(log);
    await this.#endConsult();
    await this.#endSupervisor();
    this.#closeMixer();
    await this.call.endMonitors();
    if (endedBy === 'caller') {
      await hangUp(last.dialog);
    } else {
      // Back to onecc as the caller's far end, so the dialplan can go on (survey, goodbye).
      await this.call.media.offer(CALLER_LEG, this.call.callerSdp, 'rtp').then(() => this.call.media.answerWithPrompts(CALLER_LEG)).catch((err) => log.warn({ err }, 'could not take the caller back from the agent'));
    }
    await last.release?.();
    if (last.agentId === agentId) await this.deps.acd.complete(taskId).catch((err) => log.warn({ err }, 'could not complete the task'));
    this.#settle({ kind: 'conversation-ended', agent: agentId, endedBy });
  }

  /** The agent the caller talks to now (the one who answered, or whom they transferred the call to). */
  get talkingAgent(): string | undefined {
    return this.#talking?.agentId;
  }

  /** The agent hangs up from their desktop: as if they hung up their phone. */
  async hangupAgent(): Promise<void> {
    const talking = this.#talking;
    if (talking === undefined) return;
    await hangUp(talking.dialog);
    this.#wakeTalk?.('agent');
  }

  /** onecc hung up the caller itself (shutdown): the conversation is over. */
  callerHungUpByOnecc(): void {
    this.#wakeTalk?.('caller');
  }

  async hold(musicOnHold: string): Promise<void> {
    if (this.#consult !== undefined) throw new Error('the caller is already on hold while you consult');
    await this.#endSupervisor();
    await this.call.media.hold(CALLER_LEG, musicOnHold);
  }

  async unhold(): Promise<void> {
    await this.call.media.unhold(CALLER_LEG);
  }

  /**
   * The agent's blind transfer: the target rings while caller and agent still talk; once it answers, the caller is
   * bridged to it, the agent's leg hung up and their task completed (wrap-up). Throws when the target fails.
   */
  async transferTo(target: TransferLeg): Promise<void> {
    const from = this.#talking;
    if (from === undefined) throw new Error('the caller is not talking to an agent');
    if (this.#consult !== undefined || this.#consultRinging) throw new Error('end the consultation first (or consult-transfer)');
    await this.#endSupervisor();
    const tag = `transfer-${randomId()}`;
    const rung = await this.call.ringTransferTarget(target, { ...contextHeaders(this.request), ...taskHeaders(this.#task), 'X-Onecc-Transferred-By': from.agentId }, tag);
    if (!rung.ok) throw new Error(`transfer failed: ${rung.reason}`);
    if (this.#talking !== from) {
      await hangUp(rung.dialog);
      await rung.release();
      throw new Error('the call ended while the transfer target rang');
    }
    await this.call.media.answer(CALLER_LEG, tag, rung.dialog.remote.sdp);
    await this.#handOver(from, target, tag, rung.dialog, rung.release);
  }

  /** The caller now talks to `target` (bridged as leg `tag`): the agent `from` is hung up and their task completed. */
  async #handOver(from: AgentLeg, target: TransferLeg, tag: string, dialog: Srf.Dialog, release: () => Promise<void>): Promise<void> {
    this.#talking = { agentId: target.kind === 'agent' ? target.agentId : `${target.kind}:${target.kind === 'sip' ? target.uri : target.number}`, tag, dialog, release };
    this.call.setAgentLeg(this.#talking);
    this.call.noteTransfer(target);
    await hangUp(from.dialog);
    this.#wakeTalk?.('agent');
    await this.#finishAgent(from);
  }

  /** An agent's part is over: their queue task completed (wrap-up), or a direct call's hold on them released. */
  async #finishAgent(agent: AgentLeg, taskId = this.#task.id): Promise<void> {
    if (agent.release === undefined) await this.deps.acd.complete(taskId).catch((err) => this.deps.logger.warn({ err, taskId }, 'could not complete the task'));
    else await agent.release();
  }

  /**
   * Attended transfer, first half: the caller hears music (and no longer reaches the agent) while the target rings;
   * once it answers, agent and target talk on a leg of their own. Then completeConsult() hands the caller over, or
   * cancelConsult() takes the agent back to the caller. A target that fails or hangs up takes the agent back.
   */
  async consult(target: TransferLeg | { readonly kind: 'queue'; readonly queue: string }, musicOnHold: string): Promise<void> {
    const from = this.#talking;
    if (from === undefined) throw new Error('the caller is not talking to an agent');
    if (this.#consult !== undefined || this.#consultRinging) throw new Error('a consultation is already in progress');
    await this.#endSupervisor();
    this.#consultRinging = true;
    const media = this.call.media;
    try {
      await media.blockMedia(CALLER_LEG);
      await media.startMusicOnHold(CALLER_LEG, musicOnHold).started;
      const tag = `consult-${randomId()}`;
      const headers = { ...contextHeaders(this.request), ...taskHeaders(this.#task), 'X-Onecc-Consulted-By': from.agentId };
      const offerFrom = { leg: from.tag, sdp: from.dialog.remote.sdp };
      const rung = target.kind === 'queue'
        ? await this.#ringFromQueue(target.queue, from.agentId, headers, tag, offerFrom)
        : { ...(await this.call.ringTransferTarget(target, headers, tag, offerFrom)), leg: target };
      if (!rung.ok || this.#talking !== from) {
        if (rung.ok) {
          await hangUp(rung.dialog);
          await rung.release();
        }
        if (this.#talking === from) await this.#backToAgent(from);
        throw new Error(rung.ok ? 'the call ended while the target rang' : `consultation failed: ${rung.reason}`);
      }
      await media.answer(from.tag, tag, rung.dialog.remote.sdp);
      const consult = { from, target: rung.leg, tag, dialog: rung.dialog, release: rung.release };
      this.#consult = consult;
      whenEnded(rung.dialog, () => {
        if (this.#consult !== consult) return;
        this.deps.logger.info({ callId: this.call.id, target }, 'the consulted party hung up: the agent is back with the caller');
        void this.cancelConsult().catch((err) => this.deps.logger.warn({ err }, 'could not take the agent back to the caller'));
      });
    } finally {
      this.#consultRinging = false;
    }
  }

  /**
   * A consultation with a queue: a task there (the caller's context, high priority) finds an agent through the ACD;
   * their phones ring with the consulting agent's media. Unanswered, the offer goes back (RONA) and the ACD tries the
   * next agent, until transferRingTimeoutMs. The consulted agent's task ends when they are off the call (wrap-up).
   */
  async #ringFromQueue(
    queue: string,
    consultedBy: string,
    headers: Record<string, string>,
    tag: string,
    offerFrom: { readonly leg: string; readonly sdp: string },
  ): Promise<{ ok: true; dialog: Srf.Dialog; release: () => Promise<void>; leg: TransferLeg } | { ok: false; reason: string }> {
    const { acd } = this.deps;
    let task: TaskRecord;
    try {
      task = await acd.enqueue({ channel: 'voice', queue, priority: CONSULT_PRIORITY, attributes: { ...this.#task.attributes, consultedBy } });
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    const offered: string[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (event: AcdEvent) => {
      if (event.type === 'task-offered' && event.task.id === task.id) {
        offered.push(event.agent.id);
        wake?.();
      }
    };
    acd.on('event', onEvent);
    const current = acd.task(task.id);
    if (current.state === 'offered' && current.offer !== null) offered.push(current.offer.agentId);
    const deadline = Date.now() + this.deps.transferRingTimeoutMs;
    try {
      while (Date.now() < deadline && !this.call.callerGone) {
        if (offered.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, Math.max(0, deadline - Date.now()));
          });
          continue;
        }
        const agentId = offered.shift()!;
        const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
        if (targets.length > 0) {
          const sdp = await this.call.media.offer(offerFrom.leg, offerFrom.sdp, profile, { toTag: tag });
          const result = await dialFirstAnswer(this.deps.srf, targets, { sdp, headers: { ...headers, ...taskHeaders(task) }, timeoutMs: Math.min(this.deps.ringTimeoutMs, Math.max(1000, deadline - Date.now())) }).result;
          if (result.kind === 'answered') {
            try {
              await acd.accept(task.id, agentId);
              return { ok: true, dialog: result.dialog, release: async () => void (await acd.complete(task.id).catch(() => undefined)), leg: { kind: 'agent', agentId } };
            } catch {
              await hangUp(result.dialog);
              continue;
            }
          }
        }
        await acd.reject(task.id, agentId).catch(() => undefined);
        await acd.setNotReady(agentId, acd.settings.ronaReason).catch(() => undefined);
      }
      await acd.abandon(task.id, 'consult-unanswered').catch(() => undefined);
      return { ok: false, reason: this.call.callerGone ? 'the caller hung up' : `no agent of ${queue} answered` };
    } finally {
      acd.off('event', onEvent);
    }
  }

  /** Attended transfer, second half: the caller goes to the consulted party; the agent is hung up and their task completed. */
  async completeConsult(): Promise<void> {
    const consult = this.#consult;
    if (consult === undefined || this.#talking !== consult.from) throw new Error('no consultation in progress');
    this.#consult = undefined;
    const media = this.call.media;
    await media.stopPlayback(CALLER_LEG);
    await media.unblockMedia(CALLER_LEG);
    await media.offer(CALLER_LEG, this.call.callerSdp, media.legProfile(consult.tag) ?? 'rtp', { toTag: consult.tag });
    await media.answer(CALLER_LEG, consult.tag, consult.dialog.remote.sdp);
    this.#closeMixer();
    await this.#handOver(consult.from, consult.target, consult.tag, consult.dialog, consult.release);
  }

  /**
   * The caller, the agent and the party they consulted talk together (onecc mixes: rtpengine 10.5 cannot). The
   * agent leaving (consult-transfer, hanging up) leaves the two others talking; consult-cancel or the consulted
   * party hanging up takes the call back to caller and agent.
   */
  async conference(): Promise<void> {
    const consult = this.#consult;
    if (consult === undefined || this.#talking !== consult.from) throw new Error('consult someone first: a conference joins the caller, you and the party you consulted');
    if (this.#mixer !== undefined) throw new Error('already in a conference');
    const media = this.call.media;
    await media.stopPlayback(CALLER_LEG);
    await media.unblockMedia(CALLER_LEG);
    this.#mixer = await media.conference([
      { leg: CALLER_LEG, sdp: this.call.callerSdp },
      { leg: consult.from.tag, sdp: consult.from.dialog.remote.sdp },
      { leg: consult.tag, sdp: consult.dialog.remote.sdp },
    ]);
    this.deps.logger.info({ callId: this.call.id, agentId: consult.from.agentId, target: consult.target }, 'three-way conference');
  }

  /**
   * A supervisor joins the conversation: their phones ring; once answered, caller, agent and supervisor are mixed
   * by onecc. Whisper: only the agent hears the supervisor; barge: both do. Called again, it switches the mode.
   * Ends when the supervisor hangs up, the call ends, or the agent holds, consults or transfers.
   */
  async supervise(supervisor: string, mode: 'whisper' | 'barge'): Promise<void> {
    const talking = this.#talking;
    if (talking === undefined) throw new Error('the caller is not talking to an agent');
    const media = this.call.media;
    if (this.#supervisor !== undefined) {
      if (this.#supervisor.name !== supervisor) throw new Error(`${this.#supervisor.name} is already ${this.#supervisor.mode === 'whisper' ? 'coaching' : 'in'} this call`);
      this.#supervisor.mode = mode;
      media.conferenceHears(this.#mixer!, CALLER_LEG, mode === 'whisper' ? [talking.tag] : 'everyone');
      return;
    }
    if (this.#consult !== undefined || this.#consultRinging || this.#mixer !== undefined || this.#supervisorRinging) throw new Error('the agent is consulting or in a conference');
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(supervisor).catch(() => []));
    if (targets.length === 0) throw new Error(`${supervisor} has no registered phone (voice.phones with agent: ${supervisor})`);
    this.#supervisorRinging = true;
    const mixer = await media.conference([]);
    const leg = `supervisor-${randomId()}`;
    try {
      const sdp = await media.conferenceOffer(mixer, leg, profile);
      const result = await dialFirstAnswer(this.deps.srf, targets, { sdp, headers: { 'X-Onecc-Supervise': mode, 'X-Onecc-Monitor': this.call.id, 'X-Onecc-Agent': talking.agentId }, timeoutMs: this.deps.transferRingTimeoutMs }).result;
      if (result.kind === 'failed') throw new Error(`the supervisor's phone did not answer (${result.reason})`);
      if (this.#talking !== talking || this.#consult !== undefined || this.#consultRinging) {
        await hangUp(result.dialog);
        throw new Error('the conversation changed while the supervisor\'s phone rang');
      }
      const dialog = result.dialog;
      await media.conferenceAnswer(mixer, leg, dialog.remote.sdp);
      await media.joinConference(mixer, CALLER_LEG, this.call.callerSdp);
      await media.joinConference(mixer, talking.tag, talking.dialog.remote.sdp);
      if (mode === 'whisper') media.conferenceHears(mixer, CALLER_LEG, [talking.tag]);
      this.#mixer = mixer;
      this.#supervisor = { name: supervisor, leg, dialog, mode };
      whenEnded(dialog, () => {
        if (this.#supervisor?.dialog === dialog) void this.#endSupervisor().catch((err) => this.deps.logger.warn({ err }, 'could not end the supervisor\'s session'));
      });
      this.deps.logger.info({ callId: this.call.id, supervisor, mode, agentId: talking.agentId }, 'supervisor joined the call');
    } catch (err) {
      if (this.#mixer !== mixer) media.leaveConference(mixer);
      throw err;
    } finally {
      this.#supervisorRinging = false;
    }
  }

  /** The supervisor leaves (hung up, or the agent does something else): caller and agent talk directly again. */
  async #endSupervisor(): Promise<void> {
    const supervisor = this.#supervisor;
    if (supervisor === undefined) return;
    this.#supervisor = undefined;
    await hangUp(supervisor.dialog);
    const talking = this.#talking;
    if (talking !== undefined) await this.#backToAgent(talking);
    this.#closeMixer();
  }

  #closeMixer(): void {
    if (this.#mixer === undefined) return;
    this.call.media.leaveConference(this.#mixer);
    this.#mixer = undefined;
  }

  /** The agent ends the consultation: the consulted party is hung up and the agent talks to the caller again. */
  async cancelConsult(): Promise<void> {
    const consult = this.#consult;
    if (consult === undefined) throw new Error('no consultation in progress');
    await this.#endConsult();
    if (this.#talking === consult.from) await this.#backToAgent(consult.from);
  }

  async #endConsult(): Promise<void> {
    const consult = this.#consult;
    if (consult === undefined) return;
    this.#consult = undefined;
    // Whatever the consulted phone still sends must not reach the agent (rtpengine forwards what arrives).
    await this.call.media.blockMedia(consult.tag).catch(() => undefined);
    if (this.#mixer !== undefined) this.call.media.dropFromConference(this.#mixer, consult.tag);
    await hangUp(consult.dialog);
    await consult.release();
  }

  /** The caller's media goes back to the agent's leg, music off. */
  async #backToAgent(agent: AgentLeg): Promise<void> {
    const media = this.call.media;
    await media.offer(CALLER_LEG, this.call.callerSdp, media.legProfile(agent.tag) ?? 'rtp', { toTag: agent.tag });
    await media.answer(CALLER_LEG, agent.tag, agent.dialog.remote.sdp);
    await media.stopPlayback(CALLER_LEG);
    await media.unblockMedia(CALLER_LEG);
    this.#closeMixer();
  }

  /**
   * Blind transfer to a queue: the caller gets a new task in `queue` (same attributes, so the same screen pop and
   * interaction record) and hears music until the ACD finds an agent; the agent is hung up and their task completed.
   */
  async transferToQueue(queue: string, musicOnHold: string): Promise<void> {
    const from = this.#talking;
    if (from === undefined) throw new Error('the caller is not talking to an agent');
    if (this.#consult !== undefined || this.#consultRinging) throw new Error('end the consultation first');
    await this.#endSupervisor();
    const previous = this.#task;
    // The new task first: an unknown queue fails here, before anything changes for the caller.
    const next = await this.deps.acd.enqueue({ channel: 'voice', queue, priority: previous.priority, attributes: { ...previous.attributes, transferredBy: from.agentId } });
    this.deps.onQueueTask(next.id, this.call);
    this.#task = next;
    this.#connected = false;
    this.#requeued = true;
    this.#talking = undefined;
    this.call.setAgentLeg(undefined);
    const media = this.call.media;
    await this.call.endMonitors();
    await media.offer(CALLER_LEG, this.call.callerSdp, 'rtp').then(() => media.answerWithPrompts(CALLER_LEG));
    void media.startMusicOnHold(CALLER_LEG, musicOnHold).started.catch((err) => this.deps.logger.warn({ err }, 'music on hold failed'));
    await hangUp(from.dialog);
    this.#wakeTalk?.('agent');
    await this.#finishAgent(from, previous.id);
    this.deps.onQueueTask(previous.id, undefined);
    this.deps.logger.info({ callId: this.call.id, from: from.agentId, queue, taskId: next.id }, 'caller transferred to a queue');
    this.catchUp();
  }

  /** The ACD task the caller has now (a transfer to a queue gives them a new one). */
  get taskId(): string {
    return this.#task.id;
  }

  /** The agent declined the offer on the feed: their phones stop ringing (no RONA: they said no). */
  declined(agentId: string): void {
    if (this.#ringing?.agentId === agentId) this.#ringing.cancel();
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
