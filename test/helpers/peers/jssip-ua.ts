import * as JsSIP from 'jssip';
import { WebSocket as NodeWebSocket } from 'ws';

/**
 * A JsSIP UA (register: false) in Node, connected to `wsUrl` through JsSIP's own WebSocketInterface: Node 20
 * has no global WebSocket, so the `ws` package's (which speaks the same onopen/onmessage API) is put there.
 * Resolves once the socket is connected; stops the UA in t.teardown.
 */
export async function startJsSipUa(t: { teardown(fn: () => unknown): void }, wsUrl: string, timeoutMs = 5000): Promise<JsSIP.UA> {
  const g = globalThis as Record<string, unknown>;
  g.WebSocket ??= NodeWebSocket;
  JsSIP.debug.disable();
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(wsUrl)],
    uri: 'sip:jssip@onecc.test',
    register: false,
    session_timers: false,
    user_agent: 'JsSIP-onecc-test',
    connection_recovery_min_interval: 60,
    connection_recovery_max_interval: 60,
  });
  t.teardown(() => stopUa(ua));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`JsSIP did not connect to ${wsUrl} within ${timeoutMs} ms`)), timeoutMs);
    ua.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    ua.start();
  });
  return ua;
}

/** Stops the UA and waits (at most 3 s) for its socket to close. */
function stopUa(ua: JsSIP.UA): Promise<void> {
  if (!ua.isConnected()) {
    ua.stop();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    ua.once('disconnected', () => {
      clearTimeout(timer);
      resolve();
    });
    ua.stop();
  });
}

/** Resolves with the first of the named events an emitter fires, with its argument; rejects after `timeoutMs`. */
export function firstEvent<T = unknown>(emitter: { once(event: string, fn: (arg: T) => void): unknown }, events: string[], timeoutMs = 5000): Promise<{ event: string; arg: T }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`none of [${events.join(', ')}] within ${timeoutMs} ms`));
    }, timeoutMs);
    for (const event of events) {
      emitter.once(event, (arg: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ event, arg });
      });
    }
  });
}
