/**
 * Blended mode: agents shared between inbound queues and an outbound campaign go to the dialer only while every
 * inbound queue's forecast service level stays at its target without them.
 *
 * For each inbound queue: the smallest number k of shared agents that, added to the queue's own (inbound-only) agents,
 * gives a forecast service level at or above the target — the forecast is the injected `model` (pass the ACD's
 * `erlangA` from src/acd/estimate: this folder imports nothing but lib, and the input shape below is erlangA's). While
 * the queue's service level so far today is below its target the queue asks for more: the forecast must reach the
 * target plus the shortfall (capped at 99 %), so that the day's figure recovers. People already waiting in the queue
 * each hold one shared agent back as well. The dialer may use the shared agents no queue needs: shared − Σ k (the
 * queues are taken as not sharing their own agents, so the sum errs on inbound's side).
 *
 * The runtime passes the result as the campaign's usable agents: it offers the dialer at most that many of the
 * shared agents that are available, and gives the others back to the ACD as their campaign calls end.
 */
export interface InboundForecast {
  readonly queue: string;
  /** Forecast arrivals per second for the coming interval. */
  readonly arrivalsPerSecond: number;
  /** Mean handle time including wrap-up, seconds. */
  readonly meanHandleSeconds: number;
  /** Mean patience of a waiting caller, seconds (Infinity: Erlang C). */
  readonly meanPatienceSeconds: number;
  /** Agents answering this queue who are never lent to the dialer. */
  readonly dedicatedAgents: number;
  /** Target: `percent` % answered within `seconds` (the ACD's QueueSnapshot.serviceLevelTarget). */
  readonly target: { readonly percent: number; readonly seconds: number };
  /** Service level so far today in % (the ACD's QueueSnapshot.today.serviceLevelPercent), null before the first call. */
  readonly serviceLevelSoFarPercent: number | null;
  /** Calls waiting in the queue now. */
  readonly waiting: number;
}

/** The input erlangA (src/acd/estimate) takes; any forecast with this shape will do. */
export interface ServiceLevelModelInput {
  arrivalRate: number;
  meanHandleTime: number;
  agents: number;
  slThreshold: number;
  meanPatience?: number;
}
export type ServiceLevelModel = (input: ServiceLevelModelInput) => { readonly serviceLevel: number };

export interface BlendedShare {
  /** Shared agents the dialer may use now. */
  readonly dialerAgents: number;
  /** Per queue: shared agents it needs, and its forecast service level (fraction) with them. */
  readonly queues: readonly { readonly queue: string; readonly sharedNeeded: number; readonly forecast: number; readonly aim: number }[];
}

export function blendedShare(sharedAgents: number, inbound: readonly InboundForecast[], model: ServiceLevelModel): BlendedShare {
  const shared = Math.max(0, Math.floor(sharedAgents));
  let needed = 0;
  const queues: BlendedShare['queues'][number][] = [];
  for (const q of inbound) {
    const target = q.target.percent / 100;
    const soFar = q.serviceLevelSoFarPercent === null ? target : q.serviceLevelSoFarPercent / 100;
    const aim = Math.min(0.99, target + Math.max(0, target - soFar));
    const forecastWith = (k: number): number => {
      const agents = q.dedicatedAgents + k;
      if (q.arrivalsPerSecond <= 0) return 1;
      if (agents < 1) return 0;
      const load = q.arrivalsPerSecond * q.meanHandleSeconds;
      // Erlang C has no steady state at or past full load: below target by definition.
      if (!Number.isFinite(q.meanPatienceSeconds) && load >= agents) return 0;
      return model({
        arrivalRate: q.arrivalsPerSecond, meanHandleTime: q.meanHandleSeconds, agents, slThreshold: q.target.seconds,
        ...(Number.isFinite(q.meanPatienceSeconds) ? { meanPatience: q.meanPatienceSeconds } : {}),
      }).serviceLevel;
    };
    let k = Math.min(shared, Math.max(0, Math.ceil(q.waiting)));
    while (k < shared && forecastWith(k) < aim) k++;
    needed += k;
    queues.push({ queue: q.queue, sharedNeeded: k, forecast: forecastWith(k), aim });
  }
  return { dialerAgents: Math.max(0, shared - needed), queues };
}
