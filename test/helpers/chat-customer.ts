// A customer of onecc's chat (/chat/ws) over a real WebSocket: every frame it got, and waits for the next that
// matches (the chat page's protocol, docs/chat.md).
import type { Test } from 'tap';
import { WebSocket } from 'ws';
import { delay } from './wait';

export type ChatFrame = { type: string; [k: string]: any };

export class ChatCustomer {
  readonly frames: ChatFrame[] = [];
  #wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ChatFrame);
      this.#wake?.();
    });
  }

  static async open(t: Pick<Test, 'teardown'>, port: number): Promise<ChatCustomer> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/ws`);
    t.teardown(() => ws.terminate());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new ChatCustomer(ws);
  }

  send(frame: Record<string, unknown> | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) that matches, within `ms`. */
  async next(match: (f: ChatFrame) => boolean, ms = 3000, from = 0): Promise<ChatFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching chat frame within ${ms} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), delay(50)]);
    }
  }
}
