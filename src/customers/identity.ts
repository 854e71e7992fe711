import { OneccError } from '../lib/index';

/**
 * The ways onecc knows a customer:
 * - phone: E.164 (`+` and 2-15 digits), as trunks and campaigns give numbers;
 * - email: an address (the domain compared without case, the local part as written);
 * - sip: `user@host` for callers without an E.164 number (a PBX extension; host: the trunk's name);
 * - connector: `<gateway>:<id>`, a messaging gateway's id for the customer (docs/chat.md);
 * - crm: the customer's id in the business's CRM.
 */
export const identityKinds = ['phone', 'email', 'sip', 'connector', 'crm'] as const;
export type IdentityKind = (typeof identityKinds)[number];

/** An identity as one string, `<kind>:<value>`: how it is stored, linked and queried. */
export type Identity = `${IdentityKind}:${string}`;

export class IdentityError extends OneccError {
  constructor(message: string) {
    super('BAD_IDENTITY', message);
  }
}

const PATTERNS: Record<IdentityKind, { test: RegExp; says: string }> = {
  phone: { test: /^\+[1-9]\d{1,14}$/, says: 'E.164: + then 2-15 digits, no spaces or punctuation (e.g. +15551234567)' },
  email: { test: /^[^\s@"<>,;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/, says: 'an address like name@example.com' },
  sip: { test: /^[^\s@:;<>"]{1,64}@[A-Za-z0-9.-]{1,128}$/, says: 'user@host' },
  connector: { test: /^[a-z0-9-]{1,32}:[^\s]{1,200}$/, says: '<gateway>:<id> (gateway: a-z, 0-9, -)' },
  crm: { test: /^[A-Za-z0-9._:-]{1,128}$/, says: 'letters, digits, . _ : - (1-128)' },
};

/**
 * Checks an identity and puts it in its one stored form: the kind in lower case and an email's domain in lower case,
 * nothing else. Anything that does not match is refused with the reason; onecc never guesses (a national number
 * turned into E.164 with the wrong country would be somebody else's).
 */
export function parseIdentity(text: string): Identity {
  if (typeof text !== 'string') throw new IdentityError('an identity is a string <kind>:<value>');
  const colon = text.indexOf(':');
  const kind = (colon < 0 ? '' : text.slice(0, colon).toLowerCase()) as IdentityKind;
  if (!identityKinds.includes(kind)) throw new IdentityError(`"${text.slice(0, 80)}": the kind must be one of ${identityKinds.join(', ')} (<kind>:<value>)`);
  return identity(kind, text.slice(colon + 1));
}

/** One identity of a kind from its value, checked (see parseIdentity). */
export function identity(kind: IdentityKind, value: string): Identity {
  const pattern = PATTERNS[kind];
  if (!pattern.test.test(value)) throw new IdentityError(`${kind} "${value.slice(0, 80)}" is malformed: ${pattern.says}`);
  if (kind === 'email') {
    const at = value.lastIndexOf('@');
    return `email:${value.slice(0, at)}@${value.slice(at + 1).toLowerCase()}`;
  }
  return `${kind}:${value}`;
}

/** The identity, or undefined when the value is not one (for what channels see: a caller id may be anything). */
export function identityOrNothing(kind: IdentityKind, value: string | undefined | null): Identity | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  try {
    return identity(kind, value);
  } catch {
    return undefined;
  }
}
