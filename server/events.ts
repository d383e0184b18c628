import { EventEmitter } from 'node:events';
import type { PatchSyncEvent } from './patches/source/progress.js';

/** In-process events the GraphQL subscriptions and counters listen to. */
export interface PortalEventMap {
  serverRegistered: [{ rowId: number; keyId: number | null }];
  serverUnregistered: [{ count: number }];
  /**
   * A batch of check-ins was written. firstOfServers: servers checking in for
   * the first time; newlyActive: servers whose previous check-in was older than
   * the 48-hour activity window (or absent), so the live counters need no query.
   */
  checkins: [{ count: number; firstOfServers: number; newlyActive?: number }];
  /** a feed's deployed patchsets changed (feedId null: several feeds); the rest says what, when known */
  deploymentsChanged: [{ feedId: number | null; action?: 'deploy' | 'rollback' | 'auto'; patchsets?: string[]; by?: string }];
  /** keys were created, edited or deleted through the API (the start page's inventory changes) */
  keysChanged: [{ keyId: number | null }];
  /** sessions or API tokens were revoked: open WebSocket connections using them are closed */
  credentialsRevoked: [{ sessionIds?: number[]; tokenIds?: number[]; userId?: number }];
  /** patch-source sync progress: started, phase, per-patchset bytes/state, finished (with the report) */
  patchSync: [PatchSyncEvent];
}

/** A typed event bus; listeners must be cheap, they run on the agent path. */
export class PortalEvents extends EventEmitter<PortalEventMap> {}
