// Bearer secrets (session cookies, API tokens): 256 random bits, only their
// SHA-256 is stored. A fast hash is enough: the secret is not guessable, so
// there is nothing for a slow hash to protect against.
import { createHash, randomBytes } from 'node:crypto';

/** A new random secret: `prefix` + 43 base64url characters (256 bits). */
export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** The stored form of a secret: SHA-256, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether a presented value has the shape of one of our secrets (bounds work on junk input). */
export function plausibleSecret(value: string, prefix = ''): boolean {
  return value.length === prefix.length + 43 && value.startsWith(prefix) && /^[A-Za-z0-9_-]+$/.test(value.slice(prefix.length));
}
