// Background jobs of the server process (the patch-source schedule, ...).
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { FeedIndex } from '../patches/feed-index.js';
import { SyncScheduler } from './sync-scheduler.js';

/** What the jobs need from the app. */
export interface JobDeps {
  config: Config;
  db: Database;
  events: PortalEvents;
  index: FeedIndex;
  log: Logger;
  now: () => number;
  patchStoreDir: string;
}

/** The running jobs. */
export interface Jobs {
  /** the patch-source sync job: runNow(), status(), live tracker */
  sync: SyncScheduler;
  stop(): Promise<void>;
}

/** Starts every scheduled job; `stop` waits for running ones to wind down. */
export function startJobs(deps: JobDeps): Jobs {
  const sync = new SyncScheduler({ prisma: deps.db.prisma, dataDir: deps.config.dataDir, config: deps.config, log: deps.log, now: deps.now, events: deps.events, index: deps.index });
  sync.start();
  return {
    sync,
    stop: () => sync.stop(),
  };
}
