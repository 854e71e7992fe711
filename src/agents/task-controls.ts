/**
 * What the agent feed asks of the channels for a task being handled (src/channels implements it; the composition
 * root passes it in). Each method fails with a TaskControlError when it cannot act.
 */
export interface TaskControls {
  hangup(taskId: string, agentId: string): Promise<void>;
  hold(taskId: string, agentId: string): Promise<void>;
  unhold(taskId: string, agentId: string): Promise<void>;
  /**
   * Blind transfer: to an agent or a number it resolves once the target answered; to a queue once the caller is
   * queued there (with music). Either way the agent is then off the call and their task completed.
   */
  transfer(taskId: string, agentId: string, to: { readonly agent: string } | { readonly number: string } | { readonly queue: string }): Promise<void>;
  /**
   * Attended transfer, first step: the caller on hold, the target rings (an agent, a number, or an agent the ACD
   * finds in a queue); resolves once agent and target talk.
   */
  consult(taskId: string, agentId: string, to: { readonly agent: string } | { readonly number: string } | { readonly queue: string }): Promise<void>;
  /** Attended transfer completed: the caller talks to the consulted party; the agent is off the call. */
  completeConsult(taskId: string, agentId: string): Promise<void>;
  /** The consultation is over: the consulted party is hung up, the agent talks to the caller again. */
  cancelConsult(taskId: string, agentId: string): Promise<void>;
  /** The caller, the agent and the consulted party talk together (a consultation must be answered). */
  conference(taskId: string, agentId: string): Promise<void>;
  /**
   * Rings `supervisor`'s phones and, once answered, joins them to the conversation: whisper (only the agent hears
   * them) or barge (both do). On a supervisor already in, it switches the mode.
   */
  supervise(taskId: string, supervisor: string, mode: 'whisper' | 'barge'): Promise<void>;
  /** A call the agent places: their phone rings first, then the number; resolves once the number answered. */
  dial(agentId: string, number: string): Promise<{ readonly interaction: string }>;
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

/** What an offer shows of the customer: who they are, the case, their latest other interactions (newest first). */
export interface ScreenPop {
  readonly customer: { readonly id: string; readonly name: string | null; readonly language: string | null; readonly identities: readonly string[]; readonly case: string; readonly doNotContact: boolean } | null;
  readonly previousInteractions: readonly unknown[];
}

/** The interaction history the feed shows with an offer, and where a wrap-up's disposition goes. */
export interface InteractionHistory {
  /** The screen pop of a task (its attributes name its interaction). */
  screenPop(attributes: Readonly<Record<string, string>>, limit: number): Promise<ScreenPop>;
  /** Records the agent's disposition and notes on interaction `id`. */
  disposition(id: string, entry: { readonly agentId: string; readonly taskId: string; readonly disposition: string; readonly notes?: string; readonly at: string; readonly queue?: string }): Promise<void>;
}

/** A file the customer or the agent shares in a chat, by URL (onecc stores the link, not the file). */
export interface ChatAttachment {
  readonly url: string;
  readonly name?: string;
  readonly type?: string;
}

/** One message of a conversation as agents and customers see it. */
export interface ChatMessageView {
  /** Its id in the conversation (a Redis stream id): ordered, and what read receipts name. */
  readonly id: string;
  readonly from: 'customer' | 'agent' | 'system';
  /** The agent's id for agent messages. */
  readonly agentId?: string;
  readonly text: string;
  readonly attachments: readonly ChatAttachment[];
  /** ms since the epoch. */
  readonly at: number;
}

/** What the chat channel pushes to the agent handling (or offered) a conversation, through the feed. */
export type ChatFeedEvent =
  | { readonly type: 'chat-message'; readonly taskId: string; readonly message: ChatMessageView }
  | { readonly type: 'chat-typing'; readonly taskId: string; readonly from: 'customer' }
  | { readonly type: 'chat-receipt'; readonly taskId: string; readonly receipt: 'delivered' | 'read'; readonly upTo: string }
  | { readonly type: 'chat-ended'; readonly taskId: string; readonly reason: string };

/**
 * What the agent feed asks of the chat channel for chat tasks (src/channels/chat implements it; the composition root
 * passes it in). Each method fails with a TaskControlError when it cannot act (not the agent's task: forbidden).
 */
export interface ChatControls {
  /** The agent's message into the conversation of chat task `taskId`; resolves with it as stored. */
  send(taskId: string, agentId: string, message: { readonly text: string; readonly attachments: readonly ChatAttachment[] }): Promise<ChatMessageView>;
  /** The agent is typing: the customer sees an indicator. */
  typing(taskId: string, agentId: string): Promise<void>;
  /** The agent has read the conversation up to message `upTo`: the customer sees a read receipt. */
  read(taskId: string, agentId: string, upTo: string): Promise<void>;
  /** The whole transcript so far, oldest first (the agent offered or handling the task). */
  transcript(taskId: string, agentId: string): Promise<readonly ChatMessageView[]>;
  /** The agent ends the conversation: the customer is asked the CSAT question; the feed then completes the task. */
  close(taskId: string, agentId: string): Promise<void>;
  /**
   * Hands the conversation, with its transcript, to a queue or an agent (a new ACD task, offered to that agent at
   * once); the agent's task is completed.
   */
  transfer(taskId: string, agentId: string, to: { readonly agent: string } | { readonly queue: string }): Promise<void>;
  /** Events for agents (the listener delivers to the agent if connected to this node); returns the unsubscribe. */
  subscribe(listener: (agentId: string, event: ChatFeedEvent, at: number) => void): () => void;
}
