// Resolving a presented API token (X-Api-Key, Authorization: Bearer, or the
// WebSocket's connection parameters) to its owner.
import { API_TOKEN_PREFIX } from '../commands/tokens.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { authUserSelect, type AuthUser } from './principal.js';
import { hashSecret, plausibleSecret } from './secrets.js';

/** lastUsedAt is refreshed at most this often. */
const USED_RESOLUTION_MS = 60_000;

/** The owner of a live token; null when the token is unknown, expired or revoked. */
export async function findApiToken(prisma: PrismaClient, token: string, now: number): Promise<{ tokenId: number; user: AuthUser } | null> {
  if (!plausibleSecret(token, API_TOKEN_PREFIX)) return null;
  const row = await prisma.apiToken.findUnique({
    where: { tokenHash: hashSecret(token) },
    select: { id: true, expiresAt: true, revokedAt: true, lastUsedAt: true, user: { select: authUserSelect } },
  });
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= now)) return null;
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > USED_RESOLUTION_MS) {
    await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
  }
  return { tokenId: row.id, user: row.user };
}

/** Whether a token is still live (for long-lived WebSocket connections). */
export async function apiTokenIsLive(prisma: PrismaClient, tokenId: number, now: number): Promise<boolean> {
  const row = await prisma.apiToken.findUnique({ where: { id: tokenId }, select: { expiresAt: true, revokedAt: true } });
  return !!row && !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > now);
}
