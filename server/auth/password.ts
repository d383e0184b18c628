// Local users' passwords: argon2id hashes (memory-hard) and the password policy.
import argon2 from 'argon2';

/** Shortest password accepted, in characters (Unicode code points). */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest password accepted, in characters; bounds the work one login can cost. */
export const PASSWORD_MAX_LENGTH = 1024;

/** argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane). */
export const PASSWORD_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Checks the password policy; returns what is wrong, or null when the password is acceptable. */
export function validatePassword(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `password is too short: use at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `password is too long: use at most ${PASSWORD_MAX_LENGTH} characters`;
  return null;
}

/** Hashes a password (argon2id, random salt): the PHC string `$argon2id$v=19$m=19456,t=2,p=1$...`. */
export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PASSWORD_HASH_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Whether `password` matches `hash`. A null hash (LDAP or unknown user) or an
 * over-long password never matches, but a null hash still costs one
 * verification so that response times do not tell which users exist.
 */
export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_LENGTH * 2 || [...password].length > PASSWORD_MAX_LENGTH) return false;
  if (!hash) {
    dummyHash ??= hashPassword('not a password: equalises timing for users without one');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // not a hash argon2 can read
  }
}

/** Whether a stored hash was made with weaker parameters than today's and should be replaced at the next login. */
export function passwordNeedsRehash(hash: string): boolean {
  try {
    return !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, PASSWORD_HASH_OPTIONS);
  } catch {
    return true;
  }
}
