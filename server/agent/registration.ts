// The REGISTRATION_URL endpoints (`*.plain`). Every answer is HTTP 200 in the
// agent's `key: value` format: a 5xx here would trigger the agent's retry storm.
import type { AgentDeps } from './deps.js';
import { generateServerId, hashServerId, plausibleServerId, serverIdHint } from './server-id.js';
import { parseTags } from './tags.js';
import { retryWhileBusy } from '../db/busy.js';

export type PlainReply = Record<string, string | number | boolean>;
type Endpoint = (deps: AgentDeps, q: URLSearchParams, ip: string) => PlainReply | Promise<PlainReply>;

const MAX_HOSTNAME = 255;

function cleanText(s: string, max: number): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, max);
}

/** `register_server.plain?hostname=&key=` → code 0 + server_id, 2 unknown key, 3 limit reached. */
export async function registerServer(deps: AgentDeps, q: URLSearchParams, ip: string): Promise<PlainReply> {
  const key = q.get('key') ?? '';
  if (key === '' || key.length > 128) return { code: 2, message: 'Invalid key' };
  const hostname = cleanText(q.get('hostname') ?? '', MAX_HOSTNAME);
  // A collision of 95-bit ids is astronomically unlikely; retry anyway rather than fail.
  for (let attempt = 0; attempt < 3; attempt++) {
    const serverId = generateServerId();
    try {
      const input = { key, hostname, ip, idHash: hashServerId(serverId), idHint: serverIdHint(serverId), at: deps.now() };
      const r = await retryWhileBusy(() => deps.store.register(input));
      if (r.code === 2) return { code: 2, message: 'Invalid key' };
      if (r.code === 3) return { code: 3, message: 'Server limit reached for this key' };
      deps.events.emit('serverRegistered', { rowId: r.rowId, keyId: null });
      deps.log.info({ hint: serverIdHint(serverId), hostname, ip }, 'server registered');
      return { code: 0, server_id: serverId };
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
    }
  }
  throw new Error('could not allocate a unique server id');
}

/** `unregister_server.plain?server_id=` → success: true|false. */
export async function unregisterServer(deps: AgentDeps, q: URLSearchParams): Promise<PlainReply> {
  const id = q.get('server_id') ?? '';
  if (!plausibleServerId(id) || !(await retryWhileBusy(() => deps.store.unregister(hashServerId(id))))) return { success: false, message: 'Server not found' };
  deps.events.emit('serverUnregistered', { count: 1 });
  return { success: true };
}

/** `tag_server.plain?server_id=&tag=` → code 0, -1 unknown server, 1 bad tags. */
export async function tagServer(deps: AgentDeps, q: URLSearchParams): Promise<PlainReply> {
  const id = q.get('server_id') ?? '';
  const tagParam = q.get('tag');
  if (tagParam === null) return { code: 1, message: 'tag parameter is required (an empty value removes all tags)' };
  const parsed = parseTags(tagParam);
  if (!parsed.ok) return { code: 1, message: parsed.message };
  if (!plausibleServerId(id) || !(await retryWhileBusy(() => deps.store.setTags(hashServerId(id), parsed.tags)))) return { code: -1, message: 'Server not found' };
  return { code: 0 };
}

/** `check.plain?server_id=` → code 0 valid, 2 unknown. */
export function checkServer(deps: AgentDeps, q: URLSearchParams): PlainReply {
  const id = q.get('server_id') ?? '';
  return plausibleServerId(id) && deps.store.findServer(hashServerId(id)) ? { code: 0 } : { code: 2 };
}

/** `sticky_patch.plain?server_id=` → code 1 (feeds replace sticky patches), 2 unknown server. */
export function stickyPatch(deps: AgentDeps, q: URLSearchParams): PlainReply {
  const id = q.get('server_id') ?? '';
  return plausibleServerId(id) && deps.store.findServer(hashServerId(id)) ? { code: 1 } : { code: 2 };
}

/** `nagios/register_key.plain?key=` → code 0 known key, 1 unknown. */
export function registerNagiosKey(deps: AgentDeps, q: URLSearchParams): PlainReply {
  const key = q.get('key') ?? '';
  return key !== '' && key.length <= 128 && deps.store.keyExists(key) ? { code: 0 } : { code: 1 };
}

/** The `*.plain` endpoints by path below REGISTRATION_URL. */
export const PLAIN_ENDPOINTS: Record<string, Endpoint> = {
  'register_server.plain': registerServer,
  'unregister_server.plain': unregisterServer,
  'tag_server.plain': tagServer,
  'check.plain': checkServer,
  'trial.plain': () => ({ success: 'na' }),
  'sticky_patch.plain': stickyPatch,
  'nagios/register_key.plain': registerNagiosKey,
};
