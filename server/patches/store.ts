// The patch store: `<dataDir>/patches/<name>/` holds one unpacked patchset.
// Import is atomic: extract into `.staging/` on the same file system, verify,
// rename into place, then record it in one database transaction. Start-up
// removes staging debris and folders the database does not know, so a crash
// at any point leaves the old state or the new one.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log.js';
import { DomainError } from '../commands/errors.js';
import { ArchiveError, extractPatchset, type PatchsetManifest } from './archive.js';
import { bumpIndexGeneration } from './feed-index.js';
import { writeTransaction } from '../db/write-transaction.js';
import { PATCHSET_NAME, productFromName, releaseDateFromName } from './patchset-name.js';

export interface ImportMeta {
  name: string;
  product?: 'kernel' | 'libcare';
  releasedAt?: Date;
  /** when it reached the portal; defaults to now */
  appearedAt?: Date;
  channels?: string[];
  blocked?: boolean;
  changelog?: string;
  expectedSha256?: string;
  /** declared unpacked size cap (upstream `size` bounds the archive; this bounds its content) */
  maxTotalBytes?: number;
}

export interface ImportResult {
  patchsetId: number;
  name: string;
  kernels: number;
  files: number;
  bytes: number;
  alreadyPresent: boolean;
}

const STAGING = '.staging';

/** Imports an archive file into the store and the database. */
export async function importPatchset(prisma: PrismaClient, storeDir: string, archivePath: string, meta: ImportMeta, log?: Logger): Promise<ImportResult> {
  if (!PATCHSET_NAME.test(meta.name)) throw new DomainError('INVALID_INPUT', `invalid patchset name '${meta.name.slice(0, 80)}'`);
  const existing = await prisma.patchset.findUnique({ where: { name: meta.name }, include: { _count: { select: { kernels: true } } } });
  if (existing) {
    if (meta.expectedSha256 && existing.sha256 !== meta.expectedSha256.toLowerCase()) {
      throw new DomainError('PATCHSET_EXISTS', `patchset ${meta.name} already exists with different content`);
    }
    return { patchsetId: existing.id, name: existing.name, kernels: existing._count.kernels, files: 0, bytes: existing.size, alreadyPresent: true };
  }
  const product = meta.product ?? productFromName(meta.name);
  // the pid in the name lets cleanStore tell a live import from a dead one
  const staging = path.join(storeDir, STAGING, `${meta.name}.${process.pid}.${randomBytes(6).toString('hex')}`);
  await mkdir(path.dirname(staging), { recursive: true });
  let manifest: PatchsetManifest;
  try {
    manifest = await extractPatchset(archivePath, staging, { expectedSha256: meta.expectedSha256, maxTotalBytes: meta.maxTotalBytes, product });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (err instanceof ArchiveError) throw new DomainError(`ARCHIVE_${err.code}`, `${meta.name}: ${err.message}`);
    throw err;
  }
  const finalDir = path.join(storeDir, meta.name);
  try {
    const cves = await readCves(staging, manifest);
    // A folder here without a database row is debris of a crash: replace it.
    await rm(finalDir, { recursive: true, force: true });
    await rename(staging, finalDir);
    const kernels = [...manifest.kernels].flatMap(([khash, k]) =>
      [...k.levels].map((level) => ({ kernelId: khash, level, patchTypes: patchTypesOf(k.files, level).join(',') })),
    );
    const row = await writeTransaction(prisma, async (tx) => {
      const ps = await tx.patchset.create({
        data: {
          name: meta.name,
          product,
          releasedAt: meta.releasedAt ?? releaseDateFromName(meta.name) ?? new Date(),
          appearedAt: meta.appearedAt ?? new Date(),
          size: manifest.totalBytes,
          sha256: manifest.archiveSha256,
          channels: (meta.channels ?? ['default']).join(','),
          blocked: meta.blocked ?? false,
          changelog: meta.changelog ?? '',
          storeDir: meta.name,
        },
      });
      await tx.patchsetKernel.createMany({ data: kernels.map((k) => ({ ...k, patchsetId: ps.id })) });
      await tx.patchsetLibcare.createMany({
        data: manifest.libcare.map((l) => ({ patchsetId: ps.id, lib: l.lib ?? '', buildId: l.buildId, path: l.path })),
      });
      await tx.patchsetCve.createMany({ data: cves.map((c) => ({ ...c, patchsetId: ps.id })) });
      await bumpIndexGeneration(tx);
      return ps;
    });
    log?.info({ patchset: meta.name, kernels: manifest.kernels.size, files: manifest.files.length, bytes: manifest.totalBytes }, 'patchset imported');
    return { patchsetId: row.id, name: row.name, kernels: manifest.kernels.size, files: manifest.files.length, bytes: manifest.totalBytes, alreadyPresent: false };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // only remove the final folder if the database does not own it
    if (!(await prisma.patchset.findUnique({ where: { name: meta.name } }))) await rm(finalDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Removes what interrupted imports left: staging folders of dead processes,
 * and store folders no patchset row owns once they are older than `graceMs`
 * (a live import renames and commits within milliseconds).
 */
export async function cleanStore(prisma: PrismaClient, storeDir: string, log?: Logger, graceMs = 10 * 60_000): Promise<string[]> {
  if (!existsSync(storeDir)) return [];
  const removed: string[] = [];
  const stagingDir = path.join(storeDir, STAGING);
  for (const name of existsSync(stagingDir) ? await readdir(stagingDir) : []) {
    const pid = Number(/\.(\d+)\.[0-9a-f]+$/.exec(name)?.[1]);
    if (pid && processAlive(pid)) continue;
    await rm(path.join(stagingDir, name), { recursive: true, force: true });
    removed.push(`${STAGING}/${name}`);
  }
  const known = new Set((await prisma.patchset.findMany({ select: { storeDir: true } })).map((p) => p.storeDir));
  for (const d of await readdir(storeDir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name === STAGING || known.has(d.name)) continue;
    const st = await stat(path.join(storeDir, d.name));
    if (Date.now() - st.mtimeMs < graceMs) continue;
    await rm(path.join(storeDir, d.name), { recursive: true, force: true });
    removed.push(d.name);
  }
  if (removed.length) log?.warn({ removed }, 'removed patch store folders left by an interrupted import');
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function patchTypesOf(files: readonly string[], level: number): string[] {
  const types = new Set<string>();
  const re = new RegExp(`^[0-9a-f]{40}/${level}/kpatch(?:\\.(extra|free|edf))?\\.bin$`);
  for (const f of files) {
    const m = re.exec(f);
    if (m) types.add(m[1] ?? 'default');
  }
  return types.size ? [...types].sort() : ['default'];
}

const CVE = /^CVE-\d{4}-\d{4,7}$/;

// `kpatch-cve:` lines of every level's info file → the CVE index.
async function readCves(dir: string, manifest: PatchsetManifest): Promise<{ kernelId: string; cve: string }[]> {
  const out = new Map<string, { kernelId: string; cve: string }>();
  for (const [khash, k] of manifest.kernels) {
    for (const f of k.files) {
      if (!/\/kpatch(\.[a-z]+)?\.info$/.test(f)) continue;
      const text = await readFile(path.join(dir, f), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        const m = /^kpatch-cve:\s*(.*)$/.exec(line.trim());
        if (!m) continue;
        for (const cve of m[1]!.split(/[\s,]+/)) if (CVE.test(cve)) out.set(`${khash}/${cve}`, { kernelId: khash, cve });
      }
    }
  }
  return [...out.values()];
}
