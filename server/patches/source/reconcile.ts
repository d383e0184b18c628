// Brings local patchset rows in line with the upstream index, without ever
// deleting anything: blocked flags and channels follow upstream (existing
// rows too), rows the index lists are marked as coming from upstream, and
// upstream patchsets that vanished from the index are kept (they may be
// deployed) and stamped `removedUpstreamAt` so the console can show it.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { SyncReport } from './status.js';
import type { IndexEntry } from './upstream-index.js';

/** A local patchset as the sync sees it. */
export interface LocalPatchset {
  id: number;
  name: string;
  sha256: string;
}

/** What reconcile found and changed. */
export interface ReconcileResult {
  local: Map<string, LocalPatchset>;
  removedUpstream: string[];
  changedUpstream: SyncReport['changedUpstream'];
  blockedButDeployed: SyncReport['blockedButDeployed'];
}

const CHUNK = 500; // stays under SQLite's bound-variable limit

/** Applies the index to local rows (short single statements: agent traffic shares the database). */
export async function reconcile(prisma: PrismaClient, entries: readonly IndexEntry[], now: Date): Promise<ReconcileResult> {
  const rows = await prisma.patchset.findMany({ select: { id: true, name: true, sha256: true, blocked: true, channels: true, origin: true, removedUpstreamAt: true } });
  const local = new Map(rows.map((r) => [r.name, { id: r.id, name: r.name, sha256: r.sha256 }]));
  const listed = new Set(entries.map((e) => e.name));
  const changedUpstream: ReconcileResult['changedUpstream'] = [];
  const mark: string[] = [];
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const e of entries) {
    const row = byName.get(e.name);
    if (!row) continue;
    if (row.origin !== 'upstream' || row.removedUpstreamAt) mark.push(e.name);
    const channels = e.channels.join(',');
    if (row.blocked !== e.blocked || row.channels !== channels) {
      await prisma.patchset.update({ where: { id: row.id }, data: { blocked: e.blocked, channels } });
      changedUpstream.push({ name: e.name, blocked: e.blocked, channels: e.channels });
    }
  }
  for (let i = 0; i < mark.length; i += CHUNK) {
    await prisma.patchset.updateMany({ where: { name: { in: mark.slice(i, i + CHUNK) } }, data: { origin: 'upstream', removedUpstreamAt: null } });
  }
  const removed = rows.filter((r) => r.origin === 'upstream' && !listed.has(r.name));
  const newlyRemoved = removed.filter((r) => !r.removedUpstreamAt).map((r) => r.id);
  for (let i = 0; i < newlyRemoved.length; i += CHUNK) {
    await prisma.patchset.updateMany({ where: { id: { in: newlyRemoved.slice(i, i + CHUNK) } }, data: { removedUpstreamAt: now } });
  }
  const deployedBlocked = await prisma.patchset.findMany({
    where: { blocked: true, deployments: { some: {} } },
    select: { name: true, deployments: { select: { feed: { select: { name: true } } } } },
  });
  return {
    local,
    removedUpstream: removed.map((r) => r.name),
    changedUpstream,
    blockedButDeployed: deployedBlocked.map((p) => ({ name: p.name, feeds: p.deployments.map((d) => d.feed.name) })),
  };
}

/** Marks freshly imported patchsets as coming from upstream. */
export async function markFromUpstream(prisma: PrismaClient, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += CHUNK) {
    await prisma.patchset.updateMany({ where: { name: { in: names.slice(i, i + CHUNK) } }, data: { origin: 'upstream' } });
  }
}
