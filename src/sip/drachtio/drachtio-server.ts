import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { randomId, type Logger } from '../../lib/index';
import { Dialog, DialogState, credentialsOf, dialogId } from '../dialog/index';
import { NameAddr, SipUri, createResponse, formatHostPort, parseUri, type SipMessageAny, type SipRequest, type SipResponse } from '../message/index';
import {
  InviteClientTransaction, InviteServerTransaction, buildCancel, type ClientTransaction, type ServerTransaction, type TransactionLayer,
  type TransactionUser,
} from '../transaction/index';
import { endpointForUri, type IncomingMessage, type RemoteEndpoint, type TlsOptions, type TransportLayer, type TransportProtocol } from '../transport/index';
import { AppConnection } from './app-connection';
import { appHeaders, defaultContact, ensureContentType, parseAppSip, replaceLocalhost, sentReply, sipLeader } from './app-message';
import { StatefulProxy, parseProxyCommand } from './stateful-proxy';

export interface DrachtioServerOptions {
  host: string;
  port: number;
  secret: string;
  tls?: TlsOptions;
  /** Reported to applications in the authenticate reply; srf pings only for versions >= v0.8.2. */
  version?: string;
  /** An out-of-dialog request no application answers is failed after this long (non-INVITE) ... */
  appResponseTimeoutMs?: number;
  /** ... and an INVITE after this long without a final response (RFC 3261 Timer C spirit). */
  inviteAnswerTimeoutMs?: number;
  maxMessageBytes?: number;
  logger: Logger;
}

interface PendingServer {
  txnId: string;
  tx: ServerTransaction;
  request: SipRequest;
  incoming: IncomingMessage;
  app: AppConnection;
  /** Set for requests inside a dialog. */
  dialogId: string;
  toTag?: string;
  timer?: NodeJS.Timeout;
}

interface PendingClient {
  txnId: string;
  tx: ClientTransaction;
  app: AppConnection;
  dialogId: string;
}

interface OwnedDialog {
  dialog: Dialog;
  app: AppConnection;
}

const TIMEOUT_DEFAULTS = { appResponseTimeoutMs: 32_000, inviteAnswerTimeoutMs: 180_000 };

/**
 * The server side of drachtio's wire protocol over onecc's SIP engine: applications (unmodified
 * drachtio-srf) connect, authenticate and route verbs; requests from the network are delivered to them with
 * drachtio's leader fields; what they send back is completed the way drachtio-server completes it
 * (Via, tags, Contact, CSeq, Content-Type) and put on the wire through the transaction and dialog layers.
 * See ../shared/specs/drachtio-wire-protocol.md for every rule followed here.
 */
export class DrachtioServer implements TransactionUser {
  readonly #options: DrachtioServerOptions & typeof TIMEOUT_DEFAULTS;
  readonly #log: Logger;
  readonly #transactions: TransactionLayer;
  readonly #apps = new Set<AppConnection>();
  /** verb → round-robin cursor. */
  readonly #cursor = new Map<string, number>();
  readonly #servers = new Map<string, PendingServer>();
  readonly #clients = new Map<string, PendingClient>();
  readonly #dialogs = new Map<string, OwnedDialog>();
  /** Final status of app-sent INVITEs by dialog id, so the app's ACK for a non-2xx can be swallowed. */
  readonly #uacOutcome = new Map<string, number>();
  readonly #proxy: StatefulProxy;
  #server: Server | undefined;
  #sessionSweep: NodeJS.Timeout | undefined;
  #port = 0;
  #nextApp = 1;

  constructor(transactions: TransactionLayer, options: DrachtioServerOptions) {
    this.#options = { ...TIMEOUT_DEFAULTS, ...options };
    this.#log = options.logger.child({ component: 'drachtio' });
    this.#transactions = transactions;
    this.#proxy = new StatefulProxy(transactions, this.#log);
  }

  get port(): number {
    return this.#port;
  }

  get dialogCount(): number {
    return this.#dialogs.size;
  }

  async start(): Promise<void> {
    const onSocket = (socket: Socket): void => this.#accept(socket);
    this.#server = this.#options.tls ? createTlsServer(this.#options.tls, onSocket) : createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(this.#options.port, this.#options.host, () => {
        this.#server!.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as { port: number }).port;
    this.#sessionSweep = setInterval(() => this.#expireSessions(), 5000);
    this.#sessionSweep.unref();
    this.#log.info({ host: this.#options.host, port: this.#port, tls: Boolean(this.#options.tls) }, 'drachtio listener up');
  }

  async close(): Promise<void> {
    clearInterval(this.#sessionSweep);
    for (const app of this.#apps) app.close();
    for (const pending of this.#servers.values()) clearTimeout(pending.timer);
    this.#servers.clear();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  // ---- application connections -------------------------------------------------------------------

  #accept(socket: Socket): void {
    const app = new AppConnection(
      `app${this.#nextApp++}`, socket, this.#options.maxMessageBytes ?? 4 * 1024 * 1024, this.#log,
      (conn, payload) => this.#onAppMessage(conn, payload),
      (conn) => this.#onAppClosed(conn),
    );
    this.#apps.add(app);
  }

  /**
   * drachtio §4.2: an in-dialog request whose dialog no connected application owns is answered 481, so the
   * dialogs of an application that went away are forgotten with it. Requests it had not answered yet are
   * failed now with 480, as drachtio-server fails a request it cannot hand to an application, rather than
   * left to their answer timeout.
   */
  #onAppClosed(app: AppConnection): void {
    this.#apps.delete(app);
    for (const [id, owned] of [...this.#dialogs]) if (owned.app === app) this.#forgetDialog(id);
    for (const pending of [...this.#servers.values()]) {
      if (pending.app !== app) continue;
      if (!pending.tx.terminated && pending.tx.status < 200 && pending.request.method !== 'CANCEL') {
        pending.tx.respond(createResponse(pending.request, 480, 'Application Disconnected', pending.toTag));
      }
      this.#forgetServer(pending);
    }
    for (const [txnId, pending] of [...this.#clients]) if (pending.app === app) this.#clients.delete(txnId);
  }

  #onAppMessage(app: AppConnection, payload: string): void {
    const crlf = payload.indexOf('\r\n');
    const leader = crlf < 0 ? payload : payload.slice(0, crlf);
    const sip = crlf < 0 ? '' : payload.slice(crlf + 2);
    const token = leader.split('|');
    const [msgId, type] = token;
    if (token.length < 2 || !msgId) return this.#fatal(app, msgId ?? '', 'Invalid message format');
    if (type === 'authenticate') return this.#authenticate(app, msgId, token[2] ?? '', token[3] ?? '');
    if (!app.authenticated) return this.#fatal(app, msgId, 'not authenticated');
    try {
      switch (type) {
        case 'route':
          app.routes.add((token[2] ?? '').toLowerCase());
          return app.reply(msgId, 'OK');
        case 'remove_route':
          app.routes.delete((token[2] ?? '').toLowerCase());
          return app.reply(msgId, 'OK');
        case 'ping':
          return app.reply(msgId, 'OK|pong');
        case 'sip':
          return this.#onAppSip(app, msgId, token[2] ?? '', token[3] ?? '', token[4] ?? '', sip);
        case 'proxy':
          return this.#onAppProxy(app, msgId, token, sip);
        default:
          return this.#fatal(app, msgId, 'Unknown message type');
      }
    } catch (err) {
      this.#log.warn({ err, app: app.id, type }, 'application command failed');
      app.reply(msgId, `NOK|${err instanceof Error ? err.message.replace(/[|\r\n]/g, ' ') : 'error'}`);
    }
  }

  #authenticate(app: AppConnection, msgId: string, secret: string, tags: string): void {
    const expected = Buffer.from(this.#options.secret);
    const given = Buffer.from(secret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.#log.warn({ app: app.id }, 'application gave a wrong secret');
      return this.#fatal(app, msgId, 'incorrect secret');
    }
    app.authenticated = true;
    app.tags = tags.split(',').filter(Boolean);
    const hostports = this.#hostports();
    app.reply(msgId, `OK|${hostports}|${this.#options.version ?? 'v0.9.4'}|${hostports}`);
  }

  #fatal(app: AppConnection, msgId: string, reason: string): void {
    app.reply(msgId, `NO|${reason}`);
    app.close();
  }

  #hostports(): string {
    return this.#transport.listeners.map((l) => `${l.transport}/${formatHostPort(l.host, l.boundPort)}`).join(',');
  }

  get #transport(): TransportLayer {
    return this.#transactions.transport;
  }

  #appFor(verb: string): AppConnection | undefined {
    const candidates = [...this.#apps].filter((a) => a.authenticated && !a.closed && a.routes.has(verb));
    if (candidates.length === 0) return undefined;
    const next = (this.#cursor.get(verb) ?? 0) % candidates.length;
    this.#cursor.set(verb, next + 1);
    return candidates[next];
  }

  #cdr(kind: 'attempt' | 'start' | 'stop', source: 'network' | 'application', message: SipMessageAny, extra?: string): void {
    const app = this.#appFor(`cdr:${kind}`);
    if (!app) return;
    const time = new Date().toISOString();
    app.send(`cdr:${kind}|${source}|${time}${extra === undefined ? '' : `|${extra}`}\r\n${message.toString()}`);
  }

  // ---- requests and ACKs from the network -----------------------------------------------------------

  onRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void {
    if (request.to.tag !== undefined) return this.#onInDialogRequest(request, tx, incoming);
    const app = this.#appFor(request.method.toLowerCase());
    if (!app) {
      tx.respond(createResponse(request, 503, 'Service Unavailable'));
      return;
    }
    const pending = this.#trackServer(tx, request, incoming, app, '');
    if (tx instanceof InviteServerTransaction) {
      this.#cdr('attempt', 'network', request);
      tx.on('cancel', (cancel) => {
        // drachtio §4.2: the CANCEL goes to the app with the INVITE's transaction id and no receivedOn.
        this.#deliver(app, cancel, incoming, pending.txnId, '', false);
        this.#cdr('stop', 'network', request, 'call-canceled');
        this.#forgetServer(pending);
      });
    }
    this.#deliver(app, request, incoming, pending.txnId, '', true);
  }

  #onInDialogRequest(request: SipRequest, tx: ServerTransaction, incoming: IncomingMessage): void {
    const owned = this.#findDialog(request);
    if (!owned) {
      if (this.#proxy.routesThrough(request, this.#transport)) return this.#proxy.forwardInDialog(request, tx);
      tx.respond(createResponse(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    const { dialog, app } = owned;
    if (request.cseq.seq < dialog.remoteSeq && request.method !== 'ACK') {
      tx.respond(createResponse(request, 500, 'Server Internal Error').addHeader('Retry-After', '1'));
      return;
    }
    dialog.remoteSeq = request.cseq.seq;
    dialog.lastRefresh = Date.now();
    if (request.method === 'INVITE' || request.method === 'UPDATE') dialog.refreshTarget(request.getHeader('contact'));
    const pending = this.#trackServer(tx, request, incoming, app, dialog.id);
    if (request.method === 'BYE') {
      // drachtio §4.2: on BYE the dialog is forgotten as soon as the BYE is delivered.
      this.#forgetDialog(dialog.id);
      this.#cdr('stop', 'network', request, 'normal-release');
    }
    this.#deliver(app, request, incoming, pending.txnId, dialog.id, false);
  }

  onAck(ack: SipRequest, incoming: IncomingMessage): void {
    const owned = this.#findDialog(ack);
    if (!owned) {
      if (this.#proxy.routesThrough(ack, this.#transport)) this.#proxy.forwardAck(ack);
      return;
    }
    owned.dialog.state = DialogState.Confirmed;
    this.#deliver(owned.app, ack, incoming, randomUUID(), owned.dialog.id, false);
  }

  onStrayResponse(response: SipResponse): void {
    // RFC 3261 §13.2.2.4: a 2xx retransmitted after the transaction ended gets the same ACK again.
    if (response.cseq.method !== 'INVITE' || response.status < 200 || response.status >= 300) return;
    const owned = this.#dialogs.get(dialogId(response.callId, response.from.tag ?? ''));
    if (owned) this.#resendAck(owned.dialog);
  }

  /** RFC 3261 §13.2.2.4: the ACK for a retransmitted 2xx is the same ACK, sent where the first one went. */
  #resendAck(dialog: Dialog): void {
    if (!dialog.lastAck) return;
    const dest = this.#endpointFor(dialog.nextHop(), dialog.transport);
    this.#transport.send(dialog.lastAck, dest, dialog.connectionId).catch((err: unknown) => this.#log.debug({ err }, 'ACK not re-sent'));
  }

  #findDialog(request: SipRequest): OwnedDialog | undefined {
    // A dialog we answered (UAS) is keyed by the caller's From tag; one we started (UAC) by our tag, which is the To tag here.
    const asUas = this.#dialogs.get(dialogId(request.callId, request.from.tag ?? ''));
    if (asUas && asUas.dialog.role === 'uas' && asUas.dialog.localTag === request.to.tag) return asUas;
    const asUac = this.#dialogs.get(dialogId(request.callId, request.to.tag ?? ''));
    if (asUac && asUac.dialog.role === 'uac' && asUac.dialog.remoteTag === request.from.tag) return asUac;
    return undefined;
  }

  #trackServer(tx: ServerTransaction, request: SipRequest, incoming: IncomingMessage, app: AppConnection, dlgId: string): PendingServer {
    const pending: PendingServer = { txnId: randomUUID(), tx, request, incoming, app, dialogId: dlgId };
    const limit = request.method === 'INVITE' ? this.#options.inviteAnswerTimeoutMs : this.#options.appResponseTimeoutMs;
    pending.timer = setTimeout(() => {
      if (tx.terminated || tx.status >= 200) return this.#forgetServer(pending);
      this.#log.warn({ method: request.method, callId: request.callId, app: app.id }, 'application did not answer in time');
      tx.respond(createResponse(request, request.method === 'INVITE' ? 408 : 500, 'Application Did Not Answer', pending.toTag));
      this.#forgetServer(pending);
    }, limit);
    pending.timer.unref();
    tx.on('terminated', () => this.#forgetServer(pending));
    this.#servers.set(pending.txnId, pending);
    return pending;
  }

  #forgetServer(pending: PendingServer): void {
    clearTimeout(pending.timer);
    this.#servers.delete(pending.txnId);
  }

  #deliver(app: AppConnection, message: SipMessageAny, incoming: IncomingMessage, txnId: string, dlgId: string, withReceivedOn: boolean): void {
    const text = message.toString();
    const leader = sipLeader('network', Buffer.byteLength(text), incoming.remote, txnId, dlgId, withReceivedOn ? incoming.local : undefined);
    app.send(`${leader}\r\n${text}`);
  }

  // ---- what applications send -----------------------------------------------------------------------

  #onAppSip(app: AppConnection, msgId: string, txnId: string, dlgId: string, proxy: string, text: string): void {
    const message = parseAppSip(text);
    if (!message.isRequest) {
      if (!txnId) return this.#fatal(app, msgId, 'transaction id missing');
      return this.#respondForApp(app, msgId, txnId, message);
    }
    if (dlgId) return this.#requestInDialog(app, msgId, dlgId, message);
    if (txnId) {
      if (message.method !== 'CANCEL') return app.reply(msgId, 'NOK|only CANCEL may name a transaction id');
      return this.#cancelForApp(app, msgId, txnId);
    }
    this.#requestOutOfDialog(app, msgId, message, proxy);
  }

  /** drachtio §5.1: Via/From/To/Call-ID/CSeq come from the stored request; status, reason, headers and body from the app. */
  #respondForApp(app: AppConnection, msgId: string, txnId: string, appResponse: SipResponse): void {
    const pending = this.#servers.get(txnId);
    if (!pending || pending.tx.terminated) return app.reply(msgId, 'NOK|Response not sent due to unknown transaction');
    const { request, tx, incoming } = pending;
    if (request.method === 'CANCEL') return app.reply(msgId, 'NOK|200 OK to incoming CANCEL is automatically generated by the stack');
    if (tx.status >= 200 && !(tx.status < 300 && appResponse.status >= 200 && appResponse.status < 300)) {
      return app.reply(msgId, `NOK|transaction already answered with ${tx.status}`);
    }
    let appTag: string | undefined;
    try {
      appTag = appResponse.hasHeader('to') ? appResponse.to.tag : undefined;
    } catch {
      appTag = undefined;
    }
    pending.toTag = request.to.tag ?? appTag ?? pending.toTag ?? tx.toTag ?? randomId();
    const status = appResponse.status;
    const response = createResponse(request, status, appResponse.reason || undefined, pending.toTag);
    const local = incoming.local;
    for (const h of appHeaders(appResponse, ['from', 'to', 'call-id', 'cseq'])) {
      response.addHeader(h.name, /^(contact|p-asserted-identity)$/i.test(h.name) ? replaceLocalhost(h.value, local) : h.value);
    }
    const createsDialog = (request.method === 'INVITE' || request.method === 'SUBSCRIBE') && status > 100 && status < 300;
    if (createsDialog) {
      // §12.1.1: the UAS copies Record-Route into responses that establish a dialog.
      for (const rr of request.getHeaders('record-route')) response.addHeader('Record-Route', rr);
      if (!response.hasHeader('contact')) response.addHeader('Contact', defaultContact(local, incoming.remote.protocol));
    }
    response.body = appResponse.body;
    if (!ensureContentType(response)) return app.reply(msgId, 'NOK|missing content-type');

    let dlgId = pending.dialogId;
    if (createsDialog && status >= 200 && !dlgId) {
      const dialog = Dialog.fromUas(request, response, incoming.remote, incoming.connectionId);
      dialog.state = DialogState.Early;
      dialog.sessionExpires = sessionInterval(request);
      dlgId = dialog.id;
      this.#dialogs.set(dlgId, { dialog, app });
      if (tx instanceof InviteServerTransaction) tx.once('ackTimeout', () => this.#hangUp(dialog.id, 'ACK timeout', 'system-initiated-termination'));
      this.#cdr('start', 'application', request, 'uas');
    } else if (createsDialog && status >= 200) {
      this.#dialogs.get(dlgId)?.dialog.refreshTarget(request.getHeader('contact'));
    } else if (request.method === 'INVITE' && status >= 300 && !pending.dialogId) {
      this.#cdr('stop', 'application', request, 'call-rejected');
    }
    tx.respond(response);
    const sent = response.toString();
    app.reply(msgId, `${sentReply(Buffer.byteLength(sent), incoming.remote.protocol, incoming.remote.address, incoming.remote.port, txnId, dlgId)}\r\n${sent}`);
    // Once answered, nothing is looked up by this transaction id again: drop it now rather than keep the
    // parsed request for the 64*T1 the transaction lives on to absorb retransmissions.
    if (status >= 200) this.#forgetServer(pending);
  }

  /**
   * drachtio §4.1 "unsolicited": the engine ends a dialog on its own (no ACK for our 2xx, or an RFC 4028
   * session that was not refreshed): BYE to the peer, and the same BYE to the app as unsolicited.
   */
  #hangUp(id: string, why: string, cdrReason: string): void {
    const owned = this.#dialogs.get(id);
    if (!owned) return;
    this.#log.warn({ dialog: id, why }, 'engine ends the dialog');
    const bye = owned.dialog.createRequest('BYE', [{ name: 'Reason', value: `SIP;cause=408;text="${why}"` }]);
    this.#sendInDialog(owned.dialog, bye);
    const text = bye.toString();
    owned.app.send(`${sipLeader('application', Buffer.byteLength(text), owned.dialog.transport, 'unsolicited', id)}\r\n${text}`);
    this.#cdr('stop', 'application', bye, cdrReason);
    this.#forgetDialog(id);
  }

  /** RFC 4028 §10: a session not refreshed within its interval is dead; its dialog is ended. */
  #expireSessions(): void {
    const now = Date.now();
    for (const { dialog } of [...this.#dialogs.values()]) {
      if (dialog.sessionExpires > 0 && now - dialog.lastRefresh > dialog.sessionExpires * 1000) this.#hangUp(dialog.id, 'session expired', 'session-expired');
    }
  }

  #requestOutOfDialog(app: AppConnection, msgId: string, appRequest: SipRequest, proxy: string): void {
    let uri;
    try {
      uri = parseUri(appRequest.uriText);
    } catch (err) {
      return app.reply(msgId, `NOK|invalid request-uri: ${appRequest.uriText}`);
    }
    const destUri = proxy ? parseUri(proxy.startsWith('sip') ? proxy : `sip:${proxy}`) : uri;
    if (!(destUri instanceof SipUri)) return app.reply(msgId, 'NOK|requested protocol/transport not available');
    const dest = this.#endpointFor(destUri);
    if (!this.#transport.hasListener(dest.protocol)) return app.reply(msgId, 'NOK|requested protocol/transport not available');
    const local = this.#transport.localEndpoint(dest.protocol);
    if (this.#transport.listeners.some((l) => l.boundPort === dest.port && l.host === dest.address)) {
      return app.reply(msgId, 'NOK|can not send request to myself');
    }

    const method = appRequest.method;
    const request = appRequest;
    request.uri = uri;
    const from = request.getHeader('from');
    const fromAddr = from ? NameAddr.parse(replaceLocalhost(from, local)) : NameAddr.parse(`<sip:${formatHostPort(local.address, local.port)}>`);
    fromAddr.tag ??= randomId();
    request.setHeader('From', fromAddr.toString());
    if (!request.hasHeader('to')) request.setHeader('To', `<${uri.toString()}>`);
    if (!request.hasHeader('call-id')) request.setHeader('Call-ID', randomId(16));
    if (!request.hasHeader('cseq')) request.setHeader('CSeq', `1 ${method}`);
    for (const key of ['via', 'route', 'record-route', 'rseq']) request.removeHeader(key);
    const contact = request.getHeader('contact');
    if (contact) request.setHeader('Contact', replaceLocalhost(/[<>]/.test(contact) ? contact : `<${contact}>`, local));
    else if (method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER') request.setHeader('Contact', defaultContact(local, dest.protocol));
    if (!ensureContentType(request)) return app.reply(msgId, 'NOK|missing content-type');

    const tx = this.#transactions.sendRequest(request, { dest });
    const dlgId = method === 'INVITE' || method === 'SUBSCRIBE' ? dialogId(request.callId, fromAddr.tag) : '';
    const txnId = randomUUID();
    this.#clients.set(txnId, { txnId, tx, app, dialogId: dlgId });
    if (method === 'INVITE') this.#cdr('attempt', 'application', request);
    this.#watchClient(txnId, tx, app, request, dlgId, dest);
    this.#echoSent(app, msgId, request, dest.protocol, local.address, local.port, txnId, dlgId);
  }

  #watchClient(txnId: string, tx: ClientTransaction, app: AppConnection, request: SipRequest, dlgId: string, dest: RemoteEndpoint): void {
    const finish = (): void => {
      this.#clients.delete(txnId);
    };
    let answeredBy: string | undefined;
    tx.on('response', (response, incoming) => {
      const isInvite = request.method === 'INVITE';
      if (isInvite && response.status >= 200 && response.status < 300 && answeredBy !== undefined && response.to.tag === answeredBy) {
        // A 2xx retransmission (the transaction is in Accepted, RFC 6026): the app has it already; the
        // UAC core ACKs it again (§13.2.2.4), or the peer keeps retransmitting and finally hangs up.
        const owned = this.#dialogs.get(dlgId);
        if (owned) this.#resendAck(owned.dialog);
        return;
      }
      if (isInvite && response.status >= 200 && response.status < 300) answeredBy ??= response.to.tag ?? '';
      if (response.status >= 200 && isInvite && !this.#dialogs.has(dlgId) && !this.#findDialog(request)) {
        this.#uacOutcome.set(dlgId, response.status);
        setTimeout(() => this.#uacOutcome.delete(dlgId), 32_000).unref();
        if (response.status < 300) {
          const dialog = Dialog.fromUac(request, response, incoming.remote, tx.connectionId);
          dialog.sessionExpires = sessionInterval(response);
          this.#dialogs.set(dlgId, { dialog, app });
          this.#cdr('start', 'network', request, 'uac');
        } else {
          this.#cdr('stop', 'network', request, 'call-rejected');
        }
      }
      this.#deliver(app, response, incoming, txnId, dlgId, false);
      if (response.status >= 200) finish();
    });
    const fail = (status: number, reason: string): void => {
      this.#deliverFailure(app, request, status, reason, dest, txnId, dlgId);
      if (request.method === 'INVITE') this.#uacOutcome.set(dlgId, status);
      finish();
    };
    tx.on('timeout', () => fail(408, 'Request Timeout'));
    tx.on('transportError', () => fail(503, 'Service Unavailable'));
  }

  /** drachtio §5.2: a timeout or transport error reaches the app as a 408 or 503 response, as if from the network. */
  #deliverFailure(app: AppConnection, request: SipRequest, status: number, reason: string, dest: RemoteEndpoint, txnId: string, dlgId: string): void {
    const synthetic = createResponse(request, status, reason);
    this.#deliver(app, synthetic, { message: synthetic, remote: dest, local: dest, receivedAt: Date.now(), bytes: 0 }, txnId, dlgId, false);
  }

  #echoSent(app: AppConnection, msgId: string, request: SipRequest, protocol: TransportProtocol, address: string, port: number, txnId: string, dlgId: string): void {
    const text = request.toString();
    app.reply(msgId, `${sentReply(Buffer.byteLength(text), protocol, address, port, txnId, dlgId)}\r\n${text}`);
  }

  #requestInDialog(app: AppConnection, msgId: string, dlgId: string, appRequest: SipRequest): void {
    const owned = this.#dialogs.get(dlgId);
    const method = appRequest.method;
    if (!owned) {
      const outcome = this.#uacOutcome.get(dlgId);
      if (method === 'ACK' && outcome !== undefined && outcome >= 300) {
        return app.reply(msgId, 'NOK|ACK for non-success responses is automatically generated by the stack');
      }
      return app.reply(msgId, 'NOK|Server error: unable to find dialog for dialog id provided');
    }
    const { dialog } = owned;
    const local = this.#transport.localEndpoint(dialog.transport.protocol);
    const headers = appHeaders(appRequest, ['from', 'to', 'call-id', 'cseq', 'max-forwards']).map((h) =>
      /^contact$/i.test(h.name) ? { name: h.name, value: replaceLocalhost(h.value, local) } : h,
    );
    if ((method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER' || method === 'UPDATE') && !headers.some((h) => /^contact$/i.test(h.name))) {
      headers.push({ name: 'Contact', value: dialog.localContact || defaultContact(local, dialog.transport.protocol) });
    }
    // RFC 3261 §13.2.2.4: "The ACK MUST contain the same credentials as the INVITE" (srf's ACK carries none).
    if (method === 'ACK' && !headers.some((h) => /^(authorization|proxy-authorization)$/i.test(h.name))) headers.push(...dialog.inviteCredentials);
    const request = dialog.createRequest(method, headers, appRequest.body);
    if (method === 'INVITE') dialog.inviteCredentials = credentialsOf(request);
    if (!ensureContentType(request)) return app.reply(msgId, 'NOK|missing content-type');
    const dest = this.#endpointFor(dialog.nextHop(), dialog.transport);
    if (method === 'ACK') {
      dialog.state = DialogState.Confirmed;
      this.#transactions.sendStateless(request, { dest, connectionId: dialog.connectionId }).catch((err: unknown) => this.#log.debug({ err }, 'ACK not sent'));
      dialog.lastAck = request.toRetainedBuffer();
      return this.#echoSent(app, msgId, request, dest.protocol, local.address, local.port, randomUUID(), dlgId);
    }
    if (method === 'INVITE') dialog.inviteSeq = request.cseq.seq;
    if (method === 'INVITE' || method === 'UPDATE') dialog.lastRefresh = Date.now();
    const tx = this.#sendInDialog(dialog, request);
    const txnId = randomUUID();
    this.#clients.set(txnId, { txnId, tx, app, dialogId: dlgId });
    tx.on('response', (response, incoming) => {
      if (response.status >= 200 && response.status < 300 && method === 'INVITE') dialog.refreshTarget(response.getHeader('contact'));
      this.#deliver(app, response, incoming, txnId, dlgId, false);
      if (response.status >= 200) this.#clients.delete(txnId);
    });
    const fail = (status: number, reason: string): void => {
      this.#deliverFailure(app, request, status, reason, dest, txnId, dlgId);
      this.#clients.delete(txnId);
    };
    tx.on('timeout', () => fail(408, 'Request Timeout'));
    tx.on('transportError', () => fail(503, 'Service Unavailable'));
    if (method === 'BYE') {
      this.#forgetDialog(dlgId);
      this.#cdr('stop', 'application', request, 'normal-release');
    }
    this.#echoSent(app, msgId, request, dest.protocol, local.address, local.port, txnId, dlgId);
  }

  #sendInDialog(dialog: Dialog, request: SipRequest): ClientTransaction {
    const dest = this.#endpointFor(dialog.nextHop(), dialog.transport);
    return this.#transactions.sendRequest(request, { dest, connectionId: dialog.connectionId });
  }

  #cancelForApp(app: AppConnection, msgId: string, txnId: string): void {
    const pending = this.#clients.get(txnId);
    if (!pending || !(pending.tx instanceof InviteClientTransaction)) return app.reply(msgId, `NOK|unable to cancel unknown transaction id: ${txnId}`);
    pending.tx.cancel();
    const cancel = buildCancel(pending.tx.request);
    const local = this.#transport.localEndpoint(pending.tx.remote.protocol);
    this.#echoSent(app, msgId, cancel, pending.tx.remote.protocol, local.address, local.port, randomUUID(), '');
  }

  #onAppProxy(app: AppConnection, msgId: string, token: string[], sip: string): void {
    if (token.length < 4) return this.#fatal(app, msgId, 'Invalid proxy request: not enough information provided');
    const pending = this.#servers.get(token[2] ?? '');
    if (!pending) return app.reply(msgId, 'NOK|unknown transaction');
    const command = parseProxyCommand(token, sip);
    clearTimeout(pending.timer);
    this.#servers.delete(pending.txnId);
    this.#proxy.proxy(pending.request, pending.tx, command, (rest) => app.reply(msgId, rest));
  }

  #forgetDialog(id: string): void {
    const owned = this.#dialogs.get(id);
    if (owned) owned.dialog.state = DialogState.Terminated;
    this.#dialogs.delete(id);
  }

  /** §18.1.1 without DNS SRV: transport from the URI's transport parameter or scheme, default port by transport. */
  #endpointFor(uri: ReturnType<typeof parseUri>, fallback?: RemoteEndpoint): RemoteEndpoint {
    if (!(uri instanceof SipUri)) {
      if (fallback) return fallback;
      throw new Error(`cannot route to ${uri.toString()}`);
    }
    const dest = endpointForUri(uri, fallback?.protocol);
    // A WebSocket peer's Contact host is a made-up .invalid name: only its connection reaches it.
    return (dest.protocol === 'ws' || dest.protocol === 'wss') && fallback ? fallback : dest;
  }
}

/** RFC 4028 Session-Expires delta-seconds, 0 when absent or unreadable. */
function sessionInterval(message: SipMessageAny): number {
  const value = message.getHeader('session-expires');
  const seconds = value ? Number(value.split(';')[0]!.trim()) : 0;
  return Number.isFinite(seconds) ? seconds : 0;
}
