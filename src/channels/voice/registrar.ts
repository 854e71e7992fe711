import type Srf from 'drachtio-srf';
import type { VoiceConfig } from '../../config/index';
import type { Logger } from '../../lib/index';
import { digestHa1, type DigestAuthenticator } from './digest-auth';
import type { Binding, PhoneDirectory, SipTransport } from './phone-directory';

export interface RegistrarOptions {
  phones: PhoneDirectory;
  auth: DigestAuthenticator;
  expires: Pick<VoiceConfig['registrar'], 'minExpires' | 'maxExpires' | 'defaultExpires'>;
  logger: Logger;
}

/** What the registrar answers. */
interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

/** An srf request as the registrar reads it (drachtio-srf's typings omit the metadata fields). */
type RegisterRequest = Srf.SrfRequest & { source_port: number; protocol: string };

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/**
 * RFC 3261 §10.3 registrar for agents' phones (voice.phones): digest authentication (401), the To user must be the
 * authenticated user, bindings with expiry (423 below voice.registrar.minExpires, cut to maxExpires), `*` with
 * Expires: 0 to remove them all, and a 200 that lists every current binding. Bindings are stored through
 * PhoneDirectory, so any onecc node may take the next REGISTER.
 */
export class Registrar {
  readonly #phones: PhoneDirectory;
  readonly #auth: DigestAuthenticator;
  readonly #expires: RegistrarOptions['expires'];
  readonly #log: Logger;

  constructor(options: RegistrarOptions) {
    this.#phones = options.phones;
    this.#auth = options.auth;
    this.#expires = options.expires;
    this.#log = options.logger.child({ component: 'registrar' });
  }

  /** The srf.register handler: `srf.register((req, res) => registrar.handle(req, res))`. */
  handle(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    this.#answer(req as RegisterRequest).then(
      (answer) => res.send(answer.status, answer.headers ? { headers: answer.headers } : {}),
      (err: unknown) => {
        this.#log.warn({ err, callId: req.get('Call-ID') }, 'REGISTER failed');
        res.send(503, { headers: { 'Retry-After': '5' } });
      },
    );
  }

  async #answer(req: RegisterRequest): Promise<Answer> {
    const verdict = this.#auth.verify('REGISTER', req.get('Authorization'), (username) => {
      const password = this.#phones.passwordOf(username);
      return password === undefined ? undefined : digestHa1(username, this.#auth.realm, password);
    });
    if (verdict.result !== 'ok') {
      if (verdict.result === 'rejected') this.#log.info({ username: verdict.username, reason: verdict.reason, source: req.source_address }, 'REGISTER credentials refused');
      // A wrong password gets a fresh challenge, not 403: the phone asks its user or gives up by itself.
      return { status: 401, headers: { 'WWW-Authenticate': this.#auth.challenge(verdict.result === 'stale') } };
    }
    const username = verdict.username;
    if (userOf(req.get('To')) !== username) return { status: 403 };
    const agentId = this.#phones.agentOf(username)!;
    const now = Date.now();

    const contactHeader = req.get('Contact');
    if (contactHeader === undefined || contactHeader.trim() === '') return this.#ok(await this.#phones.bindingsOf(username), now);

    const callId = req.get('Call-ID');
    const cseq = Number.parseInt(req.get('CSeq'), 10);
    if (contactHeader.trim() === '*') {
      // §10.3 step 6: "*" only with Expires: 0 and no other Contact.
      if (req.get('Expires')?.trim() !== '0') return { status: 400 };
      const result = await this.#phones.updateBindings<Answer>(agentId, ({ bindings }) => ({ remove: bindings.filter((b) => b.username === username), put: [] }));
      return 'refused' in result ? result.refused : this.#ok(result.current.filter((b) => b.username === username), now);
    }

    const requested: { uri: string; expires: number }[] = [];
    for (const contact of req.getParsedHeader('Contact') as Array<{ uri: string; params: Record<string, string | undefined> }>) {
      requested.push({ uri: contact.uri, expires: expiresOf(contact.params.expires ?? req.get('Expires'), this.#expires.defaultExpires) });
    }
    if (requested.some((c) => c.expires > 0 && c.expires < this.#expires.minExpires)) {
      return { status: 423, headers: { 'Min-Expires': String(this.#expires.minExpires) } };
    }
    const transport = req.protocol.toLowerCase();
    if (!TRANSPORTS.has(transport)) return { status: 400 };
    const result = await this.#phones.updateBindings<Answer>(agentId, ({ bindings }) => {
      const remove: Binding[] = [];
      const put: Binding[] = [];
      for (const { uri, expires } of requested) {
        const existing = bindings.find((b) => b.username === username && b.uri === uri);
        // §10.3 step 7: a REGISTER older than the one that made the binding (same Call-ID, CSeq not higher) fails.
        if (existing && existing.callId === callId && existing.cseq >= cseq) return { refused: { status: 500 } };
        if (expires === 0) {
          if (existing) remove.push(existing);
          continue;
        }
        put.push({
          username,
          uri,
          expiresAt: now + Math.min(expires, this.#expires.maxExpires) * 1000,
          transport: transport as SipTransport,
          sourceAddress: req.source_address,
          sourcePort: req.source_port,
          callId,
          cseq,
          userAgent: req.get('User-Agent'),
        });
      }
      return { remove, put };
    });
    if ('refused' in result) return result.refused;
    this.#log.debug({ username, agentId, contacts: requested, transport, source: `${req.source_address}:${req.source_port}` }, 'REGISTER accepted');
    return this.#ok(result.current.filter((b) => b.username === username), now);
  }

  /** 200 listing the user's bindings, each with the seconds it has left (§10.3 step 8). */
  #ok(bindings: readonly Binding[], now: number): Answer {
    if (bindings.length === 0) return { status: 200 };
    const contacts = bindings.map((b) => `<${b.uri}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`);
    return { status: 200, headers: { Contact: contacts.join(', ') } };
  }
}

/** Seconds from an Expires value or contact parameter; a missing or unreadable one means the default. */
function expiresOf(value: string | undefined, defaultExpires: number): number {
  const seconds = value === undefined ? Number.NaN : Number(value.trim());
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : defaultExpires;
}

/** The user part of a To value's URI (percent-decoded), undefined when it has none. */
function userOf(to: string | undefined): string | undefined {
  const user = /sips?:([^@;>]+)@/i.exec(to ?? '')?.[1];
  if (user === undefined) return undefined;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
