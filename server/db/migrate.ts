// Applies Prisma migration folders in-process (the prisma CLI cannot migrate
// on machines without its native engine). Writes the same `_prisma_migrations`
// rows as Prisma, so `prisma migrate status` agrees where the CLI works.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

export interface MigrationFolder {
  name: string;
  sql: string;
  checksum: string;
}

/** Lists `<dir>/<stamp>_<name>/migration.sql` in order. */
export function readMigrations(dir: string): MigrationFolder[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/**
 * Applies pending SQLite migrations, each in its own transaction, and returns
 * the names applied. Refuses to start when an applied migration was edited.
 */
export function migrateSqlite(db: BetterSqlite3.Database, dir: string): string[] {
  db.exec(MIGRATIONS_TABLE);
  const applied = new Map(
    (db.prepare('SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL').all() as { migration_name: string; checksum: string }[])
      .map((r) => [r.migration_name, r.checksum]),
  );
  const done: string[] = [];
  for (const m of readMigrations(dir)) {
    const prior = applied.get(m.name);
    if (prior !== undefined) {
      if (prior !== m.checksum) throw new Error(`migration ${m.name} was modified after it was applied (checksum mismatch)`);
      continue;
    }
    // Table-redefinition scripts need foreign keys off, and that pragma is a
    // no-op inside a transaction, so it is set around it.
    db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        const violations = db.pragma('foreign_key_check') as unknown[];
        if (violations.length) throw new Error(`migration ${m.name} leaves ${violations.length} foreign key violations`);
        db.prepare(
          `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count)
           VALUES (?, ?, ?, ?, NULL, ?, 1)`,
        ).run(randomUUID(), m.checksum, Date.now(), m.name, Date.now());
      }).immediate();
    } finally {
      db.pragma('foreign_keys = ON');
    }
    done.push(m.name);
  }
  return done;
}
