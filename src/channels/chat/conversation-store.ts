import Redis from 'ioredis';
import type { ChatFeedEvent, ChatMessageView } from '../../agents/index';
import { redisConnectionOptions, type Logger, type RedisTarget } from '../../lib/index';

/** A chat conversation's state, beside its transcript. */
export interface Conversation {
  readonly id: string;
  /** web (the chat page), or the connector's channel name (whatsapp, line, sms...). */
  readonly source: string;
  /** The gateway's id for the conversation (connector conversations). */
  readonly externalId: string | null;
  readonly customer: { readonly id: string; readonly name: string };
  /** What the customer said they are (checked identities: email:..., phone:..., connector:...), for their profile. */
  readonly identities?: readonly string[];
  readonly queue: string;
  /** SHA-256 of the customer's resume token (web). */
  readonly tokenHash: string | null;
  readonly startedAt: number;
  taskId: string;
  agentId: string | null;
  state: 'open' | 'closed';
  csat: number | null;
  /** The closing survey's other answers (absent in conversations stored before they were asked). */
  nps?: number | null;
  comment?: string | null;
  surveyedAt?: number;
  /** Attributes the agent's screen pop shows. */
  readonly attributes: Record<string, string>;
}

/** What travels between onecc nodes about conversations (Redis pub/sub): to an agent, or to a customer's socket. */
export type ChatBusMessage =
  | { readonly to: 'agent'; readonly agentId: string; readonly event: ChatFeedEvent; readonly at: number }
  | { readonly to: 'customer'; readonly conversation: string; readonly frame: Record<string, unknown> };

/** KEYS: the transcript stream, its hash of client ids -> stream ids. ARGV: client id ('' none), message JSON, TTL. */
const APPEND_ONCE_LUA = `
if ARGV[1] ~= '' then
  local known = redis.call('HGET', KEYS[2], ARGV[1])
  if known then return {0, known} end
end
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], id)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return {1, id}`;

/**
 * Conversations in Redis, shared by every onecc node and surviving restarts: each conversation's state (a JSON
 * value), its transcript (a stream: ids are ordered, and what read receipts name), an index by the gateway's
 * conversation id and by ACD task, and a pub/sub channel that carries events to whichever node holds the agent's feed
 * or the customer's socket.
 */
export class ConversationStore {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #retentionSeconds: number;

  constructor(redis: RedisTarget, keyTag: string, retentionDays: number, private readonly logger: Logger) {
    const options = { ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.#redis = new Redis(options);
    this.#subscriber = new Redis(options);
    for (const r of [this.#redis, this.#subscriber]) r.on('error', (err) => logger.debug({ err: err.message }, 'chat: Redis connection error'));
    this.#prefix = `{${keyTag}}:chat`;
    this.#channel = `${this.#prefix}:bus`;
    this.#retentionSeconds = retentionDays * 86_400;
  }

  async save(conversation: Conversation): Promise<void> {
    const multi = this.#redis.multi().set(this.#key(conversation.id), JSON.stringify(conversation), 'EX', this.#retentionSeconds)
      .set(`${this.#prefix}:task:${conversation.taskId}`, conversation.id, 'EX', this.#retentionSeconds);
    if (conversation.externalId !== null) multi.set(this.#externalKey(conversation.source, conversation.externalId), conversation.id, 'EX', this.#retentionSeconds);
    await multi.exec();
  }

  async get(id: string): Promise<Conversation | undefined> {
    const row = await this.#redis.get(this.#key(id));
    return row === null ? undefined : (JSON.parse(row) as Conversation);
  }

  async byTask(taskId: string): Promise<Conversation | undefined> {
    const id = await this.#redis.get(`${this.#prefix}:task:${taskId}`);
    return id === null ? undefined : this.get(id);
  }

  /** The open conversation a gateway names, if any. */
  async byExternal(source: string, externalId: string): Promise<Conversation | undefined> {
    const id = await this.#redis.get(this.#externalKey(source, externalId));
    const conversation = id === null ? undefined : await this.get(id);
    return conversation?.state === 'open' ? conversation : undefined;
  }

  /**
   * Appends a message to the transcript; returns it with its stream id. With a `clientId` (the sender's own id for
   * the message) a resend — after a lost ack, a reconnect, another node — is recognised: the message stored the first
   * time comes back with `duplicate`, and the transcript keeps it once.
   */
  async append(id: string, message: Omit<ChatMessageView, 'id'>, clientId?: string): Promise<ChatMessageView & { duplicate?: true }> {
    const key = `${this.#key(id)}:messages`;
    const [added, streamId] = (await this.#redis.eval(APPEND_ONCE_LUA, 2, key, `${key}:client-ids`, clientId ?? '', JSON.stringify(message), this.#retentionSeconds)) as [number, string];
    if (added === 1) return { id: streamId, ...message };
    const [stored] = await this.#redis.xrange(key, streamId, streamId);
    return { id: streamId, ...(stored ? (JSON.parse(stored[1][1]!) as Omit<ChatMessageView, 'id'>) : message), duplicate: true };
  }

  /** The transcript, oldest first; only messages after `afterId` when given. */
  async transcript(id: string, afterId?: string): Promise<ChatMessageView[]> {
    const entries = await this.#redis.xrange(`${this.#key(id)}:messages`, afterId ? `(${afterId}` : '-', '+');
    return entries.map(([streamId, fields]) => ({ id: streamId, ...(JSON.parse(fields[1]!) as Omit<ChatMessageView, 'id'>) }));
  }

  /** Erases a conversation: its record, transcript and indexes (a customer's data deletion). */
  async erase(id: string): Promise<void> {
    const conversation = await this.get(id);
    const keys = [this.#key(id), `${this.#key(id)}:messages`, `${this.#key(id)}:messages:client-ids`];
    if (conversation) {
      keys.push(`${this.#prefix}:task:${conversation.taskId}`);
      if (conversation.externalId !== null) keys.push(this.#externalKey(conversation.source, conversation.externalId));
    }
    await this.#redis.del(...keys);
  }

  /** Sends to every node (this one included). */
  async publish(message: ChatBusMessage): Promise<void> {
    await this.#redis.publish(this.#channel, JSON.stringify(message));
  }

  async subscribe(handler: (message: ChatBusMessage) => void): Promise<void> {
    this.#subscriber.on('message', (_channel: string, text: string) => {
      try {
        handler(JSON.parse(text) as ChatBusMessage);
      } catch (err) {
        this.logger.warn({ err }, 'chat: bad bus message');
      }
    });
    await this.#subscriber.subscribe(this.#channel);
  }

  close(): void {
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  #key(id: string): string {
    return `${this.#prefix}:${id}`;
  }

  #externalKey(source: string, externalId: string): string {
    return `${this.#prefix}:external:${source}:${externalId}`;
  }
}
