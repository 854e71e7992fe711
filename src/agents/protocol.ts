/*
 * The agent feed's wire protocol, version 1 (docs/agent-protocol.md embeds these schemas; a test keeps them equal).
 * Every frame is one JSON object with `v: 1`. Clients send commands (`type` + fields, an optional `id` echoed in the
 * reply); onecc answers each with `result` or `error`, and pushes `event`s numbered by `seq`.
 */

export const PROTOCOL_VERSION = 1;

/** The subset of JSON Schema (draft 2020-12) the feed's schemas use, and validate() checks. */
export type JsonSchema =
  | { readonly type: 'string'; readonly minLength?: number; readonly maxLength?: number; readonly enum?: readonly string[]; readonly pattern?: string; readonly description?: string }
  | { readonly type: 'integer'; readonly minimum?: number; readonly description?: string }
  | { readonly type: 'boolean'; readonly description?: string }
  | { readonly type: 'array'; readonly items: JsonSchema; readonly maxItems?: number; readonly description?: string }
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, JsonSchema>>;
      readonly required?: readonly string[];
      readonly additionalProperties: false;
      /** Exactly one of these properties must be present (JSON Schema writes it as oneOf of required). */
      readonly oneOf?: readonly { readonly required: readonly [string] }[];
      readonly description?: string;
    };

const id = { type: 'string', minLength: 1, maxLength: 64, description: 'echoed in the result or error' } as const;
const taskId = { type: 'string', minLength: 1, maxLength: 128, description: 'an ACD task id (from an offer or task event)' } as const;
const number = { type: 'string', pattern: '^\\+?[0-9]{2,20}$', description: 'a phone number: digits, optionally a leading +' } as const;

/** Where a transfer or a consultation goes: exactly one of an agent, a queue or a number. */
const transferTarget = {
  type: 'object',
  properties: { agent: { type: 'string', minLength: 1, maxLength: 64 }, queue: { type: 'string', minLength: 1, maxLength: 64 }, number },
  additionalProperties: false,
  oneOf: [{ required: ['agent'] }, { required: ['queue'] }, { required: ['number'] }],
} as const satisfies JsonSchema;

function command(type: string, description: string, properties: Record<string, JsonSchema> = {}, required: string[] = [], oneOf?: string[]): JsonSchema {
  return {
    type: 'object',
    description,
    properties: { v: { type: 'integer', minimum: PROTOCOL_VERSION }, id, type: { type: 'string', enum: [type] }, ...properties },
    required: ['v', 'type', ...required],
    additionalProperties: false,
    ...(oneOf ? { oneOf: oneOf.map((name) => ({ required: [name] as [string] })) } : {}),
  };
}

/** Every command a client may send, by type. Agent commands act on the connection's own agent. */
export const commandSchemas = {
  auth: command('auth', 'first frame of a connection: a token or an API key; `resume` continues a dropped session', {
    token: { type: 'string', minLength: 1, maxLength: 4096 },
    apiKey: { type: 'string', minLength: 1, maxLength: 256 },
    resume: {
      type: 'object',
      properties: { session: { type: 'string', minLength: 1, maxLength: 64 }, lastSeq: { type: 'integer', minimum: 0 } },
      required: ['session', 'lastSeq'],
      additionalProperties: false,
    },
  }, [], ['token', 'apiKey']),
  ping: command('ping', 'answered with a result; any frame also counts as a heartbeat'),
  login: command('login', 'agent: log in to the ACD with the roster profile', { ready: { type: 'boolean', description: 'ready at once (default false: not-ready, reason login)' } }),
  logout: command('logout', 'agent: log out of the ACD (refused while handling a task)'),
  ready: command('ready', 'agent: ready for offers (also ends wrap-up early)'),
  'not-ready': command('not-ready', 'agent: no offers, with a reason code of agents.notReadyReasons', { reason: { type: 'string', minLength: 1, maxLength: 64 } }, ['reason']),
  accept: command('accept', 'agent: take an offered chat or email task (calls are accepted by answering the phone)', { taskId }, ['taskId']),
  reject: command('reject', 'agent: decline an offered task (a ringing call stops ringing); it goes to the next agent', { taskId }, ['taskId']),
  'wrap-up': command('wrap-up', 'agent: close a task handled with a disposition code; `ready` ends wrap-up at once', {
    taskId,
    disposition: { type: 'string', minLength: 1, maxLength: 64 },
    notes: { type: 'string', maxLength: 2000 },
    ready: { type: 'boolean' },
  }, ['taskId', 'disposition']),
  hangup: command('hangup', 'agent: hang up the call of a task being handled; for a chat, end the conversation (the customer is asked the CSAT question; then wrap-up)', { taskId }, ['taskId']),
  hold: command('hold', 'agent: put the caller on hold (music)', { taskId }, ['taskId']),
  unhold: command('unhold', 'agent: take the caller off hold', { taskId }, ['taskId']),
  transfer: command('transfer', 'agent: blind transfer of a call to an agent, a queue or a number (the agent is free once an agent or number answers, at once for a queue); of a chat to an agent or a queue, with its transcript', {
    taskId,
    to: transferTarget,
  }, ['taskId', 'to']),
  consult: command('consult', 'agent: attended transfer, first step: the caller hears music while an agent, a number, or an agent the ACD finds in a queue rings; the result comes once you talk to them (or the error if nobody answered: you are back with the caller)', {
    taskId,
    to: transferTarget,
  }, ['taskId', 'to']),
  'consult-transfer': command('consult-transfer', 'agent: attended transfer, last step: the caller talks to the party you consulted; you are off the call (hanging up your phone while consulting does the same)', { taskId }, ['taskId']),
  'consult-cancel': command('consult-cancel', 'agent: end the consultation: the consulted party is hung up and you talk to the caller again', { taskId }, ['taskId']),
  conference: command('conference', 'agent: while consulting, join the caller, you and the consulted party in one conversation (mixed by onecc); consult-transfer or hanging up leaves the two others talking, consult-cancel drops the consulted party', { taskId }, ['taskId']),
  dial: command('dial', 'agent: place a call: your phones ring first (X-Onecc-Dial), then onecc calls the number through voice.manualDial.trunk; the result (with the interaction id) comes once the number answered. You are not-ready outbound-call meanwhile', { number }, ['number']),
  'chat-send': command('chat-send', 'agent: a message into the conversation of a chat task being handled', {
    taskId,
    text: { type: 'string', maxLength: 4000 },
    attachments: {
      type: 'array',
      maxItems: 10,
      items: {
        type: 'object',
        properties: { url: { type: 'string', pattern: '^https?://', maxLength: 2048 }, name: { type: 'string', maxLength: 256 }, type: { type: 'string', maxLength: 128 } },
        required: ['url'],
        additionalProperties: false,
      },
    },
  }, ['taskId', 'text']),
  'chat-typing': command('chat-typing', 'agent: the customer sees that the agent is typing', { taskId }, ['taskId']),
  'chat-read': command('chat-read', 'agent: read up to message `upTo` (a message id): the customer sees a read receipt', { taskId, upTo: { type: 'string', minLength: 1, maxLength: 64 } }, ['taskId', 'upTo']),
  'chat-history': command('chat-history', 'agent: the transcript of a chat task offered to or handled by the agent, oldest first', { taskId }, ['taskId']),
  snapshot: command('snapshot', 'the current state: the agent\'s own (agents), or every queue and agent (supervisors)'),
  monitor: command('monitor', 'supervisor: listen in on a call being handled; the supervisor\'s phones (voice.phones with agent = the supervisor\'s name) ring, and once answered hear the call until they hang up', {
    taskId,
    listen: { type: 'string', enum: ['both', 'caller', 'agent'], description: 'both (default): two audio streams, caller and agent; caller or agent: one stream, for phones that take only one' },
  }, ['taskId']),
  whisper: command('whisper', 'supervisor: coach the agent on a call being handled: your phones ring, and once answered you hear both and only the agent hears you (on a call you are in already: switch to whisper)', { taskId }, ['taskId']),
  barge: command('barge', 'supervisor: join a call being handled: your phones ring, and once answered caller and agent both hear you (on a call you whisper in: switch to barge)', { taskId }, ['taskId']),
} as const satisfies Record<string, JsonSchema>;

export type CommandType = keyof typeof commandSchemas;

/** Commands only agents may send. */
export const agentOnlyCommands: ReadonlySet<CommandType> = new Set([
  'login', 'logout', 'ready', 'not-ready', 'accept', 'reject', 'wrap-up', 'hangup', 'hold', 'unhold', 'transfer',
  'consult', 'consult-transfer', 'consult-cancel', 'conference', 'dial',
  'chat-send', 'chat-typing', 'chat-read', 'chat-history',
]);
/**
 * Commands that wait for a phone to answer (up to the ring timeouts): they run beside the connection's other
 * commands, so that the agent can still hang up or cancel meanwhile. Their results may come after later commands'.
 */
export const ringingCommands: ReadonlySet<CommandType> = new Set(['transfer', 'consult', 'dial', 'monitor', 'whisper', 'barge']);
/** Commands only supervisors may send. */
export const supervisorOnlyCommands: ReadonlySet<CommandType> = new Set(['monitor', 'whisper', 'barge']);

/** The `code` of an error frame. */
export type ErrorCode =
  | 'bad-frame' // not JSON, not an object, wrong version, unknown type, fields not as the schema says
  | 'not-authenticated' // a command before auth
  | 'forbidden' // a command this role may not send, or about a task that is not the agent's
  | 'not-found' // an unknown task or agent
  | 'invalid-state' // the ACD refused (wrong state, not offered to you...)
  | 'unavailable'; // the call is on another node, or a part of onecc is down

/** Checks `value` against `schema`; returns the first problem as "path: reason", or undefined when it conforms. */
export function validate(schema: JsonSchema, value: unknown, path = ''): string | undefined {
  const at = path === '' ? 'frame' : path;
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return `${at}: must be a string`;
      if (schema.minLength !== undefined && value.length < schema.minLength) return `${at}: must have at least ${schema.minLength} characters`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${at}: must have at most ${schema.maxLength} characters`;
      if (schema.enum !== undefined && !schema.enum.includes(value)) return `${at}: must be one of ${schema.enum.join(', ')}`;
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return `${at}: must match ${schema.pattern}`;
      return undefined;
    case 'integer':
      if (!Number.isInteger(value)) return `${at}: must be an integer`;
      if (schema.minimum !== undefined && (value as number) < schema.minimum) return `${at}: must be at least ${schema.minimum}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${at}: must be true or false`;
    case 'array': {
      if (!Array.isArray(value)) return `${at}: must be an array`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${at}: must have at most ${schema.maxItems} items`;
      for (const [i, item] of value.entries()) {
        const problem = validate(schema.items, item, `${at}[${i}]`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at}: must be an object`;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!Object.hasOwn(schema.properties, key)) return `${path === '' ? key : `${path}.${key}`}: unknown field`;
      }
      for (const key of schema.required ?? []) if (!Object.hasOwn(record, key)) return `${path === '' ? key : `${path}.${key}`}: is required`;
      if (schema.oneOf !== undefined) {
        const present = schema.oneOf.filter((alt) => Object.hasOwn(record, alt.required[0]));
        if (present.length !== 1) return `${at}: needs exactly one of ${schema.oneOf.map((alt) => alt.required[0]).join(', ')}`;
      }
      for (const [key, child] of Object.entries(schema.properties)) {
        if (!Object.hasOwn(record, key)) continue;
        const problem = validate(child, record[key], path === '' ? key : `${path}.${key}`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
  }
}

/** Reads a client frame: the command, or why it is not one. */
export function parseCommand(text: string): { ok: true; command: { type: CommandType; id?: string } & Record<string, unknown> } | { ok: false; id?: string; reason: string } {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return { ok: false, reason: 'a frame must be a JSON object' };
  const record = frame as Record<string, unknown>;
  const id = typeof record.id === 'string' ? record.id.slice(0, 64) : undefined;
  if (record.v !== PROTOCOL_VERSION) return { ok: false, id, reason: `v must be ${PROTOCOL_VERSION} (the protocol version this server speaks)` };
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(commandSchemas, type)) {
    return { ok: false, id, reason: `unknown type ${JSON.stringify(type)} (one of: ${Object.keys(commandSchemas).join(', ')})` };
  }
  const problem = validate(commandSchemas[type as CommandType], record);
  if (problem !== undefined) return { ok: false, id, reason: problem };
  return { ok: true, command: record as { type: CommandType; id?: string } & Record<string, unknown> };
}

/** WebSocket close codes onecc uses (4000-4999 are the application's). */
export const closeCodes = {
  /** Bad or expired credentials; the token expired during the session. */
  unauthorized: 4401,
  /** No auth frame within agents.authTimeoutSeconds. */
  authTimeout: 4408,
  /** The same agent connected again: the older connection is closed. */
  replaced: 4409,
  /** More unsent data than agents.maxBufferedKiB: the client does not keep up (it may resume). */
  tooSlow: 4429,
  /** onecc is shutting down. */
  goingAway: 1001,
} as const;

/** The command schemas as docs/agent-protocol.md shows them (between its schema markers; a test compares). */
export function renderCommandSchemas(): string {
  return Object.entries(commandSchemas)
    .map(([type, schema]) => `#### \`${type}\`\n\n${schema.description ?? ''}\n\n\`\`\`json\n${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema }, null, 2)}\n\`\`\``)
    .join('\n\n');
}
