import type { QueueNode } from '../dialplan/index';
import type { DtmfDigit } from '../../media/index';
import { positionAnnouncement, waitAnnouncement, type PromptName } from '../../media/prompts/index';
import { CallerHangup, IvrRuntimeError } from './errors';
import type { QueueLeaveReason, QueueOutcome, QueueSession } from './ivr-host';
import type { IvrQueueVisit } from './ivr-path';
import type { RunState, StepResult } from './run-state';

/** How long a caller's hang-up mid-conversation waits for the host to say which agent it was talking to. */
const CONVERSATION_END_WAIT_MS = 3000;

/*
 * A queue node: the host owns the ACD task and the agent's leg; the caller's audio is the runner's until the host
 * calls stopHoldAudio (an agent answered). Meanwhile one hold loop plays, one at a time: the position/wait
 * announcement (on entry, then `every` seconds after the previous one ended), the callback offer (once, `after`
 * seconds in), and music on hold in between. The callback key and maxWait take the caller out of the queue.
 */

export async function runQueue(node: QueueNode, run: RunState): Promise<StepResult> {
  const { audio, clock } = run;
  const language = run.language();
  const visit: IvrQueueVisit = { node: node.id, queue: node.queue, enteredAt: clock.now().toISOString(), announcements: 0, callbackOffered: false };
  run.path.queues.push(visit);
  // Keys pressed before the queue (a menu's type-ahead) must not ask for a callback.
  audio.flush();

  const timers = new Set<unknown>();
  const after = (seconds: number, fn: () => void): void => {
    const handle = clock.setTimeout(() => {
      timers.delete(handle);
      fn();
    }, seconds * 1000);
    timers.add(handle);
  };
  const due = { announce: node.announce !== null, offer: false };
  let holdEnded = false;
  let wake: () => void = () => {};
  let resolveLeft!: (reason: QueueLeaveReason) => void;
  const left = new Promise<QueueLeaveReason>((resolve) => (resolveLeft = resolve));
  // Once the agent answered, neither the callback key nor maxWait may pull the caller out of the conversation.
  const leave = (reason: QueueLeaveReason): void => {
    if (!holdEnded) resolveLeft(reason);
  };
  let holdLoop: Promise<void> = Promise.resolve();
  let callbackKeyLive = false;
  let stopping: Promise<void> | undefined;

  const endHold = (): void => {
    holdEnded = true;
    callbackKeyLive = false;
    for (const handle of timers) clock.clearTimeout(handle);
    timers.clear();
    audio.call.off('dtmf', onDigit);
    wake();
  };
  const onDigit = (digit: DtmfDigit): void => {
    if (digit.leg === audio.leg && digit.digit === node.callback?.key) leave('callback');
  };
  const stopHoldAudio = (): Promise<void> => {
    if (stopping === undefined) {
      visit.connectedAt = clock.now().toISOString();
      endHold();
      stopping = audio.stop().then(() => holdLoop);
    }
    return stopping;
  };

  const priority = node.priority ?? run.routing.priority;
  const entering = run.host.enterQueue({
    ...run.context(node.id),
    queue: node.queue,
    ...(priority === undefined ? {} : { priority }),
    ...(run.routing.skills === undefined ? {} : { skills: run.routing.skills }),
    maxWaitSeconds: node.maxWaitSeconds,
    stopHoldAudio,
    offerCallback: () => {
      if (callbackKeyLive) {
        due.offer = true;
        wake();
      }
    },
  });
  let session: QueueSession;
  try {
    session = await audio.guard(entering);
  } catch (err) {
    if (!(err instanceof CallerHangup)) {
      throw new IvrRuntimeError('IVR_QUEUE_FAILED', `queue ${node.queue} refused the call: ${(err as Error).message}`, { queue: node.queue }, { cause: err });
    }
    void entering.then((s) => s.leave('caller-hangup'), () => undefined);
    throw err;
  }

  const music = node.musicOnHold;
  const musicFiles = async (): Promise<string[]> => (music === 'none' ? [] : music === 'default' ? [audio.musicOnHold] : audio.files(music, language));
  const playPrompts = async (files: () => string[] | Promise<string[]>, played: () => void): Promise<void> => {
    try {
      const resolved = await files();
      if (resolved.length === 0 || holdEnded) return;
      played();
      await audio.playFiles(resolved);
    } catch (err) {
      // A failed announcement must not cost the caller their place: log it, the music goes on.
      if (err instanceof CallerHangup) throw err;
      run.recordError(node.id, err);
    }
  };
  const announcement = (): string[] => {
    const status = session.status();
    if (status === undefined || status.position < 1 || node.announce === null) return [];
    const names: PromptName[] = [
      ...(node.announce.position ? positionAnnouncement(status.position) : []),
      ...(node.announce.estimatedWait ? waitAnnouncement(status.estimatedWaitSeconds) : []),
    ];
    return audio.catalogFiles(names, language);
  };

  holdLoop = (async () => {
    let musicPlaying = false;
    let musicLoop: string[] = [];
    try {
      musicLoop = await musicFiles();
    } catch (err) {
      if (err instanceof CallerHangup) return;
      run.recordError(node.id, err);
    }
    while (!holdEnded) {
      if (due.announce) {
        due.announce = false;
        musicPlaying = false;
        await playPrompts(announcement, () => visit.announcements++);
        if (!holdEnded) after(node.announce!.everySeconds, () => ((due.announce = true), wake()));
      } else if (due.offer) {
        due.offer = false;
        musicPlaying = false;
        await playPrompts(() => audio.files(node.callback!.prompt, language), () => (visit.callbackOffered = true));
      } else {
        if (!musicPlaying && musicLoop.length > 0) {
          const playing = audio.startLoop(musicLoop);
          void playing.done.then((r) => r.outcome === 'failed' && run.recordError(node.id, r.error));
          musicPlaying = true;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  })();
  // The loop ends with the hold; a caller who hangs up ends it through the outcome below.
  holdLoop.catch(() => undefined);

  // An agent may have answered while enterQueue was still settling: then there is no wait to time.
  // A caller onecc cannot call back (no number, or a trunk it places no calls through) is never offered one.
  if (node.callback !== null && session.callbackAvailable && !holdEnded) {
    callbackKeyLive = true;
    audio.call.on('dtmf', onDigit);
    const offerAfter = node.callback.offerAfterSeconds;
    if (offerAfter !== null) after(offerAfter, () => ((due.offer = true), wake()));
  }
  if (node.maxWaitSeconds !== null && !holdEnded) after(node.maxWaitSeconds, () => leave('max-wait'));

  let outcome: QueueOutcome;
  try {
    outcome = await audio.guard(Promise.race([session.outcome, left.then((reason): QueueOutcome => ({ kind: 'left', reason }))]));
    // An agent answered between the caller's key (or maxWait) and now: the conversation wins.
    if (outcome.kind === 'left' && stopping !== undefined) outcome = await audio.guard(session.outcome);
  } catch (err) {
    endHold();
    // The caller hung up while talking to the agent: the conversation happened; the host ends it and says with whom.
    if (err instanceof CallerHangup && stopping !== undefined) {
      const ended = await Promise.race([session.outcome, new Promise<undefined>((resolve) => clock.setTimeout(() => resolve(undefined), CONVERSATION_END_WAIT_MS))]);
      if (ended?.kind === 'conversation-ended') {
        visit.leftAt = clock.now().toISOString();
        visit.result = ended.kind;
        visit.agent = ended.agent;
      }
    }
    await session.leave(err instanceof CallerHangup ? 'caller-hangup' : 'aborted').catch(() => undefined);
    await audio.stop();
    throw err;
  }
  endHold();
  visit.leftAt = clock.now().toISOString();
  if (outcome.kind === 'left') await session.leave(outcome.reason).catch((err) => run.recordError(node.id, err));
  if (stopping === undefined) await audio.stop();
  visit.result = outcome.kind === 'left' ? outcome.reason : outcome.kind;
  if (outcome.kind === 'conversation-ended') visit.agent = outcome.agent;

  switch (outcome.kind) {
    case 'left':
      if (outcome.reason === 'callback') return { exit: 'callback.next', next: node.callback!.next };
      if (outcome.reason === 'max-wait') return { exit: 'onTimeout', next: node.onTimeout };
      if (outcome.reason === 'caller-hangup') throw new CallerHangup();
      throw new IvrRuntimeError('IVR_QUEUE_FAILED', `queue ${node.queue}: the host ended the wait (${outcome.reason})`, { queue: node.queue });
    case 'timed-out':
      return { exit: 'onTimeout', next: node.onTimeout };
    case 'conversation-ended':
      if (outcome.endedBy === 'caller') {
        audio.hangup();
        throw new CallerHangup();
      }
      return node.afterAgent === null ? { end: 'hangup', reason: 'conversation-ended' } : { exit: 'afterAgent', next: node.afterAgent };
    case 'caller-hangup':
      audio.hangup();
      throw new CallerHangup();
    case 'failed':
      throw new IvrRuntimeError('IVR_QUEUE_FAILED', `queue ${node.queue}: ${outcome.reason}`, { queue: node.queue });
  }
}
