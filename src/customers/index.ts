export { identity, identityKinds, identityOrNothing, parseIdentity, IdentityError, type Identity, type IdentityKind } from './identity';
export {
  CustomerStore, CustomerError, preferredChannels,
  type Attachment, type AuditEntry, type ContactIdentities, type CustomerCase, type CustomerProfile, type PreferredChannel, type ProfileChange,
} from './customer-store';
