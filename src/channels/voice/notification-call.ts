import type Srf from 'drachtio-srf';
import type { AcdEngine } from '../../acd/index';
import { IvrRunner, type DialplanSet, type TextPrompts } from '../../ivr/index';
import { randomId, type Logger } from '../../lib/index';
import type { MediaService } from '../../media/index';
import type { PromptLibrary } from '../../media/prompts/index';
import type { InteractionRecord, InteractionRecords } from '../interaction-records';
import { dialFirstAnswer } from './dial';
import { CALLER_LEG, InboundCall } from './inbound-call';
import type { PhoneDirectory } from './phone-directory';

/** A notification spoken to the customer: the call, and the dialplan it runs once answered. */
export interface NotificationCallRequest {
  readonly notification: string;
  readonly uri: string;
  readonly number: string;
  readonly callerId: string;
  readonly language: string;
  /** Said by the dialplan as ${message}. */
  readonly message: string;
  /** The event's payload: dialplan variables (and, on a hand-off, the agent's screen pop). */
  readonly payload: Readonly<Record<string, string>>;
  readonly dialplan: string;
  readonly ringTimeoutMs: number;
}

/**
 * How the call went: not answered (busy, no answer, failed), or answered with what the dialplan left in its `answer`
 * variable (yes, no, or anything it sets; null when it set none) and the agent it handed the customer to, if any.
 */
export type NotificationCallResult =
  | { readonly outcome: 'busy' | 'no-answer' | 'failed'; readonly interaction: string }
  | { readonly outcome: 'answered'; readonly interaction: string; readonly answer: string | null; readonly agent: string | null };

export interface NotificationCallDeps {
  readonly srf: Srf;
  readonly media: MediaService;
  readonly prompts: PromptLibrary;
  readonly textPrompts: TextPrompts;
  readonly dialplans: DialplanSet;
  readonly acd: AcdEngine;
  readonly phones: PhoneDirectory;
  readonly records: InteractionRecords;
  readonly agentRingTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * Calls the customer through a trunk and, once they answer, runs the notification's dialplan with the message and
 * the event's payload as variables: it says the message, takes their keys (setting `answer`), and may queue them for
 * an agent, whose offer then carries the notification and its payload. The call has an interaction record like any
 * other (outbound, linked to the customer by the number called).
 */
export async function placeNotificationCall(deps: NotificationCallDeps, request: NotificationCallRequest): Promise<NotificationCallResult> {
  const id = `notify-${randomId()}`;
  const log = deps.logger.child({ component: 'notifications', notification: request.notification, callId: id });
  const dialplan = deps.dialplans.get(request.dialplan);
  if (dialplan === undefined) {
    log.error({ dialplan: request.dialplan }, 'notification call: no such dialplan');
    return { outcome: 'failed', interaction: id };
  }
  const media = deps.media.openCall(id);
  const record: InteractionRecord = {
    id, channel: 'voice', direction: 'outbound', startedAt: new Date().toISOString(), trunk: 'notifications', caller: request.callerId, called: request.number, legs: [], dialplan: dialplan.id,
  };
  let call: InboundCall | undefined;
  let result: NotificationCallResult = { outcome: 'failed', interaction: id };
  try {
    const sdp = await media.originate('rtp');
    const answer = await dialFirstAnswer(deps.srf, [{ uri: request.uri }], { sdp, callingNumber: request.callerId, timeoutMs: request.ringTimeoutMs }).result;
    if (answer.kind === 'failed') {
      result = { outcome: answer.reason === 'busy' ? 'busy' : answer.reason === 'no-answer' ? 'no-answer' : 'failed', interaction: id };
      return result;
    }
    const dialog: Srf.Dialog = answer.dialog;
    record.legs.push({ kind: 'customer', callId: dialog.sip.callId, target: request.uri, at: new Date().toISOString() });
    await media.connectOriginated(CALLER_LEG, dialog.remote.sdp);
    call = new InboundCall(id, media, dialog.remote.sdp, {
      srf: deps.srf, acd: deps.acd, phones: deps.phones, logger: log, ringTimeoutMs: deps.agentRingTimeoutMs, transferRingTimeoutMs: deps.agentRingTimeoutMs,
      callbackUri: () => undefined, onQueueTask: () => undefined, record: false,
    });
    const runner = new IvrRunner({
      callId: id, dialplan,
      variables: { ...request.payload, caller: request.callerId, called: request.number, language: request.language, message: request.message, notification: request.notification },
      call: media, leg: CALLER_LEG, prompts: deps.prompts, textPrompts: deps.textPrompts, host: call, dialplans: (other) => deps.dialplans.get(other), logger: log,
    });
    call.attachCaller(dialog, () => runner.callerHungUp());
    const path = await runner.run();
    record.ivr = path;
    const agent = path.queues.find((visit) => visit.agent !== undefined)?.agent ?? null;
    if (agent !== null) record.agentId = agent;
    result = { outcome: 'answered', interaction: id, answer: path.variables.answer ?? null, agent };
    return result;
  } catch (err) {
    log.error({ err }, 'notification call failed');
    return result;
  } finally {
    if (call) await call.end();
    else await media.close();
    record.outcome = result.outcome === 'answered' ? (result.agent ? 'handled' : result.answer ?? 'answered') : result.outcome;
    record.endedAt = new Date().toISOString();
    await deps.records.save(record);
  }
}

