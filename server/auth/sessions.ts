// Console sessions: a random token in the cookie, its hash in Session. They
// expire after EPORTAL_SESSION_HOURS and are revoked by logout, by a password
// change and by deleting the user.
import type { PrismaClient } from '../generated/prisma/client.js';
import { authUserSelect, type AuthUser } from './principal.js';
import { hashSecret, newSecret, plausibleSecret } from './secrets.js';

/** lastSeenAt is refreshed at most this often, so reads stay reads. */
const SEEN_RESOLUTION_MS = 5 * 60_000;

/** A new session's token (for the cookie only) and row. */
export interface NewSession {
  token: string;
  id: number;
  expiresAt: Date;
}

/** Starts a session for a user; the token is returned once and never stored. */
export async function createSession(
  prisma: PrismaClient,
  userId: number,
  opts: { hours: number; now: number; ip?: string; userAgent?: string },
): Promise<NewSession> {
  const token = newSecret();
  const expiresAt = new Date(opts.now + opts.hours * 3_600_000);
  const row = await prisma.session.create({
    data: {
      tokenHash: hashSecret(token),
      userId,
      createdAt: new Date(opts.now),
      lastSeenAt: new Date(opts.now),
      expiresAt,
      ip: (opts.ip ?? '').slice(0, 64),
      userAgent: (opts.userAgent ?? '').slice(0, 256),
    },
    select: { id: true },
  });
  return { token, id: row.id, expiresAt };
}

/** The live session a cookie token names, with its user; null when unknown, expired or revoked. */
export async function findSession(prisma: PrismaClient, token: string, now: number): Promise<{ sessionId: number; user: AuthUser; expiresAt: Date } | null> {
  if (!plausibleSecret(token)) return null;
  const row = await prisma.session.findUnique({
    where: { tokenHash: hashSecret(token) },
    select: { id: true, expiresAt: true, revokedAt: true, lastSeenAt: true, user: { select: authUserSelect } },
  });
  if (!row || row.revokedAt || row.expiresAt.getTime() <= now) return null;
  if (now - row.lastSeenAt.getTime() > SEEN_RESOLUTION_MS) {
    await prisma.session.update({ where: { id: row.id }, data: { lastSeenAt: new Date(now) } });
  }
  return { sessionId: row.id, user: row.user, expiresAt: row.expiresAt };
}

/** Whether a session is still live (for long-lived WebSocket connections). */
export async function sessionIsLive(prisma: PrismaClient, sessionId: number, now: number): Promise<boolean> {
  const row = await prisma.session.findUnique({ where: { id: sessionId }, select: { expiresAt: true, revokedAt: true } });
  return !!row && !row.revokedAt && row.expiresAt.getTime() > now;
}

/** Revokes one session (logout). */
export async function revokeSession(prisma: PrismaClient, sessionId: number, now: number): Promise<void> {
  await prisma.session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date(now) } });
}
