import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AcdEngine, AcdEvent } from '../../acd/index';
import { TaskControlError, type ChatAttachment, type ChatControls, type ChatFeedEvent, type ChatMessageView } from '../../agents/index';
import type { OneccConfig } from '../../config/index';
import { identity, type IdentityKind } from '../../customers/index';
import { checkWebhookSignature, randomId, signWebhook, type Logger } from '../../lib/index';
import type { ReportRecorder } from '../../reports/index';
import type { InteractionRecord, InteractionRecords } from '../interaction-records';
import { MAX_COMMENT_CHARS, type SurveyLinks } from '../survey/index';
import type { ChatBusMessage, Conversation, ConversationStore } from './conversation-store';

export type ChatConfig = OneccConfig['chat'];

type Frame = Record<string, unknown>;
type Answer = { status: number; body: unknown };

/** A customer message, checked: text within the byte limit, attachments as http(s) links. */
class BadMessage extends Error {}

/** A web visitor who gave no name. */
const ANONYMOUS = 'Web visitor';

/**
 * Chat: customers on the chat page (/chat/, WebSocket /chat/ws, protocol in docs/chat.md) and on messaging gateways
 * (the connector API: signed webhooks in, a webhook out) hold conversations that are ACD tasks of channel `chat`
 * (email threads: `email`), offered to agents within their chat capacity; agents answer through the agent feed
 * (ChatControls). Transcripts live in Redis streams, so a conversation survives a restart of onecc and may move
 * between nodes: events travel over Redis pub/sub to the node holding the agent's feed or the customer's socket.
 */
export class ChatChannel implements ChatControls {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  /** Customers' sockets on this node, by conversation. */
  readonly #sockets = new Map<string, Set<WebSocket>>();
  readonly #listeners = new Set<(agentId: string, event: ChatFeedEvent, at: number) => void>();
  readonly #log: Logger;
  readonly #onAcdEvent = (event: AcdEvent) => void this.#acdEvent(event).catch((err: unknown) => this.#log.warn({ err }, 'chat: ACD event not handled'));

  constructor(
    private readonly options: {
      readonly config: ChatConfig;
      readonly acd: AcdEngine;
      readonly store: ConversationStore;
      readonly records: InteractionRecords;
      /** Transfers are reported here. */
      readonly reports?: ReportRecorder;
      /** Survey links for the customer's follow-up (an email thread, a gateway conversation). */
      readonly surveyLinks?: SurveyLinks;
      readonly logger: Logger;
    },
  ) {
    this.#log = options.logger.child({ component: 'chat' });
  }

  async start(): Promise<void> {
    await this.options.store.subscribe((message) => this.#fromBus(message));
    this.options.acd.on('event', this.#onAcdEvent);
  }

  /** Closes the customers' sockets (they resume on another node or after the restart). */
  async stop(): Promise<void> {
    this.options.acd.off('event', this.#onAcdEvent);
    for (const ws of this.#wss.clients) ws.close(1001, 'onecc is shutting down');
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.options.store.close();
  }

  subscribe(listener: (agentId: string, event: ChatFeedEvent, at: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- the agent's side (ChatControls, through the agent feed) --------------------------------------------------

  async send(taskId: string, agentId: string, message: { readonly text: string; readonly attachments: readonly ChatAttachment[] }): Promise<ChatMessageView> {
    const conversation = await this.#handledBy(taskId, agentId);
    const stored = await this.options.store.append(conversation.id, { from: 'agent', agentId, text: message.text, attachments: [...message.attachments], at: Date.now() });
    await this.#toCustomer(conversation, { type: 'message', message: stored });
    return stored;
  }

  async typing(taskId: string, agentId: string): Promise<void> {
    await this.#toCustomer(await this.#handledBy(taskId, agentId), { type: 'typing', from: 'agent' });
  }

  async read(taskId: string, agentId: string, upTo: string): Promise<void> {
    await this.#toCustomer(await this.#handledBy(taskId, agentId), { type: 'receipt', receipt: 'read', upTo });
  }

  async transcript(taskId: string): Promise<readonly ChatMessageView[]> {
    const conversation = await this.options.store.byTask(taskId);
    if (conversation === undefined) throw new TaskControlError('not-found', `no conversation for task ${taskId}`);
    return this.options.store.transcript(conversation.id);
  }

  /** The chat ends: the customer is told and asked the CSAT question; the record is written. */
  async #end(conversation: Conversation, by: string): Promise<void> {
    conversation.state = 'closed';
    await this.options.store.save(conversation);
    const ended = await this.options.store.append(conversation.id, { from: 'system', text: `The chat was ended by ${by}.`, attachments: [], at: Date.now() });
    await this.#toCustomer(conversation, { type: 'message', message: ended });
    const surveyUrl = this.options.surveyLinks?.url(conversation.id) ?? null;
    await this.#toCustomer(conversation, { type: 'ended', csatQuestion: this.options.config.csatQuestion, ...(surveyUrl !== null ? { surveyUrl } : {}) });
    await this.#record(conversation, 'closed');
  }

  async close(taskId: string, agentId: string): Promise<void> {
    const conversation = await this.#handledBy(taskId, agentId);
    await this.#end(conversation, 'the agent');
  }

  /**
   * To a queue, or to an agent (offered to them at once; declined, it stays in the conversation's queue): a new task
   * carries the conversation (and so its transcript); the agent's task is completed.
   */
  async transfer(taskId: string, agentId: string, to: { readonly agent: string } | { readonly queue: string }): Promise<void> {
    const { acd, store } = this.options;
    if ('queue' in to && !acd.settings.queues.some((q) => q.name === to.queue)) throw new TaskControlError('not-found', `no queue ${to.queue}`);
    const conversation = await this.#handledBy(taskId, agentId);
    const old = acd.task(taskId);
    const next = await acd.enqueue({
      channel: old.channel,
      queue: 'queue' in to ? to.queue : old.queue,
      priority: old.priority,
      attributes: { ...old.attributes, transferredBy: agentId },
      ...('agent' in to ? { offerTo: to.agent } : {}),
    });
    if ('agent' in to && next.offer?.agentId !== to.agent) {
      await acd.abandon(next.id, 'transfer-refused').catch(() => undefined);
      throw new TaskControlError('invalid-state', `${to.agent} cannot take a ${old.channel} now (not ready, or no free slot)`);
    }
    conversation.taskId = next.id;
    conversation.agentId = null;
    await store.save(conversation);
    await this.options.reports?.transfer(Date.now(), old.queue, old.channel);
    const note = await store.append(conversation.id, { from: 'system', text: 'You are being transferred to another agent.', attachments: [], at: Date.now() });
    await this.#toCustomer(conversation, { type: 'message', message: note });
    await acd.complete(taskId);
  }

  // ---- customers on the chat page -----------------------------------------------------------------------------

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onCustomer(ws));
  }

  #onCustomer(ws: WebSocket): void {
    let conversationId: string | undefined;
    let queue = Promise.resolve();
    const send = (frame: Frame): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      queue = queue.then(async () => {
        let frame: Frame;
        try {
          if (isBinary) throw new Error('frames are JSON text');
          const parsed: unknown = JSON.parse(data.toString());
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a frame is a JSON object');
          frame = parsed as Frame;
        } catch (err) {
          return send({ type: 'error', code: 'bad-frame', message: (err as Error).message });
        }
        try {
          if (frame.type === 'start' || frame.type === 'resume') {
            if (conversationId !== undefined) return send({ type: 'error', code: 'bad-frame', message: 'this socket already holds a conversation' });
            conversationId = frame.type === 'start' ? await this.#start(frame, send) : await this.#resume(frame, send);
            if (conversationId !== undefined) this.#attach(conversationId, ws);
            return;
          }
          if (conversationId === undefined) return send({ type: 'error', code: 'not-started', message: 'send start or resume first' });
          await this.#fromCustomer(conversationId, frame, send);
        } catch (err) {
          const clientId = typeof frame.clientId === 'string' ? { clientId: frame.clientId } : {};
          if (err instanceof BadMessage) return send({ type: 'error', code: 'bad-message', message: err.message, ...clientId });
          this.#log.warn({ err }, 'chat: customer frame failed');
          // With its clientId, the page knows which message to send again (a resend is stored once).
          send({ type: 'error', code: 'unavailable', message: 'onecc could not take that; try again', ...clientId });
        }
      });
    });
    ws.on('close', () => conversationId !== undefined && this.#sockets.get(conversationId)?.delete(ws));
    ws.on('error', () => undefined);
  }

  async #start(frame: Frame, send: (frame: Frame) => void): Promise<string> {
    const name = typeof frame.name === 'string' && frame.name.trim() !== '' ? frame.name.trim().slice(0, 80) : ANONYMOUS;
    const attributes: Record<string, string> = { caller: name };
    for (const key of ['email', 'phone', 'topic', 'language'] as const) if (typeof frame[key] === 'string' && frame[key] !== '') attributes[key] = (frame[key] as string).slice(0, 200);
    // What the customer says they are links the chat to their profile: checked, never guessed.
    const identities = (['email', 'phone'] as const).flatMap((kind) => (attributes[kind] === undefined ? [] : [checkedIdentity(kind, attributes[kind]!)]));
    const token = randomBytes(24).toString('base64url');
    const conversation = await this.#open('web', null, { id: `web-${randomId()}`, name }, this.options.config.queue, attributes, hash(token), 'chat', identities);
    send({ type: 'started', conversation: conversation.id, token });
    return conversation.id;
  }

  async #resume(frame: Frame, send: (frame: Frame) => void): Promise<string | undefined> {
    const conversation = typeof frame.conversation === 'string' ? await this.options.store.get(frame.conversation) : undefined;
    if (conversation === undefined || typeof frame.token !== 'string' || conversation.tokenHash === null || !sameHash(conversation.tokenHash, hash(frame.token))) {
      send({ type: 'error', code: 'not-found', message: 'no such conversation (or a wrong token)' });
      return undefined;
    }
    const after = typeof frame.after === 'string' ? frame.after : undefined;
    send({ type: 'resumed', conversation: conversation.id, state: conversation.state, messages: await this.options.store.transcript(conversation.id, after) });
    return conversation.id;
  }

  async #fromCustomer(id: string, frame: Frame, send: (frame: Frame) => void): Promise<void> {
    const conversation = await this.options.store.get(id);
    if (conversation === undefined) return send({ type: 'error', code: 'not-found', message: 'the conversation is gone' });
    switch (frame.type) {
      case 'message': {
        if (conversation.state !== 'open') return send({ type: 'error', code: 'closed', message: 'the chat has ended' });
        const message = await this.#customerMessage(conversation, frame);
        return send({ type: 'ack', message, ...(typeof frame.clientId === 'string' ? { clientId: frame.clientId } : {}) });
      }
      case 'typing':
        return this.#toAgent(conversation, { type: 'chat-typing', taskId: conversation.taskId, from: 'customer' });
      case 'read':
        if (typeof frame.upTo !== 'string') throw new BadMessage('upTo: a message id');
        return this.#toAgent(conversation, { type: 'chat-receipt', taskId: conversation.taskId, receipt: 'read', upTo: frame.upTo });
      case 'csat': {
        const { score, nps, comment } = frame;
        if (!Number.isInteger(score) || (score as number) < 1 || (score as number) > 5) throw new BadMessage('score: 1 to 5');
        if (nps !== undefined && (!Number.isInteger(nps) || (nps as number) < 0 || (nps as number) > 10)) throw new BadMessage('nps: 0 to 10');
        if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT_CHARS)) throw new BadMessage(`comment: text of at most ${MAX_COMMENT_CHARS} characters`);
        conversation.csat = score as number;
        conversation.nps = (nps as number | undefined) ?? null;
        conversation.comment = typeof comment === 'string' && comment.trim() !== '' ? comment.trim() : null;
        conversation.surveyedAt = Date.now();
        await this.options.store.save(conversation);
        await this.#record(conversation, 'closed');
        return send({ type: 'thanks' });
      }
      default:
        throw new BadMessage(`unknown type ${JSON.stringify(frame.type)} (start, resume, message, typing, read, csat)`);
    }
  }

  /** A customer's message, checked, stored and passed to the agent handling the conversation. */
  async #customerMessage(conversation: Conversation, frame: Frame): Promise<ChatMessageView> {
    const { text, attachments } = this.#checked(frame);
    return this.#fromCustomerOnce(conversation, { text, attachments }, frame.clientId);
  }

  /**
   * Stores a customer's message and shows it to the agent, once per sender's id (`clientId` from the chat page,
   * `messageId` from a gateway): a resend after a lost ack or a retried webhook gets the stored message back.
   */
  async #fromCustomerOnce(conversation: Conversation, content: { text: string; attachments: ChatAttachment[] }, senderId: unknown): Promise<ChatMessageView> {
    const clientId = typeof senderId === 'string' && senderId.length > 0 ? senderId.slice(0, 128) : undefined;
    const { duplicate, ...message } = await this.options.store.append(conversation.id, { from: 'customer', ...content, at: Date.now() }, clientId);
    if (!duplicate) await this.#toAgent(conversation, { type: 'chat-message', taskId: conversation.taskId, message });
    return message;
  }

  #checked(frame: Frame): { text: string; attachments: ChatAttachment[] } {
    const { maxMessageBytes, maxAttachments } = this.options.config;
    const text = typeof frame.text === 'string' ? frame.text : '';
    if (Buffer.byteLength(text) > maxMessageBytes) throw new BadMessage(`text: at most ${maxMessageBytes} bytes`);
    const raw = frame.attachments ?? [];
    if (!Array.isArray(raw)) throw new BadMessage('attachments: a list of {url, name, type}');
    if (raw.length > maxAttachments) throw new BadMessage(`attachments: at most ${maxAttachments}`);
    const attachments = raw.map((a: unknown, i: number) => {
      const item = a as Record<string, unknown>;
      if (typeof item !== 'object' || item === null || typeof item.url !== 'string' || !/^https?:\/\/\S+$/.test(item.url) || item.url.length > 2048) {
        throw new BadMessage(`attachments[${i}].url: an http(s) link`);
      }
      return { url: item.url, ...(typeof item.name === 'string' ? { name: item.name.slice(0, 256) } : {}), ...(typeof item.type === 'string' ? { type: item.type.slice(0, 128) } : {}) };
    });
    if (text.trim() === '' && attachments.length === 0) throw new BadMessage('a message needs text or attachments');
    return { text, attachments };
  }

  // ---- gateways: the connector API ----------------------------------------------------------------------------

  /**
   * POST /chat/connector/messages (a customer's message, typing or read receipt from a gateway) and
   * /chat/connector/email (an email that becomes a task carrying its thread). Signed: X-Onecc-Timestamp (seconds)
   * and X-Onecc-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">; anything else is 401.
   */
  async connector(rest: string, body: Buffer, req: IncomingMessage): Promise<Answer> {
    const { connector } = this.options.config;
    if (connector.secret === null) return { status: 401, body: { error: 'the connector API is off (chat.connector.secret)' } };
    const refused = checkWebhookSignature(connector.secret, req.headers['x-onecc-timestamp'], req.headers['x-onecc-signature'], body, connector.maxSkewSeconds);
    if (refused !== undefined) return { status: 401, body: { error: refused } };
    let payload: Frame;
    try {
      payload = JSON.parse(body.toString('utf8')) as Frame;
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Error('not an object');
    } catch {
      return { status: 400, body: { error: 'the body must be a JSON object' } };
    }
    try {
      if (rest === 'messages') return await this.#connectorMessage(payload);
      if (rest === 'email') return await this.#connectorEmail(payload);
      return { status: 404, body: { error: 'POST /chat/connector/messages or /chat/connector/email' } };
    } catch (err) {
      if (err instanceof BadMessage) return { status: 400, body: { error: err.message } };
      throw err;
    }
  }

  async #connectorMessage(payload: Frame): Promise<Answer> {
    const channel = payload.channel;
    const external = payload.conversation;
    const from = payload.from as Frame | undefined;
    if (typeof channel !== 'string' || !/^[a-z0-9-]{1,32}$/.test(channel)) throw new BadMessage('channel: the gateway\'s name (a-z, 0-9, -)');
    if (typeof external !== 'string' || external === '' || external.length > 200) throw new BadMessage('conversation: the gateway\'s conversation id');
    let conversation = await this.options.store.byExternal(channel, external);
    const type = payload.type ?? 'message';
    if (type !== 'message') {
      if (conversation === undefined) return { status: 404, body: { error: `no open conversation ${external}` } };
      if (type === 'typing') await this.#toAgent(conversation, { type: 'chat-typing', taskId: conversation.taskId, from: 'customer' });
      else if (type === 'read' && typeof payload.upTo === 'string') await this.#toAgent(conversation, { type: 'chat-receipt', taskId: conversation.taskId, receipt: 'read', upTo: payload.upTo });
      else throw new BadMessage('type: message, typing or read (with upTo)');
      return { status: 200, body: { conversation: conversation.id } };
    }
    const checked = this.#checked(payload);
    if (conversation === undefined) {
      if (typeof from?.id !== 'string' || from.id === '') throw new BadMessage('from.id: who the customer is on the gateway');
      const queue = typeof payload.queue === 'string' && this.options.acd.settings.queues.some((q) => q.name === payload.queue) ? payload.queue : this.options.config.queue;
      const name = typeof from.name === 'string' ? from.name.slice(0, 80) : from.id;
      const identities = [checkedIdentity('connector', `${channel}:${from.id}`), ...(['phone', 'email'] as const).flatMap((kind) => (typeof from[kind] === 'string' ? [checkedIdentity(kind, from[kind] as string)] : []))];
      conversation = await this.#open(channel, external, { id: from.id, name }, queue, { caller: name, customerId: from.id, source: channel }, null, 'chat', identities);
    }
    const message = await this.#fromCustomerOnce(conversation, checked, payload.messageId);
    return { status: 200, body: { conversation: conversation.id, message } };
  }

  async #connectorEmail(payload: Frame): Promise<Answer> {
    const thread = payload.thread;
    const from = payload.from as Frame | undefined;
    if (typeof thread !== 'string' || thread === '' || thread.length > 200) throw new BadMessage('thread: the email thread id');
    if (typeof from?.id !== 'string' || !from.id.includes('@')) throw new BadMessage('from.id: the sender\'s address');
    const subject = typeof payload.subject === 'string' ? payload.subject.slice(0, 200) : '';
    const checked = this.#checked(payload);
    let conversation = await this.options.store.byExternal('email', thread);
    if (conversation === undefined) {
      const name = typeof from.name === 'string' ? from.name.slice(0, 80) : from.id;
      conversation = await this.#open('email', thread, { id: from.id, name }, this.options.config.queue, { caller: from.id, name, subject, thread }, null, 'email', [checkedIdentity('email', from.id)]);
    }
    const message = await this.#fromCustomerOnce(conversation, checked, payload.messageId);
    return { status: 200, body: { conversation: conversation.id, taskId: conversation.taskId, message } };
  }

  // ---- plumbing ---------------------------------------------------------------------------------------------------

  async #open(
    source: string, externalId: string | null, customer: { id: string; name: string }, queue: string, attributes: Record<string, string>, tokenHash: string | null,
    channel: 'chat' | 'email', identities: string[],
  ): Promise<Conversation> {
    const id = `${channel === 'email' ? 'email' : 'chat'}-${randomId()}`;
    const conversation: Conversation = {
      id, source, externalId, customer, identities, queue, tokenHash, startedAt: Date.now(), taskId: '', agentId: null, state: 'open', csat: null, attributes,
    };
    // The record first: it links the customer, whom the agent's offer shows.
    await this.#record(conversation);
    conversation.taskId = (await this.options.acd.enqueue({ channel, queue, attributes: { ...attributes, conversation: id, interaction: id } })).id;
    await this.options.store.save(conversation);
    this.#log.info({ conversation: id, source, taskId: conversation.taskId }, 'conversation started');
    return conversation;
  }

  async #acdEvent(event: AcdEvent): Promise<void> {
    if (!('task' in event) || (event.task.channel !== 'chat' && event.task.channel !== 'email')) return;
    // Every node sees every event; the node that made the change acts on it.
    if (event.type !== 'task-accepted' || event.node !== this.options.acd.nodeId) return;
    const conversation = await this.options.store.byTask(event.task.id);
    if (conversation === undefined || conversation.taskId !== event.task.id) return;
    conversation.agentId = event.agent.id;
    await this.options.store.save(conversation);
    await this.#toCustomer(conversation, { type: 'agent-joined', agentId: event.agent.id });
  }

  /** The conversation's task, handled by this agent (the ACD says who handles it); else forbidden. */
  async #handledBy(taskId: string, agentId: string): Promise<Conversation> {
    const conversation = await this.options.store.byTask(taskId);
    if (conversation === undefined) throw new TaskControlError('not-found', `no conversation for task ${taskId}`);
    const task = liveTask(this.options.acd, taskId);
    const handler = task === undefined ? conversation.agentId : task.state === 'assigned' ? task.agentId : undefined;
    if (conversation.taskId !== taskId || handler !== agentId) throw new TaskControlError('forbidden', `conversation ${conversation.id} is not yours`);
    if (conversation.state !== 'open') throw new TaskControlError('invalid-state', 'the chat has ended');
    return conversation;
  }

  async #toAgent(conversation: Conversation, event: ChatFeedEvent): Promise<void> {
    const agentId = this.#agentOf(conversation);
    if (agentId === null) return; // not taken yet: the agent reads the transcript on accepting it
    await this.options.store.publish({ to: 'agent', agentId, event, at: Date.now() });
  }

  /**
   * Who handles (or is offered: they see it coming in) the conversation now: the ACD's word (its replica on every
   * node), the stored one after the task ended.
   */
  #agentOf(conversation: Conversation): string | null {
    try {
      const task = this.options.acd.task(conversation.taskId);
      return task.state === 'assigned' ? (task.agentId ?? null) : task.state === 'offered' ? (task.offer?.agentId ?? null) : null;
    } catch {
      return conversation.agentId;
    }
  }

  async #toCustomer(conversation: Conversation, frame: Frame): Promise<void> {
    if (conversation.source === 'web') return this.options.store.publish({ to: 'customer', conversation: conversation.id, frame });
    if (conversation.externalId !== null) void this.#webhook(conversation, frame);
  }

  #fromBus(message: ChatBusMessage): void {
    if (message.to === 'agent') {
      for (const listener of this.#listeners) listener(message.agentId, message.event, message.at);
      return;
    }
    const sockets = this.#sockets.get(message.conversation);
    if (!sockets || sockets.size === 0) return;
    const text = JSON.stringify(message.frame);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
    // Delivered to the customer's page: the agent sees a delivery receipt.
    const delivered = message.frame.type === 'message' ? (message.frame.message as ChatMessageView) : undefined;
    if (delivered?.from === 'agent' && delivered.agentId) {
      void this.options.store.get(message.conversation).then((c) => c && this.#toAgent(c, { type: 'chat-receipt', taskId: c.taskId, receipt: 'delivered', upTo: delivered.id }));
    }
  }

  #attach(id: string, ws: WebSocket): void {
    let set = this.#sockets.get(id);
    if (set === undefined) this.#sockets.set(id, (set = new Set()));
    set.add(ws);
  }

  /** Sends an agent's message (or typing, receipt, end) to the gateway, signed, retried with back-off. */
  async #webhook(conversation: Conversation, frame: Frame): Promise<void> {
    const { connector } = this.options.config;
    if (connector.outboundUrl === null || connector.secret === null) return;
    const body = JSON.stringify({ ...frame, channel: conversation.source, conversation: conversation.externalId, customer: conversation.customer.id });
    for (let attempt = 1; attempt <= connector.attempts; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(connector.outboundUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-onecc-timestamp': timestamp, 'x-onecc-signature': signWebhook(connector.secret, timestamp, body) },
          body,
          signal: AbortSignal.timeout(connector.timeoutMs),
        });
        if (res.ok) return;
        this.#log.warn({ status: res.status, attempt, conversation: conversation.id }, 'chat: outbound webhook refused the message');
      } catch (err) {
        this.#log.warn({ err: (err as Error).message, attempt, conversation: conversation.id }, 'chat: outbound webhook failed');
      }
      if (attempt < connector.attempts) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
    }
    this.#log.error({ conversation: conversation.id, type: frame.type }, 'chat: message not delivered to the gateway');
  }

  async #record(conversation: Conversation, outcome?: string): Promise<void> {
    const record: InteractionRecord = {
      id: conversation.id,
      channel: conversation.source === 'email' ? 'email' : 'chat',
      startedAt: new Date(conversation.startedAt).toISOString(),
      trunk: conversation.source,
      caller: conversation.customer.id,
      called: conversation.queue,
      ...(conversation.identities?.length ? { identities: conversation.identities } : {}),
      ...(conversation.customer.name !== ANONYMOUS ? { name: conversation.customer.name } : {}),
      legs: [],
      ...(outcome ? { outcome, endedAt: new Date().toISOString() } : {}),
      ...(conversation.agentId ? { agentId: conversation.agentId } : {}),
      queue: conversation.queue,
      ...(conversation.csat !== null ? { survey: { csat: String(conversation.csat) } } : {}),
      ...(conversation.csat !== null
        ? {
          feedback: {
            at: new Date(conversation.surveyedAt ?? Date.now()).toISOString(), csat: conversation.csat,
            ...(typeof conversation.nps === 'number' ? { nps: conversation.nps } : {}), ...(conversation.comment ? { comment: conversation.comment } : {}),
          },
        }
        : {}),
    };
    await this.options.records.save(record);
  }
}

/** An identity the customer or a gateway gave: malformed, the message is refused with the reason. */
function checkedIdentity(kind: IdentityKind, value: string): string {
  try {
    return identity(kind, value);
  } catch (err) {
    throw new BadMessage(`${kind}: ${(err as Error).message}`);
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function liveTask(acd: AcdEngine, id: string): ReturnType<AcdEngine['task']> | undefined {
  try {
    return acd.task(id);
  } catch {
    return undefined;
  }
}
