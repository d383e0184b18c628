// Background jobs of the server process (the patch-source schedule, ...).
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { FeedIndex } from '../patches/feed-index.js';

export interface JobDeps {
  config: Config;
  db: Database;
  events: PortalEvents;
  index: FeedIndex;
  log: Logger;
  now: () => number;
  patchStoreDir: string;
}

export interface Jobs {
  stop(): Promise<void>;
}

/** Starts every scheduled job; `stop` waits for running ones to wind down. */
export function startJobs(_deps: JobDeps): Jobs {
  return { stop: async () => {} };
}
