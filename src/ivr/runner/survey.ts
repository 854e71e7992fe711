import type { Audio, SurveyNode, SurveyQuestion, SurveyScale } from '../dialplan/index';
import type { CollectOptions } from '../../media/index';
import { CallerHangup } from './errors';
import { recordAfterTone } from './record-after-tone';
import type { RunState, StepResult } from './run-state';

/*
 * After the agent hung up: CSAT is one key 1-5, NPS 0-10 (two keys for 10, ended by # or the timeout), yes-no is
 * 1 (yes) or 2 (no). A wrong key is answered with invalid-input and the question asked once more; silence skips
 * the question (its variable stays unset). A comment is recorded after a tone until a key, its maxSeconds or the
 * caller hanging up (the usual end: the comment is kept). A caller hanging up mid-survey keeps the answers so far.
 */

const INVALID_INPUT: readonly Audio[] = [{ prompt: 'invalid-input' }];

/** A recorded comment shorter than this is silence or a breath, not a comment. */
const MIN_COMMENT_MS = 1000;

const SCALES: Readonly<Record<Exclude<SurveyScale, 'comment'>, { keys: Omit<CollectOptions, 'firstDigitTimeoutMs' | 'interDigitTimeoutMs'>; answer(digits: string): string | undefined }>> = {
  csat: { keys: { maxDigits: 1 }, answer: (d) => (/^[1-5]$/.test(d) ? d : undefined) },
  nps: { keys: { maxDigits: 2, terminators: '#' }, answer: (d) => (/^(10|[0-9])$/.test(d) ? d : undefined) },
  'yes-no': { keys: { maxDigits: 1 }, answer: (d) => (d === '1' ? 'yes' : d === '2' ? 'no' : undefined) },
};

export async function runSurvey(node: SurveyNode, run: RunState): Promise<StepResult> {
  const language = run.language();
  // Keys pressed while talking to the agent are not answers.
  run.audio.flush();
  await run.audio.say(node.intro, language, { bargeIn: true });
  for (const question of node.questions) {
    if (question.scale === 'comment') {
      await recordComment(node, question, run);
      continue;
    }
    const digits = await ask(question, question.scale, node.timeoutSeconds * 1000, language, run);
    if (digits === undefined) continue;
    const answer = SCALES[question.scale].answer(digits)!;
    run.variables.set(question.into, answer);
    run.recordInput({ node: node.id, kind: 'survey', variable: question.into, digits, scale: question.scale });
  }
  await run.audio.say(node.thanks, language);
  return node.next === null ? { end: 'hangup', reason: 'dialplan' } : { exit: 'next', next: node.next };
}

/** The keys of a valid answer, or undefined when the caller gave none. */
async function ask(question: SurveyQuestion, scaleName: Exclude<SurveyScale, 'comment'>, timeoutMs: number, language: string, run: RunState): Promise<string | undefined> {
  const scale = SCALES[scaleName];
  for (let attempt = 0; attempt < 2; attempt++) {
    await run.audio.say(question.prompt, language, { bargeIn: true });
    const { digits } = await run.audio.collect({ ...scale.keys, firstDigitTimeoutMs: timeoutMs, interDigitTimeoutMs: timeoutMs });
    if (digits === '') return undefined;
    if (scale.answer(digits) !== undefined) return digits;
    if (attempt === 0) await run.audio.say(INVALID_INPUT, language, { bargeIn: true });
  }
  return undefined;
}

/** The caller's comment, recorded with the media call's recorder; its file goes into the question's variable. */
async function recordComment(node: SurveyNode, question: SurveyQuestion, run: RunState): Promise<void> {
  await run.audio.say(question.prompt, run.language(), { bargeIn: true });
  const { recording, hungUp } = await recordAfterTone(run, node.id, `survey-comment-${run.callId}-${run.clock.now().getTime()}`, question.maxSeconds);
  if (recording !== undefined && recording.durationMs >= MIN_COMMENT_MS) {
    run.variables.set(question.into, recording.file);
    run.recordInput({ node: node.id, kind: 'survey', variable: question.into, digits: '', scale: 'comment', file: recording.file, durationMs: recording.durationMs });
  }
  if (hungUp) throw new CallerHangup();
}
