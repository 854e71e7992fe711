import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { randomId } from '../lib/index';
import { PROTOCOL_VERSION, closeCodes } from './protocol';
import type { Identity } from './credentials';

/** Events kept for a resuming client; older ones are gone and the client gets `gap: true` and a snapshot instead. */
const REPLAY_EVENTS = 1000;

/**
 * An event frame but its `seq` (what JSON.stringify would write after it: `"event":..., "at":..., "data":...}`),
 * serialized once for every session it goes to: a supervisor event used to be serialized once per supervisor.
 * `at`: when what the event reports happened (ms since the epoch).
 */
export function eventBody(name: string, at: number, data: unknown): string {
  const json = JSON.stringify(data) as string | undefined;
  return `"event":${JSON.stringify(name)},"at":${JSON.stringify(at)}${json === undefined ? '' : `,"data":${json}`}}`;
}

/**
 * One identity's stream of events: an agent has one session whatever connection it uses, so that a connection that
 * drops and comes back (auth with `resume`) gets every event it missed, in order, by `seq`. A supervisor's session
 * is its connection's. While no connection is attached, events are kept (the last REPLAY_EVENTS) for the grace
 * period the feed allows.
 */
export class FeedSession {
  readonly id = randomId();
  #seq = 0;
  #replay: { seq: number; text: string }[] = [];
  #socket: WebSocket | undefined;
  /** The TCP socket under #socket, corked while a turn of the event loop writes to it (see #write). */
  #transport: Duplex | undefined;
  #corked = false;
  /** The agent feed's timer that ends a session left without a connection. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Keeps events for one client in the order they were produced, also when one needs a lookup first. */
  #ordered: Promise<void> = Promise.resolve();
  /** Events waiting in #ordered: while any are, new ones queue behind them. */
  #queued = 0;

  /**
   * `replayEvents`: how many recent events to keep for a resuming client (REPLAY_EVENTS for agents; 0 for
   * supervisors, who do not resume: keeping their thousands of events a second only fed the garbage collector).
   */
  constructor(
    readonly identity: Identity,
    private readonly maxBufferedBytes: number,
    private readonly onTooSlow: (session: FeedSession) => void,
    private readonly replayEvents = identity.role === 'agent' ? REPLAY_EVENTS : 0,
  ) {}

  get socket(): WebSocket | undefined {
    return this.#socket;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Attaches a connection; with `lastSeq`, first replays what came after it. Returns false when some were lost. */
  attach(socket: WebSocket, transport: Duplex, lastSeq?: number): boolean {
    this.#socket = socket;
    this.#transport = transport;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (lastSeq === undefined) return true;
    const missed = this.#replay.filter((e) => e.seq > lastSeq).slice(-this.replayEvents);
    const complete = lastSeq >= this.#seq || (missed.length > 0 && missed[0]!.seq === lastSeq + 1);
    for (const e of missed) this.#write(e.text);
    return complete;
  }

  detach(socket: WebSocket): void {
    if (this.#socket === socket) this.#socket = undefined;
  }

  /** Sends an event (see eventBody), after any still waiting for a lookup (eventAfter). */
  event(body: string): void {
    if (this.#queued === 0) return this.#emit(body);
    this.#queued++;
    this.#ordered = this.#ordered.then(() => {
      this.#queued--;
      this.#emit(body);
    });
  }

  /** Sends an event whose data needs a lookup first, without letting later events overtake it. */
  eventAfter(name: string, at: number, data: () => Promise<unknown>): void {
    this.#queued++;
    this.#ordered = this.#ordered.then(async () => {
      const value = await data().catch(() => undefined);
      this.#queued--;
      this.#emit(eventBody(name, at, value));
    });
  }

  #emit(body: string): void {
    const seq = ++this.#seq;
    const text = `{"v":${PROTOCOL_VERSION},"type":"event","seq":${seq},${body}`;
    if (this.replayEvents > 0) {
      this.#replay.push({ seq, text });
      // Trimmed in one go once twice over the bound: a splice per event would move the whole buffer each time.
      if (this.#replay.length >= 2 * this.replayEvents) this.#replay = this.#replay.slice(-this.replayEvents);
    }
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
    // One write per connection per turn of the event loop rather than one per frame: a change reaches every
    // supervisor as several events (the task's and the agents' states), and a system call per frame was most of
    // the feed's CPU. Uncorked in the same turn, before any I/O, so no frame waits for another.
    const transport = this.#transport;
    if (!this.#corked && transport !== undefined) {
      this.#corked = true;
      transport.cork();
      process.nextTick(() => {
        this.#corked = false;
        transport.uncork();
      });
    }
    socket.send(text);
  }
}
