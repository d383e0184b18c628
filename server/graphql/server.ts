// GraphQL over HTTP (yoga) at /graphql and over WebSocket (graphql-ws, same
// port, same envelop: context, parse and validation limits, error masking).
import type http from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { CheckinBuffer } from '../agent/checkin-buffer.js';
import type { RequestAuth } from '../auth/principal.js';
import { LoginRateLimiter, type LoginLimits } from '../auth/rate-limit.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { FeedIndex } from '../patches/feed-index.js';
import { RequestMemo, type ApiServices, type GraphQLContext, type RequestInfo, type SyncControl } from './context.js';
import { maskError, useExpectedErrors } from './errors.js';
import { DEFAULT_LIMITS, useOperationLimits, type OperationLimits } from './limits.js';
import { LiveFeeds, type LiveOptions } from './live/index.js';
import { schema } from './schema.js';
import { handleHttp, MAX_BODY_BYTES } from './transport/http.js';
import { attachWebSocket, type WebSocketEndpoint } from './transport/ws.js';

/** What the API layer needs from the app. */
export interface GraphQLDeps {
  config: Config;
  db: Database;
  events: PortalEvents;
  index: FeedIndex;
  checkins: CheckinBuffer;
  log: Logger;
  now: () => number;
  startedAt: number;
  /** tests and benchmarks: other timings and limits */
  live?: LiveOptions;
  loginLimits?: LoginLimits;
  operationLimits?: OperationLimits;
  /** how often open WebSockets re-check their credentials (default 60 s) */
  wsRecheckMs?: number;
  /** the patch-source sync job, once the app has started it (null: jobs are off) */
  sync?: () => SyncControl | null;
}

/** What the transports hand yoga for each request or WebSocket operation. */
export interface ServerContext {
  auth: RequestAuth;
  requestInfo: RequestInfo;
  setCookie: (value: string) => void;
}

/** The yoga instance both transports run operations through. */
export type Yoga = YogaServerInstance<ServerContext, GraphQLContext>;

/** The GraphQL endpoint as the app uses it. */
export interface GraphQLServer {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> | void;
  /** Hooks WebSocket upgrades on the HTTP server (subscriptions). */
  attach(server: http.Server): void;
  /** the live counters and feeds (tests and benchmarks poke them) */
  live: LiveFeeds;
  close(): Promise<void>;
}

/** Builds the GraphQL endpoint. */
export function createGraphQLServer(deps: GraphQLDeps): GraphQLServer {
  const { log } = deps;
  const prisma = deps.db.prisma;
  const live = new LiveFeeds({ prisma, events: deps.events, now: deps.now, log }, deps.live);
  const started = live.start().catch((err: unknown) => log.error({ err }, 'live counters could not start'));
  const api: ApiServices = { config: deps.config, events: deps.events, index: deps.index, log, now: deps.now, limiter: new LoginRateLimiter(deps.loginLimits), live, sync: deps.sync ?? (() => null) };

  const yoga: Yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false,
    cors: false,
    batching: false,
    multipart: false,
    maxRequestBodySize: MAX_BODY_BYTES,
    maskedErrors: { maskError, isDev: false },
    plugins: [useOperationLimits(deps.operationLimits ?? DEFAULT_LIMITS), useExpectedErrors()],
    logging: {
      debug: (...a) => log.debug(a.map(String).join(' ')),
      info: (...a) => log.info(a.map(String).join(' ')),
      warn: (...a) => log.warn(a.map(String).join(' ')),
      error: (...a) => log.error({ err: a[0] }, 'graphql request failed'),
    },
    context: ({ auth, requestInfo, setCookie }): GraphQLContext => ({
      prisma,
      user: auth.user,
      auth,
      checkins: deps.checkins,
      startedAt: deps.startedAt,
      api,
      request: requestInfo,
      memo: new RequestMemo(),
      setCookie,
    }),
  });

  let ws: WebSocketEndpoint | null = null;
  return {
    live,
    handle: (req, res) => handleHttp(yoga, { prisma, config: deps.config, now: deps.now }, req, res),
    attach: (server) => {
      ws = attachWebSocket(server, yoga, { prisma, config: deps.config, events: deps.events, log, now: deps.now, recheckMs: deps.wsRecheckMs ?? 60_000 });
    },
    close: async () => {
      await ws?.close();
      await started;
      await live.stop();
    },
  };
}
