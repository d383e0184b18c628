// Turns what a request presents (session cookie, X-Api-Key, Authorization:
// Bearer, WebSocket connection parameters) into a RequestAuth. An API token
// wins over a cookie; a credential that is presented but dead is reported, not
// silently ignored, so automation sees UNAUTHENTICATED instead of empty data.
import type { IncomingHttpHeaders } from 'node:http';
import type { PrismaClient } from '../generated/prisma/client.js';
import { apiTokenIsLive, findApiToken } from './api-tokens.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import { ANONYMOUS, type RequestAuth } from './principal.js';
import { findSession, sessionIsLive } from './sessions.js';

/** Credentials found on a request. */
export interface PresentedCredentials {
  sessionToken?: string;
  apiToken?: string;
}

/** The result of checking presented credentials. */
export type AuthOutcome = { ok: true; auth: RequestAuth } | { ok: false; rejected: 'session' | 'token' };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads the session cookie and API token headers. */
export function credentialsFromHeaders(headers: IncomingHttpHeaders): PresentedCredentials {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(headers, 'authorization') ?? '')?.[1];
  const apiToken = header(headers, 'x-api-key')?.trim() || bearer;
  return { sessionToken: readCookie(header(headers, 'cookie'), SESSION_COOKIE), apiToken };
}

/** Reads an API token from graphql-ws connection parameters (`apiKey`, `token`, or `Authorization: Bearer`). */
export function credentialsFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): PresentedCredentials {
  if (!params) return {};
  for (const name of ['apiKey', 'token', 'x-api-key', 'X-Api-Key']) {
    const v = params[name];
    if (typeof v === 'string' && v) return { apiToken: v.trim() };
  }
  const auth = params.Authorization ?? params.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  return bearer ? { apiToken: bearer } : {};
}

/** Checks presented credentials against the database. */
export async function authenticate(prisma: PrismaClient, creds: PresentedCredentials, now: number): Promise<AuthOutcome> {
  if (creds.apiToken !== undefined) {
    const found = await findApiToken(prisma, creds.apiToken, now);
    return found ? { ok: true, auth: { user: found.user, via: 'token', tokenId: found.tokenId } } : { ok: false, rejected: 'token' };
  }
  if (creds.sessionToken !== undefined) {
    const found = await findSession(prisma, creds.sessionToken, now);
    return found ? { ok: true, auth: { user: found.user, via: 'session', sessionId: found.sessionId } } : { ok: false, rejected: 'session' };
  }
  return { ok: true, auth: ANONYMOUS };
}

/** Whether the credential behind an earlier RequestAuth is still live (not expired, revoked or deleted). */
export async function stillAuthenticated(prisma: PrismaClient, auth: RequestAuth, now: number): Promise<boolean> {
  if (auth.via === 'session' && auth.sessionId !== undefined) return sessionIsLive(prisma, auth.sessionId, now);
  if (auth.via === 'token' && auth.tokenId !== undefined) return apiTokenIsLive(prisma, auth.tokenId, now);
  return auth.user === null;
}
