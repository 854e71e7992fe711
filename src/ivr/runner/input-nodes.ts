import type { Audio, CollectNode, MenuNode } from '../dialplan/index';
import type { RunState, StepResult } from './run-state';

/*
 * Menu and collect: say the prompt (a key cuts it short), wait for keys, and offer it again after an invalid entry
 * or silence, `retries` times per entry into the node, before onInvalid / onNoInput. The last failure decides which.
 * Each failure is acknowledged ("Sorry, that is not a valid choice") before the next try or the failure exit.
 */

const INVALID_INPUT: readonly Audio[] = [{ prompt: 'invalid-input' }];
const NO_INPUT: readonly Audio[] = [{ prompt: 'no-input' }];

export async function runMenu(node: MenuNode, run: RunState): Promise<StepResult> {
  const language = run.language(node.language);
  const timeoutMs = node.timeoutSeconds * 1000;
  let failure: 'onInvalid' | 'onNoInput' = 'onNoInput';
  for (let attempt = 0; attempt <= node.retries; attempt++) {
    await run.audio.say(node.prompt, language, { bargeIn: true });
    const { digits } = await run.audio.collect({ maxDigits: 1, firstDigitTimeoutMs: timeoutMs, interDigitTimeoutMs: timeoutMs });
    const target = digits === '' ? undefined : node.choices[digits];
    if (target !== undefined) {
      run.recordInput({ node: node.id, kind: 'menu', digits });
      return { exit: `choices.${digits}`, next: target };
    }
    failure = digits === '' ? 'onNoInput' : 'onInvalid';
    await run.audio.say(failure === 'onInvalid' ? node.invalidPrompt : node.noInputPrompt, language, { bargeIn: true });
  }
  return { exit: failure, next: node[failure] };
}

export async function runCollect(node: CollectNode, run: RunState): Promise<StepResult> {
  const language = run.language(node.language);
  const timeoutMs = node.timeoutSeconds * 1000;
  let failure: 'onInvalid' | 'onNoInput' = 'onNoInput';
  for (let attempt = 0; attempt <= node.retries; attempt++) {
    await run.audio.say(node.prompt, language, { bargeIn: true });
    const result = await run.audio.collect({
      maxDigits: node.maxDigits,
      ...(node.terminator === null ? {} : { terminators: node.terminator }),
      firstDigitTimeoutMs: timeoutMs,
      interDigitTimeoutMs: timeoutMs,
    });
    if (result.digits.length >= node.minDigits) {
      run.variables.set(node.into, result.digits);
      run.recordInput({ node: node.id, kind: 'collect', variable: node.into, digits: result.digits });
      return { exit: 'next', next: node.next };
    }
    // A terminator alone is an answer that is too short, not silence.
    failure = result.digits === '' && result.reason === 'timeout' ? 'onNoInput' : 'onInvalid';
    await run.audio.say(failure === 'onInvalid' ? INVALID_INPUT : NO_INPUT, language, { bargeIn: true });
  }
  return { exit: failure, next: node[failure] };
}
