// Downloads and imports the new upstream patchsets, two at a time. Each goes
// download (resumable, verified) → changelog → importPatchset (atomic: the
// store and the database get the whole patchset or nothing) → the download
// is deleted. One patchset's failure is recorded and the others continue.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from '../../log.js';
import { importPatchset } from '../store.js';
import { downloadArchive } from './download.js';
import { SourceError, toSourceError } from './errors.js';
import { checkStatus, readBounded, withRetries, type RetryPolicy, type SourceHttp } from './http.js';
import type { SyncTracker } from './progress.js';
import type { RejectedArchive } from './status.js';
import { sourceFile, type IndexEntry } from './upstream-index.js';

/** What the fetcher needs. */
export interface FetchContext {
  prisma: PrismaClient;
  storeDir: string;
  downloadsDir: string;
  http: SourceHttp;
  sourceUrl: string;
  retry: RetryPolicy;
  concurrency: number;
  reserveBytes: number;
  maxChangelogBytes: number;
  signal: AbortSignal;
  tracker: SyncTracker;
  now: () => number;
  log: Logger;
  freeBytes: (dir: string) => Promise<number>;
  onWrite?: (name: string, written: number) => void;
}

/** What happened to the fetched patchsets. */
export interface FetchOutcome {
  imported: string[];
  failed: { name: string; code: string; error: string }[];
  /** refused for their content (deterministic: not fetched again until the sha256 changes) */
  rejected: RejectedArchive[];
  warnings: string[];
}

/** The partial-download file of an entry; the sha256 in the name stops a changed archive from resuming an old one. */
export function partFile(downloadsDir: string, e: IndexEntry): string {
  return path.join(downloadsDir, `${e.archive}.${e.sha256.slice(0, 16)}.part`);
}

/** Deletes partial downloads no wanted entry will resume. */
export async function cleanDownloads(downloadsDir: string, keep: readonly IndexEntry[]): Promise<void> {
  const wanted = new Set(keep.map((e) => path.basename(partFile(downloadsDir, e))));
  const names = await readdir(downloadsDir).catch(() => [] as string[]);
  for (const n of names) if (!wanted.has(n)) await rm(path.join(downloadsDir, n), { force: true, recursive: true });
}

/** Fetches `entries` with bounded concurrency. */
export async function fetchPatchsets(ctx: FetchContext, entries: readonly IndexEntry[]): Promise<FetchOutcome> {
  const out: FetchOutcome = { imported: [], failed: [], rejected: [], warnings: [] };
  let next = 0;
  const worker = async () => {
    while (next < entries.length && !ctx.signal.aborted) await fetchOne(ctx, entries[next++]!, out);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, entries.length)) }, worker));
  return out;
}

async function fetchOne(ctx: FetchContext, e: IndexEntry, out: FetchOutcome): Promise<void> {
  const part = partFile(ctx.downloadsDir, e);
  ctx.tracker.update(e.name, { state: 'downloading' });
  try {
    await downloadArchive(ctx.http, { name: e.name, url: sourceFile(ctx.sourceUrl, e.archive), size: e.size, sha256: e.sha256, partPath: part }, {
      retry: ctx.retry,
      signal: ctx.signal,
      freeBytes: ctx.freeBytes,
      reserveBytes: ctx.reserveBytes,
      onWrite: ctx.onWrite,
      onProgress: (received, _size, delta) => ctx.tracker.bytes(e.name, received, delta),
      onRetry: (err, attempt) => ctx.log.warn({ patchset: e.name, attempt, err: err.message }, 'patchset download failed; retrying'),
    });
    const changelog = await fetchChangelog(ctx, e, out);
    ctx.tracker.update(e.name, { state: 'importing', received: e.size });
    await importPatchset(ctx.prisma, ctx.storeDir, part, {
      name: e.name,
      product: e.product,
      releasedAt: e.released,
      appearedAt: new Date(ctx.now()),
      channels: e.channels,
      blocked: e.blocked,
      changelog,
      expectedSha256: e.sha256,
    }, ctx.log);
    await rm(part, { force: true });
    out.imported.push(e.name);
    ctx.tracker.update(e.name, { state: 'imported' });
  } catch (raw) {
    const err = toSourceError(raw, e.name, ctx.signal);
    // refused content will be refused again; a full disk needs the space back
    if (err.code.startsWith('ARCHIVE_') || err.code === 'SOURCE_DISK_FULL') await rm(part, { force: true });
    if (err.code.startsWith('ARCHIVE_')) out.rejected.push({ name: e.name, sha256: e.sha256, code: err.code, error: err.message });
    out.failed.push({ name: e.name, code: err.code, error: err.message });
    ctx.tracker.update(e.name, { state: 'failed', error: err.message, errorCode: err.code });
    ctx.log.warn({ patchset: e.name, code: err.code, err: err.message }, 'patchset not imported');
  }
}

// A missing or unreadable changelog does not hold the patches back.
async function fetchChangelog(ctx: FetchContext, e: IndexEntry, out: FetchOutcome): Promise<string> {
  if (!e.changelog) return '';
  try {
    const body = await withRetries(ctx.retry, `${e.name} changelog`, ctx.signal, async () => {
      const res = await ctx.http.get(sourceFile(ctx.sourceUrl, e.changelog!), { signal: ctx.signal });
      await checkStatus(res, `${e.name} changelog`);
      return readBounded(res, ctx.maxChangelogBytes, () => new SourceError('SOURCE_SIZE', `${e.name} changelog: larger than ${ctx.maxChangelogBytes} bytes`));
    });
    return body.toString('utf8');
  } catch (raw) {
    if (ctx.signal.aborted) throw raw;
    const err = toSourceError(raw, `${e.name} changelog`, ctx.signal);
    out.warnings.push(`${err.message} (imported without a changelog)`);
    return '';
  }
}
