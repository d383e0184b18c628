import { createHash, randomBytes } from 'node:crypto';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALNUM = LETTERS + '0123456789';

/** A random string from `alphabet` with no modulo bias (rejection sampling). */
export function randomString(length: number, alphabet: string, first = alphabet): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      const set = out.length === 0 ? first : alphabet;
      const limit = 256 - (256 % set.length);
      if (byte >= limit) continue;
      out += set[byte % set.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new server id: 16 characters of [A-Za-z0-9], first a letter, from a CSPRNG (~95 bits). */
export function generateServerId(): string {
  return randomString(16, ALNUM, LETTERS);
}

/** A new registration key: 16 characters of [A-Za-z0-9], as the original portal generates. */
export function generateKey(): string {
  return randomString(16, ALNUM);
}

/**
 * What the database stores instead of the server id. Ids carry ~95 random
 * bits, so a fast hash is enough (nothing to brute-force), and lookups by
 * hash leak no timing about the id itself.
 */
export function hashServerId(serverId: string): string {
  return createHash('sha256').update(serverId, 'utf8').digest('hex');
}

/** The part of a server id safe to show and log. */
export function serverIdHint(serverId: string): string {
  return serverId.slice(0, 4);
}

/** Whether a string could be a server id we issued (or a legacy one): bounded, printable. */
export function plausibleServerId(s: string): boolean {
  return /^[A-Za-z0-9_-]{8,64}$/.test(s);
}
