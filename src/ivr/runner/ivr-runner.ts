import { silentLogger, type Logger } from '../../lib/index';
import type { Dialplan, DialplanNode } from '../dialplan/index';
import type { MediaCall } from '../../media/index';
import type { PromptLibrary } from '../../media/prompts/index';
import { CallerAudio } from './caller-audio';
import { CallerHangup, IvrRuntimeError } from './errors';
import { runHttp } from './http-request';
import { runCollect, runMenu } from './input-nodes';
import type { IvrHangupReason, IvrHost } from './ivr-host';
import type { IvrOutcome, IvrPathRecord, IvrStep } from './ivr-path';
import { runQueue } from './queue-wait';
import { systemClock, type IvrClock, type RunState, type StepResult } from './run-state';
import { runSurvey } from './survey';
import type { TextPrompts } from './text-prompts';
import { conditionHolds, substitute, type Variables } from './variables';
import { runVoicemail } from './voicemail';

export interface IvrRunnerOptions {
  /** The call's id (logs, the path record, voicemail file names). */
  readonly callId: string;
  readonly dialplan: Dialplan;
  /** The call's own variables (a notification call adds its message and payload); `language` is the route's (DialplanSet.route). */
  readonly variables: Readonly<Record<string, string>> & { readonly caller: string; readonly called: string; readonly language: string };
  /** The caller's media, already answered by onecc (answerWithPrompts(leg)). */
  readonly call: MediaCall;
  readonly leg: string;
  readonly prompts: PromptLibrary;
  readonly textPrompts: TextPrompts;
  readonly host: IvrHost;
  /** Other dialplans by id, for `transfer: { to: { dialplan } }` (DialplanSet.get). */
  readonly dialplans?: (id: string) => Dialplan | undefined;
  readonly clock?: IvrClock;
  readonly logger?: Logger;
}

/**
 * Walks a compiled dialplan for one call, node after node, until onecc hangs up, the host transfers the call or
 * the caller hangs up. Any failure without an exit of its own goes to the dialplan's onError node; a failure there
 * (or passing maxSteps again) hangs up: the caller never sits in silence. `run()` never rejects.
 *
 * The host tells the runner of the caller's BYE with callerHungUp(), and closes the MediaCall after run() settled
 * (a voicemail being recorded is then still finished and delivered); a MediaCall that ends ends the run as well.
 */
export class IvrRunner {
  /** Built as the call goes; complete once run() resolved. */
  readonly path: IvrPathRecord;
  readonly #options: IvrRunnerOptions;
  readonly #audio: CallerAudio;
  readonly #variables: Variables;
  readonly #routing: RunState['routing'] = {};
  readonly #clock: IvrClock;
  readonly #logger: Logger;
  #dialplan: Dialplan;
  #node: string;
  #running: Promise<IvrPathRecord> | undefined;

  constructor(options: IvrRunnerOptions) {
    this.#options = options;
    this.#dialplan = options.dialplan;
    this.#node = options.dialplan.start;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger()).child({ callId: options.callId, dialplan: options.dialplan.id });
    this.#variables = new Map(Object.entries(options.variables));
    this.#audio = new CallerAudio(options.call, options.leg, options.prompts, options.textPrompts, this.#variables);
    this.path = {
      callId: options.callId,
      dialplan: { id: options.dialplan.id, version: options.dialplan.version },
      startedAt: this.#clock.now().toISOString(),
      steps: [],
      inputs: [],
      queues: [],
      errors: [],
      voicemails: [],
      variables: {},
    };
  }

  /** Runs the dialplan (once; later calls return the same promise). Resolves with the finished path record. */
  run(): Promise<IvrPathRecord> {
    this.#running ??= this.#walk().catch(async (err: unknown) => {
      // A bug in the runner itself: the caller still gets a hang-up rather than silence.
      this.#recordError(this.#node, err);
      return this.#hangup(this.#node, 'error');
    }).then((outcome) => {
      this.path.outcome = outcome;
      this.path.endedAt = this.#clock.now().toISOString();
      this.path.variables = Object.fromEntries(this.#variables);
      this.#logger.info({ outcome, steps: this.path.steps.length }, 'IVR run ended');
      return this.path;
    });
    return this.#running;
  }

  /** The caller hung up (BYE): whatever the run waits for ends now, and the run resolves with caller-hangup. */
  callerHungUp(): void {
    this.#audio.hangup();
  }

  async #walk(): Promise<IvrOutcome> {
    let steps = 0;
    let recovering = false;
    for (;;) {
      if (this.#audio.gone) return { kind: 'caller-hangup', node: this.#node };
      if (steps >= this.#dialplan.maxSteps) {
        // Past maxSteps the call goes to onError once; past it again there, it is hung up.
        if (recovering) return this.#hangup(this.#node, 'error');
        this.#recordError(this.#node, new IvrRuntimeError('IVR_MAX_STEPS', `more than ${this.#dialplan.maxSteps} node visits`));
        recovering = true;
        this.#node = this.#dialplan.onError;
      }
      const node = this.#dialplan.nodes[this.#node]!;
      steps++;
      const step: IvrStep = { dialplan: this.#dialplan.id, node: node.id, type: node.type, at: this.#clock.now().toISOString() };
      this.path.steps.push(step);
      this.#logger.debug({ node: node.id, type: node.type, step: steps }, 'IVR node');
      let result: StepResult;
      try {
        result = await this.#execute(node);
      } catch (err) {
        if (err instanceof CallerHangup || this.#audio.gone) return { kind: 'caller-hangup', node: node.id };
        this.#recordError(node.id, err);
        if (recovering) return this.#hangup(node.id, 'error');
        step.exit = 'onError';
        recovering = true;
        this.#node = this.#dialplan.onError;
        continue;
      }
      if ('end' in result) {
        if (result.end === 'transferred') return { kind: 'transferred', node: node.id, target: result.target };
        return this.#hangup(node.id, result.reason);
      }
      step.exit = result.exit;
      if (result.dialplan !== undefined) this.#dialplan = result.dialplan;
      this.#node = result.next;
    }
  }

  async #hangup(node: string, reason: IvrHangupReason): Promise<IvrOutcome> {
    try {
      await this.#options.host.hangup(reason);
    } catch (err) {
      this.#recordError(node, err);
    }
    return { kind: 'hangup', node, reason };
  }

  #execute(node: DialplanNode): Promise<StepResult> {
    const run = this.#state();
    switch (node.type) {
      case 'answer':
        // onecc answered the call before the run started; the node marks where the dialplan expects it.
        return Promise.resolve({ exit: 'next', next: node.next });
      case 'play':
        return this.#play(node, run);
      case 'menu':
        return runMenu(node, run);
      case 'collect':
        return runCollect(node, run);
      case 'set':
        for (const [name, value] of Object.entries(node.variables)) this.#variables.set(name, substitute(value, this.#variables));
        if (node.language !== undefined) this.#variables.set('language', node.language);
        if (node.skills !== undefined) this.#routing.skills = node.skills;
        if (node.priority !== undefined) this.#routing.priority = node.priority;
        return Promise.resolve({ exit: 'next', next: node.next });
      case 'branch': {
        const now = this.#clock.now();
        const index = node.cases.findIndex((c) => conditionHolds(c.when, this.#variables, this.#dialplan, now));
        return Promise.resolve(index < 0 ? { exit: 'otherwise', next: node.otherwise } : { exit: `cases.${index}.next`, next: node.cases[index]!.next });
      }
      case 'http':
        return runHttp(node, run);
      case 'queue':
        return runQueue(node, run);
      case 'transfer':
        return this.#transfer(node, run);
      case 'voicemail':
        return runVoicemail(node, run);
      case 'survey':
        return runSurvey(node, run);
      case 'hangup':
        return this.#audio.say(node.prompt, run.language()).then(() => ({ end: 'hangup', reason: 'dialplan' }));
    }
  }

  async #play(node: Extract<DialplanNode, { type: 'play' }>, run: RunState): Promise<StepResult> {
    await this.#audio.say(node.prompt, run.language(node.language), { bargeIn: node.bargeIn });
    return { exit: 'next', next: node.next };
  }

  async #transfer(node: Extract<DialplanNode, { type: 'transfer' }>, run: RunState): Promise<StepResult> {
    await this.#audio.say(node.prompt, run.language());
    const to = node.to;
    if (to.kind === 'dialplan') {
      const dialplan = this.#options.dialplans?.(to.dialplan);
      if (dialplan === undefined) throw new IvrRuntimeError('IVR_RUNTIME_FAILED', `transfer to dialplan "${to.dialplan}": no such dialplan is loaded`);
      return { exit: 'to', next: dialplan.start, dialplan };
    }
    const result = await this.#audio.guard(this.#options.host.transfer(to, run.context(node.id)));
    if (result.kind === 'failed') {
      this.#logger.info({ node: node.id, reason: result.reason }, 'transfer failed');
      return { exit: 'onFail', next: node.onFail };
    }
    return { end: 'transferred', target: to.kind === 'sip' ? to.uri : `agent:${to.agent}` };
  }

  #recordError(node: string, err: unknown): void {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'IVR_RUNTIME_FAILED';
    const message = err instanceof Error ? err.message : String(err);
    this.path.errors.push({ node, code, message, at: this.#clock.now().toISOString() });
    this.#logger.warn({ err, node }, 'IVR node failed');
  }

  #state(): RunState {
    const language = (nodeLanguage?: string): string => this.#audio.promptLanguage(nodeLanguage ?? this.#variables.get('language') ?? this.#dialplan.language);
    return {
      callId: this.#options.callId,
      audio: this.#audio,
      host: this.#options.host,
      variables: this.#variables,
      path: this.path,
      clock: this.#clock,
      textPrompts: this.#options.textPrompts,
      routing: this.#routing,
      language,
      context: (node) => ({
        dialplan: this.#dialplan.id,
        node,
        language: language(),
        variables: Object.fromEntries(this.#variables),
        inputs: [...this.path.inputs],
      }),
      recordInput: (input) => this.path.inputs.push({ ...input, at: this.#clock.now().toISOString() }),
      recordError: (node, err) => this.#recordError(node, err),
    };
  }
}
