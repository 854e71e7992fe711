import { channels, type AgentRecord, type Channel, type CrossChannelRule, type PerChannel } from './types';

/** Tasks the agent holds on a channel: offered plus handled (an offer holds its slot until it ends). */
export function slotsHeld(agent: AgentRecord, channel: Channel): number {
  return agent.reserved[channel] + agent.busy[channel];
}

/** Whether one more task of `channel` fits the agent's capacity and the cross-channel rules in force. */
export function hasFreeSlot(agent: AgentRecord, channel: Channel, rules: readonly CrossChannelRule[]): boolean {
  const held = slotsHeld(agent, channel);
  if (held >= agent.capacity[channel]) return false;
  for (const rule of rules) {
    if (rule.whileOn.some((c) => slotsHeld(agent, c) > 0) && held >= rule.limits[channel]) return false;
  }
  return true;
}

/** Share of the agent's total capacity in use, 0–1: the least-occupied key. */
export function occupancy(agent: AgentRecord): number {
  let held = 0;
  let total = 0;
  for (const c of channels) {
    held += slotsHeld(agent, c);
    total += agent.capacity[c];
  }
  return total === 0 ? 1 : held / total;
}

/** A broken bound, described, or null. Every committed agent record must pass this (the store checks it too). */
export function capacityViolation(agent: AgentRecord): string | null {
  for (const c of channels) {
    if (agent.reserved[c] < 0 || agent.busy[c] < 0) return `${c} count below zero`;
    if (slotsHeld(agent, c) > agent.capacity[c]) return `${c} holds ${slotsHeld(agent, c)} of capacity ${agent.capacity[c]}`;
  }
  return null;
}

export const noTasks: PerChannel<number> = { voice: 0, video: 0, chat: 0, email: 0 };
