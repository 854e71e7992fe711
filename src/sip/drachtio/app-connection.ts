import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/index';
import { WireFramer, WireProtocolError, frame } from './wire-framer';

/** One application (a drachtio-srf client) connected to the engine's drachtio listener. */
export class AppConnection {
  authenticated = false;
  tags: string[] = [];
  /** Verbs it asked to receive: lower-case methods and `cdr:attempt|start|stop`. */
  readonly routes = new Set<string>();
  #closed = false;
  readonly #framer: WireFramer;

  constructor(
    readonly id: string,
    readonly socket: Socket,
    maxMessageBytes: number,
    private readonly log: Logger,
    onMessage: (conn: AppConnection, payload: string) => void,
    onClose: (conn: AppConnection) => void,
  ) {
    this.#framer = new WireFramer(maxMessageBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let payloads: string[];
      try {
        payloads = this.#framer.push(chunk);
      } catch (err) {
        if (!(err instanceof WireProtocolError)) throw err;
        log.warn({ app: id, reason: err.message }, 'malformed drachtio frame; closing the application connection');
        this.close();
        return;
      }
      for (const payload of payloads) {
        if (this.#closed) return;
        onMessage(this, payload);
      }
    });
    socket.on('error', (err) => log.debug({ err, app: id }, 'application socket error'));
    socket.on('close', () => {
      this.#closed = true;
      onClose(this);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `<uuid>|<rest>` and returns the uuid. */
  send(rest: string): string {
    const id = randomUUID();
    if (!this.#closed) this.socket.write(frame(`${id}|${rest}`));
    return id;
  }

  /** Replies to the application's message `msgId`. */
  reply(msgId: string, rest: string): void {
    this.send(`response|${msgId}|${rest}`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.end();
    this.socket.destroy();
    this.log.debug({ app: this.id }, 'application connection closed');
  }
}
