import type Srf from 'drachtio-srf';
import type { AcdEngine } from '../../acd/index';
import { TaskControlError } from '../../agents/index';
import { randomId, type Logger } from '../../lib/index';
import type { MediaCall, MediaService } from '../../media/index';
import type { InteractionRecord, InteractionRecords } from '../interaction-records';
import { dialFirstAnswer, hangUp, phonesToRing, whenEnded, type Dial } from './dial';
import type { PhoneDirectory } from './phone-directory';
import { outboundUri, type Trunk } from './trunks';

/** The not-ready reason of an agent on a call they placed themselves: the ACD offers them nothing meanwhile. */
export const OUTBOUND_CALL_REASON = 'outbound-call';

export interface ManualDialSettings {
  /** The trunk calls go out through; undefined: no trunk places calls (dial is refused). */
  readonly trunk: Trunk | undefined;
  /** From's user part; null: the agent's id. */
  readonly callingNumber: string | null;
  readonly agentRingTimeoutMs: number;
  readonly customerRingTimeoutMs: number;
}

const LEG = { agent: 'agent', customer: 'customer' } as const;

/**
 * Calls an agent places from the desktop (agent feed `dial`). The agent's phones ring first, with the number in
 * X-Onecc-Dial; once one answers, onecc calls the number through the dial trunk and connects them through rtpengine.
 * The agent is not-ready `outbound-call` while it lasts (no offers) and gets back the state they had. Every call,
 * answered or not, gets an interaction record.
 */
export class ManualDialer {
  readonly #active = new Set<{ media: MediaCall; dials: Set<Dial>; dialogs: Set<Srf.Dialog> }>();
  readonly #log: Logger;

  constructor(
    private readonly deps: {
      readonly srf: Srf;
      readonly acd: AcdEngine;
      readonly media: MediaService;
      readonly phones: PhoneDirectory;
      readonly records: InteractionRecords;
      readonly settings: ManualDialSettings;
      readonly logger: Logger;
    },
  ) {
    this.#log = deps.logger.child({ component: 'manual-dial' });
  }

  /**
   * Resolves once the customer answered (the conversation goes on until either side hangs up); fails with a
   * TaskControlError when the agent cannot dial now, their phone or the customer did not answer.
   */
  async dial(agentId: string, number: string): Promise<{ interaction: string }> {
    const { settings } = this.deps;
    const trunk = settings.trunk;
    if (trunk === undefined) throw new TaskControlError('unavailable', 'no trunk places calls: set voice.manualDial.trunk (a trunk whose outboundUri needs no {source})');
    const uri = outboundUri(trunk, number, '');
    if (uri === undefined) throw new TaskControlError('invalid-state', `${number} is not a number onecc dials`);
    const restore = await this.#reserve(agentId);
    const { profile, targets } = phonesToRing(await this.deps.phones.devicesOf(agentId).catch(() => []));
    if (targets.length === 0) {
      await restore();
      throw new TaskControlError('invalid-state', 'you have no registered phone');
    }
    const id = `out-${randomId()}`;
    const log = this.#log.child({ callId: id, agentId });
    const media = this.deps.media.openCall(id);
    const active = { media, dials: new Set<Dial>(), dialogs: new Set<Srf.Dialog>() };
    this.#active.add(active);
    const record: InteractionRecord = {
      id,
      channel: 'voice',
      direction: 'outbound',
      startedAt: new Date().toISOString(),
      trunk: trunk.name,
      caller: settings.callingNumber ?? agentId,
      called: number,
      agentId,
      legs: [],
    };
    const finish = async (outcome: string) => {
      this.#active.delete(active);
      for (const dial of active.dials) dial.cancel();
      await Promise.all([...active.dialogs].map(hangUp));
      await media.close();
      await restore();
      record.outcome = outcome;
      record.endedAt = new Date().toISOString();
      await this.deps.records.save(record);
    };
    const ring = async (dialTargets: Parameters<typeof dialFirstAnswer>[1], options: Parameters<typeof dialFirstAnswer>[2]) => {
      const dial = dialFirstAnswer(this.deps.srf, dialTargets, options);
      active.dials.add(dial);
      const result = await dial.result;
      active.dials.delete(dial);
      if (result.kind === 'answered') active.dialogs.add(result.dialog);
      return result;
    };

    try {
      const agentAnswer = await ring(targets, { sdp: await media.originate(profile), headers: { 'X-Onecc-Dial': number }, timeoutMs: settings.agentRingTimeoutMs });
      if (agentAnswer.kind === 'failed') {
        await finish(`agent-${agentAnswer.reason}`);
        throw new TaskControlError('invalid-state', `your phone did not answer (${agentAnswer.reason})`);
      }
      const agentLeg = agentAnswer.dialog;
      record.legs.push({ kind: 'agent', agentId, callId: agentLeg.sip.callId, at: new Date().toISOString() });
      let agentGone = false;
      whenEnded(agentLeg, () => {
        agentGone = true;
        active.dialogs.delete(agentLeg);
        for (const dial of active.dials) dial.cancel();
      });
      await media.connectOriginated(LEG.agent, agentLeg.remote.sdp);
      const customerAnswer = await ring([{ uri }], {
        sdp: await media.offer(LEG.agent, agentLeg.remote.sdp, 'rtp', { toTag: LEG.customer }),
        callingNumber: settings.callingNumber ?? agentId,
        timeoutMs: settings.customerRingTimeoutMs,
      });
      if (customerAnswer.kind === 'failed') {
        const outcome = agentGone ? 'agent-hung-up' : customerAnswer.reason;
        await finish(outcome);
        throw new TaskControlError('invalid-state', `the call to ${number} was not answered (${outcome})`);
      }
      const customerLeg = customerAnswer.dialog;
      record.legs.push({ kind: 'customer', callId: customerLeg.sip.callId, target: uri, at: new Date().toISOString() });
      await media.answer(LEG.agent, LEG.customer, customerLeg.remote.sdp);
      void this.deps.records.save(record);
      log.info({ number }, 'manual call connected');
      void new Promise<void>((resolve) => {
        whenEnded(customerLeg, resolve);
        whenEnded(agentLeg, resolve);
      }).then(() => finish('completed'));
      return { interaction: id };
    } catch (err) {
      if (err instanceof TaskControlError) throw err;
      log.error({ err }, 'manual call failed');
      await finish('failed');
      throw new TaskControlError('unavailable', `the call failed: ${(err as Error).message}`);
    }
  }

  /** Hangs up every manual call in progress. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#active].map(async (active) => {
        for (const dial of active.dials) dial.cancel();
        await Promise.all([...active.dialogs].map(hangUp));
        await active.media.close();
      }),
    );
  }

  /** Keeps the agent from offers while they dial; resolves with what gives them back the state they had. */
  async #reserve(agentId: string): Promise<() => Promise<void>> {
    const { acd } = this.deps;
    let state: string;
    try {
      state = acd.agentState(agentId);
    } catch {
      throw new TaskControlError('invalid-state', 'log in first');
    }
    if (state === 'logged-out') throw new TaskControlError('invalid-state', 'log in first');
    const before = acd.agent(agentId).reason;
    if (state !== 'available' && state !== 'not-ready') throw new TaskControlError('invalid-state', `you are ${state}`);
    if (before === OUTBOUND_CALL_REASON) throw new TaskControlError('invalid-state', 'you are already on a call you placed');
    await acd.setNotReady(agentId, OUTBOUND_CALL_REASON);
    const restore = async () => {
      try {
        if (acd.agentState(agentId) !== 'not-ready' || acd.agent(agentId).reason !== OUTBOUND_CALL_REASON) return; // the agent changed it meanwhile
        if (state === 'available') await acd.setReady(agentId);
        else await acd.setNotReady(agentId, before ?? OUTBOUND_CALL_REASON);
      } catch (err) {
        this.#log.warn({ err, agentId }, 'could not give the agent back their state after a manual call');
      }
    };
    if (acd.agentState(agentId) !== 'not-ready') {
      await restore();
      throw new TaskControlError('invalid-state', 'you were just offered a task');
    }
    return restore;
  }
}
