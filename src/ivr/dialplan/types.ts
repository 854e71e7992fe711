/*
 * The validated dialplan: what an interpreter walks. Each node is a typed object holding its parameters and the ids
 * of the nodes it can go to next (jambonz's verbs-as-tasks, with the jumps made explicit). Every target id names a
 * node of the same dialplan; optional failure exits are already resolved to the dialplan's onError node, so the
 * interpreter never applies defaults. Objects are deeply frozen: a call keeps the version it started with.
 */

/**
 * Something to say: a prompt of the catalog (media/text) or text that espeak-ng renders (one text for every language,
 * or one per language). `language` fixes the language of this item alone, as a language-choice menu needs.
 */
export type Audio =
  | { readonly prompt: string; readonly language?: string }
  | { readonly text: string | Readonly<Record<string, string>>; readonly language?: string };

export interface WeeklyHours {
  /** Day of week, 0 = Sunday ... 6 = Saturday, in the dialplan's time zone. */
  readonly day: number;
  /** Minutes after midnight; `from` < `to`, `to` may be 1440. */
  readonly from: number;
  readonly to: number;
}

export interface Holiday {
  /** YYYY-MM-DD in the dialplan's time zone. */
  readonly date: string;
  readonly name?: string;
}

export interface Calendar {
  readonly name: string;
  readonly hours: readonly WeeklyHours[];
  readonly holidays: readonly Holiday[];
}

/** A DID this dialplan answers, optionally with the language its callers get before they choose. */
export interface NumberRoute {
  readonly number: string;
  readonly language?: string;
}

/** A variable is read as text; `caller`, `called` and `language` are set by the call itself. */
export type Condition =
  | { readonly kind: 'hours'; readonly calendar: string; readonly is: 'open' | 'closed' | 'holiday' }
  | { readonly kind: 'equals'; readonly variable: string; readonly value: string }
  | { readonly kind: 'in'; readonly variable: string; readonly values: readonly string[] }
  | { readonly kind: 'matches'; readonly variable: string; readonly pattern: string }
  | { readonly kind: 'exists'; readonly variable: string; readonly exists: boolean };

export interface BranchCase {
  readonly when: Condition;
  readonly next: string;
}

/** csat 1–5, nps 0–10, yes-no 1/2 (keys); comment: what the caller says after the tone, recorded. */
export type SurveyScale = 'csat' | 'nps' | 'yes-no' | 'comment';

export interface SurveyQuestion {
  /** Variable (and interaction-record field) the answer goes into. */
  readonly into: string;
  readonly scale: SurveyScale;
  readonly prompt: readonly Audio[];
  /** A comment is recorded until a key, this long, or the caller hanging up. */
  readonly maxSeconds: number;
}

export type TransferTarget =
  | { readonly kind: 'sip'; readonly uri: string }
  | { readonly kind: 'agent'; readonly agent: string }
  | { readonly kind: 'dialplan'; readonly dialplan: string };

interface NodeCommon {
  readonly id: string;
  /** Line of the node's key in its file, for logs and interaction records. */
  readonly line: number;
}

export interface AnswerNode extends NodeCommon {
  readonly type: 'answer';
  readonly next: string;
}

export interface PlayNode extends NodeCommon {
  readonly type: 'play';
  readonly prompt: readonly Audio[];
  /** Plays in this language whatever the call's language is. */
  readonly language?: string;
  /** Whether a key press stops the prompt (the digit is kept for the next menu or collect). */
  readonly bargeIn: boolean;
  readonly next: string;
}

export interface MenuNode extends NodeCommon {
  readonly type: 'menu';
  readonly prompt: readonly Audio[];
  readonly language?: string;
  /** DTMF key ('0'-'9', '*', '#') -> node. */
  readonly choices: Readonly<Record<string, string>>;
  /** Seconds to wait for a key after the prompt ends. */
  readonly timeoutSeconds: number;
  /** How many more times the menu is offered after an invalid key or no key, before onInvalid / onNoInput. */
  readonly retries: number;
  readonly invalidPrompt: readonly Audio[];
  readonly noInputPrompt: readonly Audio[];
  readonly onInvalid: string;
  readonly onNoInput: string;
}

export interface CollectNode extends NodeCommon {
  readonly type: 'collect';
  readonly prompt: readonly Audio[];
  readonly language?: string;
  readonly minDigits: number;
  readonly maxDigits: number;
  /** Key that ends the input early; null: only maxDigits or the timeout end it. */
  readonly terminator: string | null;
  /** Seconds to wait for each key. */
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly into: string;
  readonly next: string;
  /** Fewer than minDigits after the retries. */
  readonly onInvalid: string;
  /** No digit at all after the retries. */
  readonly onNoInput: string;
}

export interface SetNode extends NodeCommon {
  readonly type: 'set';
  /** Values may hold ${name} references, substituted when the node runs. */
  readonly variables: Readonly<Record<string, string>>;
  readonly language?: string;
  readonly skills?: readonly string[];
  readonly priority?: number;
  readonly next: string;
}

export interface BranchNode extends NodeCommon {
  readonly type: 'branch';
  /** Tried in order; the first that holds wins. */
  readonly cases: readonly BranchCase[];
  readonly otherwise: string;
}

export interface HttpNode extends NodeCommon {
  readonly type: 'http';
  /** May hold ${name} references (URL-encoded when substituted). */
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  /** POST only: sent as a JSON object, values with ${name} references substituted. */
  readonly body: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** Variable -> dotted path into the JSON response (`customer.tier`); a missing path leaves the variable unset. */
  readonly responseVariables: Readonly<Record<string, string>>;
  readonly next: string;
  /** Timeout, network error, non-2xx status or a body that is not JSON. */
  readonly onError: string;
}

export interface QueueNode extends NodeCommon {
  readonly type: 'queue';
  readonly queue: string;
  /** Overrides the priority set by a set node or the queue's own. */
  readonly priority?: number;
  /** 'default': the shipped music; 'none': silence between announcements; else prompts played in a loop. */
  readonly musicOnHold: 'default' | 'none' | readonly Audio[];
  readonly announce: {
    readonly position: boolean;
    readonly estimatedWait: boolean;
    /** Seconds between announcements; the first comes on entry. */
    readonly everySeconds: number;
  } | null;
  readonly callback: {
    /** Offer (prompt callback-offer or `prompt`) this long after entry; null: only on the key. */
    readonly offerAfterSeconds: number | null;
    /** A key the caller may press at any time in the queue to ask for a callback. */
    readonly key: string;
    readonly prompt: readonly Audio[];
    /** After the caller accepted (say callback-confirmed and hang up there). */
    readonly next: string;
  } | null;
  /** Seconds in the queue before onTimeout; null: the queue's own limits. */
  readonly maxWaitSeconds: number | null;
  readonly onTimeout: string;
  /** Where the caller goes when the agent hangs up first (a survey); null: the call ends. */
  readonly afterAgent: string | null;
}

export interface TransferNode extends NodeCommon {
  readonly type: 'transfer';
  readonly to: TransferTarget;
  readonly prompt: readonly Audio[];
  /** Busy, no answer, rejected, or the target is gone. */
  readonly onFail: string;
}

export interface VoicemailNode extends NodeCommon {
  readonly type: 'voicemail';
  readonly mailbox: string;
  readonly prompt: readonly Audio[];
  readonly maxSeconds: number;
  /** After the recording ends; null: the call ends. */
  readonly next: string | null;
}

export interface SurveyNode extends NodeCommon {
  readonly type: 'survey';
  readonly intro: readonly Audio[];
  readonly questions: readonly SurveyQuestion[];
  readonly timeoutSeconds: number;
  readonly thanks: readonly Audio[];
  /** null: the call ends after the thanks. */
  readonly next: string | null;
}

export interface HangupNode extends NodeCommon {
  readonly type: 'hangup';
  /** Said before hanging up. */
  readonly prompt: readonly Audio[];
}

export type DialplanNode =
  | AnswerNode
  | PlayNode
  | MenuNode
  | CollectNode
  | SetNode
  | BranchNode
  | HttpNode
  | QueueNode
  | TransferNode
  | VoicemailNode
  | SurveyNode
  | HangupNode;

export type NodeType = DialplanNode['type'];

export const NODE_TYPES: readonly NodeType[] = [
  'answer',
  'play',
  'menu',
  'collect',
  'set',
  'branch',
  'http',
  'queue',
  'transfer',
  'voicemail',
  'survey',
  'hangup',
];

/** Nodes that wait for the caller (or the queue): the only ones a loop may pass through. */
export const WAITING_NODE_TYPES: readonly NodeType[] = ['menu', 'collect', 'queue'];

export interface Dialplan {
  readonly id: string;
  readonly name: string;
  /** The file it was loaded from, as given to the loader. */
  readonly file: string;
  /** First 12 hex digits of the file's SHA-256: which version a call walked. */
  readonly version: string;
  readonly numbers: readonly NumberRoute[];
  /** Language of callers whose number route sets none. */
  readonly language: string;
  /** Languages the dialplan can speak; `language` is the first. */
  readonly languages: readonly string[];
  /** IANA time zone the calendars are read in. */
  readonly timezone: string;
  readonly calendars: Readonly<Record<string, Calendar>>;
  /** Node visits per call beyond which the interpreter goes to onError (bounds loops through waiting nodes). */
  readonly maxSteps: number;
  readonly start: string;
  /** Where a call goes on any failure without its own exit; a queue or hangup node. */
  readonly onError: string;
  readonly nodes: Readonly<Record<string, DialplanNode>>;
}

/** Every node a node can go to, labelled with the field that names it. */
export function exitsOf(node: DialplanNode): { readonly exit: string; readonly target: string }[] {
  const exits: { exit: string; target: string }[] = [];
  const add = (exit: string, target: string | null | undefined) => {
    if (target !== null && target !== undefined) exits.push({ exit, target });
  };
  switch (node.type) {
    case 'answer':
    case 'play':
    case 'set':
      add('next', node.next);
      break;
    case 'menu':
      for (const [key, target] of Object.entries(node.choices)) add(`choices.${key}`, target);
      add('onInvalid', node.onInvalid);
      add('onNoInput', node.onNoInput);
      break;
    case 'collect':
      add('next', node.next);
      add('onInvalid', node.onInvalid);
      add('onNoInput', node.onNoInput);
      break;
    case 'branch':
      node.cases.forEach((c, i) => add(`cases.${i}.next`, c.next));
      add('otherwise', node.otherwise);
      break;
    case 'http':
      add('next', node.next);
      add('onError', node.onError);
      break;
    case 'queue':
      add('callback.next', node.callback?.next);
      add('onTimeout', node.onTimeout);
      add('afterAgent', node.afterAgent);
      break;
    case 'transfer':
      add('onFail', node.onFail);
      break;
    case 'voicemail':
    case 'survey':
      add('next', node.next);
      break;
    case 'hangup':
      break;
  }
  return exits;
}
