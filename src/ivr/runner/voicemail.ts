import type { VoicemailNode } from '../dialplan/index';
import { CallerHangup } from './errors';
import { recordAfterTone } from './record-after-tone';
import type { RunState, StepResult } from './run-state';
import { substitute } from './variables';

/**
 * Prompt, tone, then the caller's message recorded with the media call's recorder until any key, maxSeconds or the
 * caller hanging up (most messages end that way, so the recording is finished and delivered then too). The host
 * stores it for the mailbox.
 */
export async function runVoicemail(node: VoicemailNode, run: RunState): Promise<StepResult> {
  const mailbox = substitute(node.mailbox, run.variables);
  await run.audio.say(node.prompt, run.language());
  const name = `voicemail-${mailbox.replace(/[^A-Za-z0-9_-]/g, '_')}-${run.callId}-${run.clock.now().getTime()}`;
  const { recording, hungUp } = await recordAfterTone(run, node.id, name, node.maxSeconds);
  if (recording === undefined) throw new CallerHangup();
  run.path.voicemails.push({ node: node.id, mailbox, file: recording.file, durationMs: recording.durationMs });
  await run.host.deliverVoicemail({ mailbox, file: recording.file, durationMs: recording.durationMs, context: run.context(node.id) });
  if (hungUp) throw new CallerHangup();
  return node.next === null ? { end: 'hangup', reason: 'dialplan' } : { exit: 'next', next: node.next };
}
