// One request listener for the whole port: agent REST shim, monitoring,
// GraphQL, and the console. Repeated slashes are collapsed before routing
// (agents with PREFIX produce `host//test/...`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PLAIN_ENDPOINTS } from '../agent/registration.js';
import type { AgentDeps } from '../agent/deps.js';
import { handlePatchRequest } from '../agent/patch-server.js';
import { clientIp } from './client-ip.js';
import { sendPlain, sendText } from './plain.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RouterParts {
  agent: AgentDeps;
  graphql: Handler;
  /** `/admin/api/kcare/nagios/<KEY>` and `/patchset/<KEY>` */
  monitoring?: (req: IncomingMessage, res: ServerResponse, kind: 'nagios' | 'patchset', key: string) => Promise<void>;
  /** the console below /admin */
  console?: (req: IncomingMessage, res: ServerResponse, segments: string[]) => Promise<void>;
  extra?: Record<string, Handler>;
}

const MAX_URL = 16 * 1024;

/** Splits a request target into decoded path segments (empty ones dropped) and the raw query. */
export function splitTarget(url: string): { segments: string[]; query: string } | null {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg.includes('/') || seg.includes('\0')) return null;
    segments.push(seg);
  }
  return { segments, query };
}

/** Builds the request listener. */
export function createRouter(parts: RouterParts): Handler {
  const { agent } = parts;
  return async (req, res) => {
    const url = req.url ?? '/';
    const target = url.length <= MAX_URL ? splitTarget(url) : null;
    if (!target) return sendText(res, 400, 'Bad Request\n');
    const { segments, query } = target;
    const method = req.method ?? 'GET';
    const [s0, s1, s2] = segments;

    if (s0 === 'graphql' && segments.length === 1) return parts.graphql(req, res);
    // own properties only: `GET /toString` must not find Object.prototype's
    const extra = s0 !== undefined && segments.length === 1 && parts.extra && Object.hasOwn(parts.extra, s0) ? parts.extra[s0] : undefined;
    if (extra) return extra(req, res);

    if (s0 === 'admin' && s1 === 'api' && s2 === 'kcare') {
      if (method !== 'GET' && method !== 'HEAD') return sendPlain(res, { code: -1, message: `method ${method} not allowed` }, 405);
      const rest = segments.slice(3);
      if ((rest[0] === 'nagios' || rest[0] === 'patchset') && rest.length === 2 && rest[1] !== 'register_key.plain' && parts.monitoring) {
        return parts.monitoring(req, res, rest[0], rest[1]!);
      }
      const name = rest.join('/');
      const endpoint = Object.hasOwn(PLAIN_ENDPOINTS, name) ? PLAIN_ENDPOINTS[name] : undefined;
      if (!endpoint) return sendPlain(res, { code: -1, message: 'unknown endpoint' }, 404);
      const params = new URLSearchParams(query);
      return sendPlain(res, await endpoint(agent, params, clientIp(req, agent.trustProxy)));
    }
    if (s0 === 'admin') {
      if (parts.console) return parts.console(req, res, segments.slice(1));
      return sendText(res, 404, 'Not Found\n');
    }

    if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    return handlePatchRequest(agent, req, res, segments, query, clientIp(req, agent.trustProxy));
  };
}
