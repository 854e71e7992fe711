import { BlockList, isIP } from 'node:net';
import type Srf from 'drachtio-srf';
import type { TrunkConfig } from '../../config/index';
import { digestHa1, type DigestAuthenticator } from './digest-auth';

/** What identify() needs of an incoming INVITE (drachtio-srf's request has it). */
export type TrunkRequest = Pick<Srf.SrfRequest, 'method' | 'source_address' | 'get'>;

export interface Trunk {
  readonly name: string;
  readonly addresses: readonly string[];
  /** Digest username the trunk must authenticate with, if any. */
  readonly username: string | null;
  /** Where onecc places calls through this trunk ({number}, {source}); null: it places none. */
  readonly outboundUri: string | null;
}

/** A number onecc may dial: digits with an optional leading +, nothing that could change the URI. */
const DIALABLE = /^\+?[0-9]{2,20}$/;

/**
 * The URI to call `number` at through `trunk`, `source` being the address:port a call from it came from; undefined
 * when the trunk places no calls or the number is not one onecc dials (a SIP URI user part, letters, too short).
 */
export function outboundUri(trunk: Trunk, number: string, source: string): string | undefined {
  if (trunk.outboundUri === null || !DIALABLE.test(number)) return undefined;
  return trunk.outboundUri.replaceAll('{number}', number).replaceAll('{source}', source);
}

/** Who sent an INVITE: a trunk, or how to answer the request instead. */
export type TrunkIdentity =
  | { readonly outcome: 'trunk'; readonly trunk: Trunk }
  | { readonly outcome: 'challenge'; readonly status: 407; readonly headers: { readonly 'Proxy-Authenticate': string } }
  | { readonly outcome: 'reject'; readonly status: 403; readonly reason: string };

interface Range {
  readonly prefix: number;
  readonly list: BlockList;
  readonly family: 'ipv4' | 'ipv6';
}

interface KnownTrunk {
  readonly trunk: Trunk;
  readonly ranges: readonly Range[];
  readonly ha1: string | null;
}

/**
 * The trunks allowed to send calls (voice.trunks). An INVITE is a trunk's when its source address lies in one of
 * the trunk's blocks (the most specific block wins) and, if that trunk has credentials, it also authenticates; from
 * no listed address, it must authenticate as a credentials-only trunk (407 first). Everything else is refused 403:
 * there is no unauthenticated way in, and so none to outbound calls.
 */
export class TrunkDirectory {
  readonly #trunks: readonly KnownTrunk[];
  readonly #auth: DigestAuthenticator;

  constructor(trunks: readonly TrunkConfig[], auth: DigestAuthenticator) {
    this.#auth = auth;
    this.#trunks = trunks.map((config) => ({
      trunk: { name: config.name, addresses: [...config.addresses], username: config.username, outboundUri: config.outboundUri },
      ranges: config.addresses.map(parseRange),
      ha1: config.username !== null && config.password !== null ? digestHa1(config.username, auth.realm, config.password) : null,
    }));
  }

  get trunks(): readonly Trunk[] {
    return this.#trunks.map((known) => known.trunk);
  }

  identify(req: TrunkRequest): TrunkIdentity {
    const source = unmapIpv4(req.source_address);
    const byAddress = this.#byAddress(source);
    if (byAddress) return byAddress.ha1 === null ? { outcome: 'trunk', trunk: byAddress.trunk } : this.#authenticate(req, [byAddress]);
    const byCredentials = this.#trunks.filter((known) => known.ranges.length === 0);
    if (byCredentials.length > 0) return this.#authenticate(req, byCredentials);
    return { outcome: 'reject', status: 403, reason: `no trunk has the address ${source}` };
  }

  #byAddress(source: string): KnownTrunk | undefined {
    const family = isIP(source) === 6 ? 'ipv6' : 'ipv4';
    let best: { known: KnownTrunk; prefix: number } | undefined;
    for (const known of this.#trunks) {
      for (const range of known.ranges) {
        if (range.family === family && range.list.check(source, family) && (best === undefined || range.prefix > best.prefix)) best = { known, prefix: range.prefix };
      }
    }
    return best?.known;
  }

  #authenticate(req: TrunkRequest, candidates: readonly KnownTrunk[]): TrunkIdentity {
    const header = req.get('Proxy-Authorization');
    const verdict = this.#auth.verify(req.method, header, (username) => candidates.find((known) => known.trunk.username === username)?.ha1 ?? undefined);
    switch (verdict.result) {
      case 'ok':
        return { outcome: 'trunk', trunk: candidates.find((known) => known.trunk.username === verdict.username)!.trunk };
      case 'missing':
      case 'stale':
        return { outcome: 'challenge', status: 407, headers: { 'Proxy-Authenticate': this.#auth.challenge(verdict.result === 'stale') } };
      case 'rejected':
        return { outcome: 'reject', status: 403, reason: `trunk credentials of ${verdict.username ?? 'nobody'} refused: ${verdict.reason}` };
    }
  }
}

/** Answers an INVITE that identify() did not take: 407 with the challenge, or 403. */
export function refuseUnidentified(res: Srf.SrfResponse, identity: Exclude<TrunkIdentity, { outcome: 'trunk' }>): void {
  if (identity.outcome === 'challenge') res.send(identity.status, { headers: identity.headers });
  else res.send(identity.status);
}

function parseRange(cidr: string): Range {
  const [address = '', prefixText] = cidr.split('/');
  const plain = unmapIpv4(address);
  const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
  const prefix = prefixText === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefixText);
  const list = new BlockList();
  list.addSubnet(plain, prefix, family);
  return { prefix, list, family };
}

/** ::ffff:192.0.2.1 (an IPv4 peer on a dual-stack socket) → 192.0.2.1, so IPv4 blocks match it. */
function unmapIpv4(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** The trunk agents' manual calls go out through: `name`, or the first whose outboundUri needs no {source}. */
export function manualDialTrunk(trunks: readonly Trunk[], name: string | null): Trunk | undefined {
  const usable = (t: Trunk) => t.outboundUri !== null && !t.outboundUri.includes('{source}');
  return name === null ? trunks.find(usable) : trunks.find((t) => t.name === name && usable(t));
}

/** voice.manualDial.trunk must name a trunk that can place calls on its own (loadConfig check). */
export function checkVoiceConfig(voice: { readonly trunks: readonly TrunkConfig[]; readonly manualDial: { readonly trunk: string | null } }): { path: (string | number)[]; reason: string }[] {
  const name = voice.manualDial.trunk;
  if (name === null) return [];
  const trunk = voice.trunks.find((t) => t.name === name);
  if (trunk === undefined) return [{ path: ['voice', 'manualDial', 'trunk'], reason: `no trunk named "${name}" in voice.trunks` }];
  if (trunk.outboundUri === null || trunk.outboundUri.includes('{source}')) {
    return [{ path: ['voice', 'manualDial', 'trunk'], reason: `trunk "${name}" needs an outboundUri without {source} to place calls on its own` }];
  }
  return [];
}
