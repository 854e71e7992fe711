import Redis from 'ioredis';
import type Srf from 'drachtio-srf';
import type { AcdEngine, AcdEvent, TaskRecord } from '../../acd/index';
import { randomId, redisConnectionOptions, type Logger, type RedisTarget } from '../../lib/index';
import type { MediaCall, MediaService } from '../../media/index';
import type { CallbackAttemptRecord, InteractionRecords } from '../interaction-records';
import { dialFirstAnswer, hangUp, phonesToRing, whenEnded, type Dial } from './dial';
import { taskHeaders } from './context-headers';
import type { PhoneDirectory } from './phone-directory';

/**
 * The attributes of a callback task. A caller who accepts a callback in a queue keeps their task (and so their place
 * in the queue) with these added; whichever node holds the task when an agent is offered it places the calls.
 */
export const callbackAttributes = {
  /** 'requested' marks a task as a callback. */
  marker: 'callback',
  /** The node holding the caller's call while the task waits: if that node dies, its callers are called back. */
  callNode: 'callNode',
  number: 'callbackNumber',
  /** The URI the customer is called at (the trunk's outboundUri filled in when the callback was requested). */
  uri: 'callbackUri',
  /** 1 for the first call to the customer. */
  attempt: 'callbackAttempt',
  /** The interaction record of the call that asked for the callback: attempts are added to it. */
  interaction: 'interaction',
} as const;

/** What turns a task into a callback, first attempt; its number and URI (callbackAttributes) travel with it. */
export const requestedCallback: Readonly<Record<string, string>> = { [callbackAttributes.marker]: 'requested', [callbackAttributes.attempt]: '1' };

export interface CallbackSettings {
  /** The agent's phones ring this long (as for queued calls: RONA after it). */
  readonly agentRingTimeoutMs: number;
  readonly customerRingTimeoutMs: number;
  readonly attempts: number;
  readonly retryMs: number;
}

const LEG = { agent: 'agent', customer: 'customer' } as const;
/** How long a callback offered while no rtpengine answers waits before going back to its queue. */
const MEDIA_RETRY_MS = 1000;

/**
 * Calls customers back. When the ACD offers a callback task to an agent (on this node), the agent's phones ring
 * first, with the customer's number in X-Onecc-Callback; once the agent answers (and so accepts), onecc calls the
 * customer and bridges them. A customer who does not answer or is busy is tried again `retryMs` later through the
 * queue, up to `attempts` calls; each attempt goes into the original call's interaction record.
 */
export class CallbackDialer {
  readonly #handled = new Set<string>();
  readonly #active = new Set<{ media: MediaCall; dials: Set<Dial>; dialogs: Set<Srf.Dialog> }>();
  readonly #log: Logger;
  #closed = false;

  constructor(
    private readonly deps: {
      readonly srf: Srf;
      readonly acd: AcdEngine;
      readonly media: MediaService;
      readonly phones: PhoneDirectory;
      readonly records: InteractionRecords;
      readonly retries: CallbackRetries;
      readonly settings: CallbackSettings;
      readonly logger: Logger;
    },
  ) {
    this.#log = deps.logger.child({ component: 'callbacks' });
  }

  /** Takes the ACD's events; handles offers this node made that were made before it listened. */
  start(): void {
    this.deps.acd.on('event', (event) => this.#onEvent(event));
    this.deps.acd.on('node-lost', ({ node, adopted }) => void this.#recoverCallers(node, adopted));
    // This process holds no call yet: callers queued under this node id were on a previous instance of it, which
    // crashed and was restarted (with a fixed acd.nodeId) before the other nodes took its work over.
    const { nodeId } = this.deps.acd;
    void this.#recoverCallers(nodeId, [...this.deps.acd.tasks()].filter((task) => task.owner === nodeId).map((task) => task.id));
    for (const task of this.deps.acd.tasks()) {
      if (isCallback(task) && task.state === 'offered' && task.offer?.node === this.deps.acd.nodeId) void this.#handle(task, task.offer.agentId);
    }
    this.deps.retries.start((retry) => this.#requeue(retry));
  }

  /** Hangs up every callback in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.deps.retries.stop();
    await Promise.all(
      [...this.#active].map(async (active) => {
        for (const dial of active.dials) dial.cancel();
        await Promise.all([...active.dialogs].map(hangUp));
        await active.media.close();
      }),
    );
  }

  /**
   * A node died with callers on it (this node adopted their tasks, or is that node restarted): a caller still waiting
   * keeps the place in the queue as a callback (abandoned if there is no number to call); a conversation cut off
   * ends, so that its agent goes to wrap-up instead of staying busy.
   */
  async #recoverCallers(deadNode: string, taskIds: readonly string[]): Promise<void> {
    const { acd } = this.deps;
    for (const id of taskIds) {
      const task = liveTask(acd, id);
      if (!task || task.owner !== acd.nodeId || task.channel !== 'voice' || isCallback(task) || task.attributes[callbackAttributes.callNode] !== deadNode) continue;
      const log = this.#log.child({ taskId: id, deadNode });
      try {
        if (task.state === 'assigned') {
          await acd.complete(id);
          log.warn({ agentId: task.agentId }, 'the conversation was on a node that died: ended');
        } else if (task.attributes[callbackAttributes.uri] === undefined) {
          await acd.abandon(id, 'node-lost');
          log.warn('a caller waiting on a node that died, with no number to call back: abandoned');
        } else {
          await acd.continueAs(id, { attributes: requestedCallback });
          log.warn('a caller waiting on a node that died is called back, keeping the place in the queue');
        }
      } catch (err) {
        log.error({ err }, 'recovering a caller of a node that died failed');
      }
    }
  }

  #onEvent(event: AcdEvent): void {
    if (event.type !== 'task-offered' || !isCallback(event.task) || event.task.offer?.node !== this.deps.acd.nodeId) return;
    void this.#handle(event.task, event.agent.id);
  }

  async #handle(task: TaskRecord, agentId: string): Promise<void> {
    const offerId = task.offer!.id;
    if (this.#handled.has(offerId) || this.#closed) return;
    this.#handled.add(offerId);
    const attempt = Number(task.attributes[callbackAttributes.attempt] ?? '1');
    const customerUri = task.attributes[callbackAttributes.uri];
    const log = this.#log.child({ taskId: task.id, agentId, attempt });
    const { acd } = this.deps;
    if (customerUri === undefined) {
      log.error('callback task without a number to call; abandoned');
      await acd.abandon(task.id, 'callback-unreachable').catch(() => undefined);
      return;
    }
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
    if (targets.length === 0) return this.#agentMissed(task, agentId, 'no-phone', log);

    let media: MediaCall;
    try {
      media = this.deps.media.openCall(`cb-${randomId()}`);
    } catch (err) {
      // No rtpengine answers (one is restarting): not the agent's fault. The callback goes back to its place after a
      // moment and is offered again, rather than at once into the same outage.
      log.warn({ err }, 'no media for the callback now: offered again shortly');
      await new Promise((resolve) => setTimeout(resolve, MEDIA_RETRY_MS));
      await acd.continueAs(task.id, {}).catch((e: unknown) => log.warn({ err: e }, 'could not put the callback back in its queue'));
      return;
    }
    const active = { media, dials: new Set<Dial>(), dialogs: new Set<Srf.Dialog>() };
    this.#active.add(active);
    // Written to the interaction record once the agent took the callback (a missed offer is no attempt).
    let record: CallbackAttemptRecord | undefined;
    try {
      // The agent first: their answer takes the callback; only then is the customer called.
      const agentDial = dialFirstAnswer(this.deps.srf, targets, {
        sdp: await media.originate(profile),
        headers: { ...taskHeaders(task), 'X-Onecc-Callback': task.attributes[callbackAttributes.number] ?? '', 'X-Onecc-Callback-Attempt': String(attempt), ...languageHeader(task) },
        timeoutMs: this.deps.settings.agentRingTimeoutMs,
      });
      active.dials.add(agentDial);
      const agentAnswer = await agentDial.result;
      active.dials.delete(agentDial);
      if (agentAnswer.kind === 'failed') return await this.#agentMissed(task, agentId, agentAnswer.reason, log);
      const agentLeg = agentAnswer.dialog;
      active.dialogs.add(agentLeg);
      try {
        await acd.accept(task.id, agentId);
      } catch (err) {
        log.warn({ err }, 'the callback is no longer offered to this agent; hanging up the agent');
        return;
      }
      record = { attempt, agentId, at: new Date().toISOString(), outcome: 'failed' };
      let agentGone = false;
      whenEnded(agentLeg, () => {
        agentGone = true;
        active.dialogs.delete(agentLeg);
        for (const dial of active.dials) dial.cancel();
      });
      await media.connectOriginated(LEG.agent, agentLeg.remote.sdp);

      const customerDial = dialFirstAnswer(this.deps.srf, [{ uri: customerUri }], {
        sdp: await media.offer(LEG.agent, agentLeg.remote.sdp, 'rtp', { toTag: LEG.customer }),
        callingNumber: task.attributes.called,
        headers: {},
        timeoutMs: this.deps.settings.customerRingTimeoutMs,
      });
      active.dials.add(customerDial);
      const customerAnswer = await customerDial.result;
      active.dials.delete(customerDial);
      if (customerAnswer.kind === 'failed') {
        record.outcome = agentGone ? 'agent-hung-up' : customerAnswer.reason;
        log.info({ outcome: record.outcome, statuses: customerAnswer.statuses }, 'callback not answered');
        await acd.complete(task.id).catch((err) => log.warn({ err }, 'could not complete the callback task'));
        if (!agentGone && attempt < this.deps.settings.attempts) await this.deps.retries.schedule(retryOf(task, attempt + 1), Date.now() + this.deps.settings.retryMs);
        return;
      }
      const customerLeg = customerAnswer.dialog;
      active.dialogs.add(customerLeg);
      await media.answer(LEG.agent, LEG.customer, customerLeg.remote.sdp);
      record.outcome = 'connected';
      record.connectedAt = new Date().toISOString();
      log.info('callback connected');
      await new Promise<void>((resolve) => {
        whenEnded(customerLeg, resolve);
        whenEnded(agentLeg, resolve);
      });
      await acd.complete(task.id).catch((err) => log.warn({ err }, 'could not complete the callback task'));
    } catch (err) {
      log.error({ err }, 'callback failed');
      const current = liveTask(acd, task.id);
      if (current?.state === 'assigned') await acd.complete(task.id).catch(() => undefined);
      else if (current?.state === 'offered') await this.#agentMissed(current, agentId, 'error', log);
    } finally {
      this.#active.delete(active);
      await Promise.all([...active.dialogs].map(hangUp));
      await media.close();
      const interaction = task.attributes[callbackAttributes.interaction];
      if (record !== undefined && interaction !== undefined) await this.#addToRecord(interaction, { ...record, endedAt: new Date().toISOString() });
    }
  }

  /** As for a queued call: the offer goes back, the agent goes not-ready (RONA), the next agent is tried. */
  async #agentMissed(task: TaskRecord, agentId: string, why: string, log: Logger): Promise<void> {
    log.info({ why }, 'the agent did not take the callback (RONA)');
    try {
      await this.deps.acd.reject(task.id, agentId);
      await this.deps.acd.setNotReady(agentId, this.deps.acd.settings.ronaReason);
    } catch (err) {
      log.warn({ err }, 'could not release the callback offer');
    }
  }

  async #requeue(retry: CallbackRetry): Promise<void> {
    await this.deps.acd.enqueue({ channel: 'voice', queue: retry.queue, priority: retry.priority, attributes: retry.attributes });
    this.#log.info({ queue: retry.queue, attempt: retry.attributes[callbackAttributes.attempt] }, 'callback back in its queue');
  }

  async #addToRecord(id: string, attempt: CallbackAttemptRecord): Promise<void> {
    await this.deps.records.append(id, 'callbacks', attempt);
    if (attempt.outcome !== 'connected') return;
    const record = await this.deps.records.get(id).catch(() => undefined);
    if (record === undefined) return;
    record.outcome = 'callback-handled';
    record.agentId = attempt.agentId;
    record.legs.push({ kind: 'agent', agentId: attempt.agentId, at: attempt.connectedAt ?? attempt.at }, { kind: 'customer', at: attempt.connectedAt ?? attempt.at });
    await this.deps.records.save(record);
  }
}

/** A callback to put back in its queue later (after an unanswered attempt). */
export interface CallbackRetry {
  readonly queue: string;
  readonly priority: number;
  readonly attributes: Record<string, string>;
}

function retryOf(task: TaskRecord, attempt: number): CallbackRetry {
  return { queue: task.queue, priority: task.priority, attributes: { ...task.attributes, [callbackAttributes.attempt]: String(attempt) } };
}

function isCallback(task: TaskRecord): boolean {
  return task.channel === 'voice' && task.attributes[callbackAttributes.marker] === 'requested';
}

function languageHeader(task: TaskRecord): Record<string, string> {
  return task.attributes.language ? { 'X-Onecc-Language': task.attributes.language } : {};
}

function liveTask(acd: AcdEngine, id: string): TaskRecord | undefined {
  try {
    return acd.task(id);
  } catch {
    return undefined;
  }
}

/**
 * Callbacks waiting for their next attempt, in Redis (a sorted set by due time) so that they survive a restart and
 * any node may requeue them: a node claims a due retry by removing it, and only the node whose ZREM removed it
 * requeues it.
 */
export class CallbackRetries {
  readonly #redis: Redis;
  readonly #key: string;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(redis: RedisTarget, keyTag: string, private readonly logger: Logger, private readonly pollMs = 1000) {
    this.#redis = new Redis({ ...redisConnectionOptions(redis), lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.#redis.on('error', (err) => logger.debug({ err: err.message }, 'callback retries: Redis connection error'));
    this.#key = `{${keyTag}}:callback-retries`;
  }

  async schedule(retry: CallbackRetry, dueAt: number): Promise<void> {
    try {
      await this.#redis.zadd(this.#key, dueAt, JSON.stringify({ ...retry, id: randomId() }));
    } catch (err) {
      this.logger.error({ err, retry }, 'callback retry not scheduled: the callback is lost');
    }
  }

  /** Polls for due retries and hands each to `requeue` (once, across every node). */
  start(requeue: (retry: CallbackRetry) => Promise<void>): void {
    const poll = async () => {
      try {
        const due = await this.#redis.zrangebyscore(this.#key, '-inf', Date.now(), 'LIMIT', 0, 50);
        for (const member of due) {
          if ((await this.#redis.zrem(this.#key, member)) !== 1) continue; // another node took it
          const retry = JSON.parse(member) as CallbackRetry;
          try {
            await requeue(retry);
          } catch (err) {
            this.logger.warn({ err, queue: retry.queue }, 'callback could not be requeued; trying again later');
            await this.#redis.zadd(this.#key, Date.now() + this.pollMs * 30, member);
          }
        }
      } catch (err) {
        this.logger.debug({ err }, 'callback retries: poll failed');
      }
    };
    const loop = () => {
      this.#timer = setTimeout(() => {
        this.#polling = poll().finally(() => {
          this.#polling = undefined;
          if (this.#timer !== undefined) loop();
        });
      }, this.pollMs);
    };
    loop();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    this.#redis.disconnect();
  }
}
