// GraphQL over HTTP. Before yoga sees a request: only GET and POST; no
// foreign Origin; a POST must be application/json (forms and "simple"
// cross-site fetches cannot send that); a cookie session must POST; bodies are
// bounded; the credentials are checked once. A dead API token is a 401 (so
// automation notices), a dead session cookie just means "signed out".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clearedSessionCookie } from '../../auth/cookies.js';
import { ANONYMOUS, type RequestAuth } from '../../auth/principal.js';
import { authenticate, credentialsFromHeaders } from '../../auth/request-auth.js';
import type { Config } from '../../config.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Yoga } from '../server.js';
import { isJsonPost, requestInfo, sameOrigin } from './request-checks.js';

/** Largest request body accepted (query + variables). */
export const MAX_BODY_BYTES = 100_000;

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

/** Handles one request to /graphql. */
export async function handleHttp(yoga: Yoga, deps: { prisma: PrismaClient; config: Config; now: () => number }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { config } = deps;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'POST') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET or POST', { Allow: 'GET, POST' });
  if (!sameOrigin(req, config.publicUrl)) return sendError(res, 403, 'CSRF', 'cross-origin requests are refused');
  if (method === 'POST' && !isJsonPost(req)) return sendError(res, 415, 'CSRF', 'send the request body as Content-Type: application/json');
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return sendError(res, 413, 'REQUEST_TOO_LARGE', `request body above ${MAX_BODY_BYTES} bytes`);

  const info = requestInfo(req, config.publicUrl, config.trustProxy, 'http');
  const outcome = await authenticate(deps.prisma, credentialsFromHeaders(req.headers), deps.now());
  let auth: RequestAuth;
  if (outcome.ok) auth = outcome.auth;
  else if (outcome.rejected === 'token') {
    return sendError(res, 401, 'UNAUTHENTICATED', 'the API token is unknown, expired or revoked', { 'WWW-Authenticate': 'Bearer' });
  } else {
    auth = ANONYMOUS;
    res.appendHeader('Set-Cookie', clearedSessionCookie(info.secure));
  }
  if (auth.via === 'session' && method !== 'POST') return sendError(res, 403, 'CSRF', 'a cookie session must POST application/json');

  res.setHeader('Cache-Control', 'no-store');
  // A streamed body may be cut off at the size limit; the connection cannot be reused after that.
  if (method === 'POST' && req.headers['content-length'] === undefined) res.setHeader('Connection', 'close');
  await yoga(req, res, { auth, requestInfo: info, setCookie: (v: string) => void res.appendHeader('Set-Cookie', v) });
}
