// Checks shared by the HTTP and WebSocket transports: cross-site requests
// (the cookie is SameSite=Strict, and on top a foreign Origin is refused and a
// POST must be application/json, which a form or a "simple" fetch cannot send),
// and whether the client reached us over HTTPS.
import type { IncomingMessage } from 'node:http';
import { clientIp } from '../../http/client-ip.js';

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the Origin header (if any) is this portal: the Host the client used, or EPORTAL_PUBLIC_URL. */
export function sameOrigin(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = header(req, 'origin');
  if (origin === undefined) return true; // not a browser cross-origin request (curl, scripts, same-origin GET)
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // includes "null" (sandboxed frames, file://)
  }
  if (host === header(req, 'host')) return true;
  if (publicUrl) {
    try {
      return new URL(publicUrl).host === host;
    } catch {
      return false;
    }
  }
  return false;
}

/** Whether a POST body is declared as JSON (the only body type accepted). */
export function isJsonPost(req: IncomingMessage): boolean {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type === 'application/graphql-response+json';
}

/** Whether the client's connection is HTTPS (directly configured, or said by a trusted proxy). */
export function isSecure(req: IncomingMessage, publicUrl: string | undefined, trustProxy: readonly string[]): boolean {
  if (publicUrl?.startsWith('https:')) return true;
  if (trustProxy.length === 0) return false;
  const peer = req.socket.remoteAddress ?? '';
  const trusted = trustProxy.some((p) => p === peer || `::ffff:${p}` === peer);
  return trusted && header(req, 'x-forwarded-proto') === 'https';
}

/** The client's IP, its user agent, and whether it came over HTTPS. */
export function requestInfo(req: IncomingMessage, publicUrl: string | undefined, trustProxy: readonly string[], transport: 'http' | 'ws') {
  return {
    ip: clientIp(req, trustProxy),
    userAgent: (header(req, 'user-agent') ?? '').slice(0, 256),
    transport,
    secure: isSecure(req, publicUrl, trustProxy),
  };
}
