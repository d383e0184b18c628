// Everything the subscriptions listen to, started and stopped together.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { PortalEvents } from '../../events.js';
import type { Logger } from '../../log.js';
import { ActivityFeed } from './activity.js';
import { PatchFeeds } from './patches.js';
import { LiveStats, type LiveStatsOptions } from './stats.js';

/** Timings of the live feeds (tests shorten them). */
export interface LiveOptions {
  stats?: Partial<LiveStatsOptions>;
  activityIntervalMs?: number;
}

/** The live feeds of one portal process. */
export class LiveFeeds {
  readonly stats: LiveStats;
  readonly activity: ActivityFeed;
  readonly patches: PatchFeeds;

  constructor(deps: { prisma: PrismaClient; events: PortalEvents; now: () => number; log: Logger }, opts: LiveOptions = {}) {
    this.stats = new LiveStats(deps, opts.stats);
    this.activity = new ActivityFeed(deps, opts.activityIntervalMs);
    this.patches = new PatchFeeds(deps);
  }

  /** Seeds the counters and starts listening. */
  async start(): Promise<void> {
    this.activity.start();
    this.patches.start();
    await this.stats.start();
  }

  /** Ends every subscription and stops listening. */
  async stop(): Promise<void> {
    this.activity.stop();
    this.patches.stop();
    await this.stats.stop();
  }
}
