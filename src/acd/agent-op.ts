import { capacityViolation, hasFreeSlot, slotsHeld } from './capacity';
import { channels, type AgentRecord, type Channel, type CrossChannelRule, type PerChannel } from './types';

/**
 * A change to one agent, as an operation rather than a new record: several nodes change the same agent at once (one
 * offers it a chat while another completes its call), and operations on counters commute where whole records would
 * conflict. The store applies it to the agent as stored, atomically, with the same function (lua/commitChange.lua
 * mirrors applyAgentOp), and refuses it when a precondition no longer holds.
 */
export interface AgentOp {
  readonly id: string;
  /** Revision of the result. */
  readonly rev: string;
  readonly now: number;
  /** The record to start from when the agent does not exist yet (first login). */
  readonly create?: AgentRecord;
  readonly set?: Partial<Pick<AgentRecord, 'presence' | 'reason' | 'skills' | 'languages' | 'capacity' | 'wrapUpUntil' | 'lastOfferAt'>>;
  /** Added to the counters. */
  readonly reserved?: Partial<PerChannel<number>>;
  readonly busy?: Partial<PerChannel<number>>;
  /** An offer on this channel: refused unless the agent is ready, out of wrap-up and has a free slot for it. */
  readonly offer?: Channel;
  /** Refused while the agent handles tasks (logout). */
  readonly requireNoBusy?: boolean;
  /** idleSince := now if the agent was not ready before and is after (became ready, wrap-up ended early). */
  readonly idleIfBecomesReady?: boolean;
  /** idleSince := now if the agent holds nothing afterwards. */
  readonly idleIfFree?: boolean;
  /** wrapUpUntil := max(wrapUpUntil, this). */
  readonly wrapUpAtLeast?: number;
}

export type AgentOpResult = { readonly ok: true; readonly agent: AgentRecord } | { readonly ok: false; readonly reason: string };

function ready(agent: AgentRecord, now: number): boolean {
  return agent.presence === 'ready' && agent.wrapUpUntil <= now;
}

export function applyAgentOp(stored: AgentRecord | undefined, op: AgentOp, rules: readonly CrossChannelRule[]): AgentOpResult {
  const start = stored ?? op.create;
  if (!start) return { ok: false, reason: `unknown agent ${op.id}` };
  if (op.requireNoBusy && channels.some((c) => start.busy[c] > 0)) return { ok: false, reason: `agent ${op.id} is handling tasks` };
  if (op.offer) {
    if (!ready(start, op.now)) return { ok: false, reason: `agent ${op.id} is not ready` };
    if (!hasFreeSlot(start, op.offer, rules)) return { ok: false, reason: `agent ${op.id} has no free ${op.offer} slot` };
  }
  const reserved = { ...start.reserved };
  const busy = { ...start.busy };
  for (const c of channels) {
    reserved[c] += op.reserved?.[c] ?? 0;
    busy[c] += op.busy?.[c] ?? 0;
  }
  let next: AgentRecord = { ...start, ...op.set, reserved, busy, v: start.v + 1, rev: op.rev };
  if (op.wrapUpAtLeast !== undefined && op.wrapUpAtLeast > next.wrapUpUntil) next = { ...next, wrapUpUntil: op.wrapUpAtLeast };
  if ((op.idleIfBecomesReady && !ready(start, op.now) && ready(next, op.now)) || (op.idleIfFree && channels.every((c) => slotsHeld(next, c) === 0))) {
    next = { ...next, idleSince: op.now };
  }
  const violation = capacityViolation(next);
  return violation ? { ok: false, reason: `agent ${op.id}: ${violation}` } : { ok: true, agent: next };
}
