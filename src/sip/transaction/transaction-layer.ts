import { isIP } from 'node:net';
import { randomId, type Logger } from '../../lib/index';
import { BRANCH_MAGIC_COOKIE, Params, SipUri, Via, createResponse, formatHostPort, type SipRequest, type SipResponse } from '../message/index';
import {
  endpointForUri, viaTransport, type IncomingMessage, type RemoteEndpoint, type TransportLayer, type TransportProtocol, type TransportUser,
} from '../transport/index';
import type { ClientTransaction } from './client-transaction';
import { InviteClientTransaction } from './invite-client-transaction';
import { InviteServerTransaction } from './invite-server-transaction';
import { NonInviteClientTransaction } from './non-invite-client-transaction';
import { NonInviteServerTransaction } from './non-invite-server-transaction';
import type { ServerTransaction } from './server-transaction';
import { DEFAULT_TIMERS, type TimerSettings } from './timers';
import type { TransactionContext } from './transaction';

/** The transaction user (RFC 3261 §17): the UAS/UAC core above. The layer below calls up through this only. */
export interface TransactionUser {
  /** A new request, neither a retransmission nor an ACK; answer it through `tx.respond()`. */
  onRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void;
  /** An ACK no server transaction absorbed: the ACK for a 2xx, with the INVITE transaction it acknowledges if still known. */
  onAck(ack: SipRequest, incoming: IncomingMessage, invite?: InviteServerTransaction): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmitted after Timer M). */
  onStrayResponse(response: SipResponse, incoming: IncomingMessage): void;
}

export interface TransactionLayerOptions {
  transport: TransportLayer;
  timers?: TimerSettings;
  logger: Logger;
}

/** §18.1.1: a request within 200 bytes of a 1500-byte path MTU goes over TCP when it can. */
const UDP_SIZE_LIMIT = 1300;

/**
 * Matches messages to transactions (RFC 3261 §17.1.3, §17.2.3, with RFC 2543 fallback), creates server
 * transactions for new requests, detects merged requests (§8.2.2.2, 482), matches CANCEL to its INVITE
 * (§9.2), absorbs ACKs for non-2xx, and starts client transactions with a fresh Via branch.
 */
export class TransactionLayer implements TransportUser {
  readonly #clients = new Map<string, ClientTransaction>();
  readonly #servers = new Map<string, ServerTransaction>();
  /** From-tag|Call-ID|CSeq → server transaction key, for merged-request detection. */
  readonly #merged = new Map<string, string>();
  /** Call-ID|CSeq number|From-tag → INVITE server transaction, for ACKs to 2xx (they carry a new branch). */
  readonly #invitesByDialog = new Map<string, InviteServerTransaction>();
  readonly #context: TransactionContext;
  readonly #log: Logger;
  #user: TransactionUser | undefined;
  #closed = false;

  constructor(options: TransactionLayerOptions) {
    this.#log = options.logger.child({ layer: 'transaction' });
    this.#context = { transport: options.transport, timers: options.timers ?? DEFAULT_TIMERS, logger: this.#log };
    options.transport.setUser(this);
  }

  setUser(user: TransactionUser): void {
    this.#user = user;
  }

  get transport(): TransportLayer {
    return this.#context.transport;
  }

  get size(): { clients: number; servers: number } {
    return { clients: this.#clients.size, servers: this.#servers.size };
  }

  onMessage(incoming: IncomingMessage): void {
    if (this.#closed) return;
    const { message } = incoming;
    if (!message.isRequest) {
      const tx = this.#clients.get(`${message.topVia.branch}|${message.cseq.method}`);
      if (tx) tx.receiveResponse(message, incoming);
      else this.#user?.onStrayResponse(message, incoming);
      return;
    }
    const key = serverKey(message);
    if (message.method === 'ACK') return this.#receiveAck(message, key, incoming);
    const existing = this.#servers.get(key);
    if (existing) return existing.receiveRetransmission();
    if (message.method === 'CANCEL') return this.#receiveCancel(message, key, incoming);

    const mergedKey = message.to.tag === undefined ? `${message.from.tag}|${message.callId}|${message.cseq.seq}|${message.method}` : undefined;
    if (mergedKey !== undefined && this.#merged.has(mergedKey)) {
      // §8.2.2.2: same From tag, Call-ID and CSeq as an ongoing transaction but another branch: a forked copy looped back.
      this.#createServer(key, incoming).respond(createResponse(message, 482, 'Loop Detected'));
      return;
    }
    const tx = this.#createServer(key, incoming);
    if (mergedKey !== undefined) {
      this.#merged.set(mergedKey, key);
      tx.on('terminated', () => this.#merged.delete(mergedKey));
    }
    if (this.#user) this.#user.onRequest(message, tx, incoming);
    else tx.respond(createResponse(message, 503, 'Service Unavailable'));
  }

  /**
   * Starts a client transaction. Adds the top Via (new branch, rport) and Max-Forwards if missing. The
   * destination is `dest`, else the first loose Route, else the Request-URI (§18.1.1, §16.12; no DNS SRV).
   */
  sendRequest(request: SipRequest, opts: { dest?: RemoteEndpoint; connectionId?: string } = {}): ClientTransaction {
    const dest = opts.dest ?? this.#chooseDestination(request);
    const branch = this.#addVia(request, dest.protocol, dest.address);
    return this.#startClient(request, branch, dest, opts.connectionId);
  }

  #startClient(request: SipRequest, branch: string, dest: RemoteEndpoint, connectionId?: string): ClientTransaction {
    const key = `${branch}|${request.cseq.method}`;
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(key, request, dest, this.#context, (cancel, remote, connId) => this.#sendCancel(cancel, remote, connId), connectionId)
        : new NonInviteClientTransaction(key, request, dest, this.#context, connectionId);
    this.#clients.set(key, tx);
    tx.on('terminated', () => this.#clients.delete(key));
    tx.start();
    return tx;
  }

  /**
   * §9.1: a CANCEL carries a single Via, the INVITE's top Via, so that the server matches it to the INVITE
   * by its branch. It is its own client transaction (key branch|CANCEL) but gets no Via of its own.
   */
  #sendCancel(cancel: SipRequest, dest: RemoteEndpoint, connectionId?: string): void {
    this.#startClient(cancel, cancel.topVia.branch ?? '', dest, connectionId);
  }

  /** Sends a request outside any transaction: the ACK for a 2xx (§13.2.2.4), with its own Via branch. */
  async sendStateless(request: SipRequest, opts: { dest?: RemoteEndpoint; connectionId?: string } = {}): Promise<void> {
    const dest = opts.dest ?? this.#chooseDestination(request);
    this.#addVia(request, dest.protocol, dest.address);
    await this.transport.send(request.toBuffer(), dest, opts.connectionId);
  }

  /** Terminates every transaction without sending anything. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const tx of [...this.#clients.values(), ...this.#servers.values()]) tx.close();
  }

  #receiveAck(ack: SipRequest, key: string, incoming: IncomingMessage): void {
    const tx = this.#servers.get(key);
    if (tx instanceof InviteServerTransaction && !tx.awaitingAck) {
      // §17.2.1: the ACK for a 300-699 belongs to the transaction and is not passed up.
      tx.receiveAck();
      return;
    }
    const invite = tx instanceof InviteServerTransaction ? tx : this.#invitesByDialog.get(`${ack.callId}|${ack.cseq.seq}|${ack.from.tag}`);
    invite?.acknowledge2xx();
    this.#user?.onAck(ack, incoming, invite);
  }

  #receiveCancel(cancel: SipRequest, key: string, incoming: IncomingMessage): void {
    const tx = this.#createServer(key, incoming);
    const invite = this.#servers.get(key.replace(/\|CANCEL$/, '|INVITE'));
    if (!(invite instanceof InviteServerTransaction)) {
      tx.respond(createResponse(cancel, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    // §9.2: the CANCEL gets its 200 with the To tag of the INVITE's responses; the INVITE, if still proceeding, a 487.
    tx.respond(createResponse(cancel, 200, 'OK', invite.toTag));
    invite.cancel(cancel);
  }

  #createServer(key: string, incoming: IncomingMessage): ServerTransaction {
    const request = incoming.message as SipRequest;
    const tx = request.method === 'INVITE' ? new InviteServerTransaction(key, incoming, this.#context) : new NonInviteServerTransaction(key, incoming, this.#context);
    this.#servers.set(key, tx);
    if (tx instanceof InviteServerTransaction && request.from.tag !== undefined) {
      const dialogKey = `${request.callId}|${request.cseq.seq}|${request.from.tag}`;
      this.#invitesByDialog.set(dialogKey, tx);
      tx.on('terminated', () => {
        if (this.#invitesByDialog.get(dialogKey) === tx) this.#invitesByDialog.delete(dialogKey);
      });
    }
    tx.on('terminated', () => {
      if (this.#servers.get(key) === tx) this.#servers.delete(key);
    });
    return tx;
  }

  #addVia(request: SipRequest, protocol: TransportProtocol, remoteAddress: string): string {
    const local = this.transport.localEndpoint(protocol, isIP(remoteAddress) === 6 ? 6 : 4);
    const branch = `${BRANCH_MAGIC_COOKIE}${randomId(9)}`;
    const via = new Via(viaTransport(protocol), formatHostPort(local.address), local.port, new Params().set('branch', branch).set('rport'));
    request.prependHeader('Via', via.toString());
    if (!request.hasHeader('max-forwards')) request.setHeader('Max-Forwards', '70');
    return branch;
  }

  #chooseDestination(request: SipRequest): RemoteEndpoint {
    const firstRoute = request.routes[0];
    const target = firstRoute && firstRoute.uri instanceof SipUri && firstRoute.uri.params.has('lr') ? firstRoute.uri : request.uri;
    if (!(target instanceof SipUri)) throw new Error(`cannot send to a ${target.scheme}: URI`);
    const dest = endpointForUri(target);
    const chosenByUri = target.params.has('transport');
    if (dest.protocol === 'udp' && !chosenByUri && request.toBuffer().length > UDP_SIZE_LIMIT && this.transport.hasListener('tcp')) {
      return { ...dest, protocol: 'tcp' };
    }
    return dest;
  }
}

/** §17.2.3: branch + sent-by + method (ACK matching INVITE); RFC 2543 requests are matched by dialog fields and the Via. */
function serverKey(request: SipRequest): string {
  const via = request.topVia;
  const method = request.method === 'ACK' || request.method === 'CANCEL' ? request.method === 'ACK' ? 'INVITE' : 'CANCEL' : request.method;
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''}`;
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE) && branch.length > BRANCH_MAGIC_COOKIE.length) {
    return `${branch}|${sentBy}|${method}`;
  }
  return `2543|${request.uriText}|${request.callId}|${request.from.tag ?? ''}|${request.cseq.seq}|${sentBy}|${branch ?? ''}|${method}`;
}
