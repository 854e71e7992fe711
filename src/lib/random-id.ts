import { randomBytes } from 'node:crypto';

/** A random token of URL-safe characters: tags, branches, Call-IDs. 8 bytes → 11 characters, 64 bits. */
export function randomId(bytes = 8): string {
  return randomBytes(bytes).toString('base64url');
}
