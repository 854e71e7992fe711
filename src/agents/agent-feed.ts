import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AcdError, AcdErrorCode, type AcdEngine, type AcdEvent, type AgentRecord, type TaskRecord } from '../acd/index';
import type { AgentsConfig, RosterEntry } from '../config/index';
import type { Logger } from '../lib/index';
import type { Credentials, Identity } from './credentials';
import { FeedSession, eventBody } from './feed-session';
import type { FeedPresence } from './feed-presence';
import { agentOnlyCommands, closeCodes, parseCommand, ringingCommands, supervisorOnlyCommands, type CommandType, type ErrorCode } from './protocol';
import { TaskControlError, type ChatAttachment, type ChatControls, type InteractionHistory, type TaskControls } from './task-controls';

export interface AgentFeedOptions {
  readonly acd: AcdEngine;
  readonly config: AgentsConfig;
  readonly credentials: Credentials;
  /** Call controls of the voice channel; without them hangup, hold and transfer answer `unavailable`. */
  readonly controls?: TaskControls;
  /** The chat channel's side of chat tasks; without it the chat commands answer `unavailable`. */
  readonly chat?: ChatControls;
  readonly history?: InteractionHistory;
  /** How many of the customer's latest interactions an offer carries; default 5. */
  readonly screenPopInteractions?: number;
  /**
   * The SIP account an agent's browser softphone registers with (from voice.phones), given to that agent only,
   * in the welcome snapshot; undefined when the agent has none.
   */
  readonly softphoneAccount?: (agentId: string) => SoftphoneAccount | undefined;
  /** Which node holds each agent's session, shared by the nodes: agents of a node that died get the grace too. */
  readonly presence?: FeedPresence;
  readonly logger: Logger;
}

export interface SoftphoneAccount {
  readonly username: string;
  readonly password: string;
  /** SIP over WebSocket URLs of this node (ws:// or wss://). */
  readonly servers: readonly string[];
}

type Command = { type: CommandType; id?: string } & Record<string, unknown>;

/** Thrown by command handlers: becomes an error frame. */
class CommandError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** The reason onecc gives an agent whose connection stayed away past the grace period. */
export const DISCONNECTED_REASON = 'disconnected';

/**
 * The agent feed: WebSocket connections at /agent (docs/agent-protocol.md). Agents follow their own state, offers
 * and tasks and act on them; supervisors see every queue and agent. Every node serves it from its own replica of the
 * ACD, so an agent may connect to any node; call controls act on calls this node holds.
 */
export class AgentFeed {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  readonly #agents = new Map<string, FeedSession>();
  readonly #supervisors = new Set<FeedSession>();
  readonly #roster: ReadonlyMap<string, RosterEntry>;
  /** The agent each live offer went to, so that its end reaches that agent as offer-withdrawn. */
  readonly #offeredTo = new Map<string, string>();
  /** Attributes of tasks that ended recently (the ACD's replica keeps live tasks only): a wrap-up needs them. */
  readonly #endedAttributes = new Map<string, Readonly<Record<string, string>>>();
  readonly #log: Logger;
  readonly #heartbeat: NodeJS.Timeout;
  #snapshotTimer: NodeJS.Timeout | undefined;
  readonly #onAcdEvent = (event: AcdEvent) => this.#fanOut(event);
  readonly #onNodeLost = ({ node }: { node: string }) => void this.#nodeLost(node);
  readonly #lostNodeTimers = new Set<NodeJS.Timeout>();
  readonly #unsubscribeChat: (() => void) | undefined;

  constructor(private readonly options: AgentFeedOptions) {
    this.#roster = new Map(options.config.roster.map((entry) => [entry.id, entry]));
    this.#log = options.logger.child({ component: 'agent-feed' });
    options.acd.on('event', this.#onAcdEvent);
    options.acd.on('node-lost', this.#onNodeLost);
    this.#unsubscribeChat = options.chat?.subscribe((agentId, { type, ...data }, at) => this.#agents.get(agentId)?.event(eventBody(type, at, data)));
    this.#heartbeat = setInterval(() => this.#checkHeartbeats(), options.config.heartbeatSeconds * 1000);
    this.#heartbeat.unref();
    // Sessions recorded under this node id belong to a previous instance of it (a restart): the same grace applies.
    void this.#nodeLost(options.acd.nodeId);
  }

  /** Connections open now (authenticated or not). */
  get connections(): number {
    return this.#wss.clients.size;
  }

  /** Takes an HTTP upgrade request for /agent (HttpServer routes it here). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, socket));
  }

  async close(): Promise<void> {
    this.options.acd.off('event', this.#onAcdEvent);
    this.options.acd.off('node-lost', this.#onNodeLost);
    for (const timer of this.#lostNodeTimers) clearTimeout(timer);
    this.#unsubscribeChat?.();
    clearInterval(this.#heartbeat);
    clearInterval(this.#snapshotTimer);
    for (const session of this.#agents.values()) clearTimeout(session.graceTimer);
    for (const ws of this.#wss.clients) ws.close(closeCodes.goingAway, 'onecc is shutting down');
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  // ---- connections ---------------------------------------------------------------------------------------------

  #onConnection(ws: WebSocket, transport: Duplex): void {
    let session: FeedSession | undefined;
    let alive = true;
    (ws as WebSocket & { isAlive?: () => boolean }).isAlive = () => {
      const was = alive;
      alive = false;
      return was;
    };
    ws.on('pong', () => (alive = true));
    const authTimer = setTimeout(() => ws.close(closeCodes.authTimeout, 'no auth frame in time'), this.options.config.authTimeoutSeconds * 1000);
    // Frames are handled one after the other: a resume must be complete before the next command runs.
    let queue = Promise.resolve();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive = true;
      queue = queue.then(async () => {
        if (isBinary) return reply(undefined, { type: 'error', code: 'bad-frame', message: 'frames are JSON text' });
        const parsed = parseCommand(data.toString());
        if (!parsed.ok) return reply(undefined, { type: 'error', ...(parsed.id ? { id: parsed.id } : {}), code: 'bad-frame', message: parsed.reason });
        const { command } = parsed;
        if (session === undefined) {
          if (command.type !== 'auth') return reply(command.id, { type: 'error', code: 'not-authenticated', message: 'send auth first' });
          session = this.#authenticate(ws, transport, command);
          if (session !== undefined) clearTimeout(authTimer);
          return;
        }
        if (command.type === 'auth') return reply(command.id, { type: 'error', code: 'bad-frame', message: 'already authenticated' });
        // A phone ringing must not hold up the agent's next commands (hang up, cancel...).
        if (ringingCommands.has(command.type)) void this.#run(session, command);
        else await this.#run(session, command);
      }).catch((err: unknown) => this.#log.error({ err }, 'agent feed frame handling failed'));
    });
    const reply = (id: string | undefined, frame: Record<string, unknown>) => {
      if (session) session.reply({ ...frame, ...(id ? { id } : {}) });
      else if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ v: 1, ...frame, ...(id ? { id } : {}) }));
    };
    ws.on('close', () => {
      clearTimeout(authTimer);
      if (session) this.#disconnected(session, ws);
    });
    ws.on('error', (err) => this.#log.debug({ err: err.message }, 'agent feed socket error'));
  }

  #authenticate(ws: WebSocket, transport: Duplex, command: Command): FeedSession | undefined {
    const { credentials } = this.options;
    const result = typeof command.token === 'string' ? credentials.verifyToken(command.token) : credentials.verifyApiKey(command.apiKey as string);
    if (!result.ok) {
      this.#log.info({ reason: result.reason }, 'agent feed authentication refused');
      ws.close(closeCodes.unauthorized, result.reason);
      return undefined;
    }
    const { identity } = result;
    const resume = command.resume as { session: string; lastSeq: number } | undefined;
    let session: FeedSession;
    let resumed = false;
    let complete = true;
    if (identity.role === 'agent') {
      const existing = this.#agents.get(identity.agentId);
      if (existing?.socket && existing.socket !== ws) existing.socket.close(closeCodes.replaced, 'the agent connected again');
      if (existing !== undefined && resume?.session === existing.id) {
        session = existing;
        resumed = true;
        complete = session.attach(ws, transport, resume.lastSeq);
      } else {
        session = existing ?? this.#newSession(identity);
        this.#agents.set(identity.agentId, session);
        session.attach(ws, transport);
      }
      this.#present(identity.agentId);
    } else {
      session = this.#newSession(identity);
      this.#supervisors.add(session);
      session.attach(ws, transport);
      this.#ensureSnapshots();
    }
    if (result.expiresAt !== null) {
      const left = result.expiresAt - Date.now();
      const expiry = setTimeout(() => ws.close(closeCodes.unauthorized, 'token expired'), Math.min(left, 2 ** 31 - 1));
      ws.once('close', () => clearTimeout(expiry));
    }
    session.reply({
      type: 'welcome',
      ...(command.id ? { id: command.id } : {}),
      session: session.id,
      role: identity.role,
      resumed,
      // Events missed beyond the replay buffer (or a session onecc no longer has): the snapshot is the truth.
      gap: resume !== undefined && (!resumed || !complete),
      lastSeq: session.lastSeq,
      snapshot: this.#snapshot(identity),
    });
    this.#log.info({ identity, resumed }, 'agent feed connection authenticated');
    return session;
  }

  #newSession(identity: Identity): FeedSession {
    return new FeedSession(identity, this.options.config.maxBufferedKiB * 1024, (slow) => this.#log.warn({ identity: slow.identity }, 'agent feed client too slow: disconnected'));
  }

  #disconnected(session: FeedSession, ws: WebSocket): void {
    session.detach(ws);
    if (session.socket !== undefined) return; // replaced by a newer connection
    if (session.identity.role === 'supervisor') {
      this.#supervisors.delete(session);
      return;
    }
    const { agentId } = session.identity;
    clearTimeout(session.graceTimer);
    session.graceTimer = setTimeout(() => {
      if (this.#agents.get(agentId) !== session || session.socket !== undefined) return;
      this.#agents.delete(agentId);
      void this.#awayTooLong(agentId);
    }, this.options.config.resumeGraceSeconds * 1000);
    session.graceTimer.unref();
  }

  #present(agentId: string): void {
    this.options.presence?.connected(agentId, this.options.acd.nodeId).catch((err: unknown) => this.#log.warn({ err, agentId }, 'agent feed presence not recorded'));
  }

  /**
   * This node took over a dead node's work: the agents whose sessions were there get the resume grace from now; those
   * who did not reconnect to any node by then go not-ready, as a node does with its own.
   */
  async #nodeLost(node: string): Promise<void> {
    const { presence } = this.options;
    if (presence === undefined) return;
    const agents = await presence.agentsOn(node).catch(() => [] as string[]);
    if (agents.length === 0) return;
    this.#log.warn({ node, agents: agents.length }, 'agents whose feed was on a node that died: not-ready unless they reconnect within the grace');
    const timer = setTimeout(() => {
      this.#lostNodeTimers.delete(timer);
      void (async () => {
        for (const agentId of agents) {
          if (this.#agents.get(agentId)?.socket !== undefined) continue; // back, here
          if ((await presence.nodeOf(agentId).catch(() => node)) !== node) continue; // back, on another node
          await this.#awayTooLong(agentId);
          await presence.left(agentId, node).catch(() => undefined);
        }
      })();
    }, this.options.config.resumeGraceSeconds * 1000);
    timer.unref();
    this.#lostNodeTimers.add(timer);
  }

  /** An agent who did not come back in time gets no more offers (calls in progress go on). */
  async #awayTooLong(agentId: string): Promise<void> {
    const { acd } = this.options;
    void this.options.presence?.left(agentId, acd.nodeId).catch(() => undefined);
    try {
      const state = acd.agentState(agentId);
      if (state !== 'logged-out') await acd.setNotReady(agentId, DISCONNECTED_REASON);
      this.#log.info({ agentId }, 'agent did not resume within the grace period: not-ready');
    } catch (err) {
      this.#log.warn({ err, agentId }, 'could not make a disconnected agent not-ready');
    }
  }

  #checkHeartbeats(): void {
    for (const ws of this.#wss.clients) {
      const probe = ws as WebSocket & { isAlive?: () => boolean };
      if (probe.isAlive && !probe.isAlive()) {
        // A peer that answers no ping would not answer a close handshake either.
        ws.terminate();
        continue;
      }
      ws.ping();
    }
  }

  #ensureSnapshots(): void {
    if (this.#snapshotTimer !== undefined) return;
    this.#snapshotTimer = setInterval(() => {
      if (this.#supervisors.size === 0) {
        clearInterval(this.#snapshotTimer);
        this.#snapshotTimer = undefined;
        return;
      }
      const queues = this.#queueSnapshots();
      const at = Date.now();
      const body = eventBody('queue-snapshot', at, { queues });
      for (const s of this.#supervisors) s.event(body);
    }, this.options.config.snapshotSeconds * 1000);
    this.#snapshotTimer.unref();
  }

  // ---- commands ------------------------------------------------------------------------------------------------

  async #run(session: FeedSession, command: Command): Promise<void> {
    const { identity } = session;
    try {
      if (identity.role !== 'agent' && agentOnlyCommands.has(command.type)) throw new CommandError('forbidden', `${command.type} is an agent command`);
      if (identity.role !== 'supervisor' && supervisorOnlyCommands.has(command.type)) throw new CommandError('forbidden', `${command.type} is a supervisor command`);
      const data = await this.#execute(identity, command);
      session.reply({ type: 'result', ...(command.id ? { id: command.id } : {}), ...(data === undefined ? {} : { data }) });
    } catch (err) {
      const { code, message } = describeError(err);
      if (code === 'unavailable') this.#log.warn({ err, command: command.type }, 'agent feed command failed');
      session.reply({ type: 'error', ...(command.id ? { id: command.id } : {}), code, message });
    }
  }

  async #execute(identity: Identity, command: Command): Promise<unknown> {
    const { acd, config } = this.options;
    if (command.type === 'ping') return { now: Date.now() };
    if (command.type === 'snapshot') return this.#snapshot(identity);
    if (command.type === 'monitor' && identity.role === 'supervisor') {
      const task = liveTask(acd, command.taskId as string);
      if (task === undefined || task.state !== 'assigned') throw new CommandError('not-found', `no call being handled for task ${String(command.taskId)}`);
      if (this.options.controls === undefined) throw new CommandError('unavailable', 'no channel on this node controls calls');
      await this.options.controls.monitor(task.id, identity.name, (command.listen as 'both' | 'caller' | 'agent' | undefined) ?? 'both');
      return undefined;
    }
    if ((command.type === 'whisper' || command.type === 'barge') && identity.role === 'supervisor') {
      const task = liveTask(acd, command.taskId as string);
      if (task === undefined || task.state !== 'assigned' || (task.channel !== 'voice' && task.channel !== 'video')) throw new CommandError('not-found', `no call being handled for task ${String(command.taskId)}`);
      await this.#controls().supervise(task.id, identity.name, command.type);
      return undefined;
    }
    if (identity.role !== 'agent') throw new CommandError('forbidden', `${command.type} is an agent command`);
    const agentId = identity.agentId;
    switch (command.type) {
      case 'login': {
        const entry = this.#roster.get(agentId)!;
        const profile = { skills: entry.skills, languages: entry.languages, ...(entry.capacity ? { capacity: entry.capacity } : {}) };
        return stateOf(acd, await acd.login(agentId, profile, command.ready === true ? 'ready' : 'not-ready'));
      }
      case 'logout':
        return stateOf(acd, await acd.logout(agentId));
      case 'ready':
        return stateOf(acd, await acd.setReady(agentId));
      case 'not-ready': {
        const reason = command.reason as string;
        if (!config.notReadyReasons.includes(reason)) throw new CommandError('bad-frame', `reason must be one of agents.notReadyReasons: ${config.notReadyReasons.join(', ')}`);
        return stateOf(acd, await acd.setNotReady(agentId, reason));
      }
      case 'accept': {
        const task = this.#offeredTask(command.taskId as string, agentId);
        if (task.channel === 'voice' || task.channel === 'video') throw new CommandError('invalid-state', 'calls are accepted by answering the phone');
        return summary(await acd.accept(task.id, agentId));
      }
      case 'reject': {
        const task = this.#offeredTask(command.taskId as string, agentId);
        const rejected = await acd.reject(task.id, agentId);
        this.options.controls?.declined(task.id, agentId);
        return summary(rejected);
      }
      case 'wrap-up':
        return this.#wrapUp(agentId, command);
      case 'hangup':
      case 'hold':
      case 'unhold':
      case 'transfer':
      case 'consult':
      case 'consult-transfer':
      case 'consult-cancel':
      case 'conference': {
        const task = this.#assignedTask(command.taskId as string, agentId);
        const to = command.to as { agent: string } | { number: string } | { queue: string } | undefined;
        if (to !== undefined && 'agent' in to && to.agent === agentId) throw new CommandError('bad-frame', 'to.agent is you');
        if (task.channel === 'chat' || task.channel === 'email') return this.#conversationControl(task, agentId, command.type, to);
        const controls = this.#controls();
        if (command.type === 'transfer') await controls.transfer(task.id, agentId, to!);
        else if (command.type === 'consult') await controls.consult(task.id, agentId, to!);
        else if (command.type === 'consult-transfer') await controls.completeConsult(task.id, agentId);
        else if (command.type === 'consult-cancel') await controls.cancelConsult(task.id, agentId);
        else if (command.type === 'conference') await controls.conference(task.id, agentId);
        else await controls[command.type](task.id, agentId);
        return undefined;
      }
      case 'dial':
        return this.#controls().dial(agentId, command.number as string);
      case 'chat-send': {
        const task = this.#chatTask(command.taskId as string, agentId, 'assigned');
        const attachments = (command.attachments as ChatAttachment[] | undefined) ?? [];
        if ((command.text as string).trim() === '' && attachments.length === 0) throw new CommandError('bad-frame', 'text: a message needs text or attachments');
        return this.#chat().send(task.id, agentId, { text: command.text as string, attachments });
      }
      case 'chat-typing':
        await this.#chat().typing(this.#chatTask(command.taskId as string, agentId, 'assigned').id, agentId);
        return undefined;
      case 'chat-read':
        await this.#chat().read(this.#chatTask(command.taskId as string, agentId, 'assigned').id, agentId, command.upTo as string);
        return undefined;
      case 'chat-history':
        return { messages: await this.#chat().transcript(this.#chatTask(command.taskId as string, agentId, 'offered-or-assigned').id, agentId) };
    }
    throw new CommandError('bad-frame', `unknown command ${command.type}`);
  }

  #controls(): TaskControls {
    if (this.options.controls === undefined) throw new CommandError('unavailable', 'no channel on this node controls calls');
    return this.options.controls;
  }

  #chat(): ChatControls {
    if (this.options.chat === undefined) throw new CommandError('unavailable', 'chat is not enabled on this node');
    return this.options.chat;
  }

  /** Call controls on a chat or email task: hang up ends the conversation, transfer hands it on; no hold or consult. */
  async #conversationControl(task: TaskRecord, agentId: string, type: CommandType, to: { agent: string } | { number: string } | { queue: string } | undefined): Promise<unknown> {
    if (type === 'hangup') {
      await this.options.chat?.close(task.id, agentId);
      await this.options.acd.complete(task.id);
      return undefined;
    }
    if (type === 'transfer') {
      if (to === undefined || 'number' in to) throw new CommandError('bad-frame', 'to: a chat goes to an agent or a queue');
      await this.#chat().transfer(task.id, agentId, to);
      return undefined;
    }
    throw new CommandError('invalid-state', `${type} is for calls, not ${task.channel} tasks`);
  }

  /** A chat task offered to (for its history) or handled by this agent. */
  #chatTask(taskId: string, agentId: string, state: 'assigned' | 'offered-or-assigned'): TaskRecord {
    const task = liveTask(this.options.acd, taskId);
    if (task === undefined) throw new CommandError('not-found', `no live task ${taskId}`);
    if (task.channel !== 'chat' && task.channel !== 'email') throw new CommandError('invalid-state', `task ${taskId} is a ${task.channel} task, not a chat or email`);
    const mine = task.state === 'assigned' ? task.agentId === agentId : state === 'offered-or-assigned' && task.state === 'offered' && task.offer?.agentId === agentId;
    if (!mine) throw new CommandError('forbidden', `chat ${taskId} is not ${state === 'assigned' ? 'being handled by you' : 'yours'}`);
    return task;
  }

  async #wrapUp(agentId: string, command: Command): Promise<unknown> {
    const { acd, config, history } = this.options;
    const disposition = command.disposition as string;
    if (!config.dispositions.includes(disposition)) throw new CommandError('bad-frame', `disposition must be one of agents.dispositions: ${config.dispositions.join(', ')}`);
    const taskId = command.taskId as string;
    let task: TaskRecord | undefined = liveTask(acd, taskId);
    let endedQueue: string | undefined;
    if (task !== undefined) {
      if (task.agentId !== agentId) throw new CommandError('forbidden', `task ${taskId} is not yours`);
      // A chat or email ends when the agent closes it; a call ends by hanging up.
      if (task.channel === 'voice' || task.channel === 'video') throw new CommandError('invalid-state', 'the call is still going: hang up first');
      // A chat task that came in through the ACD alone (no chat channel on this node) has no conversation to close.
      if (task.channel === 'chat' || task.channel === 'email') await this.options.chat?.close(taskId, agentId);
      task = await acd.complete(taskId);
    } else {
      const decision = await acd.explain(taskId).catch(() => null);
      if (decision === null || decision.agentId !== agentId) throw new CommandError('not-found', `no task ${taskId} of yours`);
      endedQueue = decision.queue;
    }
    const interaction = (task?.attributes ?? this.#endedAttributes.get(taskId))?.interaction;
    if (interaction !== undefined && history !== undefined) {
      const queue = task?.queue ?? endedQueue;
      await history.disposition(interaction, {
        agentId, taskId, disposition, ...(typeof command.notes === 'string' ? { notes: command.notes } : {}), at: new Date().toISOString(), ...(queue !== undefined ? { queue } : {}),
      });
    }
    if (command.ready === true) await acd.setReady(agentId);
    return { taskId, disposition, interaction: interaction ?? null };
  }

  #offeredTask(taskId: string, agentId: string): TaskRecord {
    const task = liveTask(this.options.acd, taskId);
    if (task === undefined) throw new CommandError('not-found', `no live task ${taskId}`);
    if (task.state !== 'offered' || task.offer?.agentId !== agentId) throw new CommandError('forbidden', `task ${taskId} is not offered to you`);
    return task;
  }

  #assignedTask(taskId: string, agentId: string): TaskRecord {
    const task = liveTask(this.options.acd, taskId);
    if (task === undefined) throw new CommandError('not-found', `no live task ${taskId}`);
    if (task.state !== 'assigned' || task.agentId !== agentId) throw new CommandError('forbidden', `task ${taskId} is not being handled by you`);
    return task;
  }

  // ---- events --------------------------------------------------------------------------------------------------

  #fanOut(event: AcdEvent): void {
    if (event.type === 'agent-state-changed') {
      const state = { agentId: event.agent.id, state: event.state, reason: event.agent.reason, wrapUpUntil: event.agent.wrapUpUntil || null };
      const body = eventBody('agent-state', event.at, state);
      this.#agents.get(event.agent.id)?.event(body);
      for (const s of this.#supervisors) s.event(body);
      return;
    }
    const task = event.task;
    if (task.state === 'completed' || task.state === 'abandoned') {
      this.#endedAttributes.set(task.id, task.attributes);
      // Enough for a wrap-up that comes minutes later; the oldest go first.
      if (this.#endedAttributes.size > 10_000) this.#endedAttributes.delete(this.#endedAttributes.keys().next().value!);
    }
    if (this.#supervisors.size > 0) {
      const body = eventBody('task', event.at, { change: event.type, task: summary(task), agentId: 'agent' in event ? event.agent.id : task.offer?.agentId ?? task.agentId });
      for (const s of this.#supervisors) s.event(body);
    }

    const offeredTo = this.#offeredTo.get(task.id);
    if (event.type === 'task-offered') {
      this.#offeredTo.set(task.id, event.agent.id);
      this.#agents.get(event.agent.id)?.eventAfter('offer', event.at, () => this.#offer(task));
      return;
    }
    if (offeredTo !== undefined && task.offer?.agentId !== offeredTo) {
      this.#offeredTo.delete(task.id);
      const reason = event.type === 'task-accepted' ? null : event.type === 'task-rejected' ? event.reason : event.type === 'task-abandoned' ? 'abandoned' : 'withdrawn';
      if (reason !== null) this.#agents.get(offeredTo)?.event(eventBody('offer-withdrawn', event.at, { taskId: task.id, reason }));
    }
    if (event.type === 'task-accepted') this.#agents.get(event.agent.id)?.event(eventBody('task-assigned', event.at, { task: summary(task) }));
    if (event.type === 'task-completed') {
      this.#agents.get(event.agent.id)?.event(eventBody('task-ended', event.at, { taskId: task.id, reason: 'completed', wrapUpUntil: event.agent.wrapUpUntil || null }));
    }
  }

  /** An offer as the agent's desktop shows it: the task, the caller's context, history, and why it came to them. */
  async #offer(task: TaskRecord): Promise<unknown> {
    const history = this.options.history;
    const none = { customer: null, previousInteractions: [] };
    const pop = history ? await withTimeout(history.screenPop(task.attributes, this.options.screenPopInteractions ?? 5), 500, none) : none;
    return {
      task: summary(task),
      expiresAt: task.offer?.expiresAt ?? null,
      context: { attributes: task.attributes, customer: pop.customer, previousInteractions: pop.previousInteractions },
      decision: task.decision,
    };
  }

  // ---- snapshots -----------------------------------------------------------------------------------------------

  #snapshot(identity: Identity): unknown {
    const { acd } = this.options;
    if (identity.role === 'agent') {
      const agentId = identity.agentId;
      const tasks = [...acd.tasks()].filter((t) => t.agentId === agentId || t.offer?.agentId === agentId).map(summary);
      let agent: unknown = { agentId, state: 'logged-out', reason: null, wrapUpUntil: null };
      try {
        agent = stateOf(acd, acd.agent(agentId));
      } catch {
        // Never logged in since the ACD started: logged out.
      }
      const entry = this.#roster.get(agentId)!;
      return {
        agent,
        name: entry.name,
        tasks,
        notReadyReasons: this.options.config.notReadyReasons,
        dispositions: this.options.config.dispositions,
        softphone: this.options.softphoneAccount?.(agentId) ?? null,
      };
    }
    return {
      queues: this.#queueSnapshots(),
      agents: [...acd.agents()].map((a) => stateOf(acd, a)),
    };
  }

  #queueSnapshots(): unknown[] {
    const { acd } = this.options;
    return acd.settings.queues.map((q) => acd.queueSnapshot(q.name));
  }
}

function stateOf(acd: AcdEngine, agent: AgentRecord): unknown {
  return { agentId: agent.id, state: acd.agentState(agent.id), reason: agent.reason, wrapUpUntil: agent.wrapUpUntil || null };
}

/** What clients see of a task (not the engine's bookkeeping). */
function summary(task: TaskRecord): unknown {
  return {
    id: task.id,
    channel: task.channel,
    queue: task.queue,
    priority: task.priority,
    state: task.state,
    enqueuedAt: task.enqueuedAt,
    agentId: task.agentId ?? task.offer?.agentId ?? null,
    attributes: task.attributes,
  };
}

function liveTask(acd: AcdEngine, id: string): TaskRecord | undefined {
  try {
    return acd.task(id);
  } catch {
    return undefined;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.catch(() => fallback), new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof CommandError || err instanceof TaskControlError) return { code: err.code, message: err.message };
  if (err instanceof AcdError) {
    const notFound: string[] = [AcdErrorCode.unknownAgent, AcdErrorCode.unknownTask, AcdErrorCode.unknownQueue];
    if (notFound.includes(err.code)) return { code: 'not-found', message: err.message };
    if (err.code === AcdErrorCode.contention || err.code === AcdErrorCode.store) return { code: 'unavailable', message: err.message };
    return { code: 'invalid-state', message: err.message };
  }
  return { code: 'unavailable', message: err instanceof Error ? err.message : String(err) };
}
