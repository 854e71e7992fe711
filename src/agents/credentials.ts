import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AgentsConfig } from '../config/index';

/** Who a connection is, once authenticated. */
export type Identity = { readonly role: 'agent'; readonly agentId: string } | { readonly role: 'supervisor'; readonly name: string };

export type AuthResult = { readonly ok: true; readonly identity: Identity; readonly expiresAt: number | null } | { readonly ok: false; readonly reason: string };

interface TokenClaims {
  /** agent id, or the supervisor's name */
  readonly sub: string;
  readonly role: 'agent' | 'supervisor';
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

/**
 * The feed's credentials: signed tokens (`<claims>.<HMAC-SHA256>`, both base64url; claims `{sub, role, exp}`) issued
 * with agents.tokenSecret, and static API keys from agents.apiKeys. An agent token or key must name an agent of the
 * roster. Nothing else authenticates.
 */
export class Credentials {
  readonly #secret: Buffer | null;
  readonly #keys: AgentsConfig['apiKeys'];
  readonly #roster: ReadonlySet<string>;

  constructor(config: Pick<AgentsConfig, 'tokenSecret' | 'apiKeys' | 'roster'>) {
    this.#secret = config.tokenSecret === null ? null : Buffer.from(config.tokenSecret, 'utf8');
    this.#keys = config.apiKeys;
    this.#roster = new Set(config.roster.map((a) => a.id));
  }

  /** A token for `sub` valid `seconds` from `now` (ms). */
  issue(role: 'agent' | 'supervisor', sub: string, seconds: number, now = Date.now()): string {
    if (this.#secret === null) throw new Error('agents.tokenSecret is null: tokens cannot be issued');
    if (role === 'agent' && !this.#roster.has(sub)) throw new Error(`agent ${sub} is not in agents.roster`);
    const claims = Buffer.from(JSON.stringify({ sub, role, exp: Math.floor(now / 1000) + seconds } satisfies TokenClaims)).toString('base64url');
    return `${claims}.${this.#sign(claims)}`;
  }

  verifyToken(token: string, now = Date.now()): AuthResult {
    if (this.#secret === null) return { ok: false, reason: 'tokens are not accepted here (agents.tokenSecret is null)' };
    const [claimsText, signature, ...rest] = token.split('.');
    if (!claimsText || !signature || rest.length > 0) return { ok: false, reason: 'malformed token' };
    const expected = Buffer.from(this.#sign(claimsText));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad token signature' };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(claimsText, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return { ok: false, reason: 'malformed token' };
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return { ok: false, reason: 'token expired' };
    return this.#identity(claims.role, claims.sub, claims.exp * 1000);
  }

  verifyApiKey(key: string): AuthResult {
    const given = Buffer.from(key);
    const match = this.#keys.find((k) => {
      const known = Buffer.from(k.key);
      return known.length === given.length && timingSafeEqual(known, given);
    });
    if (match === undefined) return { ok: false, reason: 'unknown API key' };
    return this.#identity(match.role, match.agent ?? 'supervisor', null);
  }

  #identity(role: unknown, sub: unknown, expiresAt: number | null): AuthResult {
    if (role === 'supervisor' && typeof sub === 'string') return { ok: true, identity: { role, name: sub }, expiresAt };
    if (role === 'agent' && typeof sub === 'string') {
      if (!this.#roster.has(sub)) return { ok: false, reason: `agent ${sub} is not in agents.roster` };
      return { ok: true, identity: { role, agentId: sub }, expiresAt };
    }
    return { ok: false, reason: 'token names no valid role' };
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#secret!).update(text).digest('base64url');
  }
}
