import type { Channel } from '../acd/index';

/**
 * One customer's answers to the satisfaction survey of one interaction, on any channel (the IVR after a call, the
 * chat's closing question, the video page), with the touchpoints it is reported under.
 */
export interface SurveyResponse {
  readonly interaction: string;
  /** When the answers were given (ms since the epoch): the interval they are reported in. */
  readonly at: number;
  readonly channel: Channel;
  readonly queue: string | null;
  readonly agentId: string | null;
  readonly dispositions: readonly string[];
  /** IVR nodes the caller went through (menus, queues, the survey itself): the moments of truth of a call. */
  readonly ivrNodes: readonly string[];
  readonly customer: string | null;
  /** 1–5 */
  readonly csat: number | null;
  /** 0–10 */
  readonly nps: number | null;
  /** What the customer wrote. */
  readonly comment: string | null;
  /** What the customer said: a recording's file name (GET it from the interaction's export). */
  readonly commentRecording: string | null;
}

export const touchpoints = ['channel', 'queue', 'agent', 'disposition', 'ivr-node'] as const;
export type Touchpoint = (typeof touchpoints)[number];

/** The values of `by` a response is reported under (several dispositions or IVR nodes: under each). */
export function touchpointValues(response: SurveyResponse, by: Touchpoint): readonly string[] {
  switch (by) {
    case 'channel':
      return [response.channel];
    case 'queue':
      return response.queue === null ? [] : [response.queue];
    case 'agent':
      return response.agentId === null ? [] : [response.agentId];
    case 'disposition':
      return response.dispositions;
    case 'ivr-node':
      return response.ivrNodes;
  }
}
