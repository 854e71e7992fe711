import type { Dialplan } from '../dialplan/index';
import type { CallerAudio } from './caller-audio';
import type { IvrCallContext, IvrHangupReason, IvrHost } from './ivr-host';
import type { IvrInput, IvrPathRecord } from './ivr-path';
import type { TextPrompts } from './text-prompts';
import type { Variables } from './variables';

/** Time as the runner sees it: business hours read `now`, queue timers use setTimeout. Tests may speed it up. */
export interface IvrClock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: IvrClock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a node's execution decided. */
export type StepResult =
  /** Go on at `next` (in `dialplan` when a transfer switched dialplans), leaving by the exit named `exit`. */
  | { readonly exit: string; readonly next: string; readonly dialplan?: Dialplan }
  /** onecc hangs up (the runner calls IvrHost.hangup). */
  | { readonly end: 'hangup'; readonly reason: IvrHangupReason }
  /** The host took the call elsewhere. */
  | { readonly end: 'transferred'; readonly target: string };

/** The state of one run that node executions read and change. */
export interface RunState {
  readonly callId: string;
  readonly audio: CallerAudio;
  readonly host: IvrHost;
  readonly variables: Variables;
  readonly path: IvrPathRecord;
  readonly clock: IvrClock;
  readonly textPrompts: TextPrompts;
  /** Set nodes' skills and priority, for the next queue node. */
  readonly routing: { priority?: number; skills?: readonly string[] };
  /** The language prompts of a node are said in: the node's own, else the call's. */
  language(nodeLanguage?: string): string;
  context(node: string): IvrCallContext;
  recordInput(input: Omit<IvrInput, 'at'>): void;
  recordError(node: string, err: unknown): void;
}
