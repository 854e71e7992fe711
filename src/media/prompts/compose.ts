import type { PromptName } from './catalog';

/*
 * Announcements are lists of prompt names the media layer plays back to back. English and Mandarin build them the
 * same way, so the rules below take no language; what differs lives in the prompt texts:
 *   - 0-20 and the tens are whole prompts; 21-99 are tens + units. English "thirty" + "five", Mandarin 三十 + 五.
 *     Mandarin 11-19 are whole prompts too, which is what makes 12 十二 and not 一十二.
 *   - A counted 2 uses num-2-count: Mandarin 兩分鐘/两分钟, never 二分鐘, while 第二位 and 二十二 keep 二.
 *   - Position: queue-position-intro + number + queue-position-outro. English "You are number" 3 "in the queue",
 *     Mandarin 您目前排在第 三 位 (the ordinal 第 is in the intro, the measure word 位 in the outro).
 *   - Wait: wait-intro + number + unit. English needs singular and plural units; Mandarin's are the same word.
 * A language whose numbers do not fit (German says units before tens, French 70-99 are compounds) needs its own
 * rule here before it can be added.
 */

export const MAX_SPOKEN_NUMBER = 99;
/** Longer estimated waits are announced as "more than one hour". */
export const MAX_SPOKEN_WAIT_MINUTES = 60;

export type NumberUse = 'name' | 'count';

/**
 * The prompts that say `n` (an integer 0-99). `count` is for a quantity followed by a unit ("2 minutes"); `name` is
 * for a number on its own or an ordinal ("number 2").
 */
export function sayNumber(n: number, use: NumberUse = 'name'): PromptName[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SPOKEN_NUMBER) {
    throw new RangeError(`sayNumber: ${n} is not an integer from 0 to ${MAX_SPOKEN_NUMBER}`);
  }
  if (n === 2 && use === 'count') return ['num-2-count'];
  if (n <= 20) return [`num-${n}` as PromptName];
  const units = n % 10;
  const tens = `num-${n - units}` as PromptName;
  return units === 0 ? [tens] : [tens, `num-${units}` as PromptName];
}

/** "You are number 3 in the queue" for a 1-based queue position; position 1 is "you are next". */
export function positionAnnouncement(position: number): PromptName[] {
  if (!Number.isInteger(position) || position < 1) {
    throw new RangeError(`positionAnnouncement: ${position} is not a queue position (an integer from 1)`);
  }
  if (position === 1) return ['queue-position-next'];
  if (position > MAX_SPOKEN_NUMBER) return ['queue-position-many'];
  return ['queue-position-intro', ...sayNumber(position), 'queue-position-outro'];
}

/**
 * "The estimated wait time is about 5 minutes". Under a minute the wait is rounded up to the next 10 seconds (an
 * estimate that promises less than it delivers annoys more); from a minute on it is rounded to whole minutes.
 */
export function waitAnnouncement(seconds: number): PromptName[] {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`waitAnnouncement: ${seconds} is not a number of seconds`);
  }
  const tenSeconds = Math.max(10, Math.ceil(seconds / 10) * 10);
  if (tenSeconds < 60) return ['wait-intro', ...sayNumber(tenSeconds, 'count'), 'unit-seconds'];
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes > MAX_SPOKEN_WAIT_MINUTES) return ['wait-over-hour'];
  return ['wait-intro', ...sayNumber(minutes, 'count'), minutes === 1 ? 'unit-minute' : 'unit-minutes'];
}
