// The PATCH_SERVER side: `<khash>/latest.v2` (the check-in), patch files and
// LibCare bundles, resolved server id → key → feed. Paths are parsed into a
// fixed shape and files are found through the feed index, never by joining
// request text onto a folder.
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { sendFile } from '../http/send-file.js';
import { sendText } from '../http/plain.js';
import { parseFixups } from '../patches/archive.js';
import type { AgentDeps } from './deps.js';
import { parseCheckin } from './pyliteral.js';
import { hashServerId, plausibleServerId } from './server-id.js';
import type { AgentServer, CheckinRecord, ServerSnapshot } from '../db/agent-store.js';

export type PatchPath =
  | { kind: 'latest'; khash: string }
  | { kind: 'kmod'; khash: string; file: 'kcare.ko' | 'kcare.ko.sig' }
  | { kind: 'patch'; khash: string; level: number; file: string }
  | { kind: 'libcare'; lib: string; buildId: string }
  | { kind: 'newVersion' };

const KHASH = /^[0-9a-f]{40}$/;
const PREFIX = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const LEVEL = /^[1-9][0-9]{0,6}$/;
/** The files every level may carry: kpatch[.type].(bin|info|fixups)[.sig]. */
const PATCH_FILE = /^kpatch(\.extra|\.free|\.edf)?\.(bin|info|fixups)(\.sig)?$/;
const FIXUP_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]{1,128}$/;
const LIB = /^(?!\.\.?$)[A-Za-z0-9._+-]{1,64}$/;
const BUILD_ID = /^[0-9a-f]{8,128}$/;

/** Splits a normalised path (no empty segments) into a patch-server request, or null. */
export function parsePatchPath(segments: readonly string[]): PatchPath | null {
  const n = segments.length;
  if (n === 0) return null;
  if (segments[n - 1] === 'v2-new-version' && segments.slice(0, -1).every((s) => PREFIX.test(s))) return { kind: 'newVersion' };
  const u = segments.indexOf('userspace');
  if (u >= 0 && u === n - 4 && segments[n - 1] === 'kpatch.tgz' && segments.slice(0, u).every((s) => PREFIX.test(s))) {
    const lib = segments[u + 1]!;
    const buildId = segments[u + 2]!;
    return LIB.test(lib) && BUILD_ID.test(buildId) ? { kind: 'libcare', lib, buildId } : null;
  }
  const k = segments.findIndex((s) => KHASH.test(s));
  if (k < 0 || k > 3 || !segments.slice(0, k).every((s) => PREFIX.test(s))) return null;
  const khash = segments[k]!;
  const rest = segments.slice(k + 1);
  if (rest.length === 1 && rest[0] === 'latest.v2') return { kind: 'latest', khash };
  if (rest.length === 1 && (rest[0] === 'kcare.ko' || rest[0] === 'kcare.ko.sig')) return { kind: 'kmod', khash, file: rest[0] };
  if (rest.length === 2 && LEVEL.test(rest[0]!) && FIXUP_NAME.test(rest[1]!)) return { kind: 'patch', khash, level: Number(rest[0]), file: rest[1]! };
  return null;
}

type Identity = { ok: true; feedId: number; server: AgentServer | null } | { ok: false };

/** Resolves the Basic-auth server id to its feed; no credentials → default feed; unknown id → not ok (403). */
export function identify(deps: AgentDeps, req: IncomingMessage, forCheckin = false): Identity {
  const auth = req.headers.authorization;
  if (!auth) return { ok: true, feedId: deps.store.defaultFeedId(), server: null };
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,200})$/i.exec(auth);
  if (!m) return { ok: false };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const id = colon < 0 ? decoded : decoded.slice(0, colon);
  if (!plausibleServerId(id)) return { ok: false };
  const server = deps.store.findServer(hashServerId(id), forCheckin);
  return server ? { ok: true, feedId: server.feedId, server } : { ok: false };
}

function forbidden(res: ServerResponse): void {
  sendText(res, 403, 'Forbidden\n');
}

function notFound(res: ServerResponse): void {
  sendText(res, 404, 'Not Found\n');
}

/** Handles one patch-server request (GET/HEAD). */
export async function handlePatchRequest(deps: AgentDeps, req: IncomingMessage, res: ServerResponse, segments: readonly string[], query: string, ip: string): Promise<void> {
  const p = parsePatchPath(segments);
  if (!p) return notFound(res);
  if (p.kind === 'newVersion') return notFound(res); // any 2xx would announce a new agent version
  const who = identify(deps, req, p.kind === 'latest');
  if (!who.ok) return forbidden(res);
  switch (p.kind) {
    case 'latest': {
      if (who.server) recordCheckin(deps, who.server, p.khash, query, ip);
      const latest = deps.index.latest(who.feedId, p.khash);
      return latest ? sendText(res, 200, String(latest.level)) : notFound(res);
    }
    case 'kmod': {
      const entry = deps.index.latest(who.feedId, p.khash)?.entry;
      if (!entry) return notFound(res);
      const file = path.join(deps.patchStoreDir, entry.storeDir, p.khash, p.file);
      if (!(await sendFile(req, res, file, 'application/octet-stream'))) notFound(res);
      return;
    }
    case 'patch': {
      const entry = deps.index.entryForLevel(who.feedId, p.khash, p.level);
      if (!entry) return notFound(res);
      const levelDir = path.join(deps.patchStoreDir, entry.storeDir, p.khash, String(p.level));
      if (!PATCH_FILE.test(p.file) && !(await listedInFixups(levelDir, p.file))) return notFound(res);
      const type = /\.info$/.test(p.file) ? 'text/plain; charset=utf-8' : 'application/octet-stream';
      if (!(await sendFile(req, res, path.join(levelDir, p.file), type))) notFound(res);
      return;
    }
    case 'libcare': {
      const entry = deps.index.libcareBundle(who.feedId, p.lib, p.buildId);
      if (!entry) return notFound(res);
      if (!(await sendFile(req, res, path.join(deps.patchStoreDir, entry.storeDir, entry.path), 'application/gzip'))) notFound(res);
      return;
    }
  }
}

// Extra files of a level are only those its .fixups lists name (with their
// .sig). Store folders never change once imported, so the lists are cached.
const fixupsCache = new Map<string, Set<string>>();
const FIXUPS_CACHE_MAX = 10_000;

async function listedInFixups(levelDir: string, file: string): Promise<boolean> {
  let names = fixupsCache.get(levelDir);
  if (!names) {
    names = new Set<string>();
    for (const t of ['', '.extra', '.free', '.edf']) {
      const text = await readFile(path.join(levelDir, `kpatch${t}.fixups`), 'utf8').catch(() => null);
      if (text !== null) for (const n of parseFixups(text)) names.add(n);
    }
    if (fixupsCache.size >= FIXUPS_CACHE_MAX) fixupsCache.delete(fixupsCache.keys().next().value!);
    fixupsCache.set(levelDir, names);
  }
  return names.has(file.endsWith('.sig') ? file.slice(0, -4) : file);
}

/** Whether a check-in would change any stored column besides the time and uptime (null = "keep"). */
export function checkinChanges(r: CheckinRecord, was: ServerSnapshot): boolean {
  if (r.ip !== was.ip || r.kernelId !== was.kernelId) return true;
  if (!r.hasPayload) return false;
  const differs = (v: string | null, old: string | null) => v !== null && v !== old;
  return r.patchLevel !== was.patchLevel || differs(r.hostname, was.hostname) || differs(r.effectiveKernel, was.effectiveKernel)
    || differs(r.release, was.release) || differs(r.machine, was.machine) || differs(r.distro, was.distro)
    || differs(r.distroVersion, was.distroVersion) || differs(r.agentVersion, was.agentVersion)
    || differs(r.patchType, was.patchType) || differs(r.virt, was.virt);
}

function recordCheckin(deps: AgentDeps, server: AgentServer, khash: string, query: string, ip: string): void {
  const base: CheckinRecord = {
    serverRowId: server.rowId, at: deps.now(), ip, kernelId: khash, hostname: null, effectiveKernel: null, release: null, machine: null,
    distro: null, distroVersion: null, agentVersion: null, hasPayload: false, patchLevel: null, patchType: null, uptime: null, virt: null,
    changed: false,
  };
  // A bad payload still counts as a check-in (time, IP and kernel come from the request itself).
  // parseCheckin has already bounded and cleaned every string field.
  const parsed = query ? parseCheckin(query) : null;
  let record = base;
  if (parsed && !parsed.ok) deps.checkins.countMalformed();
  if (parsed?.ok) {
    const f = parsed.fields;
    record = {
      ...base,
      hostname: f.node,
      effectiveKernel: f.euname,
      release: f.release,
      machine: f.machine,
      distro: f.distro,
      distroVersion: f.distroVersion,
      agentVersion: f.kcareVersion,
      hasPayload: true,
      patchLevel: f.patchLevel,
      patchType: f.patchType,
      uptime: f.uptime,
      virt: f.virt,
    };
  }
  // without a snapshot (not expected on this path) write everything
  record.changed = server.snapshot ? checkinChanges(record, server.snapshot) : true;
  deps.checkins.add(record);
}
