// One sync run: take the cross-process lock, read index.json, bring local
// rows in line (blocked, channels, removed upstream), fetch what is new,
// auto-update the feeds, reload the feed index, and record the outcome.
// Everything is streamed and awaited in small steps, so agents keep being
// served while it runs; database writes are single short statements.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PortalEvents } from '../../events.js';
import type { Logger } from '../../log.js';
import type { FeedIndex } from '../feed-index.js';
import { autoUpdateFeeds } from './auto-update.js';
import { statfsFreeBytes } from './download.js';
import { SourceError, toSourceError } from './errors.js';
import { cleanDownloads, fetchPatchsets } from './fetch-patchsets.js';
import { createSourceHttp, sleep, withRetries } from './http.js';
import { SyncLock, type LockHolder } from './lock.js';
import { SyncTracker } from './progress.js';
import { markFromUpstream, reconcile } from './reconcile.js';
import { effectiveSourceSettings, maskUrlPassword, type EffectiveSourceSettings, type SourceContext } from './settings.js';
import { readSyncState, writeProgress, writeSyncState, type StoredSyncState, type SyncReport } from './status.js';
import { fetchIndex } from './upstream-index.js';

/** Knobs of a run; the defaults suit a real upstream, tests shrink them. */
export interface SyncTuning {
  concurrency: number;
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** longest silence inside a body before the attempt is abandoned (and resumed) */
  bodyTimeoutMs: number;
  maxIndexBytes: number;
  maxChangelogBytes: number;
  lockTtlMs: number;
  lockWaitPollMs: number;
  /** free space the sync leaves untouched in the data directory */
  reserveBytes: number;
}

/** Defaults of SyncTuning. */
export const DEFAULT_TUNING: SyncTuning = {
  concurrency: 2,
  attempts: 4,
  backoffBaseMs: 2000,
  backoffMaxMs: 60_000,
  connectTimeoutMs: 15_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  maxIndexBytes: 10 * 1024 * 1024,
  maxChangelogBytes: 1024 * 1024,
  lockTtlMs: 120_000,
  lockWaitPollMs: 1000,
  reserveBytes: 256 * 1024 * 1024,
};

/** What a run works with. */
export interface SyncDeps extends SourceContext {
  log: Logger;
  /** the portal's clock (injectable): appearedAt and deploy-after-hours use it */
  now: () => number;
  events?: PortalEvents;
  /** reloaded after the run so agents see new deployments at once */
  index?: FeedIndex;
  tracker?: SyncTracker;
  tuning?: Partial<SyncTuning>;
  /** free bytes of the data directory's file system (default statfs) */
  freeBytes?: (dir: string) => Promise<number>;
  /** fault injection: called after each write of a download */
  onWrite?: (name: string, written: number) => void;
}

/** Per-run options. */
export interface SyncOptions {
  /** deploy due patchsets to auto-update feeds afterwards (default true) */
  autoUpdate?: boolean;
  signal?: AbortSignal;
  /** wait this long for a sync another process runs, instead of skipping (CLI) */
  waitForLockMs?: number;
}

/** Runs one sync; never throws for upstream trouble (the report says what happened). */
export async function runSync(deps: SyncDeps, opts: SyncOptions = {}): Promise<SyncReport> {
  const t = { ...DEFAULT_TUNING, ...deps.tuning };
  const started = deps.now();
  const realStart = Date.now();
  const report = emptyReport(new Date(started).toISOString());
  const got = await acquire(deps, t, opts);
  if ('heldBy' in got) {
    const h = got.heldBy;
    return finish(report, realStart, deps, 'skipped', new SourceError('SYNC_BUSY', `another sync is running (${h.host} pid ${h.pid} since ${new Date(h.since).toISOString()})`));
  }
  const lock = got.lock;
  const signal = opts.signal ? AbortSignal.any([lock.signal, opts.signal]) : lock.signal;
  const tracker = deps.tracker ?? new SyncTracker({ events: deps.events, persist: (p) => writeProgress(deps.prisma, p) });
  let state: StoredSyncState | null = null;
  let failure: unknown = null;
  try {
    tracker.begin(report.startedAt);
    state = await readSyncState(deps.prisma);
    const settings = await effectiveSourceSettings(deps);
    report.warnings.push(...settings.problems);
    if (!settings.url) failure = new SourceError('SOURCE_NOT_CONFIGURED', 'no patch source URL is set');
    else if (!settings.enabled) failure = new SourceError('SOURCE_DISABLED', 'the patch source is disabled');
    else await syncFromSource(deps, t, settings, state, report, signal, tracker).catch((err: unknown) => (failure = err));
    // stopped, or the lock was lost to another process: leave the rest to the next run
    if (opts.autoUpdate !== false && !signal.aborted) {
      tracker.phase('auto-update');
      const results = await autoUpdateFeeds(deps.prisma, new Date(deps.now()), state.pending, deps.log);
      for (const r of results) {
        if (r.changed.length) report.autoDeployed.push({ feed: r.feed, patchsets: r.changed });
        if (r.error) report.warnings.push(`auto-update of feed ${r.feed}: ${r.error}`);
        if (r.changed.length) deps.events?.emit('deploymentsChanged', { feedId: r.feedId, action: 'auto', patchsets: r.changed, by: 'auto-update' });
      }
    }
    await deps.index?.reload();
  } catch (err) {
    failure ??= err;
  } finally {
    const result = outcome(report, failure);
    finish(report, realStart, deps, result, failure, tracker);
    if (state && !lock.signal.aborted) {
      if (result === 'ok' || result === 'partial') state.lastSuccessAt = report.finishedAt;
      state.last = report;
      await writeSyncState(deps.prisma, state).catch((err: unknown) => deps.log.error({ err }, 'could not record the sync status'));
    }
    tracker.end(report);
    await lock.release().catch((err: unknown) => deps.log.error({ err }, 'could not release the sync lock'));
  }
  return report;
}

async function syncFromSource(deps: SyncDeps, t: SyncTuning, s: EffectiveSourceSettings, state: StoredSyncState, report: SyncReport, signal: AbortSignal, tracker: SyncTracker): Promise<void> {
  if (!s.tlsVerify) {
    const msg = 'TLS certificate verification of the patch source is OFF (EPORTAL_TLS_VERIFY=0 or PYTHONHTTPSVERIFY=0): anyone on the network path can feed patches to this portal';
    deps.log.warn(msg);
    report.warnings.push(msg);
  }
  const retry = { attempts: t.attempts, baseMs: t.backoffBaseMs, maxMs: t.backoffMaxMs };
  const http = createSourceHttp({ proxy: s.proxy, tlsVerify: s.tlsVerify, user: s.user, password: s.password, timeouts: { connectMs: t.connectTimeoutMs, headersMs: t.headersTimeoutMs, bodyMs: t.bodyTimeoutMs } });
  deps.log.info({ source: s.url, proxy: s.proxy ? maskUrlPassword(s.proxy) : null }, 'patch source sync started');
  try {
    const idx = await withRetries(retry, 'index.json', signal, () => fetchIndex(http, s.url!, t.maxIndexBytes, signal));
    report.upstreamPatchsets = idx.entries.length + idx.bad.length;
    report.badEntries = idx.bad;
    const rec = await reconcile(deps.prisma, idx.entries, new Date(deps.now()));
    Object.assign(report, { removedUpstream: rec.removedUpstream, changedUpstream: rec.changedUpstream, blockedButDeployed: rec.blockedButDeployed });
    for (const e of idx.entries) {
      const l = rec.local.get(e.name);
      if (l && l.sha256 !== e.sha256) report.warnings.push(`${e.name}: the local copy differs from upstream's archive (kept the local one)`);
    }
    const wanted = idx.entries.filter((e) => !e.blocked && !rec.local.has(e.name) && (!s.products.length || s.products.includes(e.product)));
    const stillRejected = state.rejected.filter((r) => wanted.some((e) => e.name === r.name && e.sha256 === r.sha256));
    const toFetch = wanted.filter((e) => !stillRejected.some((r) => r.name === e.name));
    const downloadsDir = path.join(deps.dataDir, 'downloads');
    await mkdir(downloadsDir, { recursive: true });
    await cleanDownloads(downloadsDir, toFetch);
    tracker.queue(toFetch.map((e) => ({ name: e.name, product: e.product, size: e.size })));
    tracker.phase('download');
    const out = await fetchPatchsets({
      prisma: deps.prisma, storeDir: path.join(deps.dataDir, 'patches'), downloadsDir, http, sourceUrl: s.url!, retry, concurrency: t.concurrency,
      reserveBytes: t.reserveBytes, maxChangelogBytes: t.maxChangelogBytes, signal, tracker, now: deps.now, log: deps.log,
      freeBytes: deps.freeBytes ?? statfsFreeBytes, onWrite: deps.onWrite,
    }, toFetch);
    await markFromUpstream(deps.prisma, out.imported);
    Object.assign(report, { imported: out.imported, failed: out.failed, bytesDownloaded: tracker.current?.bytesDownloaded ?? 0 });
    report.warnings.push(...out.warnings);
    for (const r of stillRejected) report.warnings.push(`${r.name}: not downloaded again, its archive was refused (${r.code}) and upstream has not changed it`);
    state.pending = wanted.filter((e) => !out.imported.includes(e.name)).map((e) => ({ name: e.name, product: e.product, released: e.released.toISOString() }));
    state.rejected = [...stillRejected, ...out.rejected];
    if (signal.aborted) throw toSourceError(signal.reason, 'sync', signal);
  } finally {
    await http.close().catch(() => undefined);
  }
}

async function acquire(deps: SyncDeps, t: SyncTuning, opts: SyncOptions): Promise<{ lock: SyncLock } | { heldBy: LockHolder }> {
  const deadline = Date.now() + (opts.waitForLockMs ?? 0);
  for (;;) {
    const got = await SyncLock.tryAcquire(deps.prisma, t.lockTtlMs, deps.log);
    if ('lock' in got || Date.now() >= deadline || opts.signal?.aborted) return got;
    await sleep(t.lockWaitPollMs, opts.signal);
  }
}

function outcome(report: SyncReport, failure: unknown): SyncReport['result'] {
  if (failure) return failure instanceof SourceError && (failure.code === 'SOURCE_NOT_CONFIGURED' || failure.code === 'SOURCE_DISABLED') ? 'skipped' : 'failed';
  if (!report.failed.length && !report.badEntries.length) return 'ok';
  // something was tried and nothing got in: a failure, not a partial success
  return report.failed.length && !report.imported.length ? 'failed' : 'partial';
}

function emptyReport(startedAt: string): SyncReport {
  return {
    startedAt, finishedAt: startedAt, durationMs: 0, result: 'ok', error: null, errorCode: null, bytesDownloaded: 0, upstreamPatchsets: null,
    imported: [], failed: [], badEntries: [], removedUpstream: [], changedUpstream: [], blockedButDeployed: [], autoDeployed: [], warnings: [], patchsets: [],
  };
}

function finish(report: SyncReport, realStart: number, deps: SyncDeps, result: SyncReport['result'], failure: unknown, tracker?: SyncTracker): SyncReport {
  const err = failure ? toSourceError(failure, 'sync') : null;
  Object.assign(report, {
    result,
    durationMs: Date.now() - realStart,
    finishedAt: new Date(deps.now()).toISOString(),
    error: err?.message ?? report.failed[0]?.error ?? null,
    errorCode: err?.code ?? report.failed[0]?.code ?? null,
    patchsets: tracker?.current?.patchsets ?? report.patchsets,
  });
  const level = result === 'failed' ? 'error' : result === 'partial' ? 'warn' : 'info';
  deps.log[level]({ result, imported: report.imported.length, failed: report.failed.length, bytes: report.bytesDownloaded, error: report.error }, 'patch source sync finished');
  return report;
}
