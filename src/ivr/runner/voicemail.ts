import type { VoicemailNode } from '../dialplan/index';
import type { RecordingResult } from '../../media/index';
import { CallerHangup } from './errors';
import type { RunState, StepResult } from './run-state';
import { substitute } from './variables';

/**
 * Prompt, tone, then the caller's message recorded with the media call's recorder until any key, maxSeconds or the
 * caller hanging up (most messages end that way, so the recording is finished and delivered then too). The host
 * stores it for the mailbox.
 */
export async function runVoicemail(node: VoicemailNode, run: RunState): Promise<StepResult> {
  const { audio } = run;
  const mailbox = substitute(node.mailbox, run.variables);
  await audio.say(node.prompt, run.language());
  await audio.playFiles([await audio.guard(run.textPrompts.beep())]);
  audio.flush();
  const name = `voicemail-${mailbox.replace(/[^A-Za-z0-9_-]/g, '_')}-${run.callId}-${run.clock.now().getTime()}`;
  await audio.call.startRecording(name);
  let hungUp = false;
  try {
    await audio.collect({ maxDigits: 1, firstDigitTimeoutMs: node.maxSeconds * 1000, interDigitTimeoutMs: 0 });
  } catch (err) {
    if (!(err instanceof CallerHangup)) throw err;
    hungUp = true;
  }
  let recording: RecordingResult;
  try {
    recording = await audio.call.stopRecording(audio.leg);
  } catch (err) {
    // The media call was closed before the run heard of the hang-up: close() finished the file, whose result is lost.
    if (hungUp) run.recordError(node.id, err);
    throw hungUp ? new CallerHangup() : err;
  }
  run.path.voicemails.push({ node: node.id, mailbox, file: recording.file, durationMs: recording.durationMs });
  await run.host.deliverVoicemail({ mailbox, file: recording.file, durationMs: recording.durationMs, context: run.context(node.id) });
  if (hungUp) throw new CallerHangup();
  return node.next === null ? { end: 'hangup', reason: 'dialplan' } : { exit: 'next', next: node.next };
}
