import type Srf from 'drachtio-srf';
import type { AcdEngine } from '../acd/index';
import type { InteractionRecord, InteractionRecords } from '../channels/interaction-records';
import { CALLER_LEG, InboundCall, type PhoneDirectory } from '../channels/voice/index';
import { dialFirstAnswer, hangUp } from '../channels/voice/dial';
import type { QueueOutcome } from '../ivr/index';
import { randomId, type Logger } from '../lib/index';
import { AudioTap, type MediaCall, type MediaService } from '../media/index';
import type { PromptLibrary, PromptName } from '../media/prompts/index';
import type { StoredContact } from './contact-store';

/** How long before connectMs the wait for an agent gives up, so that the safe-harbour message starts in time. */
const SAFE_HARBOUR_MARGIN_MS = 500;

/** Answered calls are queued above everything else: the person is already on the line. */
export const DIALER_PRIORITY = 1000;

/** How answering-machine detection judged a greeting. */
export interface AmdVerdict {
  readonly kind: 'human' | 'machine' | 'not-sure';
  readonly reason: string;
  /** ms after the answer. */
  readonly atMs: number;
}

/** Listens to a callee's greeting (src/dialer/amd); one per call. */
export interface GreetingDetector {
  /** Samples (8 kHz) as they arrive; a verdict once it has one. */
  push(samples: Int16Array, atMs: number): AmdVerdict | undefined;
  /** After a machine verdict: true once its greeting is over (the beep, or silence), so a message can be left. */
  greetingOver(samples: Int16Array, atMs: number): boolean;
}

export interface AttemptSettings {
  readonly campaign: string;
  readonly mode: 'preview' | 'progressive' | 'predictive' | 'agentless';
  readonly queue: string;
  readonly uri: string;
  readonly callerId: string;
  readonly ringTimeoutMs: number;
  readonly connectMs: number;
  readonly safeHarbourPrompt: string;
  readonly amd: { readonly enabled: boolean; readonly onMachine: 'hangup' | 'message'; readonly machineMessage: string | null };
  readonly agentless: { readonly prompt: string; readonly transferKey: string | null };
  /** Longest an AMD verdict may take; none by then counts as a person (regulators prefer a false "human"). */
  readonly amdMaxMs: number;
}

export interface AttemptDeps {
  readonly srf: Srf;
  readonly acd: AcdEngine;
  readonly media: MediaService;
  readonly prompts: PromptLibrary;
  readonly phones: PhoneDirectory;
  readonly records: InteractionRecords;
  readonly trunk: string;
  /** Where onecc's AMD tap listens (an address rtpengine reaches onecc at). */
  readonly tapHost: string;
  readonly detector: () => GreetingDetector;
  readonly agentRingTimeoutMs: number;
  /** Record the person's conversation with the agent (voice.record). */
  readonly record?: boolean;
  readonly logger: Logger;
}

/** What happens on a call as it happens (the pacer and the abandon budget learn from it). */
export type AttemptProgress =
  | { readonly kind: 'answered'; readonly afterMs: number }
  | { readonly kind: 'verdict'; readonly person: boolean }
  | { readonly kind: 'connected' }
  | { readonly kind: 'abandoned' };

/** How one call to a contact went. */
export interface AttemptResult {
  /** busy, no-answer, failed, machine, human (talked to an agent or heard the agentless message), abandoned */
  readonly outcome: 'busy' | 'no-answer' | 'failed' | 'machine' | 'human' | 'abandoned';
  readonly interaction: string;
  readonly answeredAt?: number;
  readonly agentId?: string;
  readonly amd?: AmdVerdict;
  /** For an abandoned call: when the safe-harbour message started, ms after the greeting ended (TSR: within 2 s). */
  readonly safeHarbourAfterMs?: number;
}

/**
 * One call to one contact: dialed through the trunk from onecc's media (rtpengine), its progress read from the
 * SIP answer; once answered, the callee's audio is forked to onecc for answering-machine detection. A person is
 * queued for the campaign's agents at top priority and must reach one within `connectMs` of the verdict, else they
 * hear the safe-harbour message and the call counts as abandoned; a machine is hung up on or left a message after
 * its greeting. Agentless campaigns play their message (and queue those who press the key).
 */
export class OutboundAttempt {
  readonly id = `dial-${randomId()}`;
  readonly #log: Logger;
  #media: MediaCall | undefined;
  #call: InboundCall | undefined;
  #dialog: Srf.Dialog | undefined;
  #hungUp = false;
  #dialedAt = Date.now();
  #talkMs = 0;

  constructor(
    private readonly contact: StoredContact,
    private readonly settings: AttemptSettings,
    private readonly deps: AttemptDeps,
    private readonly progress: (event: AttemptProgress) => void = () => undefined,
  ) {
    this.#log = deps.logger.child({ component: 'dialer', campaign: settings.campaign, contact: contact.id, callId: this.id });
  }

  /** How long the person talked to an agent (0 if they did not). */
  get talkMs(): number {
    return this.#talkMs;
  }

  /** Whether the contact answered (the call no longer waits on their phone). */
  get answered(): boolean {
    return this.#dialog !== undefined;
  }

  /** Hangs up (shutdown, campaign stopped hard). */
  async abort(): Promise<void> {
    this.#hungUp = true;
    if (this.#call) await this.#call.end();
    else if (this.#dialog) await hangUp(this.#dialog);
  }

  async run(): Promise<AttemptResult> {
    const { settings, deps } = this;
    const media = deps.media.openCall(this.id);
    this.#media = media;
    const record: InteractionRecord = {
      id: this.id, channel: 'voice', direction: 'outbound', campaign: settings.campaign, startedAt: new Date().toISOString(),
      trunk: deps.trunk, caller: settings.callerId, called: this.contact.number, legs: [],
    };
    let result: AttemptResult = { outcome: 'failed', interaction: this.id };
    try {
      result = await this.#place(media, record);
      return result;
    } catch (err) {
      this.#log.error({ err }, 'dialer call failed');
      return result;
    } finally {
      if (this.#call) await this.#call.end();
      else {
        if (this.#dialog) await hangUp(this.#dialog);
        await media.close();
      }
      record.outcome = result.outcome;
      record.endedAt = new Date().toISOString();
      if (result.agentId) record.agentId = result.agentId;
      if (this.#call?.recordingFile !== undefined) record.recording = this.#call.recordingFile;
      await deps.records.save(record);
    }
  }

  async #place(media: MediaCall, record: InteractionRecord): Promise<AttemptResult> {
    const { settings, deps } = this;
    const sdp = await media.originate('rtp');
    this.#dialedAt = Date.now();
    const dial = dialFirstAnswer(deps.srf, [{ uri: settings.uri }], { sdp, callingNumber: settings.callerId, timeoutMs: settings.ringTimeoutMs });
    const answer = await dial.result;
    if (answer.kind === 'failed') {
      const outcome = answer.reason === 'busy' ? 'busy' : answer.reason === 'no-answer' ? 'no-answer' : 'failed';
      this.#log.info({ outcome, statuses: answer.statuses }, 'not answered');
      return { outcome, interaction: this.id };
    }
    const answeredAt = Date.now();
    const dialog = answer.dialog;
    this.#dialog = dialog;
    this.progress({ kind: 'answered', afterMs: answeredAt - this.#dialedAt });
    let gone = false;
    dialog.once('destroy', () => (gone = true));
    record.legs.push({ kind: 'customer', callId: dialog.sip.callId, target: settings.uri, at: new Date(answeredAt).toISOString() });
    await media.connectOriginated(CALLER_LEG, dialog.remote.sdp);
    const call = new InboundCall(this.id, media, dialog.remote.sdp, {
      srf: deps.srf, acd: deps.acd, phones: deps.phones, logger: this.#log, ringTimeoutMs: deps.agentRingTimeoutMs,
      transferRingTimeoutMs: deps.agentRingTimeoutMs, callbackUri: () => undefined, onQueueTask: () => undefined, record: deps.record ?? false,
    });
    this.#call = call;
    call.attachCaller(dialog, () => (gone = true));
    if (this.#hungUp) return { outcome: 'failed', interaction: this.id, answeredAt };

    if (settings.mode === 'agentless') return this.#agentless(media, call, answeredAt, () => gone);
    const verdict = settings.amd.enabled ? await this.#detect(media, answeredAt, () => gone) : { kind: 'human' as const, reason: 'amd off', atMs: 0 };
    this.#log.info({ verdict }, 'answered');
    this.progress({ kind: 'verdict', person: verdict.kind !== 'machine' });
    if (gone) return { outcome: verdict.kind === 'machine' ? 'machine' : 'human', interaction: this.id, answeredAt, amd: verdict };
    if (verdict.kind === 'machine') {
      if (settings.amd.onMachine === 'message' && settings.amd.machineMessage !== null) await this.#leaveMessage(media, answeredAt, () => gone);
      return { outcome: 'machine', interaction: this.id, answeredAt, amd: verdict };
    }
    return { ...(await this.#toAgent(call, Date.now(), () => gone)), answeredAt, amd: verdict };
  }

  /** A prompt (checked to exist when the configuration was loaded) in the contact's language. */
  #prompt(name: string): string {
    return this.deps.prompts.resolve(name as PromptName, this.contact.attributes.language);
  }

  /** The callee's audio, forked to onecc, through the detector until it has a verdict (or amdMaxMs passed). */
  async #detect(media: MediaCall, answeredAt: number, gone: () => boolean): Promise<AmdVerdict> {
    const detector = this.deps.detector();
    let settle!: (verdict: AmdVerdict) => void;
    const verdict = new Promise<AmdVerdict>((resolve) => (settle = resolve));
    const tap = await AudioTap.open(this.deps.tapHost, (samples) => {
      const found = detector.push(samples, Date.now() - answeredAt);
      if (found) settle(found);
    });
    const timer = setTimeout(() => settle({ kind: 'not-sure', reason: 'no verdict in time', atMs: this.settings.amdMaxMs }), this.settings.amdMaxMs);
    const poll = setInterval(() => gone() && settle({ kind: 'not-sure', reason: 'hung up during the greeting', atMs: Date.now() - answeredAt }), 100);
    let forkId: string | undefined;
    try {
      const fork = await media.forkOffer([CALLER_LEG]);
      forkId = fork.forkId;
      await media.answerFork(fork.forkId, tap.sdp());
      return await verdict;
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      tap.close();
      if (forkId !== undefined) await media.stopFork(forkId).catch(() => undefined);
    }
  }

  /** A machine: waits for its greeting to end (beep or silence), then plays the campaign's message. */
  async #leaveMessage(media: MediaCall, answeredAt: number, gone: () => boolean): Promise<void> {
    const detector = this.deps.detector();
    let over!: () => void;
    const ended = new Promise<void>((resolve) => (over = resolve));
    const tap = await AudioTap.open(this.deps.tapHost, (samples) => detector.greetingOver(samples, Date.now() - answeredAt) && over());
    const fork = await media.forkOffer([CALLER_LEG]);
    await media.answerFork(fork.forkId, tap.sdp());
    const limit = setTimeout(over, 30_000);
    const poll = setInterval(() => gone() && over(), 100);
    await ended;
    clearTimeout(limit);
    clearInterval(poll);
    tap.close();
    await media.stopFork(fork.forkId).catch(() => undefined);
    if (!gone()) await media.play(CALLER_LEG, [this.#prompt(this.settings.amd.machineMessage!)]).done;
  }

  async #agentless(media: MediaCall, call: InboundCall, answeredAt: number, gone: () => boolean): Promise<AttemptResult> {
    const { agentless } = this.settings;
    const file = this.#prompt(agentless.prompt);
    if (agentless.transferKey === null) {
      await media.play(CALLER_LEG, [file]).done;
      return { outcome: 'human', interaction: this.id, answeredAt };
    }
    const playback = media.play(CALLER_LEG, [file], { bargeIn: true });
    await playback.done;
    const pressed = gone() ? undefined : await media.collectDigits(CALLER_LEG, { maxDigits: 1, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 1000 });
    if (pressed?.digits !== agentless.transferKey) return { outcome: 'human', interaction: this.id, answeredAt };
    return { ...(await this.#toAgent(call, Date.now(), gone)), answeredAt };
  }

  /**
   * Queues the person at top priority and waits until an agent talks to them; not within connectMs of `since`:
   * they hear the safe-harbour message, and the call is abandoned.
   */
  async #toAgent(call: InboundCall, since: number, gone: () => boolean): Promise<Omit<AttemptResult, 'answeredAt'>> {
    const { settings, contact } = this;
    const session = await call.enterQueue({
      queue: settings.queue,
      priority: DIALER_PRIORITY,
      dialplan: `campaign:${settings.campaign}`,
      node: 'dialer',
      language: contact.attributes.language ?? 'en',
      variables: { ...contact.attributes, caller: contact.number, campaign: settings.campaign, contact: contact.id },
      inputs: [],
      maxWaitSeconds: null,
      stopHoldAudio: async () => undefined,
      offerCallback: () => undefined,
    });
    // The message must start within connectMs: the wait for an agent ends a little before, to give it time.
    const deadline = since + settings.connectMs - SAFE_HARBOUR_MARGIN_MS;
    while (Date.now() < deadline && !gone() && call.queueSession?.talkingAgent === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    const agentId = call.queueSession?.talkingAgent;
    if (agentId === undefined) {
      if (gone()) {
        this.progress({ kind: 'abandoned' });
        await session.leave('caller-hangup');
        return { outcome: 'abandoned', interaction: this.id, safeHarbourAfterMs: undefined };
      }
      await session.leave('max-wait');
      // The agent's phone may have answered in the same instant: the conversation wins over the message.
      if (call.queueSession?.talkingAgent === undefined) {
        this.progress({ kind: 'abandoned' });
        const safeHarbourAfterMs = Date.now() - since;
        this.#log.warn({ safeHarbourAfterMs }, 'no agent in time: safe-harbour message, abandoned');
        await this.#media!.play(CALLER_LEG, [this.#prompt(settings.safeHarbourPrompt)]).done;
        return { outcome: 'abandoned', interaction: this.id, safeHarbourAfterMs };
      }
    }
    this.progress({ kind: 'connected' });
    const connectedAt = Date.now();
    const connectedTo = call.queueSession?.talkingAgent;
    const outcome: QueueOutcome = await session.outcome;
    this.#talkMs = Date.now() - connectedAt;
    return { outcome: 'human', interaction: this.id, agentId: outcome.kind === 'conversation-ended' ? outcome.agent : connectedTo };
  }
}
