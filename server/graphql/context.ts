// Per-request GraphQL context, built once per HTTP request or WebSocket
// operation from the authenticated principal and the portal's services.
import type { CheckinBuffer } from '../agent/checkin-buffer.js';
import type { RequestAuth, AuthUser } from '../auth/principal.js';
import type { LoginRateLimiter } from '../auth/rate-limit.js';
import type { Config } from '../config.js';
import type { PortalEvents } from '../events.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log.js';
import type { SyncScheduler } from '../jobs/sync-scheduler.js';
import type { FeedIndex } from '../patches/feed-index.js';
import type { LiveFeeds } from './live/index.js';

export type { AuthUser };

/** What the API may ask of the patch-source sync job (jobs/sync-scheduler.ts). */
export type SyncControl = Pick<SyncScheduler, 'runNow' | 'status'>;

/** Long-lived services the resolvers use. */
export interface ApiServices {
  config: Config;
  events: PortalEvents;
  index: FeedIndex;
  log: Logger;
  now: () => number;
  limiter: LoginRateLimiter;
  live: LiveFeeds;
  /** the sync job of this process, or null when jobs are not running */
  sync: () => SyncControl | null;
}

/** Where a request came from. */
export interface RequestInfo {
  ip: string;
  userAgent: string;
  transport: 'http' | 'ws';
  /** the request came over HTTPS (cookies get Secure) */
  secure: boolean;
}

/** Per-request memo of small lookups (all feeds, per-key counts) so list fields never query per row. */
export class RequestMemo {
  private readonly values = new Map<string, Promise<unknown>>();

  /** `fn()` once per request for `key`. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let v = this.values.get(key) as Promise<T> | undefined;
    if (!v) this.values.set(key, (v = fn()));
    return v;
  }
}

/** Per-request GraphQL context. */
export interface GraphQLContext {
  prisma: PrismaClient;
  user: AuthUser | null;
  auth: RequestAuth;
  checkins: CheckinBuffer;
  startedAt: number;
  api: ApiServices;
  request: RequestInfo;
  memo: RequestMemo;
  /** adds a Set-Cookie header to the HTTP response (ignored over WebSocket) */
  setCookie(value: string): void;
}
