import { identity, identityOrNothing, parseIdentity, type CustomerStore, type Identity, type IdentityKind } from '../customers/index';
import type { Logger } from '../lib/index';
import type { InteractionRecord } from './interaction-records';

/** Which identity names the customer first when a contact brings several (a CRM id is the business's own word). */
const STRENGTH: readonly IdentityKind[] = ['crm', 'phone', 'email', 'sip', 'connector'];

export interface CrmLookup {
  readonly url: string;
  readonly timeoutMs: number;
}

/**
 * Gives every interaction its customer and case as its record is first saved: the identities the contact brings
 * (the caller's number on inbound calls, the number called on outbound ones, what a chat or a gateway says), asked
 * of the CRM when none is known yet, then attached in the customer store.
 */
export class CustomerLinker {
  constructor(private readonly options: { readonly customers: CustomerStore; readonly crm: CrmLookup | null; readonly logger: Logger }) {}

  /** Sets record.customer and record.case. Never throws: a contact goes on without a customer rather than fail. */
  async link(record: InteractionRecord): Promise<void> {
    try {
      const identities = identitiesOf(record);
      let hints: { name?: string; language?: string } = record.name ? { name: record.name } : {};
      if (this.options.crm !== null && identities.length > 0 && !(await this.#anyKnown(identities))) {
        const answer = await this.#askCrm(identities);
        if (answer !== undefined) {
          identities.unshift(answer.crm);
          hints = { ...hints, ...answer.hints };
        }
      }
      const attached = await this.options.customers.attach({ interaction: record.id, startedAt: Date.parse(record.startedAt), identities, ...hints });
      record.customer = attached.customer;
      record.case = attached.case;
      if (attached.conflicts.length > 0) this.options.logger.warn({ interaction: record.id, conflicts: attached.conflicts }, 'contact brought identities of another customer: left there (merge them if they are one)');
    } catch (err) {
      this.options.logger.error({ err, interaction: record.id }, 'contact not linked to a customer');
    }
  }

  async #anyKnown(identities: readonly Identity[]): Promise<boolean> {
    for (const id of identities) if ((await this.options.customers.customerOf(id)) !== undefined) return true;
    return false;
  }

  /** The CRM's customer for these identities: {crmId, name?, language?}, or 404/none; bounded by timeoutMs. */
  async #askCrm(identities: readonly Identity[]): Promise<{ crm: Identity; hints: { name?: string; language?: string } } | undefined> {
    const { url, timeoutMs } = this.options.crm!;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identities }), signal: AbortSignal.timeout(timeoutMs) });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { crmId?: unknown; name?: unknown; language?: unknown };
      if (typeof body.crmId !== 'string') throw new Error('the answer has no crmId');
      return {
        crm: identity('crm', body.crmId),
        hints: { ...(typeof body.name === 'string' ? { name: body.name } : {}), ...(typeof body.language === 'string' ? { language: body.language } : {}) },
      };
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, url }, 'CRM lookup failed: the contact goes on without it');
      return undefined;
    }
  }
}

/**
 * The identities a contact brings, strongest first: the channel's own (record.identities: a chat's email or phone,
 * a gateway's id), then the number — the caller's on inbound calls, the number called on outbound ones: E.164 is a
 * phone, anything else from a trunk (a PBX extension) is `sip:<user>@<trunk>`. A web video caller gives a name only.
 */
export function identitiesOf(record: InteractionRecord): Identity[] {
  const found = new Set<Identity>();
  for (const text of record.identities ?? []) {
    try {
      found.add(parseIdentity(text));
    } catch {
      // The channel checked what the customer typed; anything else is not an identity.
    }
  }
  if (record.channel === 'voice') {
    const number = record.direction === 'outbound' ? record.called : record.caller;
    const phone = identityOrNothing('phone', number);
    const pbxUser = phone === undefined && number !== '' && number.toLowerCase() !== 'anonymous' ? identityOrNothing('sip', `${number}@${record.trunk}`) : undefined;
    if (phone ?? pbxUser) found.add((phone ?? pbxUser)!);
  }
  return [...found].sort((a, b) => STRENGTH.indexOf(kindOf(a)) - STRENGTH.indexOf(kindOf(b)));
}

function kindOf(id: Identity): IdentityKind {
  return id.slice(0, id.indexOf(':')) as IdentityKind;
}
