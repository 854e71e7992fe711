import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

type EventMap = { [event: string]: unknown[] };

/**
 * EventEmitter with a typed event map. Listeners run through safeEmit so that a throwing listener is
 * logged and cannot corrupt the state of the object that emitted the event.
 */
export class TypedEmitter<Events extends EventMap> {
  readonly #emitter = new EventEmitter();

  constructor(protected readonly emitterLogger?: Logger) {
    this.#emitter.setMaxListeners(0);
  }

  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.#emitter.listenerCount(event);
  }

  protected safeEmit<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    try {
      return this.#emitter.emit(event, ...args);
    } catch (err) {
      this.emitterLogger?.error({ err, event }, 'event listener threw');
      return true;
    }
  }
}
