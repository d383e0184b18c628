import type { AgentStore } from '../db/agent-store.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { FeedIndex } from '../patches/feed-index.js';
import type { CheckinBuffer } from './checkin-buffer.js';

/** What the agent endpoints need; built once by the app. */
export interface AgentDeps {
  store: AgentStore;
  index: FeedIndex;
  checkins: CheckinBuffer;
  events: PortalEvents;
  log: Logger;
  now: () => number;
  trustProxy: readonly string[];
  /** folder holding unpacked patchsets */
  patchStoreDir: string;
}
