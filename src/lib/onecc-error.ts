/** Base of every coded error in onecc: a stable `code` for programs, a message for people, context for logs. */
export class OneccError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** A method was called on an object that is closed or not yet ready. */
export class InvalidStateError extends OneccError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('INVALID_STATE', message, context);
  }
}
