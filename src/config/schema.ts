import { isIP } from 'node:net';
import { isTimeZone, templateVariables } from '../lib/index';

/*
 * The declarative description of every configuration key. The TypeScript type OneccConfig is inferred from it, so
 * the type, the validator, the README reference table and the env-variable lookup can never disagree.
 * Every key is required in the merged result (config/default.yaml supplies them all); `nullable` keys accept null.
 */

interface SchemaBase {
  readonly description: string;
  readonly nullable?: boolean;
}
export interface IntegerSchema extends SchemaBase {
  readonly type: 'integer';
  readonly min: number;
  readonly max?: number;
}
export interface EnumSchema<V extends string = string> extends SchemaBase {
  readonly type: 'enum';
  readonly values: readonly V[];
}
export interface StringSchema extends SchemaBase {
  readonly type: 'string';
  readonly format: StringFormat;
}
export interface BooleanSchema extends SchemaBase {
  readonly type: 'boolean';
}
export interface ArraySchema<I extends SchemaNode = SchemaNode> extends SchemaBase {
  readonly type: 'array';
  readonly items: I;
  readonly minItems: number;
}
/** A mapping with keys of the user's choosing (RFC 3261 tokens), every value of one schema: skill → level. */
export interface RecordSchema<V extends SchemaNode = SchemaNode> extends SchemaBase {
  readonly type: 'record';
  readonly values: V;
}
export interface ObjectSchema<F extends { readonly [key: string]: SchemaNode } = { readonly [key: string]: SchemaNode }>
  extends SchemaBase {
  readonly type: 'object';
  readonly fields: F;
}
export type SchemaNode = IntegerSchema | EnumSchema | StringSchema | BooleanSchema | ArraySchema | RecordSchema | ObjectSchema;

/** What a string must look like; `expect` completes the sentence "must be ...". */
export const stringFormats = {
  ip: { expect: 'an IPv4 or IPv6 address literal', test: (s: string) => isIP(s) !== 0 },
  // RFC 3261 §25.1 token: what an option tag is made of.
  token: { expect: 'an RFC 3261 token', test: (s: string) => /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(s) },
  // Goes into a header field value: no control characters (CR/LF would inject headers).
  text: { expect: 'a non-empty string without control characters', test: (s: string) => /^[^\x00-\x1f\x7f]+$/.test(s) },
  path: { expect: 'a non-empty file path', test: (s: string) => s.length > 0 && !s.includes('\0') },
  cidr: { expect: 'an IP address or a CIDR block (10.0.0.0/8, 2001:db8::/32)', test: isCidr },
  // Where onecc places calls through a trunk: {number} is the number dialled, {source} the address a call came from.
  'dial-template': {
    expect: 'a sip: or sips: URI template naming {number} (sip:{number}@sbc.example.com, sip:{number}@{source})',
    test: (s: string) => /^sips?:[^\x00-\x20\x7f<>"]+$/.test(s) && s.includes('{number}'),
  },
  host: {
    expect: 'an IP address literal or a host name',
    test: (s: string) => isIP(s) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(s),
  },
} as const;
export type StringFormat = keyof typeof stringFormats;

/** `address` or `address/prefix` with the prefix within the address family's length. */
function isCidr(s: string): boolean {
  const [address = '', prefix, ...rest] = s.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const integer = (min: number, max: number | undefined, description: string): IntegerSchema =>
  ({ type: 'integer', min, max, description });
const oneOf = <V extends string>(values: readonly V[], description: string): EnumSchema<V> =>
  ({ type: 'enum', values, description });
const string = (format: StringFormat, description: string): StringSchema => ({ type: 'string', format, description });
const boolean = (description: string): BooleanSchema => ({ type: 'boolean', description });
const list = <I extends SchemaNode>(items: I, minItems: number, description: string): ArraySchema<I> =>
  ({ type: 'array', items, minItems, description });
const object = <F extends { readonly [key: string]: SchemaNode }>(description: string, fields: F): ObjectSchema<F> =>
  ({ type: 'object', fields, description });
const record = <V extends SchemaNode>(values: V, description: string): RecordSchema<V> => ({ type: 'record', values, description });
const nullable = <N extends SchemaNode>(node: N): N & { readonly nullable: true } => ({ ...node, nullable: true });

export const dialerModes = ['preview', 'progressive', 'predictive', 'agentless'] as const;
export const weekDays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const retryRule = (outcome: string) =>
  object(`after ${outcome}`, {
    delaySeconds: integer(0, 30 * 86_400, 'called again this much later (doubled for each further attempt)'),
    maxAttempts: integer(1, 50, 'calls to the contact in all before it is given up'),
  });

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const sipTransports = ['udp', 'tcp', 'tls', 'ws', 'wss'] as const;

const port = (description: string) => integer(0, 65535, `${description}; 0 picks a free port`);
// The ACD's vocabulary; src/acd/types.ts has the same lists (config may not import acd; a test compares them).
export const acdChannels = ['voice', 'video', 'chat', 'email'] as const;
const acdStrategies = ['longest-idle', 'most-skilled', 'round-robin', 'least-occupied'] as const;
const acdEscalationActions = ['relax', 'widen', 'raise-priority', 'overflow', 'offer-callback'] as const;
const perChannel = (min: number, max: number, description: string, each: string) =>
  object(description, {
    voice: integer(min, max, `voice: ${each}`),
    video: integer(min, max, `video: ${each}`),
    chat: integer(min, max, `chat: ${each}`),
    email: integer(min, max, `email: ${each}`),
  });

export const configSchema = object('onecc configuration', {
  log: object('logging', {
    level: oneOf(logLevels, 'least severe level that is logged'),
  }),
  sip: object('the SIP engine', {
    engine: oneOf(['embedded', 'external'] as const, 'embedded: onecc runs its own SIP engine; external: onecc uses the drachtio-server at sip.drachtio'),
    drachtio: object('the drachtio wire protocol: what the embedded engine serves, or where the external drachtio-server is', {
      host: string('host', 'address the embedded engine listens on, or the external drachtio-server to connect to'),
      port: port('drachtio admin port (9022 is drachtio-server\'s)'),
      secret: string('text', 'shared secret applications authenticate with'),
      tls: object('TLS on the drachtio connection (off while all three are null)', {
        cert: nullable(string('path', 'certificate (PEM file path) the embedded engine serves drachtio over TLS with; needs key')),
        key: nullable(string('path', 'private key (PEM file path) for cert')),
        ca: nullable(string('path', 'CA (PEM file path) onecc verifies the drachtio server with; set alone, onecc connects over TLS to an external drachtio-server')),
      }),
    }),
    listen: list(
      object('one SIP listener', {
        transport: oneOf(sipTransports, 'transport protocol'),
        host: string('ip', 'local address to bind (IPv4 or IPv6 literal)'),
        port: port('local port'),
      }),
      1,
      'listeners, one entry per transport+address+port',
    ),
    tls: object('TLS material for tls and wss listeners', {
      cert: nullable(string('path', 'certificate chain (PEM file path); required when a tls or wss listener is configured')),
      key: nullable(string('path', 'private key (PEM file path); required when a tls or wss listener is configured')),
    }),
    timers: object('RFC 3261 §17 timer base values', {
      t1: integer(1, 60_000, 'T1 in ms: round-trip time estimate; must be less than t2'),
      t2: integer(1, 600_000, 'T2 in ms: maximum retransmit interval for non-INVITE requests and INVITE responses'),
      t4: integer(1, 600_000, 'T4 in ms: maximum time a message stays in the network'),
    }),
    limits: object('protection against oversized, slow or too many peers', {
      maxMessageBytes: integer(1024, 16 * 1024 * 1024, 'largest message (headers+body); larger is rejected / closes the stream'),
      maxHeaders: integer(1, 10_000, 'most header fields in one message'),
      partialMessageTimeoutMs: integer(100, 3_600_000, 'a stream connection that leaves a message unfinished this long is closed (slow drip)'),
      idleConnectionTimeoutMs: integer(1000, 86_400_000, 'an inbound TCP/WS connection with no traffic this long is closed'),
      maxConnections: integer(1, 1_000_000, 'most open inbound stream connections'),
      udpReceiveBufferBytes: integer(65_536, 256 * 1024 * 1024, 'UDP socket receive buffer; the kernel caps it at net.core.rmem_max'),
    }),
    symmetricResponses: boolean('UDP responses go to the source ip:port of the request (as with rport) even without rport'),
    supportedOptionTags: list(string('token', 'option tag'), 0, 'Require: option tags the engine accepts; others get 420'),
    userAgent: string('text', 'User-Agent / Server header value'),
  }),
  media: object('the media plane: rtpengine, driven over its NG control protocol', {
    engine: oneOf(['embedded', 'external'] as const, 'embedded: onecc starts, pings and restarts each rtpengine in media.rtpengines; external: onecc only connects to them'),
    selection: oneOf(['least-loaded', 'hash'] as const, 'how a new call picks its rtpengine: fewest sessions, or a hash of the call id (stable across onecc nodes)'),
    commandTimeoutMs: integer(50, 60_000, 'an NG command with no reply after this long fails the operation'),
    rtpengines: list(
      object('one rtpengine', {
        host: string('host', 'address or host name of its NG control port'),
        ngPort: port('NG control port (UDP)'),
        interface: string('text', 'embedded: --interface value, the address media flows on (e.g. 203.0.113.5 or priv/10.0.0.5!203.0.113.5)'),
        portMin: integer(1024, 65535, 'embedded: lowest RTP port'),
        portMax: integer(1024, 65535, 'embedded: highest RTP port; must be above portMin'),
      }),
      1,
      'the rtpengines calls are spread over',
    ),
    dtmf: object('where onecc receives DTMF events (rtpengine --dtmf-log-dest); set external rtpengines to send here', {
      host: string('ip', 'local address to bind'),
      port: port('local UDP port'),
    }),
    embedded: object('how onecc runs the rtpengines it starts (media.engine embedded)', {
      binary: string('path', 'rtpengine executable'),
      rtpTimeoutSeconds: integer(1, 86_400, 'rtpengine closes a call that received no RTP for this long (--timeout)'),
      logLevel: integer(0, 7, 'rtpengine log level (syslog scale; 6 logs every call)'),
      restartDelayMs: integer(0, 600_000, 'wait before restarting an rtpengine that exited'),
    }),
    recordingDir: string('path', 'directory call recordings (WAV) are written to; relative paths are relative to the working directory'),
    recordingRetentionDays: integer(0, 36_500, 'files in recordingDir (call recordings, voicemails, recorded survey comments) are removed this many days after they were written; 0: kept'),
    prompts: object('audio prompts (8 kHz WAV) played by the IVR and queues', {
      dir: string('path', 'directory with one sub-directory of WAV files per language; relative paths are relative to the working directory'),
      languages: list(string('token', 'language tag, e.g. en or zh-TW'), 1, 'languages every prompt must exist in; the first is the default'),
    }),
  }),
  acd: object('the ACD: skills-based routing of voice, video, chat and email to agents, its state in Redis', {
    enabled: boolean('onecc runs the ACD (it needs the Redis at acd.redis)'),
    nodeId: nullable(string('token', 'this node\'s name among the nodes sharing acd.redis (logs, leases); null: a new random one at each start. A node refuses to start while another running process holds its name')),
    redis: object('the Redis every onecc node shares ACD state through', {
      host: string('host', 'Redis host'),
      port: integer(0, 65535, 'Redis port; with embedded, 0 picks a free port'),
      embedded: boolean('onecc starts redis-server itself on host:port (one machine); false: connect to a Redis run elsewhere (several nodes, Sentinel, Cluster)'),
      binary: string('path', 'embedded: the redis-server executable'),
      dataDir: string('path', 'embedded: where Redis keeps its append-only file; relative paths are relative to the working directory'),
      keyTag: string('token', 'hash tag of every ACD key ({tag}:acd:...): one per deployment or tenant on a shared Redis (Cluster-safe)'),
      sentinels: list(
        object('a Redis Sentinel', { host: string('host', 'Sentinel host'), port: integer(1, 65535, 'Sentinel port (usually 26379)') }),
        0,
        'Redis Sentinels to ask for the primary of sentinelMaster (host and port are then unused; needs embedded false); empty: connect to host:port',
      ),
      sentinelMaster: string('token', 'the Sentinels\' name of the Redis primary group'),
      waitReplicas: integer(0, 16, 'with Sentinel, the number of replicas (0 for one Redis): an ACD change counts as committed once every replica the primary has online, up to this many, holds it (WAIT), so that whichever one a failover promotes has it'),
      waitTimeoutMs: integer(1, 10_000, 'longest one WAIT for those replicas lasts (it returns as soon as they have the change); a change waits up to 5 of them for a lagging replica, then onecc goes on, logging that the change is on the primary only, which a failover then could lose'),
    }),
    skills: list(string('token', 'skill name'), 0, 'skills agents may have and target expressions may name'),
    languages: list(string('token', 'language tag, e.g. en or zh-TW'), 0, 'languages agents may speak and target expressions may name (lang:TAG)'),
    defaultCapacity: perChannel(0, 100, 'tasks an agent takes at once per channel, unless the agent\'s profile says otherwise', 'most tasks at once'),
    crossChannel: list(
      object('while the agent holds a task on one of whileOn, at most limits[channel] tasks of each channel in all', {
        whileOn: list(oneOf(acdChannels, 'channel'), 1, 'channels that trigger the rule'),
        limits: perChannel(0, 100, 'most tasks per channel while the rule applies (0: no new ones)', 'most tasks'),
      }),
      0,
      'cross-channel rules, e.g. while on voice or video no new voice/video but up to 2 chats',
    ),
    wrapUpSeconds: perChannel(0, 3600, 'wrap-up after a task of that channel: the agent takes no task meanwhile', 'seconds'),
    offerTimeoutSeconds: integer(1, 600, 'an offer not accepted within this goes to the next agent, and the agent goes not-ready (RONA)'),
    ronaReason: string('token', 'not-ready reason code given to an agent whose offer timed out'),
    nodeLeaseSeconds: integer(1, 600, 'a node that has not renewed its lease this long is dead: its offers are withdrawn, its tasks adopted'),
    endedTaskRetentionSeconds: integer(60, 30 * 86_400, 'how long ended tasks stay queryable (why an offer went where it went)'),
    queues: list(
      object('one queue', {
        name: string('token', 'queue name'),
        target: string('text', 'which agents may take its tasks, e.g. billing >= 5 and lang:zh-TW (see the ACD section)'),
        strategy: oneOf(acdStrategies, 'which eligible agent gets the task: longest idle; most skilled (sum of levels in the named skills) then longest idle; round robin; least occupied then longest idle'),
        serviceLevel: object('service-level target: percent of tasks answered within seconds', {
          percent: integer(1, 100, 'percent of tasks'),
          seconds: integer(1, 86_400, 'answered within this many seconds'),
        }),
        maxWaitSeconds: integer(0, 86_400 * 7, 'a task waiting longer goes to fallback, or ends (max-wait) without one; 0: no limit'),
        maxSize: integer(0, 1_000_000, 'a task arriving at a queue this full goes to fallback, or is refused without one; 0: no limit'),
        fallback: nullable(string('token', 'queue for tasks over maxSize or maxWaitSeconds')),
        escalation: list(
          object('a step taken afterSeconds after the task entered the queue', {
            afterSeconds: integer(1, 86_400 * 7, 'seconds after entering the queue; steps in increasing order'),
            action: oneOf(acdEscalationActions, 'relax: target becomes value; widen: agents of queue value may take it too; raise-priority: add value; overflow: move to queue value (keeps enqueue time); offer-callback: ask the channel to offer a callback'),
            value: nullable(string('text', 'what the action needs (expression, queue, integer); null for offer-callback')),
          }),
          0,
          'escalation steps',
        ),
      }),
      0,
      'queues; names, expressions and queue references are checked at load',
    ),
  }),
  voice: object('voice calls: trunks that may send calls, agents\' phones and the registrar they register with', {
    realm: string('text', 'digest realm of the registrar (401) and of trunk authentication (407)'),
    nonceSecret: nullable(string('text', 'key of the HMAC that signs digest nonces; give every onecc node the same one (null: a random key per start, so each node, and each restart, rejects the others\' nonces as stale)')),
    nonceTtlSeconds: integer(10, 86_400, 'a digest nonce older than this is stale: the phone or trunk answers a fresh challenge'),
    trunks: list(
      object('one trunk: a carrier, PBX or SBC allowed to send calls to onecc', {
        name: string('token', 'trunk name, in logs and interaction records'),
        addresses: list(string('cidr', 'address or CIDR block'), 0, 'source addresses whose INVITEs are this trunk\'s; empty: identified by credentials alone'),
        username: nullable(string('text', 'digest username the trunk answers a 407 challenge with (with addresses: required on top of them)')),
        password: nullable(string('text', 'digest password (plain text) for username')),
        outboundUri: nullable(string('dial-template', 'where onecc calls this trunk\'s callers back: {number} is the number, {source} the address:port their call came from (UDP peers); null: no callbacks through this trunk (callers are not offered one)')),
      }),
      0,
      'trunks; an INVITE from no trunk\'s address and without a trunk\'s credentials is refused 403',
    ),
    phones: list(
      object('one SIP user for agents\' softphones and desk phones', {
        username: string('token', 'SIP user name the phone registers and authenticates as'),
        password: string('text', 'digest password (plain text)'),
        agent: string('token', 'ACD agent id whose calls ring this user\'s registered devices'),
      }),
      0,
      'SIP users of agents\' phones; several users may name one agent, and one user may register several devices',
    ),
    ringTimeoutSeconds: integer(1, 600, 'an agent\'s phones ring this long before the offer counts as unanswered: the agent goes not-ready (RONA) and the next one is tried; keep it below acd.offerTimeoutSeconds'),
    transferRingTimeoutSeconds: integer(1, 600, 'a dialplan transfer\'s target (SIP URI or agent) rings this long before the transfer node\'s onFail'),
    callbacks: object('calling back callers who chose a callback in a queue: when an agent is offered the callback and answers, onecc calls the customer and connects them', {
      ringTimeoutSeconds: integer(5, 600, 'the customer\'s phone rings this long before the attempt counts as unanswered'),
      attempts: integer(1, 20, 'calls to a customer who does not answer (or is busy) before the callback is given up'),
      retrySeconds: integer(1, 86_400, 'after an unanswered attempt, the callback goes back to its queue this much later'),
    }),
    manualDial: object('calls an agent places from the desktop (agent feed `dial`): the agent\'s phones ring first, then onecc calls the number through a trunk and connects them', {
      trunk: nullable(string('token', 'the trunk (voice.trunks name) calls go out through; its outboundUri must not need {source}; null: the first trunk whose outboundUri does not')),
      callingNumber: nullable(string('text', 'the calling number the customer sees (From user); null: the agent\'s id')),
      ringTimeoutSeconds: integer(5, 600, 'the customer\'s phone rings this long before the call fails as unanswered'),
    }),
    record: boolean('record every conversation between a caller (or a campaign\'s contact) and agents: a stereo WAV in media.recordingDir, the customer left, the agents right, named in the interaction record (recording) for quality review'),
    recordRetentionDays: integer(1, 3650, 'interaction records (GET /interactions) are kept this long in Redis'),
    registrar: object('registration bindings of phones (kept in the Redis at acd.redis, shared by every onecc node)', {
      minExpires: integer(1, 86_400, 'shorter registrations are refused with 423 Interval Too Brief'),
      maxExpires: integer(1, 7 * 86_400, 'longer registrations are cut to this'),
      defaultExpires: integer(1, 7 * 86_400, 'expiry of a registration that names none (no Expires header or contact parameter)'),
      storeTimeoutMs: integer(50, 60_000, 'a Redis command of the registrar unanswered this long fails the REGISTER with 503'),
    }),
  }),
  ivr: object('IVR dialplans', {
    dialplansDir: string('path', 'directory of dialplan files (*.yaml), reloaded when they change; relative paths are relative to the working directory'),
    promptTextDir: string('path', 'the prompt texts (media/text/<language>.yaml); their voice settings speak text prompts in the same voice'),
    textPromptCacheDir: string('path', 'where prompts given as text in dialplans are rendered (espeak-ng) and cached'),
  }),
  agents: object('the agent WebSocket feed (/agent on the HTTP listener, docs/agent-protocol.md) and the agents who may log in', {
    tokenSecret: nullable(string('text', 'HMAC key of agent and supervisor tokens (npm run token); null: tokens are refused, only apiKeys authenticate')),
    apiKeys: list(
      object('a static credential for the feed', {
        key: string('text', 'the key itself (at least 16 characters)'),
        role: oneOf(['agent', 'supervisor'] as const, 'agent: acts as `agent`; supervisor: sees every queue and agent'),
        agent: nullable(string('token', 'the agent id an agent key acts as (null for supervisors)')),
      }),
      0,
      'API keys (integrations, supervisors\' wallboards); tokens expire, keys do not',
    ),
    roster: list(
      object('an agent who may log in', {
        id: string('token', 'agent id: ACD records, voice.phones[].agent, tokens'),
        name: string('text', 'display name'),
        skills: record(integer(1, 10, 'proficiency 1-10'), 'skill → proficiency; skills must be listed in acd.skills'),
        languages: list(string('token', 'language tag'), 0, 'languages the agent speaks (listed in acd.languages)'),
        capacity: nullable(perChannel(0, 100, 'tasks at once per channel; null: acd.defaultCapacity', 'most tasks at once')),
      }),
      0,
      'the agents: the profile an agent logs in to the ACD with',
    ),
    notReadyReasons: list(string('token', 'reason code'), 1, 'reason codes an agent may give for not-ready (onecc itself also uses acd.ronaReason and direct-call)'),
    dispositions: list(string('token', 'disposition code'), 1, 'codes an agent closes a task with in wrap-up (kept in the interaction record)'),
    authTimeoutSeconds: integer(1, 60, 'a connection that has not authenticated this long after opening is closed'),
    heartbeatSeconds: integer(2, 300, 'onecc pings every connection this often; one that missed a whole interval is closed'),
    resumeGraceSeconds: integer(0, 3600, 'an agent whose connection drops keeps their state and calls this long, to resume; then not-ready (disconnected)'),
    maxBufferedKiB: integer(16, 1024 * 1024, 'a connection with more unsent data than this is too slow to follow: closed (it may resume)'),
    snapshotSeconds: integer(1, 300, 'supervisors get queue snapshots this often'),
  }),
  chat: object('chat: a web chat page and its WebSocket (/chat/), and the connector API for messaging gateways (docs/chat.md)', {
    enabled: boolean('serve the chat page, its socket and the connector API'),
    queue: string('token', 'the ACD queue web chats go to (acd.queues); a connector message may name another'),
    maxMessageBytes: integer(64, 65_536, 'a message\'s text longer than this (UTF-8 bytes) is refused'),
    maxAttachments: integer(0, 20, 'attachments (links) per message'),
    csatQuestion: string('text', 'what the customer is asked when the agent ends the chat (answered 1-5)'),
    connector: object('the HTTP connector for gateways (WeChat, LINE, WhatsApp, SMS...): inbound messages as signed webhooks, outbound to a webhook', {
      secret: nullable(string('text', 'HMAC-SHA256 key both ways (X-Onecc-Signature); null: the connector API is off')),
      outboundUrl: nullable(string('text', 'where agents\' messages in connector conversations are POSTed (signed the same way); null: none')),
      timeoutMs: integer(100, 60_000, 'an outbound webhook unanswered this long is a failed attempt'),
      attempts: integer(1, 10, 'attempts per outbound message (back-off doubling from 500 ms)'),
      maxSkewSeconds: integer(1, 3600, 'inbound webhooks signed further from now than this are refused (replays)'),
    }),
    retentionDays: integer(1, 3650, 'conversations (transcripts) are kept this long in Redis after their last message'),
  }),
  video: object('video calls from customers\' browsers: the page /video/ calls onecc over SIP on WebSocket (JsSIP), onecc queues the call and bridges it to an agent\'s softphone through rtpengine (docs/video.md)', {
    enabled: boolean('serve the video page and take its calls'),
    user: string('token', 'the SIP user the page calls (sip:<user>@onecc): INVITEs to it over ws/wss are video calls'),
    queue: string('token', 'the ACD queue video calls go to (acd.queues), e.g. one whose target is video >= 1'),
    tokenSeconds: integer(10, 3600, 'a page\'s admission token (GET /video-token, signed by onecc) is valid this long'),
    maxCalls: integer(1, 10_000, 'video calls at once on this node; more get 486 Busy'),
    waitSeconds: integer(5, 3600, 'a caller waits this long for an agent before 480'),
    record: boolean('record each answered video call: rtpengine\'s capture of all its streams (audio and video RTP) kept as <media.recordingDir>/<call>.pcap'),
  }),
  dialer: object('outbound campaigns: onecc calls a contact list through a trunk and hands the people who answer to agents (docs/dialer.md)', {
    dncFiles: list(string('path', 'a do-not-call list: one number per line, # comments'), 0, 'centre-wide do-not-call lists (imported at start; numbers can also be added over HTTP)'),
    centreAbandon: object('the abandon limit over all campaigns together (Ofcom: 3 % per centre over 24 hours), on top of each campaign\'s', {
      limitPercent: integer(1, 100, 'abandoned calls over the window, percent of answered ones'),
      windowHours: integer(1, 24 * 366, 'the window'),
    }),
    campaigns: list(
      object('one campaign', {
        id: string('token', 'campaign id (HTTP API, records, metrics)'),
        mode: oneOf(dialerModes, 'preview: an agent is offered each contact and the call is placed once they accept; progressive: one call per available agent; predictive: paced from live estimates within the abandon limit; agentless: a message, optionally "press a key to speak to an agent"'),
        queue: string('token', 'the ACD queue whose agents serve the campaign (acd.queues); answered calls are queued there at top priority'),
        trunk: string('token', 'the trunk (voice.trunks) calls go out through; its outboundUri must not need {source}'),
        callerId: string('text', 'the calling number contacts see (From user)'),
        contactsFile: nullable(string('path', 'a CSV of contacts imported at start (header row: number, and optionally timezone and any attributes); bad rows are logged with their line and skipped')),
        dncFiles: list(string('path', 'a do-not-call list for this campaign only'), 0, 'campaign do-not-call lists'),
        consentPurpose: nullable(string('token', 'what the campaign calls for (e.g. marketing): a customer who withdrew consent to it (profile consent) is skipped like a do-not-call number; null: consent is not checked (doNotContact always is)')),
        timezone: string('text', 'the IANA time zone of contacts whose row names none, e.g. America/New_York'),
        window: object('when contacts may be called, in each contact\'s own time zone', {
          start: string('text', 'HH:MM, inclusive'),
          end: string('text', 'HH:MM, exclusive'),
          days: list(oneOf(weekDays, 'day'), 1, 'days of the week'),
        }),
        maxLines: integer(1, 10_000, 'calls in progress (ringing or talking) at most'),
        ringTimeoutSeconds: integer(5, 120, 'a contact\'s phone rings this long before no-answer'),
        abandonLimitPercent: integer(1, 100, 'the regulator\'s limit on abandoned calls over the window (FTC TSR and Ofcom: 3)'),
        abandonWindowHours: integer(1, 24 * 366, 'the window the abandon rate is measured over: 720 (30 days, TSR) or 24 (Ofcom)'),
        connectSeconds: integer(1, 10, 'a person who answered and found no agent within this long hears the safe-harbour message and the call counts as abandoned (TSR: 2)'),
        safeHarbourPrompt: string('token', 'the recorded message played to an abandoned call (a prompt name: media.prompts)'),
        retries: object('when a contact is called again, by outcome', {
          busy: retryRule('busy'),
          noAnswer: retryRule('no answer'),
          failed: retryRule('a failed call (4xx/5xx other than busy)'),
          machine: retryRule('an answering machine'),
        }),
        amd: object('answering-machine detection on the callee\'s audio', {
          enabled: boolean('detect machines (off: every answer is a person)'),
          onMachine: oneOf(['hangup', 'message'] as const, 'hangup, or leave machineMessage after the beep'),
          machineMessage: nullable(string('token', 'the prompt left on machines (onMachine: message)')),
          initialSilenceMs: integer(500, 10_000, 'silence before anyone speaks this long: a machine'),
          greetingMs: integer(500, 10_000, 'speech going on this long: a machine'),
          afterGreetingSilenceMs: integer(200, 5000, 'silence this long after a short greeting: a person'),
          maxWords: integer(1, 20, 'more words than this in the greeting: a machine'),
          silenceRms: integer(10, 5000, 'frame loudness (RMS, 16-bit) below which it is silence'),
          falsePositivePercent: integer(0, 100, 'the share of machine verdicts estimated to be people hung up on (measure it on your own calls): counted as abandoned calls, as Ofcom requires'),
        }),
        agentless: object('agentless mode', {
          prompt: string('token', 'the message played to whoever answers'),
          transferKey: nullable(oneOf(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const, 'the key that connects to an agent of the queue (null: message only)')),
        }),
        blendWith: list(string('token', 'an inbound queue (acd.queues)'), 0, 'blended mode: inbound queues sharing the campaign\'s agents; the campaign places calls only while none of their waiting callers is forecast (Erlang-A) to wait past its service-level time'),
        autoStart: boolean('start dialing when onecc starts (else: POST /campaigns/<id>/start)'),
      }),
      0,
      'campaigns',
    ),
  }),
  customers: object('customer profiles: every contact belongs to a customer, matched by its identities (phone, email, gateway id, CRM id), with one timeline and cases across channels (src/customers/README.md)', {
    caseIdleHours: integer(1, 8760, 'a contact joins the customer\'s open case if their last contact was within this many hours; else it opens a new case'),
    screenPopInteractions: integer(0, 50, 'the offer to an agent carries the customer\'s latest interactions, this many'),
    retentionDays: integer(0, 36_500, 'a customer with no contact for this many days is erased with everything onecc holds of them (as DELETE /customers/<id>); 0: kept until erased'),
    crmLookup: object('a webhook onecc asks about a contact none of whose identities it knows yet (POST {identities}, answered {crmId, name?, language?} or 404)', {
      url: nullable(string('text', 'the CRM lookup URL (http or https); null: no lookup')),
      timeoutMs: integer(50, 10_000, 'a lookup unanswered this long is skipped (the contact goes on without it)'),
    }),
  }),
  surveys: object('the satisfaction survey by link, where no IVR or chat window asks it: the video page after a call, email follow-ups (/survey/?t=<signed token>)', {
    secret: nullable(string('text', 'key of the HMAC that signs survey links; give every onecc node the same one (null: a random key per start, so links die with a restart and other nodes refuse them)')),
    linkValidDays: integer(1, 365, 'a survey link can be answered for this many days'),
    publicUrl: nullable(string('text', 'where customers reach onecc\'s HTTP listener (https://cc.example.com): links in email and gateway follow-ups start with it; null: follow-ups carry no link')),
  }),
  notifications: object('proactive notifications: business events in (POST /events), messages out on the customers\' channels through webhooks, replies and confirmations back (src/notifications/README.md)', {
    secret: nullable(string('text', 'HMAC key of signed events (POST /events/webhook), of what onecc posts to channel webhooks and business callbacks, and of gateways\' replies and receipts; null: signed requests are refused (401)')),
    apiTokens: list(string('text', 'a bearer token (at least 24 characters)'), 0, 'bearer tokens for POST /events and the dead-letter API'),
    maxSkewSeconds: integer(1, 3600, 'signed requests stamped further from now than this are refused (replays)'),
    defaultLanguage: string('token', 'every template has a text in this language; customers without a language get it'),
    timezone: string('text', 'the customers\' time zone when their profile names none (quiet hours), IANA'),
    webhookTimeoutMs: integer(100, 60_000, 'a channel webhook unanswered this long is a failed try'),
    attemptsPerChannel: integer(1, 10, 'webhook tries per channel (back-off doubling from 1 s) before the next channel'),
    retentionDays: integer(1, 3650, 'notifications (their attempts and outcomes) are kept this long'),
    voice: object('voice notifications: a call through a trunk that runs the rule\'s dialplan', {
      trunk: nullable(string('token', 'the trunk (voice.trunks, with an outboundUri without {source}) calls go out through; null: no voice notifications')),
      callerId: string('text', 'the calling number customers see'),
      ringTimeoutSeconds: integer(5, 120, 'a call unanswered this long is no answer'),
      attempts: integer(1, 10, 'calls per notification (busy, no answer) before the next channel'),
      retryMinutes: integer(1, 1440, 'wait before calling again (doubling with each call)'),
      callsPerSecond: integer(0, 1000, 'calls a second placed through the trunk by all nodes together; more wait for the next second (0: no limit)'),
    }),
    channels: object('where each channel\'s messages are POSTed, signed with secret ({notification, channel, to, text, language, confirm}); null: the channel is not used', {
      sms: object('SMS gateway', { url: nullable(string('text', 'webhook URL')), perSecond: integer(0, 100_000, 'messages a second from all nodes together; more wait for the next second (0: no limit)') }),
      chat: object('messaging apps through the chat connector\'s gateway', { url: nullable(string('text', 'webhook URL')), perSecond: integer(0, 100_000, 'messages a second from all nodes together; more wait for the next second (0: no limit)') }),
      email: object('email gateway', { url: nullable(string('text', 'webhook URL')), perSecond: integer(0, 100_000, 'messages a second from all nodes together; more wait for the next second (0: no limit)') }),
      push: object('push notifications (mobile app backend)', { url: nullable(string('text', 'webhook URL')), perSecond: integer(0, 100_000, 'messages a second from all nodes together; more wait for the next second (0: no limit)') }),
    }),
    rules: list(
      object('one rule: an event type and the notification it makes', {
        id: string('token', 'the rule\'s id (reports, metrics, callbacks)'),
        event: string('token', 'the event type it answers (event.type)'),
        audience: oneOf(['customer', 'segment'] as const, 'customer: each event names one customer; segment: each event names a segment of profiles (language, attributes) and every customer in it is notified, once per event id'),
        payload: list(string('token', 'a payload field'), 0, 'fields the event must carry (strings or numbers); templates may name them'),
        channels: list(oneOf(['voice', 'sms', 'chat', 'email', 'push'] as const, 'a channel'), 1, 'channels in order of preference: the next is tried when one fails or is not confirmed in time (a customer\'s own choice, among these, wins)'),
        priority: integer(0, 9, 'when more notifications are due than can go out at once (a rate limit, a burst), the higher go first'),
        allChannels: boolean('send on every channel at once (one notification each) instead of one after the other'),
        contacts: oneOf(['customer', 'all'] as const, 'customer: the customer alone; all: also each of their notification contacts (profile contacts: "me and my spouse")'),
        templates: record(record(string('text', 'the message, with {{field}} and {{customer.name}}'), 'language → text'), 'channel → language → text (voice: what its dialplan says as ${message})'),
        dialplan: nullable(string('token', 'the dialplan a voice notification runs once answered: it says ${message}, sets the variable answer (yes, no) from the keys pressed, and may queue the customer for an agent')),
        confirm: nullable(object('ask the customer to confirm', {
          waitMinutes: integer(1, 10_080, 'no answer this long: the next channel, or unconfirmed'),
          yes: list(string('text', 'a word'), 1, 'a reply starting with one of these (any case) confirms'),
          no: list(string('text', 'a word'), 1, 'a reply starting with one of these declines'),
        })),
        expiresMinutes: integer(1, 525_600, 'not sent, or no longer waited for, after this long'),
        quietHours: nullable(object('no sends between start and end in the customer\'s time zone (may span midnight): held until end', {
          start: string('text', 'HH:MM'),
          end: string('text', 'HH:MM'),
        })),
        dedupKey: nullable(string('text', 'a template over the payload ({{flight}}): the same key for the same customer within expiresMinutes is sent once')),
        maxPerDay: integer(0, 1000, 'at most this many of the rule\'s notifications per customer per day (UTC); 0: no cap'),
        callbackUrl: nullable(string('text', 'where the business hears each outcome (POST, signed): confirmed, declined, unconfirmed, sent, failed, expired')),
        callReason: nullable(string('token', 'the disposition code (agents.dispositions) of inbound contacts about what this rule tells: customers reached who still contact the centre with it within avoidanceHours are counted, and the report gives the calls avoided; null: not measured')),
        avoidanceHours: integer(1, 720, 'how long after reaching a customer an inbound contact with callReason counts as "called anyway"'),
        followUp: nullable(object('a message sent once the notification ends (e.g. an email with the booking reference after a confirmation)', {
          on: list(oneOf(['sent', 'confirmed', 'declined', 'handed-off', 'unconfirmed'] as const, 'an end'), 1, 'the ends that send it'),
          channel: oneOf(['sms', 'chat', 'email', 'push'] as const, 'the channel it goes on (the customer\'s address there)'),
          templates: record(string('text', 'the text, with {{field}}, {{customer.name}} and {{answer}}'), 'language → text'),
        })),
      }),
      0,
      'notification rules',
    ),
  }),
  reports: object('reports per queue, channel, agent, disposition, campaign and survey touchpoint (GET /reports/..., JSON or CSV; src/reports/README.md)', {
    retentionDays: integer(1, 3650, 'report figures (per quarter hour), survey answers and quality evaluations are kept this long'),
  }),
  quality: object('quality evaluation: supervisors score a recorded call or a chat transcript against a form (POST /quality/evaluations)', {
    forms: list(
      object('a scoring form', {
        id: string('token', 'the form\'s id, named by evaluations'),
        name: string('text', 'what supervisors see'),
        items: list(
          object('one thing scored', {
            id: string('token', 'the item\'s id, named by evaluations\' scores'),
            label: string('text', 'what is scored, in words'),
            max: integer(1, 100, 'scores go from 0 to this'),
            weight: integer(1, 100, 'the item\'s weight in the form\'s total (a percentage of the weighted maximum)'),
          }),
          1,
          'the form\'s items',
        ),
      }),
      0,
      'scoring forms (none: evaluations are refused)',
    ),
  }),
  shutdown: object('what onecc does on SIGTERM', {
    drainSeconds: integer(0, 86_400, 'on SIGTERM onecc stops taking new calls (503; /ready says not ready) and waits this long for the calls in progress to end, then hangs up the rest and exits; a second signal exits at once'),
  }),
  http: object('HTTP listener for /metrics, /health and the admin API', {
    host: string('ip', 'local address to bind (IPv4 or IPv6 literal)'),
    port: port('local port'),
  }),
});

/** The value a schema node describes. */
export type Infer<N> = N extends { readonly nullable: true } ? InferBase<N> | null : InferBase<N>;
type InferBase<N> = N extends IntegerSchema
  ? number
  : N extends EnumSchema<infer V>
    ? V
    : N extends StringSchema
      ? string
      : N extends BooleanSchema
        ? boolean
        : N extends ArraySchema<infer I>
          ? Infer<I>[]
          : N extends RecordSchema<infer V>
            ? Record<string, Infer<V>>
          : N extends ObjectSchema<infer F>
            ? { [K in keyof F]: Infer<F[K]> }
            : never;

export type OneccConfig = Infer<typeof configSchema>;
export type LogLevel = (typeof logLevels)[number];
export type SipTransportName = (typeof sipTransports)[number];
export type SipListenerConfig = OneccConfig['sip']['listen'][number];
export type MediaConfig = OneccConfig['media'];
export type RtpengineConfig = MediaConfig['rtpengines'][number];
export type AcdConfig = OneccConfig['acd'];
export type VoiceConfig = OneccConfig['voice'];
export type TrunkConfig = VoiceConfig['trunks'][number];
export type PhoneConfig = VoiceConfig['phones'][number];
export type AgentsConfig = OneccConfig['agents'];
export type RosterEntry = AgentsConfig['roster'][number];

/** A key path into the configuration, e.g. ['sip', 'listen', 1, 'port']. */
export type ConfigPath = readonly (string | number)[];

/**
 * One thing wrong with a configuration. `also` states the same issue from other keys it involves (t1 vs t2): the
 * error is reported against whichever key was set by the latest source, the one the user most likely just changed.
 */
export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly reason: string;
  readonly also?: readonly { readonly path: ConfigPath; readonly reason: string }[];
}

/** Rules that span several keys; they run only on a configuration whose every key already has the right shape. */
export function crossKeyIssues(config: OneccConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { timers, listen, tls } = config.sip;
  if (timers.t1 >= timers.t2) {
    issues.push({
      path: ['sip', 'timers', 't1'],
      reason: `must be less than sip.timers.t2 (${timers.t2}) (got ${timers.t1})`,
      also: [{ path: ['sip', 'timers', 't2'], reason: `must be greater than sip.timers.t1 (${timers.t1}) (got ${timers.t2})` }],
    });
  }
  const wireTls = config.sip.drachtio.tls;
  if ((wireTls.cert === null) !== (wireTls.key === null)) {
    // Reported against the one that was set: that is the key the user just wrote.
    const [set, missing] = wireTls.cert === null ? ['key', 'cert'] : ['cert', 'key'];
    issues.push({ path: ['sip', 'drachtio', 'tls', set], reason: `needs sip.drachtio.tls.${missing} too: cert and key go together` });
  }
  const seen = new Map<string, number>();
  listen.forEach((l, i) => {
    // Port 0 asks the OS for a free port, so two such entries do not collide.
    const id = `${l.transport} ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
    const first = seen.get(id);
    if (l.port !== 0 && first !== undefined) {
      issues.push({ path: ['sip', 'listen', i], reason: `duplicates sip.listen[${first}] (${id})` });
    }
    seen.set(id, first ?? i);
    if ((l.transport === 'tls' || l.transport === 'wss') && (tls.cert === null || tls.key === null)) {
      issues.push({
        path: ['sip', 'listen', i, 'transport'],
        reason: `a ${l.transport} listener needs sip.tls.cert and sip.tls.key (PEM file paths)`,
        also: [{ path: ['sip', 'tls'], reason: `cert and key are required by the ${l.transport} listener sip.listen[${i}]` }],
      });
    }
  });
  if (config.voice.ringTimeoutSeconds >= config.acd.offerTimeoutSeconds) {
    issues.push({
      path: ['voice', 'ringTimeoutSeconds'],
      reason: `must be below acd.offerTimeoutSeconds (${config.acd.offerTimeoutSeconds}) so that onecc, not the offer timeout, ends an unanswered ring (got ${config.voice.ringTimeoutSeconds})`,
    });
  }
  if (config.acd.redis.sentinels.length > 0 && config.acd.redis.embedded) {
    issues.push({ path: ['acd', 'redis', 'embedded'], reason: 'must be false with acd.redis.sentinels: the Sentinels name the primary, onecc does not start it' });
  }
  config.media.rtpengines.forEach((engine, i) => {
    if (engine.portMin >= engine.portMax) {
      issues.push({ path: ['media', 'rtpengines', i, 'portMax'], reason: `must be above portMin (${engine.portMin}) (got ${engine.portMax})` });
    }
  });
  issues.push(...voiceIssues(config.voice));
  issues.push(...agentsIssues(config));
  issues.push(...qualityIssues(config.quality));
  issues.push(...notificationIssues(config.notifications, config.voice.trunks, config.agents.dispositions));
  const { surveys } = config;
  if (surveys.secret !== null && surveys.secret.length < 16) issues.push({ path: ['surveys', 'secret'], reason: 'must be at least 16 characters: a short key can be guessed' });
  if (surveys.publicUrl !== null && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(surveys.publicUrl)) {
    issues.push({ path: ['surveys', 'publicUrl'], reason: `must be an http or https URL without query (https://cc.example.com); got ${surveys.publicUrl}` });
  }
  return issues;
}

function qualityIssues(quality: OneccConfig['quality']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const forms = new Map<string, number>();
  quality.forms.forEach((form, i) => {
    const first = forms.get(form.id);
    if (first !== undefined) issues.push({ path: ['quality', 'forms', i, 'id'], reason: `duplicates quality.forms[${first}].id (${form.id})` });
    forms.set(form.id, first ?? i);
    const items = new Map<string, number>();
    form.items.forEach((item, j) => {
      const firstItem = items.get(item.id);
      if (firstItem !== undefined) issues.push({ path: ['quality', 'forms', i, 'items', j, 'id'], reason: `duplicates item ${firstItem} of form ${form.id} (${item.id})` });
      items.set(item.id, firstItem ?? j);
    });
  });
  return issues;
}

function agentsIssues(config: OneccConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { agents, acd } = config;
  const ids = new Map<string, number>();
  agents.roster.forEach((agent, i) => {
    const first = ids.get(agent.id);
    if (first !== undefined) issues.push({ path: ['agents', 'roster', i, 'id'], reason: `duplicates agents.roster[${first}].id (${agent.id})` });
    ids.set(agent.id, first ?? i);
    for (const skill of Object.keys(agent.skills)) {
      if (!acd.skills.includes(skill)) issues.push({ path: ['agents', 'roster', i, 'skills', skill], reason: `agent ${agent.id}: unknown skill "${skill}" (acd.skills: ${acd.skills.join(', ')})` });
    }
    agent.languages.forEach((language, j) => {
      if (!acd.languages.includes(language)) issues.push({ path: ['agents', 'roster', i, 'languages', j], reason: `agent ${agent.id}: unknown language "${language}" (acd.languages: ${acd.languages.join(', ')})` });
    });
  });
  const keys = new Map<string, number>();
  agents.apiKeys.forEach((apiKey, i) => {
    const at = ['agents', 'apiKeys', i] as const;
    if (apiKey.key.length < 16) issues.push({ path: [...at, 'key'], reason: 'must be at least 16 characters: a short key can be guessed' });
    const first = keys.get(apiKey.key);
    if (first !== undefined) issues.push({ path: [...at, 'key'], reason: `duplicates agents.apiKeys[${first}].key` });
    keys.set(apiKey.key, first ?? i);
    if (apiKey.role === 'agent' && (apiKey.agent === null || !ids.has(apiKey.agent))) {
      issues.push({ path: [...at, 'agent'], reason: `an agent key needs the id of an agent in agents.roster (got ${apiKey.agent})` });
    } else if (apiKey.role === 'supervisor' && apiKey.agent !== null) {
      issues.push({ path: [...at, 'agent'], reason: 'a supervisor key acts as no agent: use null' });
    }
  });
  if (agents.tokenSecret !== null && agents.tokenSecret.length < 16) {
    issues.push({ path: ['agents', 'tokenSecret'], reason: 'must be at least 16 characters: a short key can be guessed' });
  }
  return issues;
}

function voiceIssues(voice: OneccConfig['voice']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { minExpires, maxExpires, defaultExpires } = voice.registrar;
  if (minExpires > maxExpires) {
    issues.push({ path: ['voice', 'registrar', 'minExpires'], reason: `must not be above maxExpires (${maxExpires}) (got ${minExpires})` });
  } else if (defaultExpires < minExpires || defaultExpires > maxExpires) {
    issues.push({ path: ['voice', 'registrar', 'defaultExpires'], reason: `must be from minExpires (${minExpires}) to maxExpires (${maxExpires}) (got ${defaultExpires})` });
  }
  const trunkNames = new Map<string, number>();
  voice.trunks.forEach((trunk, i) => {
    const first = trunkNames.get(trunk.name);
    if (first !== undefined) issues.push({ path: ['voice', 'trunks', i, 'name'], reason: `duplicates voice.trunks[${first}].name (${trunk.name})` });
    trunkNames.set(trunk.name, first ?? i);
    if ((trunk.username === null) !== (trunk.password === null)) {
      const [set, missing] = trunk.username === null ? ['password', 'username'] : ['username', 'password'];
      issues.push({ path: ['voice', 'trunks', i, set], reason: `needs ${missing} too: username and password go together` });
    } else if (trunk.username === null && trunk.addresses.length === 0) {
      // Such a trunk would match nothing, or, read loosely, everything: refuse it rather than guess.
      issues.push({ path: ['voice', 'trunks', i, 'addresses'], reason: 'a trunk needs addresses, or a username and password' });
    }
  });
  const usernames = new Map<string, number>();
  voice.phones.forEach((phone, i) => {
    const first = usernames.get(phone.username);
    if (first !== undefined) issues.push({ path: ['voice', 'phones', i, 'username'], reason: `duplicates voice.phones[${first}].username (${phone.username})` });
    usernames.set(phone.username, first ?? i);
  });
  return issues;
}

function notificationIssues(n: OneccConfig['notifications'], trunks: OneccConfig['voice']['trunks'], dispositions: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (n.voice.trunk !== null) {
    const trunk = trunks.find((t) => t.name === n.voice.trunk);
    if (trunk === undefined) issues.push({ path: ['notifications', 'voice', 'trunk'], reason: `no trunk "${n.voice.trunk}" in voice.trunks` });
    else if (trunk.outboundUri === null || trunk.outboundUri.includes('{source}')) issues.push({ path: ['notifications', 'voice', 'trunk'], reason: `trunk "${trunk.name}" needs an outboundUri without {source} to place calls` });
  }
  n.apiTokens.forEach((token, i) => {
    if (token.length < 24) issues.push({ path: ['notifications', 'apiTokens', i], reason: 'must be at least 24 characters: a short token can be guessed' });
  });
  if (n.secret !== null && n.secret.length < 16) issues.push({ path: ['notifications', 'secret'], reason: 'must be at least 16 characters: a short key can be guessed' });
  if (!isTimeZone(n.timezone)) issues.push({ path: ['notifications', 'timezone'], reason: `must be an IANA time zone (Europe/London); got ${n.timezone}` });
  for (const [channel, { url }] of Object.entries(n.channels)) {
    if (url !== null && !HTTP_URL.test(url)) issues.push({ path: ['notifications', 'channels', channel, 'url'], reason: `must be an http or https URL; got ${url}` });
  }
  const ids = new Map<string, number>();
  n.rules.forEach((rule, i) => {
    const at = ['notifications', 'rules', i] as const;
    const first = ids.get(rule.id);
    if (first !== undefined) issues.push({ path: [...at, 'id'], reason: `duplicates notifications.rules[${first}].id (${rule.id})` });
    ids.set(rule.id, first ?? i);
    // Every template renders: each variable is a payload field of the rule or a customer field.
    const known = new Set<string>([...rule.payload, ...NOTIFICATION_CUSTOMER_VARIABLES]);
    for (const channel of rule.channels) {
      if (rule.templates[channel]?.[n.defaultLanguage] === undefined) issues.push({ path: [...at, 'templates', channel], reason: `rule ${rule.id}: channel ${channel} needs a template in ${n.defaultLanguage} (notifications.defaultLanguage)` });
    }
    for (const [channel, texts] of Object.entries(rule.templates)) {
      for (const [language, text] of Object.entries(texts)) {
        for (const name of templateVariables(text)) {
          if (!known.has(name)) issues.push({ path: [...at, 'templates', channel, language], reason: `rule ${rule.id}: {{${name}}} is neither a payload field (${rule.payload.join(', ') || 'none'}) nor ${NOTIFICATION_CUSTOMER_VARIABLES.join(' or ')}` });
        }
      }
    }
    if (rule.followUp !== null) {
      if (rule.followUp.templates[n.defaultLanguage] === undefined) issues.push({ path: [...at, 'followUp', 'templates'], reason: `rule ${rule.id}: the follow-up needs a text in ${n.defaultLanguage}` });
      for (const [language, text] of Object.entries(rule.followUp.templates)) {
        for (const name of templateVariables(text)) {
          if (!known.has(name) && name !== 'answer') issues.push({ path: [...at, 'followUp', 'templates', language], reason: `rule ${rule.id}: {{${name}}} is neither a payload field (${rule.payload.join(', ') || 'none'}), ${NOTIFICATION_CUSTOMER_VARIABLES.join(', ')} nor answer` });
        }
      }
    }
    for (const name of rule.dedupKey === null ? [] : templateVariables(rule.dedupKey)) {
      if (!rule.payload.includes(name)) issues.push({ path: [...at, 'dedupKey'], reason: `rule ${rule.id}: {{${name}}} is not a payload field (${rule.payload.join(', ') || 'none'})` });
    }
    for (const channel of Object.keys(rule.templates)) {
      if (!(rule.channels as readonly string[]).includes(channel)) issues.push({ path: [...at, 'templates', channel], reason: `rule ${rule.id} has no channel ${channel} (channels: ${rule.channels.join(', ')})` });
    }
    for (const key of ['start', 'end'] as const) {
      const hhmm = rule.quietHours?.[key];
      if (hhmm !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(hhmm)) issues.push({ path: [...at, 'quietHours', key], reason: `must be HH:MM (00:00-23:59); got ${hhmm}` });
    }
    if (rule.channels.includes('voice') && rule.dialplan === null) issues.push({ path: [...at, 'dialplan'], reason: `rule ${rule.id} has a voice channel: name the dialplan its calls run` });
    if (rule.channels.includes('voice') && n.voice.trunk === null) issues.push({ path: [...at, 'channels'], reason: `rule ${rule.id} has a voice channel: set notifications.voice.trunk` });
    if (rule.callReason !== null && !dispositions.includes(rule.callReason)) issues.push({ path: [...at, 'callReason'], reason: `rule ${rule.id}: "${rule.callReason}" is not a disposition code (agents.dispositions: ${dispositions.join(', ')})` });
    if (rule.callbackUrl !== null && !HTTP_URL.test(rule.callbackUrl)) issues.push({ path: [...at, 'callbackUrl'], reason: `must be an http or https URL; got ${rule.callbackUrl}` });
  });
  return issues;
}

/** Customer fields a notification template may name (src/notifications fills them in). */
export const NOTIFICATION_CUSTOMER_VARIABLES = ['customer.name', 'customer.id'] as const;

const HTTP_URL = /^https?:\/\/[^\s/?#]+(\/\S*)?$/;

