// A client of onecc's agent feed (/agent) over a real WebSocket: every frame it got, waits for the next that
// matches, commands with their replies.
import type { Test } from 'tap';
import { WebSocket } from 'ws';
import { delay } from './wait';

export type Frame = { v: number; type: string; id?: string; code?: string; message?: string; event?: string; seq?: number; data?: any; [k: string]: any };

/** A feed client: every frame it got, and waits for the next that matches. */
export class FeedClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #wake: (() => void) | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(t: Test, port: number): Promise<FeedClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`);
    t.teardown(() => ws.terminate());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new FeedClient(ws);
  }

  /** A client authenticated with `token` (an agent's or a supervisor's). */
  static async authenticated(t: Test, port: number, token: string): Promise<FeedClient> {
    const client = await FeedClient.open(t, port);
    await client.call({ type: 'auth', token });
    return client;
  }

  send(frame: Record<string, unknown> | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify({ v: 1, ...frame }));
  }

  /** The first frame (from `from` on) that matches, within `ms`. */
  async next(match: (f: Frame) => boolean, ms = 3000, from = 0): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), delay(50)]);
    }
  }

  /** Sends a command and waits for its result or error. */
  async call(frame: Record<string, unknown>): Promise<Frame> {
    const id = `c${Math.random().toString(36).slice(2)}`;
    this.send({ ...frame, id });
    return this.next((f) => f.id === id && (f.type === 'result' || f.type === 'error' || f.type === 'welcome'));
  }

  events(name: string): Frame[] {
    return this.frames.filter((f) => f.type === 'event' && f.event === name);
  }
}

