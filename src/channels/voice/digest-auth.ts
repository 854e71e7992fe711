import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest authentication as SIP uses it (RFC 3261 §22.4 on RFC 2617; MD5 with qop=auth as in RFC 7616 §3.4.1).
 * Nonces are stateless: issue time + random bytes + an HMAC over both, so any onecc node that shares the HMAC key
 * can check a nonce another node issued, and nothing is stored per challenge. The price: a captured response can be
 * replayed while its nonce is fresh (no nonce-count tracking), which TLS/WSS listeners prevent.
 */

export interface DigestAuthenticatorOptions {
  realm: string;
  /** HMAC key of the nonces; null: a random one (nonces from other nodes or earlier runs are then stale). */
  nonceSecret: string | null;
  nonceTtlSeconds: number;
  now?: () => number;
}

/** What a request's credentials amount to. `stale`: right password, but a nonce we no longer accept. */
export type DigestVerdict =
  | { readonly result: 'ok'; readonly username: string }
  | { readonly result: 'missing' }
  | { readonly result: 'stale'; readonly username: string }
  | { readonly result: 'rejected'; readonly username: string | undefined; readonly reason: string };

/** The parameters of a `Digest ...` Authorization or Proxy-Authorization value (names lower-cased). */
export type DigestParams = Readonly<Record<string, string>>;

const NONCE_RANDOM_BYTES = 8;
const NONCE_MAC_BYTES = 16;

export class DigestAuthenticator {
  readonly realm: string;
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: DigestAuthenticatorOptions) {
    this.realm = options.realm;
    this.#key = options.nonceSecret === null ? randomBytes(32) : Buffer.from(options.nonceSecret, 'utf8');
    this.#ttlMs = options.nonceTtlSeconds * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** A WWW-Authenticate / Proxy-Authenticate value with a fresh nonce. */
  challenge(stale = false): string {
    return `Digest realm="${this.realm}", nonce="${this.#issueNonce()}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /**
   * Checks the credentials in `header` (the Authorization or Proxy-Authorization value) of a `method` request.
   * `ha1Of` gives MD5(username:realm:password) for a known user, undefined otherwise.
   */
  verify(method: string, header: string | undefined, ha1Of: (username: string) => string | undefined): DigestVerdict {
    if (header === undefined) return { result: 'missing' };
    const params = parseDigestCredentials(header);
    if (params === undefined) return { result: 'rejected', username: undefined, reason: 'not Digest credentials' };
    const { username, realm, nonce, uri, response } = params;
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { result: 'rejected', username, reason: 'incomplete Digest credentials' };
    }
    // Credentials for another realm (another server's challenge) are not wrong, just not ours: ask again.
    if (realm !== this.realm) return { result: 'missing' };
    if (params.algorithm !== undefined && params.algorithm.toUpperCase() !== 'MD5') return { result: 'rejected', username, reason: `algorithm ${params.algorithm} not offered` };
    const qop = params.qop?.toLowerCase();
    if (qop !== undefined && (qop !== 'auth' || params.nc === undefined || params.cnonce === undefined)) {
      return { result: 'rejected', username, reason: 'qop must be auth, with nc and cnonce' };
    }
    const ha1 = ha1Of(username);
    if (ha1 === undefined) return { result: 'rejected', username, reason: 'unknown user' };
    const expected = digestResponse({ ha1, nonce, method, uri, qop, nc: params.nc, cnonce: params.cnonce });
    if (!sameText(expected, response.toLowerCase())) return { result: 'rejected', username, reason: 'wrong response (password)' };
    // RFC 2617 §3.2.1: stale means the digest was right for a nonce we no longer take, so the client retries
    // without asking its user. A nonce signed with another key (a restart with a random key) counts as stale too.
    return this.#nonceIsFresh(nonce) ? { result: 'ok', username } : { result: 'stale', username };
  }

  #issueNonce(): string {
    const body = Buffer.alloc(8 + NONCE_RANDOM_BYTES);
    body.writeBigUInt64BE(BigInt(Math.floor(this.#now())));
    randomBytes(NONCE_RANDOM_BYTES).copy(body, 8);
    return Buffer.concat([body, this.#mac(body)]).toString('base64url');
  }

  #nonceIsFresh(nonce: string): boolean {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 8 + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES) return false;
    const body = raw.subarray(0, 8 + NONCE_RANDOM_BYTES);
    if (!timingSafeEqual(raw.subarray(body.length), this.#mac(body))) return false;
    const age = this.#now() - Number(body.readBigUInt64BE());
    return age >= 0 && age <= this.#ttlMs;
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(this.realm).update(body).digest().subarray(0, NONCE_MAC_BYTES);
  }
}

/** RFC 2617 §3.2.2.2: HA1 = MD5(username ":" realm ":" password). */
export function digestHa1(username: string, realm: string, password: string): string {
  return md5(`${username}:${realm}:${password}`);
}

/** RFC 2617 §3.2.2.1 request-digest; without qop, RFC 2069's form. */
export function digestResponse(input: { ha1: string; nonce: string; method: string; uri: string; qop?: string | undefined; nc?: string | undefined; cnonce?: string | undefined }): string {
  const ha2 = md5(`${input.method}:${input.uri}`);
  return input.qop === undefined ? md5(`${input.ha1}:${input.nonce}:${ha2}`) : md5(`${input.ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/** `Digest a="b", c=d, ...` → { a: 'b', c: 'd' }; undefined when the scheme is not Digest. */
export function parseDigestCredentials(header: string): DigestParams | undefined {
  const match = /^\s*Digest\s+/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/gy;
  param.lastIndex = match[0].length;
  for (let m = param.exec(header); m !== null && m[0] !== ''; m = param.exec(header)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return params;
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function sameText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
