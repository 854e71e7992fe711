import { EventEmitter } from 'node:events';
import {
  createResponse, type IncomingMessage, type InviteServerTransaction, type ServerTransaction, type SipEngine,
  type SipRequest, type SipResponse, type TransactionState, type TransactionUser,
} from '../../../src/sip/index';

/** What waitForState needs of a client or server transaction. */
interface StatefulTransaction {
  readonly state: TransactionState;
  readonly request: SipRequest;
  on(event: 'stateChanged', listener: (state: TransactionState) => void): unknown;
  off(event: 'stateChanged', listener: (state: TransactionState) => void): unknown;
}

/** Everything the TestUas saw, in arrival order. */
export type Seen =
  | { kind: 'request'; method: string; request: SipRequest; tx: ServerTransaction; incoming: IncomingMessage; at: number }
  | { kind: 'ack'; ack: SipRequest; incoming: IncomingMessage; invite: InviteServerTransaction | undefined; at: number }
  | { kind: 'cancel'; request: SipRequest; invite: SipRequest; at: number }
  | { kind: 'stray'; response: SipResponse; incoming: IncomingMessage; at: number };

/** Resolves when the transaction is in `state` (now or later); rejects after `timeoutMs` naming the state it is stuck in. */
export function waitForState(tx: StatefulTransaction, state: TransactionState, timeoutMs = 5000): Promise<void> {
  if (tx.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const listener = (next: TransactionState): void => {
      if (next !== state) return;
      clearTimeout(timer);
      tx.off('stateChanged', listener);
      resolve();
    };
    const timer = setTimeout(() => {
      tx.off('stateChanged', listener);
      reject(new Error(`${tx.request.method} transaction still ${tx.state} after ${timeoutMs} ms, not ${state}`));
    }, timeoutMs);
    tx.on('stateChanged', listener);
  });
}

/** What the TestUas does with an INVITE. */
export type InviteBehaviour =
  /** 180 Ringing, then (after `answerDelayMs`) 200 OK with SDP. */
  | 'answer'
  /** 180 Ringing and nothing more, until a CANCEL ends it (the transaction answers 487 itself). */
  | 'ring';

export interface TestUasOptions {
  invite?: InviteBehaviour;
  answerDelayMs?: number;
  /** The Contact URI put in 180/200 to INVITE; defaults to the address and port the INVITE arrived on. */
  contact?: (incoming: IncomingMessage) => string;
}

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE';

/** A minimal answer: one PCMU audio line on a port nobody listens on (no media flows in these tests). */
export function answerSdp(address: string): string {
  return [
    'v=0',
    `o=onecc 1 1 IN IP4 ${address}`,
    's=onecc test',
    `c=IN IP4 ${address}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/**
 * A transaction user that answers like a tiny UAS and records what it saw: OPTIONS and MESSAGE 200,
 * INVITE 180 then 200 with SDP (or 180 only), BYE 200, anything else 405. It attaches itself to the engine.
 */
export class TestUas implements TransactionUser {
  readonly seen: Seen[] = [];
  /** Every state each INVITE server transaction went through after Proceeding, in order. */
  readonly inviteStates = new Map<ServerTransaction, TransactionState[]>();
  invite: InviteBehaviour;
  answerDelayMs: number;
  readonly #contact: (incoming: IncomingMessage) => string;
  readonly #events = new EventEmitter();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(engine: SipEngine, options: TestUasOptions = {}) {
    this.invite = options.invite ?? 'answer';
    this.answerDelayMs = options.answerDelayMs ?? 50;
    this.#contact = options.contact ?? ((incoming) => `<sip:uas@${incoming.local.address}:${incoming.local.port};transport=${incoming.remote.protocol}>`);
    this.#events.setMaxListeners(0);
    engine.setApplication(this);
  }

  requests(method?: string): SipRequest[] {
    return this.seen.flatMap((s) => (s.kind === 'request' && (method === undefined || s.method === method) ? [s.request] : []));
  }

  get acks(): Array<Extract<Seen, { kind: 'ack' }>> {
    return this.seen.filter((s): s is Extract<Seen, { kind: 'ack' }> => s.kind === 'ack');
  }

  /** Resolves with the first entry (already seen or coming) that matches; rejects after `timeoutMs`. */
  waitFor<K extends Seen['kind']>(kind: K, match: (s: Extract<Seen, { kind: K }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<Seen, { kind: K }>> {
    const test = (s: Seen): s is Extract<Seen, { kind: K }> => s.kind === kind && match(s as Extract<Seen, { kind: K }>);
    const found = this.seen.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('seen', listener);
        reject(new Error(`TestUas: no ${kind} within ${timeoutMs} ms; saw ${this.summary().join(', ') || 'nothing'}`));
      }, timeoutMs);
      const listener = (s: Seen): void => {
        if (!test(s)) return;
        clearTimeout(timer);
        this.#events.off('seen', listener);
        resolve(s);
      };
      this.#events.on('seen', listener);
    });
  }

  /** One word per entry ("INVITE", "ack", "cancel", "stray 200"), for assertions on order and counts. */
  summary(): string[] {
    return this.seen.map((s) => (s.kind === 'request' ? s.method : s.kind === 'stray' ? `stray ${s.response.status}` : s.kind));
  }

  /** Stops pending answers (call from t.teardown before the engine closes). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  onRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void {
    this.#record({ kind: 'request', method: request.method, request, tx, incoming, at: Date.now() });
    switch (request.method) {
      case 'OPTIONS': {
        const ok = createResponse(request, 200, 'OK');
        ok.addHeader('Allow', ALLOW).addHeader('Accept', 'application/sdp').addHeader('Supported', 'timer');
        return tx.respond(ok);
      }
      case 'MESSAGE':
      case 'BYE':
        return tx.respond(createResponse(request, 200, 'OK'));
      case 'INVITE':
        return this.#onInvite(request, tx as InviteServerTransaction, incoming);
      default:
        return tx.respond(createResponse(request, 405, 'Method Not Allowed').addHeader('Allow', ALLOW));
    }
  }

  onAck(ack: SipRequest, incoming: IncomingMessage, invite?: InviteServerTransaction): void {
    this.#record({ kind: 'ack', ack, incoming, invite, at: Date.now() });
  }

  onStrayResponse(response: SipResponse, incoming: IncomingMessage): void {
    this.#record({ kind: 'stray', response, incoming, at: Date.now() });
  }

  #onInvite(request: SipRequest, tx: InviteServerTransaction, incoming: IncomingMessage): void {
    tx.on('cancel', (cancel) => this.#record({ kind: 'cancel', request: cancel, invite: request, at: Date.now() }));
    const states: TransactionState[] = [];
    this.inviteStates.set(tx, states);
    tx.on('stateChanged', (state) => states.push(state));
    const contact = this.#contact(incoming);
    const ringing = createResponse(request, 180, 'Ringing').addHeader('Contact', contact);
    tx.respond(ringing);
    if (this.invite === 'ring') return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (tx.terminated || tx.status >= 200) return;
      const ok = createResponse(request, 200, 'OK', tx.toTag).addHeader('Contact', contact).addHeader('Allow', ALLOW);
      ok.addHeader('Content-Type', 'application/sdp');
      ok.body = Buffer.from(answerSdp(incoming.local.address));
      tx.respond(ok);
    }, this.answerDelayMs);
    this.#timers.add(timer);
  }

  #record(seen: Seen): void {
    this.seen.push(seen);
    this.#events.emit('seen', seen);
  }
}
