import { randomFillSync } from 'node:crypto';

// Bytes from the CSPRNG, drawn 4 KiB at a time: a call per id costs more than the id (ids are made for every SIP
// transaction, task and notification).
const pool = Buffer.alloc(4096);
let used = pool.length;

/** A random token of URL-safe characters: tags, branches, Call-IDs. 8 bytes → 11 characters, 64 bits. */
export function randomId(bytes = 8): string {
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('base64url', used - bytes, used);
}
