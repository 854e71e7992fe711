/**
 * The bounded waits the test helpers share: every wait here ends, by itself, after a timeout.
 */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve exposed: for "wait until the app saw X" in handlers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(err: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * `promise`, or a rejection after `ms`: "`what`: nothing within `ms` ms", or the error `what` makes (called
 * only then, so that it can describe the state at that moment).
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof what === 'string' ? new Error(`${what}: nothing within ${ms} ms`) : what()), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when `promise` resolves within `ms`, false otherwise (for "closed within N ms?"). */
export async function resolvesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 5 ms; true as soon as it holds, false after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 1000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await delay(5);
  }
  return true;
}

/**
 * Pending waits on something that grows (a list of events, messages, responses): `until` resolves with what
 * `find` returns as soon as it is not undefined, checked now and at every `wake()`; it rejects with
 * `failed()` when that says the source ended without it, or with `timeout()` after `timeoutMs`. The owner
 * calls `wake()` whenever something arrived or the source ended.
 */
export class Waiters {
  readonly #checks = new Set<() => void>();

  until<T>(
    find: () => T | undefined,
    options: { timeoutMs: number; timeout: () => Error; failed?: () => Error | undefined },
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found !== undefined) return settle(() => resolve(found));
        const failure = options.failed?.();
        if (failure) settle(() => reject(failure));
      };
      const timer = setTimeout(() => settle(() => reject(options.timeout())), options.timeoutMs);
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        this.#checks.delete(check);
        fn();
      };
      this.#checks.add(check);
      check();
    });
  }

  wake(): void {
    for (const check of [...this.#checks]) check();
  }
}
