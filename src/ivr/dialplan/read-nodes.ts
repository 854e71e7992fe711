import { describe, isMapping, type FieldChecker, type Mapping } from './field-checker';
import {
  NODE_TYPES,
  type Audio,
  type BranchCase,
  type Condition,
  type DialplanNode,
  type NodeType,
  type QueueNode,
  type SurveyQuestion,
  type SurveyScale,
  type TransferTarget,
} from './types';
import type { KeyPath } from './yaml-source';

/** What validation checks against and the dialplan ignores: injected so that this layer imports neither ACD nor media. */
export interface DialplanLookups {
  /** Languages prompts exist in (media.prompts.languages); a dialplan may use only these. */
  readonly languages: readonly string[];
  promptExists(name: string, language: string): boolean;
  queueExists(name: string): boolean;
}

/** Variables the call sets itself; dialplans read them but may not assign them. */
export const CALL_VARIABLES = ['caller', 'called', 'language'] as const;

/** Everything node readers share while one file is read. */
export interface NodeContext {
  readonly checker: FieldChecker;
  readonly lookups: DialplanLookups;
  /** The dialplan's languages: a prompt must exist in each unless its node fixes one. */
  readonly languages: readonly string[];
  readonly calendars: ReadonlySet<string>;
  /** The dialplan's onError node: the target of every failure exit a node leaves out. */
  readonly onError: string;
  /** Every node id a node names, checked once all nodes are read. */
  readonly references: { path: KeyPath; target: string }[];
}

const DEFAULTS = {
  menuTimeoutSeconds: 5,
  collectTimeoutSeconds: 5,
  retries: 2,
  httpTimeoutSeconds: 5,
  announceEverySeconds: 60,
  voicemailMaxSeconds: 120,
  surveyCommentMaxSeconds: 30,
  surveyTimeoutSeconds: 8,
  invalidPrompt: 'invalid-input',
  noInputPrompt: 'no-input',
  callbackPrompt: 'callback-offer',
};

const COMMON_KEYS = ['type', 'comment'];

export function readNode(ctx: NodeContext, id: string, value: unknown, path: KeyPath, line: number): DialplanNode | undefined {
  const { checker } = ctx;
  if (!isMapping(value)) {
    checker.error(path, `node "${id}" must be a mapping with a type (got ${describe(value)})`);
    return undefined;
  }
  const type = value['type'];
  if (typeof type !== 'string' || !(NODE_TYPES as readonly string[]).includes(type)) {
    checker.error([...path, 'type'], type === undefined
      ? `node "${id}" needs a type (${NODE_TYPES.join(', ')})`
      : `unknown node type ${describe(type)} (known: ${NODE_TYPES.join(', ')})`);
    return undefined;
  }
  const reader = NODE_READERS[type as NodeType];
  const obj = checker.mapping(value, path, [...COMMON_KEYS, ...reader.keys], `${type} node "${id}"`)!;
  return reader.read(new NodeFields(ctx, obj, path), { id, line });
}

type Common = { id: string; line: number };

interface NodeReader {
  readonly keys: readonly string[];
  read(f: NodeFields, common: Common): DialplanNode;
}

/** Field readers bound to one node; placeholders ('' or defaults) stand in for bad values, which are already errors. */
class NodeFields {
  constructor(
    readonly ctx: NodeContext,
    readonly obj: Mapping,
    readonly path: KeyPath,
  ) {}

  get checker(): FieldChecker {
    return this.ctx.checker;
  }

  at(key: string): KeyPath {
    return [...this.path, key];
  }

  /** A node id this node goes to; required. */
  next(key: string): string {
    const target = this.checker.string(this.obj, key, this.path, { required: true });
    if (target !== undefined) this.ctx.references.push({ path: this.at(key), target });
    return target ?? '';
  }

  /** A node id this node may go to; null when left out. */
  optionalNext(key: string): string | null {
    return this.obj[key] === undefined || this.obj[key] === null ? null : this.next(key);
  }

  /** A failure exit: the dialplan's onError when left out. */
  failure(key: string): string {
    return this.optionalNext(key) ?? this.ctx.onError;
  }

  /** The node's own `language`, which must be one of the dialplan's. */
  language(): string | undefined {
    const language = this.checker.string(this.obj, 'language', this.path);
    if (language !== undefined && !this.ctx.languages.includes(language)) {
      this.checker.error(this.at('language'), `"${language}" is not one of the dialplan's languages (${this.ctx.languages.join(', ')})`);
    }
    return language;
  }

  /**
   * Prompts at `key`: a catalog name, `{ text }` or a list of them; each must exist in every language the node can
   * speak. `fallback` is a catalog name used when the key is left out (checked the same way).
   */
  audio(key: string, opts: { required?: boolean; fallback?: string; language?: string | undefined } = {}): Audio[] {
    const languages = opts.language !== undefined ? [opts.language] : this.ctx.languages;
    const value = this.obj[key];
    if (value === undefined || value === null) {
      if (opts.required) this.checker.error(this.path, `"${key}" is required`);
      if (opts.fallback === undefined) return [];
      this.checkPrompt(opts.fallback, languages, this.path, ` (the default ${key})`);
      return [{ prompt: opts.fallback }];
    }
    return this.checker.listOf(value, this.at(key), (item, at) => this.audioItem(item, at, languages));
  }

  private audioItem(item: unknown, at: KeyPath, nodeLanguages: readonly string[]): Audio | undefined {
    if (typeof item === 'string') {
      this.checkPrompt(item, nodeLanguages, at, '');
      return { prompt: item };
    }
    const shape = 'a prompt name, { prompt: name, language }, or { text: "..." | { <language>: "..." }, language }';
    if (!isMapping(item) || ('prompt' in item) === ('text' in item)) {
      this.checker.error(at, `must be ${shape} (got ${describe(item)})`);
      return undefined;
    }
    const obj = this.checker.mapping(item, at, ['prompt', 'text', 'language'], 'prompt item')!;
    const language = new NodeFields(this.ctx, obj, at).language();
    const languages = language === undefined ? nodeLanguages : [language];
    const fixed = language === undefined ? {} : { language };
    if ('prompt' in obj) {
      const name = this.checker.string(obj, 'prompt', at, { required: true });
      if (name === undefined) return undefined;
      this.checkPrompt(name, languages, [...at, 'prompt'], '');
      return { prompt: name, ...fixed };
    }
    const text = obj['text'];
    if (typeof text === 'string' && text !== '') return { text, ...fixed };
    if (isMapping(text)) {
      const missing = languages.filter((l) => typeof text[l] !== 'string' || text[l] === '');
      if (missing.length > 0) this.checker.error([...at, 'text'], `text is missing for ${missing.join(', ')}`);
      for (const l of Object.keys(text)) {
        if (!this.ctx.languages.includes(l)) this.checker.error([...at, 'text', l], `"${l}" is not one of the dialplan's languages`);
      }
      return { text: text as Record<string, string>, ...fixed };
    }
    this.checker.error([...at, 'text'], `must be text or map languages to text (got ${describe(text)})`);
    return undefined;
  }

  private checkPrompt(name: string, languages: readonly string[], at: KeyPath, suffix: string): void {
    const missing = languages.filter((l) => !this.ctx.lookups.promptExists(name, l));
    if (missing.length === languages.length) this.checker.error(at, `unknown prompt "${name}"${suffix}`);
    else if (missing.length > 0) this.checker.error(at, `prompt "${name}"${suffix} does not exist in ${missing.join(', ')}`);
  }

  seconds(key: string, fallback: number, min: number, max: number): number {
    return this.checker.integer(this.obj, key, this.path, min, max) ?? fallback;
  }

  variable(key: string, opts: { assign: boolean }): string {
    const name = this.checker.variableName(this.checker.required(this.obj, key, this.path), this.at(key)) ?? '';
    if (opts.assign && (CALL_VARIABLES as readonly string[]).includes(name)) {
      this.checker.error(this.at(key), `"${name}" is set by the call and cannot be assigned`);
    }
    return name;
  }

  /** name -> text (numbers and booleans as written), names checked, values checked as templates. */
  textMap(key: string, opts: { names: 'variables' | 'any' }): Record<string, string> {
    const value = this.obj[key];
    if (value === undefined || value === null) return {};
    if (!isMapping(value)) {
      this.checker.error(this.at(key), `must be a mapping (got ${describe(value)})`);
      return {};
    }
    const result: Record<string, string> = {};
    for (const [name, v] of Object.entries(value)) {
      const at = [...this.at(key), name];
      if (opts.names === 'variables') {
        this.checker.variableName(name, at);
        if ((CALL_VARIABLES as readonly string[]).includes(name)) this.checker.error(at, `"${name}" is set by the call and cannot be assigned`);
      }
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        this.checker.error(at, `must be text, a number or true/false (got ${describe(v)})`);
        continue;
      }
      result[name] = this.checker.template(String(v), at);
    }
    return result;
  }
}

function readCondition(f: NodeFields, value: unknown, at: KeyPath): Condition | undefined {
  const { checker } = f;
  if (isMapping(value) && 'hours' in value) {
    const obj = checker.mapping(value, at, ['hours', 'is'], 'hours condition')!;
    const calendar = checker.string(obj, 'hours', at, { required: true });
    if (calendar !== undefined && !f.ctx.calendars.has(calendar)) checker.error([...at, 'hours'], `unknown calendar "${calendar}"`);
    const is = checker.oneOf(obj, 'is', at, ['open', 'closed', 'holiday'] as const);
    if (obj['is'] === undefined) checker.error(at, '"is" is required (open, closed or holiday)');
    return { kind: 'hours', calendar: calendar ?? '', is: is ?? 'open' };
  }
  const obj = checker.mapping(value, at, ['var', 'equals', 'in', 'matches', 'exists'], 'condition');
  if (obj === undefined) return undefined;
  const variable = checker.variableName(checker.required(obj, 'var', at), [...at, 'var']) ?? '';
  const tests = ['equals', 'in', 'matches', 'exists'].filter((k) => obj[k] !== undefined);
  if (tests.length !== 1) {
    checker.error(at, `a condition needs "hours" or "var" with exactly one of equals, in, matches, exists (got ${tests.length === 0 ? 'none' : tests.join(', ')})`);
    return undefined;
  }
  switch (tests[0]) {
    case 'equals':
      return { kind: 'equals', variable, value: checker.string(obj, 'equals', at, { required: true }) ?? '' };
    case 'in': {
      const values = obj['in'];
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
        checker.error([...at, 'in'], `must be a non-empty list of values (got ${describe(values)})`);
        return undefined;
      }
      return { kind: 'in', variable, values: values.map(String) };
    }
    case 'matches': {
      const pattern = checker.string(obj, 'matches', at, { required: true }) ?? '';
      try {
        new RegExp(pattern);
      } catch (err) {
        checker.error([...at, 'matches'], `not a regular expression: ${(err as Error).message}`);
      }
      return { kind: 'matches', variable, pattern };
    }
    default:
      return { kind: 'exists', variable, exists: checker.boolean(obj, 'exists', at) ?? true };
  }
}

function readTransferTarget(f: NodeFields): TransferTarget {
  const at = f.at('to');
  const placeholder: TransferTarget = { kind: 'agent', agent: '' };
  const value = f.checker.required(f.obj, 'to', f.path);
  if (value === undefined) return placeholder;
  const obj = f.checker.mapping(value, at, ['sip', 'agent', 'dialplan'], 'transfer target');
  if (obj === undefined) return placeholder;
  const kinds = ['sip', 'agent', 'dialplan'].filter((k) => obj[k] !== undefined);
  if (kinds.length !== 1) {
    f.checker.error(at, 'needs exactly one of sip, agent, dialplan');
    return placeholder;
  }
  switch (kinds[0]) {
    case 'sip':
      return { kind: 'sip', uri: f.checker.string(obj, 'sip', at, { required: true, pattern: /^sips?:\S+$/, patternText: 'a sip: or sips: URI' }) ?? '' };
    case 'agent':
      return { kind: 'agent', agent: f.checker.string(obj, 'agent', at, { required: true }) ?? '' };
    default:
      return { kind: 'dialplan', dialplan: f.checker.string(obj, 'dialplan', at, { required: true }) ?? '' };
  }
}

function readQueueCallback(f: NodeFields): QueueNode['callback'] {
  const value = f.obj['callback'];
  if (value === undefined || value === null) return null;
  const at = f.at('callback');
  const obj = f.checker.mapping(value, at, ['after', 'key', 'prompt', 'next'], 'callback');
  if (obj === undefined) return null;
  const inner = new NodeFields(f.ctx, obj, at);
  return {
    offerAfterSeconds: f.checker.integer(obj, 'after', at, 0, 86400) ?? null,
    key: f.checker.dtmfKey(f.checker.required(obj, 'key', at), [...at, 'key']) ?? '',
    prompt: inner.audio('prompt', { fallback: DEFAULTS.callbackPrompt }),
    next: inner.next('next'),
  };
}

function readQueueAnnounce(f: NodeFields): QueueNode['announce'] {
  const value = f.obj['announce'];
  if (value === undefined || value === null) return null;
  const at = f.at('announce');
  const obj = f.checker.mapping(value, at, ['position', 'estimatedWait', 'every'], 'announce');
  if (obj === undefined) return null;
  const position = f.checker.boolean(obj, 'position', at) ?? false;
  const estimatedWait = f.checker.boolean(obj, 'estimatedWait', at) ?? false;
  if (!position && !estimatedWait) f.checker.error(at, 'announces nothing: set position and/or estimatedWait to true');
  return { position, estimatedWait, everySeconds: f.checker.integer(obj, 'every', at, 10, 3600) ?? DEFAULTS.announceEverySeconds };
}

const SURVEY_SCALES: readonly SurveyScale[] = ['csat', 'nps', 'yes-no', 'comment'];

function readSurveyQuestions(f: NodeFields): SurveyQuestion[] {
  const value = f.checker.required(f.obj, 'questions', f.path);
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0) {
    f.checker.error(f.at('questions'), `must be a non-empty list of questions (got ${describe(value)})`);
    return [];
  }
  const seen = new Set<string>();
  return value.flatMap((item: unknown, i) => {
    const at = [...f.at('questions'), i];
    const obj = f.checker.mapping(item, at, ['scale', 'prompt', 'into', 'maxSeconds'], 'survey question');
    if (obj === undefined) return [];
    const q = new NodeFields(f.ctx, obj, at);
    const scale = f.checker.oneOf(obj, 'scale', at, SURVEY_SCALES);
    if (obj['scale'] === undefined) f.checker.error(at, `"scale" is required (${SURVEY_SCALES.join(', ')})`);
    const into = q.variable('into', { assign: true });
    if (seen.has(into)) f.checker.error([...at, 'into'], `"${into}" already holds another answer of this survey`);
    seen.add(into);
    if (obj['maxSeconds'] !== undefined && scale !== 'comment') f.checker.error([...at, 'maxSeconds'], 'only a comment question (scale: comment) is recorded for a time');
    const maxSeconds = q.seconds('maxSeconds', DEFAULTS.surveyCommentMaxSeconds, 5, 300);
    return [{ into, scale: scale ?? 'csat', prompt: q.audio('prompt', { required: true }), maxSeconds }];
  });
}

const NODE_READERS: Readonly<Record<NodeType, NodeReader>> = {
  answer: {
    keys: ['next'],
    read: (f, c) => ({ ...c, type: 'answer', next: f.next('next') }),
  },
  play: {
    keys: ['prompt', 'language', 'bargeIn', 'next'],
    read: (f, c) => {
      const language = f.language();
      return {
        ...c,
        type: 'play',
        prompt: f.audio('prompt', { required: true, language }),
        ...(language === undefined ? {} : { language }),
        bargeIn: f.checker.boolean(f.obj, 'bargeIn', f.path) ?? false,
        next: f.next('next'),
      };
    },
  },
  menu: {
    keys: ['prompt', 'language', 'choices', 'timeout', 'retries', 'invalidPrompt', 'noInputPrompt', 'onInvalid', 'onNoInput'],
    read: (f, c) => {
      const language = f.language();
      const choices: Record<string, string> = {};
      const value = f.checker.required(f.obj, 'choices', f.path);
      if (value !== undefined && (!isMapping(value) || Object.keys(value).length === 0)) {
        f.checker.error(f.at('choices'), `must map DTMF keys to node ids, e.g. { 1: sales } (got ${describe(value)})`);
      } else if (value !== undefined) {
        const choiceFields = new NodeFields(f.ctx, value as Mapping, f.at('choices'));
        for (const key of Object.keys(value as Mapping)) {
          const digit = f.checker.dtmfKey(key, [...f.at('choices'), key]);
          const target = choiceFields.next(key);
          if (digit !== undefined) choices[digit] = target;
        }
      }
      return {
        ...c,
        type: 'menu',
        prompt: f.audio('prompt', { required: true, language }),
        ...(language === undefined ? {} : { language }),
        choices,
        timeoutSeconds: f.seconds('timeout', DEFAULTS.menuTimeoutSeconds, 1, 60),
        retries: f.checker.integer(f.obj, 'retries', f.path, 0, 10) ?? DEFAULTS.retries,
        invalidPrompt: f.audio('invalidPrompt', { fallback: DEFAULTS.invalidPrompt, language }),
        noInputPrompt: f.audio('noInputPrompt', { fallback: DEFAULTS.noInputPrompt, language }),
        onInvalid: f.failure('onInvalid'),
        onNoInput: f.failure('onNoInput'),
      };
    },
  },
  collect: {
    keys: ['prompt', 'language', 'minDigits', 'maxDigits', 'terminator', 'timeout', 'retries', 'into', 'next', 'onInvalid', 'onNoInput'],
    read: (f, c) => {
      const language = f.language();
      const maxDigits = f.checker.integer(f.obj, 'maxDigits', f.path, 1, 64);
      if (f.obj['maxDigits'] === undefined) f.checker.error(f.path, '"maxDigits" is required');
      const minDigits = f.checker.integer(f.obj, 'minDigits', f.path, 1, 64) ?? 1;
      if (maxDigits !== undefined && minDigits > maxDigits) f.checker.error(f.at('minDigits'), `is more than maxDigits (${minDigits} > ${maxDigits})`);
      const rawTerminator = f.obj['terminator'];
      const terminator = rawTerminator === null || rawTerminator === 'none'
        ? null
        : rawTerminator === undefined ? '#' : f.checker.dtmfKey(rawTerminator, f.at('terminator')) ?? null;
      return {
        ...c,
        type: 'collect',
        prompt: f.audio('prompt', { required: true, language }),
        ...(language === undefined ? {} : { language }),
        minDigits,
        maxDigits: maxDigits ?? minDigits,
        terminator,
        timeoutSeconds: f.seconds('timeout', DEFAULTS.collectTimeoutSeconds, 1, 60),
        retries: f.checker.integer(f.obj, 'retries', f.path, 0, 10) ?? DEFAULTS.retries,
        into: f.variable('into', { assign: true }),
        next: f.next('next'),
        onInvalid: f.failure('onInvalid'),
        onNoInput: f.failure('onNoInput'),
      };
    },
  },
  set: {
    keys: ['variables', 'language', 'skills', 'priority', 'next'],
    read: (f, c) => {
      const language = f.language();
      const skillsValue = f.obj['skills'];
      let skills: string[] | undefined;
      if (skillsValue !== undefined && skillsValue !== null) {
        if (!Array.isArray(skillsValue) || skillsValue.some((s) => typeof s !== 'string' || s === '')) {
          f.checker.error(f.at('skills'), `must be a list of skill names (got ${describe(skillsValue)})`);
        } else {
          skills = skillsValue as string[];
        }
      }
      const priority = f.checker.integer(f.obj, 'priority', f.path, 0, 1000);
      const variables = f.textMap('variables', { names: 'variables' });
      if (['variables', 'language', 'skills', 'priority'].every((k) => f.obj[k] === undefined)) {
        f.checker.error(f.path, 'a set node needs at least one of variables, language, skills, priority');
      }
      return {
        ...c,
        type: 'set',
        variables,
        ...(language === undefined ? {} : { language }),
        ...(skills === undefined ? {} : { skills }),
        ...(priority === undefined ? {} : { priority }),
        next: f.next('next'),
      };
    },
  },
  branch: {
    keys: ['cases', 'otherwise'],
    read: (f, c) => {
      const value = f.checker.required(f.obj, 'cases', f.path);
      const cases: BranchCase[] = [];
      if (value !== undefined && (!Array.isArray(value) || value.length === 0)) {
        f.checker.error(f.at('cases'), `must be a non-empty list of { when, next } (got ${describe(value)})`);
      } else if (Array.isArray(value)) {
        value.forEach((item: unknown, i) => {
          const at = [...f.at('cases'), i];
          const obj = f.checker.mapping(item, at, ['when', 'next'], 'branch case');
          if (obj === undefined) return;
          const whenValue = f.checker.required(obj, 'when', at);
          const when = whenValue === undefined ? undefined : readCondition(f, whenValue, [...at, 'when']);
          const next = new NodeFields(f.ctx, obj, at).next('next');
          if (when !== undefined) cases.push({ when, next });
        });
      }
      return { ...c, type: 'branch', cases, otherwise: f.next('otherwise') };
    },
  },
  http: {
    keys: ['url', 'method', 'headers', 'body', 'timeout', 'response', 'next', 'onError'],
    read: (f, c) => {
      const url = f.checker.string(f.obj, 'url', f.path, { required: true }) ?? '';
      if (url !== '') {
        f.checker.template(url, f.at('url'));
        if (!/^https?:\/\/[^\s/$.?#]\S*$/i.test(url)) f.checker.error(f.at('url'), `must be an http:// or https:// URL (got ${describe(url)})`);
      }
      const method = f.checker.oneOf(f.obj, 'method', f.path, ['GET', 'POST'] as const) ?? 'GET';
      const body = f.textMap('body', { names: 'any' });
      if (method === 'GET' && Object.keys(body).length > 0) f.checker.error(f.at('body'), 'a GET request has no body: use method: POST');
      const responseVariables: Record<string, string> = {};
      const response = f.obj['response'];
      if (response !== undefined && response !== null) {
        if (!isMapping(response)) f.checker.error(f.at('response'), `must map variables to JSON paths, e.g. { tier: customer.tier } (got ${describe(response)})`);
        else {
          for (const [name, jsonPath] of Object.entries(response)) {
            const at = [...f.at('response'), name];
            const variable = f.checker.variableName(name, at);
            if (variable !== undefined && (CALL_VARIABLES as readonly string[]).includes(variable)) f.checker.error(at, `"${variable}" is set by the call and cannot be assigned`);
            if (typeof jsonPath !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(jsonPath)) {
              f.checker.error(at, `must be a dotted path into the JSON response, e.g. customer.tier (got ${describe(jsonPath)})`);
            } else if (variable !== undefined) {
              responseVariables[variable] = jsonPath;
            }
          }
        }
      }
      return {
        ...c,
        type: 'http',
        url,
        method,
        headers: f.textMap('headers', { names: 'any' }),
        body,
        timeoutSeconds: f.seconds('timeout', DEFAULTS.httpTimeoutSeconds, 1, 30),
        responseVariables,
        next: f.next('next'),
        onError: f.failure('onError'),
      };
    },
  },
  queue: {
    keys: ['queue', 'priority', 'musicOnHold', 'announce', 'callback', 'maxWait', 'onTimeout', 'afterAgent'],
    read: (f, c) => {
      const queue = f.checker.string(f.obj, 'queue', f.path, { required: true }) ?? '';
      if (queue !== '' && !f.ctx.lookups.queueExists(queue)) f.checker.error(f.at('queue'), `unknown queue "${queue}"`);
      const priority = f.checker.integer(f.obj, 'priority', f.path, 0, 1000);
      const moh = f.obj['musicOnHold'];
      const musicOnHold = moh === undefined || moh === null || moh === 'default' ? 'default' : moh === 'none' ? 'none' : f.audio('musicOnHold');
      return {
        ...c,
        type: 'queue',
        queue,
        ...(priority === undefined ? {} : { priority }),
        musicOnHold,
        announce: readQueueAnnounce(f),
        callback: readQueueCallback(f),
        maxWaitSeconds: f.checker.integer(f.obj, 'maxWait', f.path, 1, 86400) ?? null,
        onTimeout: f.failure('onTimeout'),
        afterAgent: f.optionalNext('afterAgent'),
      };
    },
  },
  transfer: {
    keys: ['to', 'prompt', 'onFail'],
    read: (f, c) => ({ ...c, type: 'transfer', to: readTransferTarget(f), prompt: f.audio('prompt'), onFail: f.failure('onFail') }),
  },
  voicemail: {
    keys: ['mailbox', 'prompt', 'maxSeconds', 'next'],
    read: (f, c) => {
      const mailbox = f.checker.string(f.obj, 'mailbox', f.path, { required: true }) ?? '';
      return {
        ...c,
        type: 'voicemail',
        mailbox: f.checker.template(mailbox, f.at('mailbox')),
        prompt: f.audio('prompt'),
        maxSeconds: f.seconds('maxSeconds', DEFAULTS.voicemailMaxSeconds, 5, 600),
        next: f.optionalNext('next'),
      };
    },
  },
  survey: {
    keys: ['intro', 'questions', 'timeout', 'thanks', 'next'],
    read: (f, c) => ({
      ...c,
      type: 'survey',
      intro: f.audio('intro'),
      questions: readSurveyQuestions(f),
      timeoutSeconds: f.seconds('timeout', DEFAULTS.surveyTimeoutSeconds, 1, 60),
      thanks: f.audio('thanks'),
      next: f.optionalNext('next'),
    }),
  },
  hangup: {
    keys: ['prompt'],
    read: (f, c) => ({ ...c, type: 'hangup', prompt: f.audio('prompt') }),
  },
};
