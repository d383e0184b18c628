// Builds the portal: database, agent path, GraphQL, HTTP server. main.ts only
// starts it; tests build one per temporary data directory.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CheckinBuffer } from './agent/checkin-buffer.js';
import type { AgentDeps } from './agent/deps.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/index.js';
import { removePidFile, writePidFile } from './db/pidfile.js';
import { PortalEvents } from './events.js';
import { createGraphQLServer, type GraphQLServer } from './graphql/server.js';
import { startJobs, type Jobs } from './jobs/index.js';
import { createRouter } from './http/router.js';
import { sendText } from './http/plain.js';
import { createLogger, type Logger } from './log.js';
import { FeedIndex } from './patches/feed-index.js';
import { cleanStore } from './patches/store.js';
import { handleMonitoring } from './agent/monitoring.js';
import { createConsoleHandler } from './http/console.js';

export interface App {
  config: Config;
  db: Database;
  agent: AgentDeps;
  events: PortalEvents;
  log: Logger;
  server: http.Server;
  /** the GraphQL endpoint (its live counters are reachable for tests and benchmarks) */
  graphql: GraphQLServer;
  /** Listens; resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, finishes in-flight requests, flushes check-ins, closes the database. */
  stop(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  now?: () => number;
  /** false: do not start scheduled jobs (tests that drive them by hand) */
  jobs?: boolean;
}

/** Assembles the whole portal for one configuration. */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const now = opts.now ?? Date.now;
  mkdirSync(config.dataDir, { recursive: true });
  const patchStoreDir = path.join(config.dataDir, 'patches');
  mkdirSync(patchStoreDir, { recursive: true });
  // the web console (web/build, read once) below /admin; before anything that needs closing
  const consoleUi = await createConsoleHandler({ log });
  const db = await openDatabase(config);
  await cleanStore(db.prisma, patchStoreDir, log);
  const events = new PortalEvents();
  const index = new FeedIndex(db.prisma, log);
  await index.reload();
  const checkins = new CheckinBuffer(db.agentStore, events, log, config.checkinFlushMs);
  const agent: AgentDeps = { store: db.agentStore, index, checkins, events, log, now, trustProxy: config.trustProxy, patchStoreDir };
  const startedAt = now();

  // `jobs` is assigned in start(); the API asks for the sync job at request time
  const graphql = createGraphQLServer({ config, db, events, index, checkins, log, now, startedAt, sync: () => jobs?.sync ?? null });

  const router = createRouter({
    agent,
    graphql: (req, res) => graphql.handle(req, res),
    monitoring: (req, res, kind, key) => handleMonitoring({ prisma: db.prisma, index, inactiveHours: config.inactiveHours, now }, req, res, kind, key),
    extra: { healthz: (_req, res) => sendText(res, 200, 'ok\n') },
    console: (req, res, segments) => consoleUi.handle(req, res, segments),
  });

  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    Promise.resolve(router(req, res)).catch((err: unknown) => {
      log.error({ err, url: redactUrl(req.url) }, 'request failed');
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy();
    });
  });
  graphql.attach(server);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  let stopping: Promise<void> | null = null;
  let jobs: Jobs | null = null;
  return {
    config, db, agent, events, log, server, graphql,
    async start() {
      checkins.start();
      index.watch();
      if (opts.jobs !== false) jobs = startJobs({ config, db, events, index, log, now, patchStoreDir });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
      writePidFile(config.dataDir);
      log.info({ url, dataDir: config.dataDir }, 'portal listening');
      return { host: addr.address, port: addr.port, url };
    },
    stop() {
      stopping ??= (async () => {
        await jobs?.stop();
        await graphql.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + 10_000;
        while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        server.closeAllConnections();
        await closed;
        index.stop();
        await checkins.stop();
        await db.close();
        removePidFile(config.dataDir);
        log.info('portal stopped');
      })();
      return stopping;
    },
  };
}

/** The request URL with any check-in payload cut off (it carries the server id). */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q < 0 ? url.slice(0, 300) : `${url.slice(0, Math.min(q, 300))}?…`;
}
