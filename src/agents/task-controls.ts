/**
 * What the agent feed asks of the channels for a task being handled (src/channels implements it; the composition
 * root passes it in). Each method fails with a TaskControlError when it cannot act.
 */
export interface TaskControls {
  hangup(taskId: string, agentId: string): Promise<void>;
  hold(taskId: string, agentId: string): Promise<void>;
  unhold(taskId: string, agentId: string): Promise<void>;
  /** Blind transfer: resolves once the target answered (the agent is then off the call). */
  transfer(taskId: string, agentId: string, to: { readonly agent: string } | { readonly number: string }): Promise<void>;
  /**
   * Rings `supervisor`'s phones with a fork of the call's audio (caller and agent as two streams, or one of them);
   * resolves once they answered. They hear the call until they hang up or the call ends.
   */
  monitor(taskId: string, supervisor: string, listen: 'both' | 'caller' | 'agent'): Promise<void>;
  /** Stops an agent's phones ringing for an offer the agent declined on the feed. */
  declined(taskId: string, agentId: string): void;
}

export class TaskControlError extends Error {
  constructor(readonly code: 'not-found' | 'forbidden' | 'invalid-state' | 'unavailable', message: string) {
    super(message);
  }
}

/** The interaction history the feed shows with an offer, and where a wrap-up's disposition goes. */
export interface InteractionHistory {
  /** The customer's latest interactions (most recent first), for the screen pop. */
  previous(customer: string, limit: number): Promise<readonly unknown[]>;
  /** Records the agent's disposition and notes on interaction `id`. */
  disposition(id: string, entry: { readonly agentId: string; readonly taskId: string; readonly disposition: string; readonly notes?: string; readonly at: string }): Promise<void>;
}
