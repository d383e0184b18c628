// API tokens for automation: created by a user (shown once), stored as a
// SHA-256 hash, optionally expiring, revocable. A token acts with its owner's
// role, so a read-only user's token is read-only too.
import { z } from 'zod';
import { hashSecret, newSecret } from '../auth/secrets.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { DomainError, parseInput } from './errors.js';

/** Every API token starts with this, so that secret scanners and people can recognise one. */
export const API_TOKEN_PREFIX = 'ekp_';
/** Characters of a token kept in clear to tell tokens apart in lists. */
export const API_TOKEN_SHOWN_CHARS = API_TOKEN_PREFIX.length + 8;
/** Live tokens one user may hold. */
export const API_TOKENS_PER_USER = 50;

/** A token as lists show it: never the secret, only its first characters. */
export interface ApiTokenInfo {
  id: number;
  name: string;
  prefix: string;
  userId: number;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Input of createApiToken. */
export interface CreateApiTokenInput {
  name: string;
  /** null or omitted: never expires */
  expiresAt?: Date | null;
}

const infoSelect = {
  id: true,
  name: true,
  prefix: true,
  userId: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
} satisfies Prisma.ApiTokenSelect;

const createSchema = z
  .object({
    name: z.string().trim().min(1, 'token name is empty').max(64, 'token name is too long: use at most 64 characters').regex(/^[^\u0000-\u001f\u007f]*$/, 'token name contains control characters'),
    expiresAt: z.date().nullish(),
  })
  .strict();

/** Creates a token for a user; returns the secret (shown once) and its listing; INVALID_INPUT, TOKEN_LIMIT. */
export async function createApiToken(prisma: PrismaClient, userId: number, input: CreateApiTokenInput, now = Date.now()): Promise<{ token: string; info: ApiTokenInfo }> {
  const data = parseInput(createSchema, input);
  if (data.expiresAt && data.expiresAt.getTime() <= now) throw new DomainError('INVALID_INPUT', 'expiry must be in the future');
  const live = await prisma.apiToken.count({ where: { userId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now) } }] } });
  if (live >= API_TOKENS_PER_USER) throw new DomainError('TOKEN_LIMIT', `a user may hold at most ${API_TOKENS_PER_USER} live tokens: revoke one first`);
  const token = newSecret(API_TOKEN_PREFIX);
  const info = await prisma.apiToken.create({
    data: { name: data.name, tokenHash: hashSecret(token), prefix: token.slice(0, API_TOKEN_SHOWN_CHARS), userId, createdAt: new Date(now), expiresAt: data.expiresAt ?? null },
    select: infoSelect,
  });
  return { token, info };
}

/** A user's tokens, newest first (revoked and expired ones included, marked as such). */
export async function listApiTokens(prisma: PrismaClient, userId: number): Promise<ApiTokenInfo[]> {
  return prisma.apiToken.findMany({ where: { userId }, select: infoSelect, orderBy: { id: 'desc' } });
}

/** Revokes a token of `userId` (any user's when `anyUser`); TOKEN_NOT_FOUND otherwise. Revoking twice is not an error. */
export async function revokeApiToken(prisma: PrismaClient, tokenId: number, opts: { userId: number; anyUser?: boolean; now?: number }): Promise<ApiTokenInfo> {
  const where = opts.anyUser ? { id: tokenId } : { id: tokenId, userId: opts.userId };
  const existing = await prisma.apiToken.findFirst({ where, select: infoSelect });
  if (!existing) throw new DomainError('TOKEN_NOT_FOUND', `token ${tokenId} does not exist`);
  if (existing.revokedAt) return existing;
  return prisma.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date(opts.now ?? Date.now()) }, select: infoSelect });
}
