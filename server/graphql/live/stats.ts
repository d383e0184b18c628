// Live start-page numbers at 1,000,000 servers without counting the Server
// table on check-ins:
// - total and per-key counts come from KeyServerCount (exact, trigger-kept);
// - "checked in within 48 h" is a counter: seeded by one index-range COUNT,
//   raised by the check-in batches (the store reports servers that re-entered
//   the window), lowered every few seconds by counting only the servers whose
//   last check-in just slid out of the window (a tiny index range), and
//   re-seeded after deletions and every minute to drop any drift (6.6 ms at
//   1,000,000 servers: the COUNT reads only the lastCheckinAt index).
// Snapshots are computed at most every publishIntervalMs, only when something
// changed and someone listens, and shared by every subscriber.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { PortalEvents, PortalEventMap } from '../../events.js';
import type { Logger } from '../../log.js';
import { countCheckedInSince, countLastCheckinBetween, inventory, type InventoryLine } from '../../commands/stats.js';
import { Broadcaster, type LiveChannel } from './channel.js';

/** The start page's numbers. */
export interface StatsSnapshot {
  totalServers: number;
  checkedInLast48h: number;
  serversWithoutKey: number;
  keyInventory: InventoryLine[];
  updatedAt: Date;
}

/** Timings of the live counters. */
export interface LiveStatsOptions {
  windowMs: number;
  /** least time between two snapshots sent to subscribers */
  publishIntervalMs: number;
  /** how often servers leaving the window are subtracted */
  expiryIntervalMs: number;
  /** how often the window counter is re-seeded */
  recountIntervalMs: number;
  /** how often changes made by other processes (the CLI) are looked for */
  pollIntervalMs: number;
  /** delay before re-seeding after deletions (coalesces bursts) */
  recountDelayMs: number;
}

/** 48-hour window, at most 4 updates a second. */
export const DEFAULT_LIVE_STATS: LiveStatsOptions = {
  windowMs: 48 * 3_600_000,
  publishIntervalMs: 250,
  expiryIntervalMs: 10_000,
  recountIntervalMs: 60_000,
  pollIntervalMs: 5_000,
  recountDelayMs: 1_000,
};

/** Maintains the counters and publishes snapshots. */
export class LiveStats {
  private active = 0;
  /** the counter holds servers with lastCheckinAt >= this */
  private cutoff = 0;
  private readonly subscribers = new Broadcaster<StatsSnapshot>();
  private lastSent = '';
  private publishTimer: NodeJS.Timeout | null = null;
  private recountTimer: NodeJS.Timeout | null = null;
  private lastPublishAt = 0;
  private timers: NodeJS.Timeout[] = [];
  private work: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly opts: LiveStatsOptions;

  constructor(
    private readonly deps: { prisma: PrismaClient; events: PortalEvents; now: () => number; log: Logger },
    opts: Partial<LiveStatsOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LIVE_STATS, ...opts };
  }

  /** Seeds the counter and starts listening. */
  async start(): Promise<void> {
    await this.recount();
    const { events } = this.deps;
    events.on('checkins', this.onCheckins);
    events.on('serverRegistered', this.onChange);
    events.on('serverUnregistered', this.onDeletion);
    events.on('keysChanged', this.onDeletion);
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.expiryIntervalMs, () => this.queue(() => this.expire()));
    // recount() queues itself: queueing a call to it from inside the queue would wait on itself forever
    every(this.opts.recountIntervalMs, () => void this.recount());
    every(this.opts.pollIntervalMs, () => this.markDirty());
  }

  /** Stops timers and listeners, ends every subscription, and waits for a running count. */
  async stop(): Promise<void> {
    this.stopped = true;
    const { events } = this.deps;
    events.off('checkins', this.onCheckins);
    events.off('serverRegistered', this.onChange);
    events.off('serverUnregistered', this.onDeletion);
    events.off('keysChanged', this.onDeletion);
    for (const t of this.timers) clearInterval(t);
    if (this.publishTimer) clearTimeout(this.publishTimer);
    if (this.recountTimer) clearTimeout(this.recountTimer);
    this.subscribers.closeAll();
    await this.work;
  }

  /** Servers checked in within the window, as the counter has it. */
  get checkedIn(): number {
    return this.active;
  }

  /** Current numbers (two small queries: keys and their counters). */
  async snapshot(): Promise<StatsSnapshot> {
    const inv = await inventory(this.deps.prisma);
    return { totalServers: inv.total, checkedInLast48h: Math.max(0, this.active), serversWithoutKey: inv.withoutKey, keyInventory: inv.keys, updatedAt: new Date(this.deps.now()) };
  }

  /** A subscriber's stream, starting with the current numbers. */
  async subscribe(): Promise<LiveChannel<StatsSnapshot>> {
    const first = await this.snapshot();
    return this.subscribers.subscribe(first);
  }

  /** Subscribers right now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Re-seeds the window counter now (tests, and after bulk changes). */
  recount(): Promise<void> {
    return this.queue(async () => {
      const cutoff = this.deps.now() - this.opts.windowMs;
      this.active = await countCheckedInSince(this.deps.prisma, new Date(cutoff));
      this.cutoff = cutoff;
      this.markDirty();
    });
  }

  private readonly onCheckins = (e: PortalEventMap['checkins'][0]) => {
    if (e.newlyActive) {
      this.active += e.newlyActive;
      this.markDirty();
    }
  };

  private readonly onChange = () => this.markDirty();

  private readonly onDeletion = () => {
    this.markDirty();
    // a deleted server may have been counted as active: re-seed once the burst is over
    if (this.recountTimer) clearTimeout(this.recountTimer);
    this.recountTimer = setTimeout(() => {
      this.recountTimer = null;
      void this.recount();
    }, this.opts.recountDelayMs);
    this.recountTimer.unref();
  };

  private async expire(): Promise<void> {
    const cutoff = this.deps.now() - this.opts.windowMs;
    if (cutoff <= this.cutoff) return;
    const gone = await countLastCheckinBetween(this.deps.prisma, new Date(this.cutoff), new Date(cutoff));
    this.cutoff = cutoff;
    if (gone > 0) {
      this.active -= gone;
      this.markDirty();
    }
  }

  // Counter updates run one at a time; an error is logged and the next tick tries again.
  private queue(fn: () => Promise<void>): Promise<void> {
    this.work = this.work.then(() => (this.stopped ? undefined : fn())).catch((err: unknown) => this.deps.log.error({ err }, 'live stats update failed'));
    return this.work;
  }

  private markDirty(): void {
    if (this.publishTimer || this.stopped) return;
    const delay = Math.max(0, this.lastPublishAt + this.opts.publishIntervalMs - Date.now());
    this.publishTimer = setTimeout(() => {
      this.publishTimer = null;
      this.lastPublishAt = Date.now();
      if (this.subscribers.size === 0) return;
      this.snapshot().then((snap) => {
        const { updatedAt: _at, ...numbers } = snap;
        const json = JSON.stringify(numbers);
        if (json === this.lastSent) return;
        this.lastSent = json;
        this.subscribers.publish(snap);
      }, (err: unknown) => this.deps.log.error({ err }, 'live stats snapshot failed'));
    }, delay);
    this.publishTimer.unref();
  }
}
