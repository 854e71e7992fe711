import type { Logger } from 'pino';

/**
 * Logs at most `perInterval` lines per `intervalMs` for one kind of event, then one summary line with the
 * count of what it held back. Garbage on the wire must not turn into a log flood.
 */
export class RateLimitedLog {
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perInterval = 10,
    private readonly intervalMs = 10_000,
  ) {}

  warn(obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.#windowStart >= this.intervalMs) {
      if (this.#suppressed > 0) {
        this.logger.warn({ suppressed: this.#suppressed }, `${this.#suppressed} similar messages suppressed`);
      }
      this.#windowStart = now;
      this.#inWindow = 0;
      this.#suppressed = 0;
    }
    if (this.#inWindow < this.perInterval) {
      this.#inWindow++;
      this.logger.warn(obj, msg);
    } else {
      this.#suppressed++;
    }
  }
}
