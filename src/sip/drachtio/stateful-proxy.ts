import type { Logger } from '../../lib/index';
import { NameAddr, SipRequest, SipResponse, SipUri, createResponse, formatHostPort, parseUri, type HeaderField } from '../message/index';
import { InviteClientTransaction, type ClientTransaction, type ServerTransaction, type TransactionLayer } from '../transaction/index';
import { endpointForUri, type RemoteEndpoint, type TransportLayer } from '../transport/index';
import { parseAppSip, wireTime } from './app-message';

export interface ProxyCommand {
  remainInDialog: boolean;
  followRedirects: boolean;
  simultaneous: boolean;
  provisionalTimeoutMs: number | undefined;
  finalTimeoutMs: number | undefined;
  destinations: string[];
  headers: HeaderField[];
}

/** `<id>|proxy|<txnId>|remainInDialog|fullResponse|followRedirects|simultaneous|<prov>|<final>|<dest>...` (drachtio §6). */
export function parseProxyCommand(token: string[], sip: string): ProxyCommand {
  const headers = sip ? parseAppSip(sip).headers.filter((h) => !/^(content-length)$/i.test(h.name)) : [];
  return {
    remainInDialog: token[3] === 'remainInDialog',
    followRedirects: token[5] === 'followRedirects',
    simultaneous: token[6] === 'simultaneous',
    provisionalTimeoutMs: parseDuration(token[7]),
    finalTimeoutMs: parseDuration(token[8]),
    destinations: token.slice(9).filter(Boolean).map((d) => (/^sips?:/i.test(d) ? d : `sip:${d}`)),
    headers,
  };
}

function parseDuration(text: string | undefined): number | undefined {
  const m = /^([0-9]+)(ms|s)?$/.exec(text ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

/**
 * RFC 3261 §16 stateful proxying of a request the application handed back with `proxy`: serial or
 * simultaneous forking, Record-Route when the app stays in the dialog, provisional responses relayed,
 * the best final response relayed (§16.7), and each branch's final reported to the app with `continue`.
 */
export class StatefulProxy {
  constructor(
    private readonly transactions: TransactionLayer,
    private readonly log: Logger,
  ) {}

  proxy(request: SipRequest, upstream: ServerTransaction, command: ProxyCommand, reply: (rest: string) => void): void {
    const maxForwards = Number(request.getHeader('max-forwards') ?? '70');
    if (maxForwards <= 0) {
      upstream.respond(createResponse(request, 483, 'Too Many Hops'));
      reply('OK|done');
      return;
    }
    const pending = [...command.destinations];
    const live = new Set<ClientTransaction>();
    let best: SipResponse | undefined;
    let finished = false;

    const relay = (response: SipResponse): void => {
      if (upstream.terminated || upstream.status >= 200) return;
      const copy = new SipResponse(response.status, response.reason, response.headers.map((h) => ({ ...h })), response.body);
      copy.shiftListHeader('via');
      upstream.respond(copy);
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const tx of live) if (tx instanceof InviteClientTransaction) tx.cancel();
      if (upstream.status < 200) relay(best ?? createResponse(request, 408, 'Request Timeout'));
      reply('OK|done');
    };
    const startBranch = (target: string): void => {
      let uri;
      try {
        uri = parseUri(target);
      } catch {
        best = chooseBest(best, createResponse(request, 400, 'Bad Destination'));
        return next();
      }
      if (!(uri instanceof SipUri)) return next();
      const forwarded = this.#forward(request, uri, maxForwards - 1, command);
      const tx = this.transactions.sendRequest(forwarded, { dest: endpointForUri(uri) });
      live.add(tx);
      let finalTimer: NodeJS.Timeout | undefined;
      if (command.finalTimeoutMs && tx instanceof InviteClientTransaction) finalTimer = setTimeout(() => tx.cancel(), command.finalTimeoutMs);
      const provisionalTimer =
        command.provisionalTimeoutMs && tx instanceof InviteClientTransaction ? setTimeout(() => tx.cancel(), command.provisionalTimeoutMs) : undefined;
      const onFinal = (response: SipResponse, remote: RemoteEndpoint): void => {
        clearTimeout(finalTimer);
        clearTimeout(provisionalTimer);
        live.delete(tx);
        const text = response.toString();
        if (!finished) reply(`OK|network|${Buffer.byteLength(text)}|${remote.protocol}|${remote.address}|${remote.port}|${wireTime()}|||continue\r\n${text}`);
        if (response.status < 300) {
          relay(response);
          return finish();
        }
        if (response.status < 400 && command.followRedirects) {
          for (const c of response.contacts) if (c !== '*') pending.push(c.uri.toString());
        }
        best = chooseBest(best, response);
        next();
      };
      tx.on('response', (response, inc) => {
        if (response.status === 100) return;
        clearTimeout(provisionalTimer);
        if (response.status < 200) return relay(response);
        onFinal(response, inc.remote);
      });
      tx.on('timeout', () => onFinal(createResponse(forwarded, 408, 'Request Timeout'), tx.remote));
      tx.on('transportError', () => onFinal(createResponse(forwarded, 503, 'Service Unavailable'), tx.remote));
    };
    const next = (): void => {
      if (finished) return;
      if (command.simultaneous) {
        while (pending.length > 0) startBranch(pending.shift()!);
        if (live.size === 0) finish();
        return;
      }
      const target = pending.shift();
      if (target === undefined) {
        if (live.size === 0) finish();
        return;
      }
      startBranch(target);
    };
    upstream.on('cancel', () => {
      finished = true;
      for (const tx of live) if (tx instanceof InviteClientTransaction) tx.cancel();
      reply('OK|done');
    });
    next();
  }

  /** Whether the request's top Route names this engine: it is in a dialog the app proxied with Record-Route. */
  routesThrough(request: SipRequest, transport: TransportLayer): boolean {
    const top = request.routes[0];
    if (!top || !(top.uri instanceof SipUri)) return false;
    const uri = top.uri;
    return transport.listeners.some((l) => l.host === uri.hostAddress && l.boundPort === (uri.port ?? 5060));
  }

  /** §16.12: an in-dialog request through a Record-Route we added: pop our Route, forward, relay the responses. */
  forwardInDialog(request: SipRequest, upstream: ServerTransaction): void {
    const { forwarded, dest } = this.#nextHop(request);
    const tx = this.transactions.sendRequest(forwarded, { dest });
    tx.on('response', (response) => {
      if (response.status === 100 || upstream.terminated || upstream.status >= 200) return;
      const copy = new SipResponse(response.status, response.reason, response.headers.map((h) => ({ ...h })), response.body);
      copy.shiftListHeader('via');
      upstream.respond(copy);
    });
    const fail = (status: number): void => {
      if (upstream.status < 200 && !upstream.terminated) upstream.respond(createResponse(request, status));
    };
    tx.on('timeout', () => fail(408));
    tx.on('transportError', () => fail(503));
  }

  /** §16.11: an ACK for a 2xx through our Record-Route is forwarded statelessly. */
  forwardAck(ack: SipRequest): void {
    const { forwarded, dest } = this.#nextHop(ack);
    this.transactions.sendStateless(forwarded, { dest }).catch((err: unknown) => this.log.debug({ err }, 'proxied ACK not sent'));
  }

  #nextHop(request: SipRequest): { forwarded: SipRequest; dest: RemoteEndpoint } {
    const forwarded = new SipRequest(request.method, request.uriText, request.headers.map((h) => ({ ...h })), request.body);
    forwarded.shiftListHeader('route');
    const maxForwards = Number(forwarded.getHeader('max-forwards') ?? '70');
    forwarded.setHeader('Max-Forwards', String(Math.max(0, maxForwards - 1)));
    const nextRoute = forwarded.routes[0];
    const target = nextRoute && nextRoute.uri instanceof SipUri && nextRoute.uri.params.has('lr') ? nextRoute.uri : forwarded.uri;
    if (!(target instanceof SipUri)) throw new Error('cannot route a non-SIP URI');
    return { forwarded, dest: endpointForUri(target) };
  }

  #forward(request: SipRequest, target: SipUri, maxForwards: number, command: ProxyCommand): SipRequest {
    const forwarded = new SipRequest(request.method, target.toString(), request.headers.map((h) => ({ ...h })), request.body);
    forwarded.setHeader('Max-Forwards', String(maxForwards));
    for (const h of command.headers) {
      if (!/^(via|route|record-route|max-forwards|call-id|cseq|from|to)$/i.test(h.name)) forwarded.setHeader(h.name, h.value);
    }
    if (command.remainInDialog && (request.method === 'INVITE' || request.method === 'SUBSCRIBE')) {
      const protocol = endpointForUri(target).protocol;
      const local = this.transactions.transport.localEndpoint(protocol);
      forwarded.prependHeader('Record-Route', new NameAddr(parseUri(`sip:${formatHostPort(local.address, local.port)};transport=${protocol};lr`)).toString());
    }
    return forwarded;
  }
}

/** §16.7 step 6: prefer 6xx, then the lowest class among 4xx/5xx/3xx; 503 counts as 500. */
function chooseBest(current: SipResponse | undefined, candidate: SipResponse): SipResponse {
  if (!current) return candidate;
  const rank = (r: SipResponse): number => (r.status >= 600 ? 0 : r.status === 503 ? 500 : r.status);
  return rank(candidate) < rank(current) ? candidate : current;
}
