// What the last sync did and what is going on now, for the API, the console
// and the CLI. The last run's report is a Setting row (so a run made by the
// CLI shows in the server); the run in progress comes from this process's
// tracker, or from the progress row another process writes while it holds
// the lock.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { readLockHolder } from './lock.js';
import type { LiveProgress, PatchsetProgress, SyncTracker } from './progress.js';
import type { BadEntry } from './upstream-index.js';

/** Setting row: the last report, pending and refused patchsets. */
export const SYNC_STATUS = 'patch_sync_status';
/** Setting row: the progress of a run, for processes other than the one syncing. */
export const SYNC_PROGRESS = 'patch_sync_progress';

/** ok: everything wanted is in; partial: some patchsets or index entries failed; failed: the run could not sync; skipped: not configured, disabled, or another sync was running. */
export type SyncResult = 'ok' | 'partial' | 'failed' | 'skipped';

/** The outcome of one run. */
export interface SyncReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  result: SyncResult;
  error: string | null;
  errorCode: string | null;
  bytesDownloaded: number;
  /** entries in the upstream index (null when it could not be read) */
  upstreamPatchsets: number | null;
  imported: string[];
  failed: { name: string; code: string; error: string }[];
  badEntries: BadEntry[];
  /** local patchsets the upstream index no longer lists (kept: they may be deployed) */
  removedUpstream: string[];
  /** patchsets whose upstream blocked flag or channels changed in this run */
  changedUpstream: { name: string; blocked: boolean; channels: string[] }[];
  /** blocked upstream but still deployed somewhere: an admin should roll them back */
  blockedButDeployed: { name: string; feeds: string[] }[];
  autoDeployed: { feed: string; patchsets: string[] }[];
  warnings: string[];
  patchsets: PatchsetProgress[];
}

/** An upstream patchset wanted but not in the store yet; auto-update does not deploy past it. */
export interface PendingPatchset {
  name: string;
  product: string;
  released: string;
}

/** An archive the portal refused for its content; not downloaded again until its sha256 changes. */
export interface RejectedArchive {
  name: string;
  sha256: string;
  code: string;
  error: string;
}

/** The persisted state between runs. */
export interface StoredSyncState {
  last: SyncReport | null;
  lastSuccessAt: string | null;
  pending: PendingPatchset[];
  rejected: RejectedArchive[];
}

/** The status the API and the console show. */
export interface SyncStatus {
  running: boolean;
  runningSince: string | null;
  /** `host:pid` of the process running the sync */
  runningOn: string | null;
  lastSyncAt: string | null;
  lastResult: SyncResult | null;
  lastError: string | null;
  lastSuccessAt: string | null;
  bytesDownloaded: number;
  /** the run in progress (per-patchset bytes), when one is running */
  progress: LiveProgress | null;
  lastRun: SyncReport | null;
  pending: PendingPatchset[];
  rejected: RejectedArchive[];
}

const EMPTY: StoredSyncState = { last: null, lastSuccessAt: null, pending: [], rejected: [] };

/** Reads the persisted state (empty when none or unreadable). */
export async function readSyncState(prisma: PrismaClient): Promise<StoredSyncState> {
  const row = await prisma.setting.findUnique({ where: { name: SYNC_STATUS } });
  if (!row) return { ...EMPTY };
  try {
    return { ...EMPTY, ...(JSON.parse(row.value) as Partial<StoredSyncState>) };
  } catch {
    return { ...EMPTY };
  }
}

/** Writes the persisted state (one statement: the caller holds the sync lock). */
export async function writeSyncState(prisma: PrismaClient, state: StoredSyncState): Promise<void> {
  const value = JSON.stringify(state);
  await prisma.setting.upsert({ where: { name: SYNC_STATUS }, create: { name: SYNC_STATUS, value }, update: { value } });
}

/** Stores (or clears) the progress snapshot other processes read. */
export async function writeProgress(prisma: PrismaClient, p: LiveProgress | null): Promise<void> {
  if (!p) {
    await prisma.setting.deleteMany({ where: { name: SYNC_PROGRESS } });
    return;
  }
  const value = JSON.stringify(p);
  await prisma.setting.upsert({ where: { name: SYNC_PROGRESS }, create: { name: SYNC_PROGRESS, value }, update: { value } });
}

/** The sync status; pass this process's tracker to get byte-level progress of a local run. */
export async function getSyncStatus(ctx: { prisma: PrismaClient; tracker?: SyncTracker | null }): Promise<SyncStatus> {
  const [state, holder] = await Promise.all([readSyncState(ctx.prisma), readLockHolder(ctx.prisma)]);
  let progress = ctx.tracker?.current ?? null;
  if (!progress && holder) {
    const row = await ctx.prisma.setting.findUnique({ where: { name: SYNC_PROGRESS } });
    try {
      progress = row ? (JSON.parse(row.value) as LiveProgress) : null;
    } catch {
      progress = null;
    }
  }
  const last = state.last;
  return {
    running: holder !== null || progress !== null,
    runningSince: progress?.startedAt ?? (holder ? new Date(holder.since).toISOString() : null),
    runningOn: holder ? `${holder.host}:${holder.pid}` : null,
    lastSyncAt: last?.finishedAt ?? null,
    lastResult: last?.result ?? null,
    lastError: last?.error ?? null,
    lastSuccessAt: state.lastSuccessAt,
    bytesDownloaded: last?.bytesDownloaded ?? 0,
    progress,
    lastRun: last,
    pending: state.pending,
    rejected: state.rejected,
  };
}
