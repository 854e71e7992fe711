import { TypedEmitter, type Logger } from '../../lib';
import type { DtmfDigit } from '../dtmf/dtmf-listener';
import { MediaError } from '../errors';
import type { NgReply } from '../ng/ng-client';
import type { Rtpengine } from '../rtpengine/rtpengine-pool';
import { inspectSdp, type MediaProfile } from '../sdp/sdp';
import { FALLBACK_CODECS, mirrorOfferedCodecs, profileFlags, promptSinkSdp } from './negotiation';
import { Playback, type PlaybackResult } from './playback';
import { collectDigits, type CollectOptions, type CollectResult } from './collect-digits';
import { CallRecording, type RecordingResult } from '../recording/call-recording';
import { parseCallStats, type CallStats } from './call-stats';
import { AudioMixer } from '../mixer/audio-mixer';

/** The rtpengine tag of the leg that connects `leg` to the conference mixer. */
function conferenceTag(leg: string): string {
  return `mix-${leg}`;
}

/** How a call ended from the media plane's point of view. */
export type MediaCallEnd = 'closed' | 'rtpengine-lost';

type CallEvents = {
  dtmf: [digit: DtmfDigit];
  /** rtpengine no longer has the call (restart, RTP timeout) or close() was called. */
  ended: [reason: MediaCallEnd];
};

/** The tag onecc answers a one-leg call with while it plays prompts itself. */
export const PROMPT_LEG = 'onecc-prompts';
/** A loop long enough for any queue wait (rtpengine has no "forever"). */
const MOH_REPEATS = 10_000;
/** Subscribe requests a fork gets before it fails for having fewer streams than legs. */
const FORK_ATTEMPTS = 3;
/** The telephone-event payload type onecc offers when it places a call itself. */
const ORIGINATE_TELEPHONE_EVENT_PT = 101;

export interface MediaCallContext {
  readonly engine: Rtpengine;
  readonly logger: Logger;
  readonly recordingDir: string;
  /** rtpengine's own recording directory (pcaps), as seen by onecc. */
  readonly rtpengineRecordingDir: string;
  readonly onClosed: (call: MediaCall) => void;
  /** Where onecc's conference mixer listens (an address rtpengine reaches onecc at). */
  readonly mixerHost: string;
}

/**
 * One call on one rtpengine: its legs (rtpengine tags), prompts, digits, bridging, hold, recording and forks.
 * Legs are named by the caller of this API (the voice layer uses SIP tags or its own names); each leg's profile
 * (plain RTP or WebRTC) is read from its SDP and decides the flags the other side's SDP is produced with.
 * Every method fails with a MediaError; close() is safe to call more than once and at any time.
 */
export class MediaCall extends TypedEmitter<CallEvents> {
  readonly #profiles = new Map<string, MediaProfile>();
  readonly #typeAhead = new Map<string, DtmfDigit[]>();
  readonly #playbacks = new Map<string, Playback>();
  /** Forks by id, with the SDP offered for each (answerFork matches the answer to it). */
  readonly #forks = new Map<string, string>();
  /** The last offer: who made it, and the SDP rtpengine produced from it for the other side. */
  #lastOffer: { from: string; forwarded: string } | undefined;
  readonly #mixers = new Set<AudioMixer>();
  /** The rtpengine port each answering leg was told to send to (the offer it answered). */
  readonly #sentPorts = new Map<string, number>();
  #recording: CallRecording | undefined;
  #ended: MediaCallEnd | undefined;
  #opened = false;
  #injectDtmf = false;

  constructor(
    readonly id: string,
    private readonly ctx: MediaCallContext,
  ) {
    super(ctx.logger);
  }

  get rtpengine(): string {
    return this.ctx.engine.id;
  }

  /** True once rtpengine holds state for this call (after the first offer). */
  get opened(): boolean {
    return this.#opened;
  }

  get ended(): MediaCallEnd | undefined {
    return this.#ended;
  }

  legProfile(leg: string): MediaProfile | undefined {
    return this.#profiles.get(leg);
  }

  /**
   * `from` offers `sdp`; returns the SDP to send to the other side, which speaks `toProfile` (and will answer as
   * `toTag`, when known). Throws
   * INCOMPATIBLE_SDP (→ 488) when the SDP cannot be negotiated. `injectDtmf` enables sendDtmf() on this call; it
   * is off by default because it makes rtpengine decode and re-encode every packet (more than twice the CPU per
   * call, and under load some legs went silent in bench/media).
   */
  async offer(from: string, sdp: string, toProfile: MediaProfile, opts: { injectDtmf?: boolean; toTag?: string } = {}): Promise<string> {
    if (opts.injectDtmf) this.#injectDtmf = true;
    const summary = inspectSdp(sdp);
    this.#profiles.set(from, summary.profile);
    const sendsEvents = summary.media.some((m) => m.kind === 'audio' && [...m.codecs.values()].includes('TELEPHONE-EVENT'));
    const reply = await this.#command('offer', {
      'from-tag': from,
      // Naming the leg that will answer makes rtpengine give it its own ports: a WebRTC leg re-offered without it
      // is sent the previous answerer's port while ICE runs from another, and DTLS never completes.
      ...(opts.toTag === undefined ? {} : { 'to-tag': opts.toTag }),
      sdp,
      ...profileFlags(toProfile),
      // Offering telephone-event on behalf of an offerer without it makes rtpengine detect its in-band tones and
      // report them (and send them on as RFC 4733): old trunks and analog gateways dial menus with tones.
      codec: { transcode: sendsEvents ? FALLBACK_CODECS : [...FALLBACK_CODECS, 'telephone-event'] },
      // Needed on offer and answer for play DTMF to work both ways (rtpengine notes §4).
      flags: [
        ...this.#dtmfFlags(),
        ...(toProfile === 'webrtc' ? ['generate-mid'] : []),
        // RTP header extensions are a browser matter; a trunk offered them might refuse the call.
        ...(toProfile === 'webrtc' || summary.profile === 'webrtc' ? ['strip-extmap'] : []),
      ],
    }, true);
    this.#opened = true;
    const forwarded = sdpOf(reply);
    this.#lastOffer = { from, forwarded };
    return forwarded;
  }

  /**
   * `to` answers the last offer of `from` with `sdp`; returns the SDP for `from`. Called again with another `to`,
   * it moves `from`'s media to that leg (IVR → agent, agent → agent transfer) within the same call.
   */
  async answer(from: string, to: string, sdp: string): Promise<string> {
    const summary = inspectSdp(sdp);
    const fromProfile = this.#requireLeg(from);
    this.#profiles.set(to, summary.profile);
    const sentTo = this.#lastOffer?.from === from ? inspectSdp(this.#lastOffer.forwarded).media.find((m) => m.kind === 'audio')?.port : undefined;
    if (sentTo !== undefined) this.#sentPorts.set(to, sentTo);
    const reply = await this.#command('answer', {
      'from-tag': from,
      'to-tag': to,
      sdp,
      ...profileFlags(fromProfile),
      flags: this.#dtmfFlags(),
    });
    return sdpOf(reply);
  }

  /**
   * Answers `from`'s offer with onecc itself as the far end, so that prompts can be played to it and its digits
   * read (IVR, queue). Returns the SDP for `from` (the 200 OK). A later answer() from an agent replaces this.
   */
  async answerWithPrompts(from: string): Promise<string> {
    const offer = this.#lastOffer;
    if (offer === undefined || offer.from !== from) {
      throw new MediaError('CALL_CLOSED', `call ${this.id}: answerWithPrompts(${from}) needs an offer from ${from} first`);
    }
    // Answer with what rtpengine offered onward, so that its telephone-event type (digits) and G.711 are accepted.
    const media = inspectSdp(offer.forwarded).media.find((m) => m.kind === 'audio');
    const te = media && [...media.codecs.entries()].find(([, name]) => name === 'TELEPHONE-EVENT')?.[0];
    return this.answer(from, PROMPT_LEG, promptSinkSdp(media?.codecs ?? new Map(), te));
  }

  /**
   * Starts a call from onecc's side (a callback, a dialer leg): returns the SDP offer for the party onecc calls,
   * with onecc itself as the offerer. Once that party (`leg`) answers, `connectOriginated` completes it; from then
   * on `leg` is like a caller answered with answerWithPrompts: prompts play to it, its digits are read, and
   * offer(leg, ...) moves it to another leg.
   */
  async originate(toProfile: MediaProfile): Promise<string> {
    return this.offer(PROMPT_LEG, promptSinkSdp(new Map([[0, 'PCMU'], [8, 'PCMA']]), ORIGINATE_TELEPHONE_EVENT_PT), toProfile);
  }

  /**
   * `leg`'s answer to originate(): its media now flows with rtpengine. Its SDP, though an answer, describes its
   * media as an offer would: offer(leg, sdp, ...) later moves it to another leg.
   */
  async connectOriginated(leg: string, sdp: string): Promise<void> {
    await this.answer(PROMPT_LEG, leg, sdp);
  }

  /**
   * Plays `files` (absolute paths on the rtpengine host) to `leg`, one after the other. With `bargeIn`, the first
   * digit from `leg` stops it (the digit stays in the type-ahead buffer for collectDigits). `repeat` loops the list.
   * A new play() to the same leg stops the previous one.
   */
  play(leg: string, files: readonly string[], opts: { bargeIn?: boolean; repeat?: number } = {}): Playback {
    this.#requireLeg(leg);
    void this.#playbacks.get(leg)?.cancel('replaced');
    const playback = new Playback(leg, files, opts, (params) => this.#command('playMedia', params), (params) => this.#command('stopMedia', params));
    this.#playbacks.set(leg, playback);
    const typedAhead = this.#typeAhead.get(leg)?.[0];
    // A digit typed before the prompt began interrupts it before it starts: callers who know the menu skip it.
    if (opts.bargeIn && typedAhead !== undefined) void playback.interrupt(typedAhead.digit);
    else playback.start();
    void playback.done.finally(() => {
      if (this.#playbacks.get(leg) === playback) this.#playbacks.delete(leg);
    });
    return playback;
  }

  /** Loops `file` to `leg` until stopPlayback, a new play() or hold ends it. */
  startMusicOnHold(leg: string, file: string): Playback {
    return this.play(leg, [file], { repeat: MOH_REPEATS });
  }

  async stopPlayback(leg: string): Promise<PlaybackResult | undefined> {
    const playback = this.#playbacks.get(leg);
    if (playback === undefined) return undefined;
    await playback.cancel('stopped');
    return playback.done;
  }

  /**
   * Puts `leg` on hold in a bridged call: it hears `mohFile` and nothing of the other legs, and they hear nothing of
   * it. Without the blocks rtpengine would mix the music with the other party's audio (notes §3).
   */
  async hold(leg: string, mohFile: string): Promise<void> {
    this.#requireLeg(leg);
    for (const other of this.#bridgedLegs(leg)) await this.#command('blockMedia', { 'from-tag': other });
    await this.#command('blockMedia', { 'from-tag': leg });
    const moh = this.startMusicOnHold(leg, mohFile);
    await moh.started;
  }

  async unhold(leg: string): Promise<void> {
    this.#requireLeg(leg);
    await this.stopPlayback(leg);
    await this.#command('unblockMedia', { 'from-tag': leg });
    for (const other of this.#bridgedLegs(leg)) await this.#command('unblockMedia', { 'from-tag': other });
  }

  /**
   * Joins `legs` in a conference mixed by onecc (rtpengine 10.5 cannot mix): each leg is re-pointed to a port of
   * its own on the mixer, given the SDP it last described its media with (a caller's offer, a phone's answer).
   * Resolves with the mixer; a leg leaving it is re-pointed with offer/answer like any transfer, then removed.
   */
  async conference(legs: readonly { readonly leg: string; readonly sdp: string }[]): Promise<AudioMixer> {
    const mixer = new AudioMixer(this.ctx.mixerHost, this.ctx.logger.child({ component: 'conference' }));
    this.#mixers.add(mixer);
    try {
      for (const { leg, sdp } of legs) await this.joinConference(mixer, leg, sdp);
    } catch (err) {
      this.leaveConference(mixer);
      throw err;
    }
    return mixer;
  }

  async joinConference(mixer: AudioMixer, leg: string, sdp: string): Promise<void> {
    const port = conferenceTag(leg);
    const mixerSdp = await mixer.add(port);
    mixer.connect(port, await this.offer(leg, sdp, 'rtp', { toTag: port }));
    await this.answer(leg, port, mixerSdp);
  }

  /** Calls a new party into the conference: returns the SDP offer for them; they will answer as `leg`. */
  async conferenceOffer(mixer: AudioMixer, leg: string, toProfile: MediaProfile): Promise<string> {
    const port = conferenceTag(leg);
    return this.offer(port, await mixer.add(port), toProfile, { toTag: leg });
  }

  /** The new party answered: its audio joins the mix. */
  async conferenceAnswer(mixer: AudioMixer, leg: string, sdp: string): Promise<void> {
    const port = conferenceTag(leg);
    mixer.connect(port, await this.answer(port, leg, sdp));
  }

  /** Who `leg` hears in the conference: everyone else, or only `sources` (legs). */
  conferenceHears(mixer: AudioMixer, leg: string, sources: 'everyone' | readonly string[]): void {
    mixer.setHears(conferenceTag(leg), sources === 'everyone' ? sources : sources.map(conferenceTag));
  }

  /** `leg` left the conference (re-pointed elsewhere or hung up): its port closes. */
  dropFromConference(mixer: AudioMixer, leg: string): void {
    mixer.remove(conferenceTag(leg));
  }

  /** The conference is over (its legs re-pointed elsewhere): its ports close. */
  leaveConference(mixer: AudioMixer): void {
    mixer.close();
    this.#mixers.delete(mixer);
  }

  /** Media from `leg` no longer reaches anyone (a caller on hold while their agent consults someone else). */
  async blockMedia(leg: string): Promise<void> {
    this.#requireLeg(leg);
    await this.#command('blockMedia', { 'from-tag': leg });
  }

  async unblockMedia(leg: string): Promise<void> {
    this.#requireLeg(leg);
    await this.#command('unblockMedia', { 'from-tag': leg });
  }

  /** Digits from `leg` are still reported to onecc but no longer reach the other party (PINs, card numbers). */
  async blockDtmf(leg: string): Promise<void> {
    this.#requireLeg(leg);
    await this.#command('blockDTMF', { 'from-tag': leg });
  }

  async unblockDtmf(leg: string): Promise<void> {
    this.#requireLeg(leg);
    await this.#command('unblockDTMF', { 'from-tag': leg });
  }

  /** Sends `digits` (RFC 4733) as if `leg` had pressed them: the other party receives them. */
  async sendDtmf(leg: string, digits: string, durationMs = 200): Promise<void> {
    this.#requireLeg(leg);
    if (!this.#injectDtmf) {
      throw new MediaError('RTPENGINE_ERROR', `call ${this.id} was offered without injectDtmf: rtpengine would accept the digits and send nothing`);
    }
    if (!/^[0-9*#A-D]+$/i.test(digits)) throw new MediaError('RTPENGINE_ERROR', `"${digits}" is not a DTMF digit string (0-9 * # A-D)`);
    for (const code of digits) {
      await this.#command('playDTMF', { 'from-tag': leg, code, duration: durationMs });
      await new Promise((resolve) => setTimeout(resolve, durationMs + 60));
    }
  }

  /** Collects digits from `leg`, starting with any typed ahead; see CollectOptions for when it stops. */
  collectDigits(leg: string, opts: CollectOptions): Promise<CollectResult> {
    this.#requireLeg(leg);
    return collectDigits(this, leg, this.#typeAheadOf(leg), opts);
  }

  /** Forgets digits typed ahead on `leg` (before a menu that must not see earlier input). */
  flushDigits(leg: string): void {
    this.#typeAhead.delete(leg);
  }

  /** Starts recording the whole call; stopRecording() (or close()) writes the WAV. */
  async startRecording(name: string = this.id): Promise<void> {
    if (this.#recording !== undefined) throw new MediaError('RECORDING_FAILED', `call ${this.id} is already being recorded`);
    const recording = new CallRecording(this.id, name, this.ctx.recordingDir, this.ctx.rtpengineRecordingDir, this.ctx.logger);
    this.#recording = recording;
    try {
      await this.#command('startRecording', {});
      recording.markStarted();
    } catch (err) {
      this.#recording = undefined;
      throw err;
    }
  }

  /**
   * Stops the recording and writes `<recordingDir>/<name>.wav`: stereo, 8 kHz, left what `leftLeg` sent, right what
   * `leftLeg` heard (the other party, prompts, music), so that both sides stay apart for quality review.
   */
  async stopRecording(leftLeg: string): Promise<RecordingResult> {
    const recording = this.#recording;
    if (recording === undefined) throw new MediaError('RECORDING_FAILED', `call ${this.id} is not being recorded`);
    const ports = await this.#legPorts(leftLeg);
    this.#recording = undefined;
    await this.#command('stopRecording', {});
    return recording.finish(ports);
  }

  /** Stops the recording and keeps rtpengine's capture of every stream as `<recordingDir>/<name>.pcap` (video calls). */
  async stopRecordingCapture(): Promise<{ file: string; bytes: number }> {
    const recording = this.#recording;
    if (recording === undefined) throw new MediaError('RECORDING_FAILED', `call ${this.id} is not being recorded`);
    this.#recording = undefined;
    await this.#command('stopRecording', {});
    return recording.keepCapture();
  }

  /**
   * Forks the audio `legs` send to a third party (supervisor listen-in, answering-machine detection, transcription):
   * returns the fork's id and the SDP to offer it (one m=audio per leg, sendonly), for a plain RTP or a WebRTC
   * endpoint. Complete with answerFork().
   */
  async forkOffer(legs: readonly string[], toProfile: MediaProfile = 'rtp'): Promise<{ forkId: string; sdp: string }> {
    for (const leg of legs) this.#requireLeg(leg);
    for (let attempt = 1; ; attempt++) {
      const reply = await this.#command('subscribeRequest', { 'from-tags': await this.#receivingTags(legs), ...profileFlags(toProfile) });
      const forkId = String(reply['to-tag'] ?? '');
      if (forkId === '') throw new MediaError('RTPENGINE_ERROR', `call ${this.id}: subscribe request returned no to-tag`);
      const sdp = sdpOf(reply);
      const sections = inspectSdp(sdp).media.filter((m) => m.kind === 'audio').length;
      if (sections >= legs.length) {
        this.#forks.set(forkId, sdp);
        return { forkId, sdp };
      }
      // Seen once on a loaded machine: two legs asked for, one section offered. A supervisor would hear half the
      // call without knowing it; ask again, and fail rather than fork less than was asked for.
      await this.#command('unsubscribe', { 'to-tag': forkId }).catch(() => undefined);
      this.ctx.logger.warn({ callId: this.id, legs, sections, attempt }, 'rtpengine forked fewer audio streams than legs asked for');
      if (attempt === FORK_ATTEMPTS) {
        throw new MediaError('RTPENGINE_ERROR', `call ${this.id}: rtpengine offered ${sections} audio stream(s) for the ${legs.length} leg(s) to fork (${legs.join(', ')}), ${attempt} times`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }

  /** The third party's answer (recvonly, one section per forked leg, with the offered telephone-event). */
  async answerFork(forkId: string, sdp: string): Promise<void> {
    inspectSdp(sdp);
    const offer = this.#forks.get(forkId);
    await this.#command('subscribeAnswer', { 'to-tag': forkId, sdp: offer === undefined ? sdp : mirrorOfferedCodecs(offer, sdp) });
  }

  async stopFork(forkId: string): Promise<void> {
    if (!this.#forks.delete(forkId)) return;
    await this.#command('unsubscribe', { 'to-tag': forkId });
  }

  /** Per-leg packet, loss, jitter and (where RTCP gave rtpengine enough) MOS figures. */
  async stats(): Promise<CallStats> {
    return parseCallStats(await this.#command('query', {}));
  }

  /**
   * Ends the call on rtpengine and releases everything it held (playbacks, collectors, a running recording is
   * finished). Never throws: an rtpengine that is gone has nothing left to delete.
   */
  async close(): Promise<void> {
    if (this.#ended !== undefined) return;
    for (const playback of this.#playbacks.values()) void playback.cancel('call-ended');
    if (this.#recording !== undefined && this.#opened) {
      const legs = [...this.#profiles.keys()];
      await this.stopRecording(legs[0]!).catch((err) => this.ctx.logger.error({ err, callId: this.id }, 'recording could not be finished'));
    }
    if (this.#opened) {
      await this.ctx.engine.ng.command('delete', { 'call-id': this.id }).catch((err: MediaError) => {
        if (!/unknown call/i.test(String(err.context.reason ?? ''))) this.ctx.logger.warn({ err, callId: this.id }, 'rtpengine delete failed');
      });
    }
    this.#end('closed');
  }

  /** The media service learned that rtpengine dropped the call. */
  markLost(): void {
    if (this.#ended !== undefined) return;
    this.ctx.logger.warn({ callId: this.id, rtpengine: this.rtpengine }, 'rtpengine no longer has this call');
    for (const playback of this.#playbacks.values()) void playback.cancel('call-ended');
    this.#end('rtpengine-lost');
  }

  /** A digit rtpengine reported for this call (routed here by the media service). */
  deliverDigit(digit: DtmfDigit): void {
    if (this.#ended !== undefined) return;
    this.#typeAheadOf(digit.leg).push(digit);
    const playback = this.#playbacks.get(digit.leg);
    if (playback?.bargeIn) void playback.interrupt(digit.digit);
    this.safeEmit('dtmf', digit);
  }

  /** rtpengine's play DTMF needs the flag on the offer and the answer (notes §4), and does nothing without it. */
  #dtmfFlags(): string[] {
    return this.#injectDtmf ? ['inject-DTMF'] : [];
  }

  #end(reason: MediaCallEnd): void {
    for (const mixer of this.#mixers) mixer.close();
    this.#mixers.clear();
    this.#ended = reason;
    this.ctx.onClosed(this);
    this.safeEmit('ended', reason);
  }

  #typeAheadOf(leg: string): DtmfDigit[] {
    let buffer = this.#typeAhead.get(leg);
    if (buffer === undefined) this.#typeAhead.set(leg, (buffer = []));
    return buffer;
  }

  #requireLeg(leg: string): MediaProfile {
    if (this.#ended !== undefined) throw new MediaError('CALL_CLOSED', `call ${this.id} has ended (${this.#ended})`);
    const profile = this.#profiles.get(leg);
    if (profile === undefined) throw new MediaError('CALL_CLOSED', `call ${this.id} has no leg "${leg}" (legs: ${[...this.#profiles.keys()].join(', ') || 'none'})`);
    return profile;
  }

  #bridgedLegs(leg: string): string[] {
    return [...this.#profiles.keys()].filter((other) => other !== leg);
  }

  /**
   * The rtpengine tags whose streams receive each leg's media. A leg that answered an offer made for an earlier one
   * (the agent who took over from the IVR) sends to the port that offer named, and rtpengine counts what arrives
   * there under the tag that first answered it: forking the leg's own tag would fork silence.
   */
  async #receivingTags(legs: readonly string[]): Promise<string[]> {
    if (!legs.some((leg) => this.#sentPorts.has(leg))) return [...legs];
    const reply = await this.#command('query', {});
    const tags = (reply.tags ?? {}) as Record<string, { medias?: { streams?: { 'local port'?: number }[] }[] }>;
    const owner = (port: number) => Object.keys(tags).find((tag) => (tags[tag]?.medias ?? []).some((m) => (m.streams ?? []).some((st) => Number(st['local port']) === port)));
    return legs.map((leg) => {
      const port = this.#sentPorts.get(leg);
      return (port === undefined ? undefined : owner(port)) ?? leg;
    });
  }

  async #legPorts(leg: string): Promise<{ legPort: number; peerPorts: number[] }> {
    const reply = await this.#command('query', {});
    const tags = (reply.tags ?? {}) as Record<string, { medias?: { streams?: { 'local port'?: number }[] }[] }>;
    const portsOf = (tag: string) => (tags[tag]?.medias ?? []).flatMap((m) => (m.streams ?? []).map((s) => Number(s['local port'] ?? 0)).filter((p) => p > 0));
    const legPort = portsOf(leg)[0];
    if (legPort === undefined) throw new MediaError('RECORDING_FAILED', `call ${this.id}: rtpengine reports no port for leg ${leg}`);
    return { legPort, peerPorts: Object.keys(tags).filter((t) => t !== leg).flatMap(portsOf) };
  }

  async #command(name: Parameters<Rtpengine['ng']['command']>[0], params: Record<string, unknown>, opening = false): Promise<NgReply> {
    if (this.#ended !== undefined) throw new MediaError('CALL_CLOSED', `call ${this.id} has ended (${this.#ended})`);
    if (!opening && !this.#opened) throw new MediaError('CALL_CLOSED', `call ${this.id} has no media yet: offer first`);
    return this.ctx.engine.ng.command(name, { 'call-id': this.id, ...params });
  }
}

function sdpOf(reply: NgReply): string {
  if (typeof reply.sdp !== 'string') throw new MediaError('RTPENGINE_ERROR', 'rtpengine replied without an SDP');
  return reply.sdp;
}
