import { EventEmitter } from 'node:events';

/** In-process events the GraphQL subscriptions and counters listen to. */
export interface PortalEventMap {
  serverRegistered: [{ rowId: number; keyId: number | null }];
  serverUnregistered: [{ count: number }];
  checkins: [{ count: number; firstOfServers: number }];
  deploymentsChanged: [{ feedId: number | null }];
}

/** A typed event bus; listeners must be cheap, they run on the agent path. */
export class PortalEvents extends EventEmitter<PortalEventMap> {}
