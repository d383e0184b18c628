// Opens the database: applies migrations, makes sure the default feed exists,
// and hands out both the Prisma client (admin paths) and the dialect's raw
// agent store (the hot path, where Prisma's per-query cost is too high).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { migrateSqlite } from './migrate.js';
import { openSqlite } from './sqlite.js';
import { SqliteAgentStore } from './sqlite-agent-store.js';
import type { AgentStore } from './agent-store.js';

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  agentStore: AgentStore;
  /** the raw connection, for dialect-specific maintenance (SQLite only) */
  sqlite: BetterSqlite3.Database | null;
  close(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repo's prisma/migrations, found from both server/db (tsx, vitest) and dist/server/db (built). */
export const MIGRATIONS_DIR = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../prisma/migrations' : '../../prisma/migrations');

export const DEFAULT_FEED_NAME = 'default';

/** Opens (creating and migrating as needed) the configured database. */
export async function openDatabase(config: Pick<Config, 'dbFile' | 'databaseUrl' | 'dataDir'>): Promise<Database> {
  if (!config.dbFile) throw new Error('PostgreSQL support is not built yet: set EPORTAL_DATABASE_URL to a file: URL');
  mkdirSync(path.dirname(config.dbFile), { recursive: true });
  const sqlite = openSqlite(config.dbFile);
  migrateSqlite(sqlite, MIGRATIONS_DIR);
  ensureDefaultFeed(sqlite);
  const adapter = new PrismaBetterSqlite3({ url: `file:${config.dbFile}`, timeout: 10000 }, { timestampFormat: 'unixepoch-ms' });
  const prisma = new PrismaClient({ adapter });
  // see busy.ts: the hot-path connection never blocks the event loop on a lock
  const agentConn = openSqlite(config.dbFile, { busyTimeoutMs: 0 });
  const agentStore = new SqliteAgentStore(agentConn);
  return {
    prisma,
    agentStore,
    sqlite,
    async close() {
      await prisma.$disconnect();
      agentStore.close();
      agentConn.close();
      sqlite.close();
    },
  };
}

function ensureDefaultFeed(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    const existing = db.prepare('SELECT id FROM Feed WHERE isDefault = 1').get();
    if (existing) return;
    db.prepare(
      `INSERT INTO Feed (name, isDefault, autoUpdate, deployAfterHours, channel, createdAt) VALUES (?, 1, 0, 0, 'default', ?)
       ON CONFLICT(name) DO UPDATE SET isDefault = 1`,
    ).run(DEFAULT_FEED_NAME, Date.now());
  }).immediate();
}
