// Check-ins are written off the request path: coalesced per server and
// flushed in one transaction every `intervalMs`, so a crash loses at most that
// window and a row is only ever written whole.
import type { AgentStore, CheckinBatchResult, CheckinRecord } from '../db/agent-store.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import { isBusy } from '../db/busy.js';

export interface CheckinStats {
  accepted: number;
  flushed: number;
  malformed: number;
  flushErrors: number;
  busyRetries: number;
}

/** Buffers check-in writes and flushes them in batches. */
export class CheckinBuffer {
  private pending = new Map<number, CheckinRecord>();
  private timer: NodeJS.Timeout | null = null;
  readonly stats: CheckinStats = { accepted: 0, flushed: 0, malformed: 0, flushErrors: 0, busyRetries: 0 };

  constructor(
    private readonly store: AgentStore,
    private readonly events: PortalEvents,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly maxPending = 100_000,
    /** the live counters' activity window: flushes report servers that re-enter it */
    private readonly activeWindowMs = 48 * 3_600_000,
  ) {}

  /** Queues a check-in; a newer one for the same server replaces the older. */
  add(record: CheckinRecord): void {
    const prev = this.pending.get(record.serverRowId);
    // A payload-less check-in must not erase what a pending one reported.
    let merged = prev && !record.hasPayload ? { ...prev, at: record.at, ip: record.ip, kernelId: record.kernelId, changed: record.changed } : record;
    // once a pending record carries a change, the row must get the full UPDATE
    if (prev?.changed && !merged.changed) merged = { ...merged, changed: true };
    this.pending.set(record.serverRowId, merged);
    this.stats.accepted++;
    if (this.pending.size >= this.maxPending) this.flush();
  }

  /** Counts a check-in whose payload could not be parsed. */
  countMalformed(): void {
    this.stats.malformed++;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flushInSlices(), this.intervalMs);
    this.timer.unref();
  }

  /** the rest of the batch a sliced flush is writing; a synchronous flush takes it over */
  private sliceRest: CheckinRecord[] | null = null;

  /**
   * The timed flush: the batch written in slices of `sliceSize` rows (a
   * transaction each), yielding to the event loop between them, so a large
   * batch never stalls agent requests for long.
   */
  async flushInSlices(sliceSize = 500): Promise<void> {
    if (this.sliceRest) return;
    this.sliceRest = [...this.pending.values()];
    this.pending = new Map();
    while (this.sliceRest && this.sliceRest.length > 0) {
      const slice = this.sliceRest.slice(0, sliceSize);
      if (!this.write(slice)) {
        this.requeue(this.sliceRest);
        break;
      }
      this.sliceRest = this.sliceRest.slice(sliceSize);
      if (this.sliceRest.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.sliceRest = null;
  }

  private requeue(records: CheckinRecord[]): void {
    // newer check-ins that arrived meanwhile win
    for (const r of records) if (!this.pending.has(r.serverRowId)) this.pending.set(r.serverRowId, r);
  }

  /** Writes everything pending now; on failure the records stay queued for the next try. */
  flush(): number {
    // take over what a sliced flush has not written yet, so rows are written in order
    const rest = this.sliceRest ?? [];
    this.sliceRest = null;
    for (const r of rest) if (!this.pending.has(r.serverRowId)) this.pending.set(r.serverRowId, r);
    if (this.pending.size === 0) return 0;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (!this.write(batch)) {
      this.requeue(batch);
      return 0;
    }
    return batch.length;
  }

  // One transaction; false (and counted) when it could not be written now.
  private write(batch: CheckinRecord[]): boolean {
    let changed: CheckinBatchResult | void;
    try {
      changed = this.store.applyCheckins(batch, this.activeWindowMs);
    } catch (err) {
      // a lock held elsewhere is normal contention, not an error worth a log line
      if (isBusy(err)) this.stats.busyRetries++;
      else {
        this.stats.flushErrors++;
        this.log.error({ err, size: batch.length }, 'check-in flush failed; will retry');
      }
      return false;
    }
    this.stats.flushed += batch.length;
    this.events.emit('checkins', { count: batch.length, firstOfServers: changed?.firstOfServers ?? 0, newlyActive: changed?.newlyActive });
    return true;
  }

  /** Stops the timer and writes what is left, waiting out locks held elsewhere (up to `budgetMs`). */
  async stop(budgetMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = Date.now() + budgetMs;
    while (this.pending.size > 0) {
      this.flush();
      if (this.pending.size === 0) break;
      if (Date.now() > deadline) {
        this.log.error({ lost: this.pending.size }, 'could not write the last check-ins before stopping');
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get size(): number {
    return this.pending.size;
  }
}
