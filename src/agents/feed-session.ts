import type { WebSocket } from 'ws';
import { randomId } from '../lib/index';
import { PROTOCOL_VERSION, closeCodes } from './protocol';
import type { Identity } from './credentials';

/** Events kept for a resuming client; older ones are gone and the client gets `gap: true` and a snapshot instead. */
const REPLAY_EVENTS = 1000;

/**
 * One identity's stream of events: an agent has one session whatever connection it uses, so that a connection that
 * drops and comes back (auth with `resume`) gets every event it missed, in order, by `seq`. A supervisor's session
 * is its connection's. While no connection is attached, events are kept (the last REPLAY_EVENTS) for the grace
 * period the feed allows.
 */
export class FeedSession {
  readonly id = randomId();
  #seq = 0;
  readonly #replay: { seq: number; text: string }[] = [];
  #socket: WebSocket | undefined;
  /** The agent feed's timer that ends a session left without a connection. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Keeps events for one client in the order they were produced, also when one needs a lookup first. */
  #ordered: Promise<void> = Promise.resolve();
  /** Events waiting in #ordered: while any are, new ones queue behind them. */
  #queued = 0;

  constructor(
    readonly identity: Identity,
    private readonly maxBufferedBytes: number,
    private readonly onTooSlow: (session: FeedSession) => void,
  ) {}

  get socket(): WebSocket | undefined {
    return this.#socket;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Attaches a connection; with `lastSeq`, first replays what came after it. Returns false when some were lost. */
  attach(socket: WebSocket, lastSeq?: number): boolean {
    this.#socket = socket;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (lastSeq === undefined) return true;
    const missed = this.#replay.filter((e) => e.seq > lastSeq);
    const complete = lastSeq >= this.#seq || (missed.length > 0 && missed[0]!.seq === lastSeq + 1);
    for (const e of missed) this.#write(e.text);
    return complete;
  }

  detach(socket: WebSocket): void {
    if (this.#socket === socket) this.#socket = undefined;
  }

  /** Sends an event, after any still waiting for a lookup (eventAfter). */
  event(name: string, data: unknown): void {
    if (this.#queued === 0) return this.#emit(name, data);
    this.#queued++;
    this.#ordered = this.#ordered.then(() => {
      this.#queued--;
      this.#emit(name, data);
    });
  }

  /** Sends an event whose data needs a lookup first, without letting later events overtake it. */
  eventAfter(name: string, data: () => Promise<unknown>): void {
    this.#queued++;
    this.#ordered = this.#ordered.then(async () => {
      const value = await data().catch(() => undefined);
      this.#queued--;
      this.#emit(name, value);
    });
  }

  #emit(name: string, data: unknown): void {
    const seq = ++this.#seq;
    const text = JSON.stringify({ v: PROTOCOL_VERSION, type: 'event', seq, event: name, data });
    this.#replay.push({ seq, text });
    if (this.#replay.length > REPLAY_EVENTS) this.#replay.splice(0, this.#replay.length - REPLAY_EVENTS);
    this.#write(text);
  }

  /** A reply to one command (not numbered, not replayed). */
  reply(frame: Record<string, unknown>): void {
    this.#write(JSON.stringify({ v: PROTOCOL_VERSION, ...frame }));
  }

  #write(text: string): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== socket.OPEN) return;
    // A client that does not read must not make onecc buffer without bound: it is cut off, and may resume.
    if (socket.bufferedAmount + text.length > this.maxBufferedBytes) {
      this.#socket = undefined;
      socket.close(closeCodes.tooSlow, 'too slow: resume to catch up');
      this.onTooSlow(this);
      return;
    }
    socket.send(text);
  }
}
