// Console users: the operations behind `kc.eportal -l/-a/-d/-c/-r` and the
// GraphQL user mutations. Every failure a caller can cause is a DomainError.
import { z } from 'zod';
import { hashPassword, validatePassword } from '../auth/password.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { DomainError, parseInput, prismaErrorCode, quote } from './errors.js';

/** Longest username accepted. */
export const USERNAME_MAX_LENGTH = 64;
/** Characters a new username may use. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]+$/;
/** Longest user description accepted. */
export const USER_DESCRIPTION_MAX_LENGTH = 1024;

/** A user as callers see it: never the password hash. */
export interface UserInfo {
  id: number;
  username: string;
  readOnly: boolean;
  /** 'local' (password here) or 'ldap' (password in the directory) */
  source: string;
  description: string;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/** Options of addUser. */
export interface AddUserOptions {
  readOnly?: boolean;
  description?: string;
}

const userSelect = {
  id: true,
  username: true,
  readOnly: true,
  source: true,
  description: true,
  createdAt: true,
  lastLoginAt: true,
} satisfies Prisma.UserSelect;

const usernameSchema = z.string().min(1).max(USERNAME_MAX_LENGTH).regex(USERNAME_PATTERN);

const addUserOptionsSchema = z
  .object({
    readOnly: z.boolean().optional(),
    description: z.string().max(USER_DESCRIPTION_MAX_LENGTH, `description is too long: use at most ${USER_DESCRIPTION_MAX_LENGTH} characters`).optional(),
  })
  .strict();

// Interactive transactions may wait for SQLite's write lock (busy timeout 10 s).
const TX = { maxWait: 15_000, timeout: 30_000 };

/** Checks a new username against the rules; returns what is wrong, or null. */
export function validateUsername(name: string): string | null {
  if (usernameSchema.safeParse(name).success) return null;
  return `invalid username ${quote(name)}: use 1 to ${USERNAME_MAX_LENGTH} characters from A-Z a-z 0-9 . _ @ -`;
}

/** All users, oldest first (the order `kc.eportal -l` numbers them in). */
export async function listUsers(prisma: PrismaClient): Promise<UserInfo[]> {
  return prisma.user.findMany({ select: userSelect, orderBy: { id: 'asc' } });
}

/** One user by name; USER_NOT_FOUND when there is none. */
export async function getUser(prisma: PrismaClient, name: string): Promise<UserInfo> {
  const user = await prisma.user.findUnique({ where: { username: name }, select: userSelect });
  if (!user) throw notFound(name);
  return user;
}

/** Adds a local user with a password (argon2id-hashed); USER_EXISTS if the name is taken. */
export async function addUser(prisma: PrismaClient, name: string, password: string, options: AddUserOptions = {}): Promise<UserInfo> {
  const opts = parseInput(addUserOptionsSchema, options);
  const bad = validateUsername(name) ?? validatePassword(password);
  if (bad) throw new DomainError('INVALID_INPUT', bad);
  const passwordHash = await hashPassword(password);
  try {
    return await prisma.user.create({
      data: { username: name, passwordHash, source: 'local', readOnly: opts.readOnly ?? false, description: opts.description ?? '' },
      select: userSelect,
    });
  } catch (err) {
    if (prismaErrorCode(err) === 'P2002') throw new DomainError('USER_EXISTS', `user ${quote(name)} already exists`);
    throw err;
  }
}

/** Deletes a user (their sessions and API tokens go with them); LAST_ADMIN if no user who can make changes would remain. */
export async function deleteUser(prisma: PrismaClient, name: string): Promise<UserInfo> {
  return prisma.$transaction(async (tx) => {
    const writable = await lockWritableUsers(tx);
    const user = await tx.user.findUnique({ where: { username: name }, select: userSelect });
    if (!user) throw notFound(name);
    if (!user.readOnly && writable <= 1) {
      throw new DomainError('LAST_ADMIN', `cannot delete user ${quote(name)}: no other user could make changes (add one first)`);
    }
    await tx.user.delete({ where: { id: user.id } });
    return user;
  }, TX);
}

/**
 * Sets a local user's password and revokes their sessions (except
 * `keepSessionId`, the caller's own). LDAP users' passwords live in the
 * directory: LDAP_USER.
 */
export async function changePassword(prisma: PrismaClient, name: string, password: string, options: { keepSessionId?: number } = {}): Promise<UserInfo> {
  const bad = validatePassword(password);
  if (bad) throw new DomainError('INVALID_INPUT', bad);
  const passwordHash = await hashPassword(password);
  return prisma.$transaction(async (tx) => {
    // the write comes first: see lockWritableUsers
    const { count } = await tx.user.updateMany({ where: { username: name, source: 'local' }, data: { passwordHash } });
    const user = await tx.user.findUnique({ where: { username: name }, select: userSelect });
    if (!user) throw notFound(name);
    if (count === 0) throw new DomainError('LDAP_USER', `user ${quote(name)} signs in through LDAP: change the password in the directory`);
    await tx.session.updateMany({
      where: { userId: user.id, revokedAt: null, ...(options.keepSessionId === undefined ? {} : { id: { not: options.keepSessionId } }) },
      data: { revokedAt: new Date() },
    });
    return user;
  }, TX);
}

/** Makes a user read-only (can see everything, change nothing) or lifts it; LAST_ADMIN when the last user who can make changes would lose it. */
export async function setReadOnly(prisma: PrismaClient, name: string, readOnly: boolean): Promise<UserInfo> {
  if (!readOnly) {
    try {
      return await prisma.user.update({ where: { username: name }, data: { readOnly: false }, select: userSelect });
    } catch (err) {
      if (prismaErrorCode(err) === 'P2025') throw notFound(name);
      throw err;
    }
  }
  return prisma.$transaction(async (tx) => {
    const writable = await lockWritableUsers(tx);
    const user = await tx.user.findUnique({ where: { username: name }, select: userSelect });
    if (!user) throw notFound(name);
    if (user.readOnly) return user;
    if (writable <= 1) throw new DomainError('LAST_ADMIN', `cannot make user ${quote(name)} read-only: no other user could make changes`);
    return tx.user.update({ where: { id: user.id }, data: { readOnly: true }, select: userSelect });
  }, TX);
}

/** Description given to users created by their first LDAP login. */
export const LDAP_USER_DESCRIPTION = 'LDAP';

/**
 * The LDAP user `name` (created read-only, described "LDAP", on the first
 * login); USER_EXISTS when a local user holds the name (an LDAP login never
 * becomes a local account).
 */
export async function ensureLdapUser(prisma: PrismaClient, name: string): Promise<UserInfo> {
  const bad = validateUsername(name);
  if (bad) throw new DomainError('INVALID_INPUT', bad);
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = await prisma.user.findUnique({ where: { username: name }, select: userSelect });
    if (existing) {
      if (existing.source !== 'ldap') throw new DomainError('USER_EXISTS', `user ${quote(name)} is a local user`);
      return existing;
    }
    try {
      return await prisma.user.create({
        data: { username: name, passwordHash: null, source: 'ldap', readOnly: true, description: LDAP_USER_DESCRIPTION },
        select: userSelect,
      });
    } catch (err) {
      // two first logins at once: the other one created it
      if (prismaErrorCode(err) !== 'P2002') throw err;
    }
  }
  throw new DomainError('USER_EXISTS', `user ${quote(name)} could not be created`);
}

/**
 * Counts the users who can make changes, writing to their rows first. The
 * write is what makes the check-then-act safe: SQLite takes its write lock
 * right away (a transaction that reads first fails with SQLITE_BUSY when
 * another process commits meanwhile), PostgreSQL row-locks those users so two
 * admins cannot demote each other at once.
 */
async function lockWritableUsers(tx: Prisma.TransactionClient): Promise<number> {
  const { count } = await tx.user.updateMany({ where: { readOnly: false }, data: { readOnly: false } });
  return count;
}

function notFound(name: string): DomainError {
  return new DomainError('USER_NOT_FOUND', `user ${quote(name)} does not exist`);
}
