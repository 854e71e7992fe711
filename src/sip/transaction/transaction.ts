import { InvalidStateError, TypedEmitter, type Logger } from '../../lib/index';
import type { SipRequest } from '../message/index';
import { isReliable, type RemoteEndpoint, type TransportLayer } from '../transport/index';
import { timerDurations, type TimerDurations, type TimerSettings } from './timers';

export enum TransactionState {
  Calling = 'calling',
  Trying = 'trying',
  Proceeding = 'proceeding',
  /** RFC 6026: a 2xx to an INVITE was sent or received; waits for retransmissions of it. */
  Accepted = 'accepted',
  Completed = 'completed',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}

export interface TransactionEvents {
  stateChanged: [TransactionState];
  /** Emitted once when the transaction reaches Terminated, whatever the reason. */
  terminated: [];
  [event: string]: unknown[];
}

/** What every transaction is given by the layer that creates it. */
export interface TransactionContext {
  transport: TransportLayer;
  timers: TimerSettings;
  logger: Logger;
}

/**
 * What the four RFC 3261 §17 machines share: one state door (setState), named timers that are all cleared
 * on termination, and the transport timer values for the transport the request travels on.
 */
export abstract class Transaction<Events extends TransactionEvents = TransactionEvents> extends TypedEmitter<Events> {
  #state: TransactionState;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  protected readonly durations: TimerDurations;
  protected readonly reliable: boolean;
  #log: Logger | undefined;

  protected constructor(
    /** The key the layer matches by (RFC 3261 §17.1.3 / §17.2.3). */
    readonly id: string,
    readonly request: SipRequest,
    readonly remote: RemoteEndpoint,
    protected readonly context: TransactionContext,
    initial: TransactionState,
  ) {
    super(context.logger);
    this.#state = initial;
    this.reliable = isReliable(remote.protocol);
    this.durations = timerDurations(context.timers, this.reliable);
  }

  /** A child logger made on first use: most transactions never log, and tens of thousands live at once. */
  protected get log(): Logger {
    this.#log ??= this.context.logger.child({ tx: this.id, method: this.request.method });
    return this.#log;
  }

  get state(): TransactionState {
    return this.#state;
  }

  get terminated(): boolean {
    return this.#state === TransactionState.Terminated;
  }

  protected setState(state: TransactionState): void {
    if (this.#state === state) return;
    if (this.#state === TransactionState.Terminated) throw new InvalidStateError('transaction already terminated', { tx: this.id });
    this.log.trace({ from: this.#state, to: state }, 'transaction state');
    this.#state = state;
    this.safeEmit('stateChanged', ...([state] as Events['stateChanged']));
    if (state === TransactionState.Terminated) {
      for (const timer of this.#timers.values()) clearTimeout(timer);
      this.#timers.clear();
      this.safeEmit('terminated', ...([] as unknown as Events['terminated']));
    }
  }

  /** (Re)starts the named RFC timer; a zero duration fires on the next turn of the event loop. */
  protected startTimer(name: string, ms: number, onFire: () => void): void {
    this.stopTimer(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        if (!this.terminated) onFire();
      }, ms),
    );
  }

  protected stopTimer(name: string): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  protected terminate(): void {
    if (!this.terminated) this.setState(TransactionState.Terminated);
  }

  /** Ends the transaction without sending anything (its layer is closing). Idempotent. */
  close(): void {
    this.terminate();
  }
}
