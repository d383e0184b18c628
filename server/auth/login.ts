// Console login. Local users are checked first and never touch LDAP (so a
// slow or dead directory cannot block them); a name that is not a local user
// is bound against LDAP when it is configured, and the first successful LDAP
// login creates a read-only user described "LDAP". Failures are throttled per
// user name and per IP before any password work is done.
import { DomainError } from '../commands/errors.js';
import { ensureLdapUser, validateUsername } from '../commands/users.js';
import type { LdapConfig } from '../config.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log.js';
import { ldapBind } from './ldap.js';
import { hashPassword, PASSWORD_MAX_LENGTH, passwordNeedsRehash, verifyPassword } from './password.js';
import type { AuthUser } from './principal.js';
import type { LoginRateLimiter } from './rate-limit.js';

/** What a login needs. */
export interface LoginDeps {
  prisma: PrismaClient;
  ldap?: LdapConfig;
  limiter: LoginRateLimiter;
  log: Logger;
  now: () => number;
}

const INVALID = 'invalid user name or password';

/** Checks a user name and password; returns the user or throws INVALID_CREDENTIALS, RATE_LIMITED or LDAP_UNAVAILABLE. */
export async function login(deps: LoginDeps, username: string, password: string, ip: string): Promise<AuthUser> {
  const { prisma, limiter, now } = deps;
  if (username.length === 0 || username.length > 256 || password.length > PASSWORD_MAX_LENGTH * 4) {
    throw new DomainError('INVALID_CREDENTIALS', INVALID);
  }
  const wait = limiter.retryAfter(username, ip, now());
  if (wait > 0) {
    const seconds = Math.ceil(wait / 1000);
    throw Object.assign(new DomainError('RATE_LIMITED', `too many failed logins: try again in ${seconds} s`), { retryAfterSeconds: seconds });
  }
  const user = await checkCredentials(deps, username, password);
  if (!user) {
    limiter.failed(username, ip, now());
    deps.log.info({ username: username.slice(0, 64), ip }, 'login failed');
    throw new DomainError('INVALID_CREDENTIALS', INVALID);
  }
  limiter.succeeded(username);
  await prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date(now()) } });
  deps.log.info({ username: user.username, ip }, 'login');
  return user;
}

async function checkCredentials(deps: LoginDeps, username: string, password: string): Promise<AuthUser | null> {
  const { prisma } = deps;
  const local = await prisma.user.findUnique({ where: { username }, select: { id: true, username: true, readOnly: true, source: true, passwordHash: true } });
  if (local && local.source !== 'ldap') {
    if (!(await verifyPassword(local.passwordHash, password))) return null;
    if (local.passwordHash && passwordNeedsRehash(local.passwordHash)) {
      await prisma.user.update({ where: { id: local.id }, data: { passwordHash: await hashPassword(password) } });
    }
    return { id: local.id, username: local.username, readOnly: local.readOnly };
  }
  // LDAP user names are matched case-insensitively by directories: one local row per person.
  const name = username.toLowerCase();
  if (!deps.ldap || validateUsername(name) !== null || password === '') {
    await verifyPassword(null, password); // same time as a wrong password
    return null;
  }
  const known = local ?? (await prisma.user.findUnique({ where: { username: name }, select: { id: true, source: true } }));
  if (known && known.source !== 'ldap') return null; // never sign in to a local account through the directory
  const result = await ldapBind(deps.ldap, username, password);
  if (result === 'unavailable') {
    deps.log.warn({ url: deps.ldap.url }, 'LDAP directory unavailable for login');
    throw new DomainError('LDAP_UNAVAILABLE', 'the LDAP directory did not answer: try again later');
  }
  if (result !== 'ok') return null;
  const user = await ensureLdapUser(prisma, name);
  return { id: user.id, username: user.username, readOnly: user.readOnly };
}
