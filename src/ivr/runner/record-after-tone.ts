import type { RecordingResult } from '../../media/index';
import { CallerHangup } from './errors';
import type { RunState } from './run-state';

/**
 * A tone, then the caller recorded with the media call's recorder until any key, `maxSeconds` or the caller hanging
 * up (most messages and comments end that way, so the recording is finished then too). `recording` is undefined
 * only when the hang-up closed the media call before the recording could be stopped (the error is on the path).
 */
export async function recordAfterTone(run: RunState, nodeId: string, name: string, maxSeconds: number): Promise<{ recording: RecordingResult | undefined; hungUp: boolean }> {
  const { audio } = run;
  await audio.playFiles([await audio.guard(run.textPrompts.beep())]);
  audio.flush();
  await audio.call.startRecording(name);
  let hungUp = false;
  try {
    await audio.collect({ maxDigits: 1, firstDigitTimeoutMs: maxSeconds * 1000, interDigitTimeoutMs: 0 });
  } catch (err) {
    if (!(err instanceof CallerHangup)) throw err;
    hungUp = true;
  }
  try {
    return { recording: await audio.call.stopRecording(audio.leg), hungUp };
  } catch (err) {
    // The media call was closed before the run heard of the hang-up: close() finished the file, whose result is lost.
    if (!hungUp) throw err;
    run.recordError(nodeId, err);
    return { recording: undefined, hungUp };
  }
}
