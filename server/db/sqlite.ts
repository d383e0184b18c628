import Database from 'better-sqlite3';

/** Opens the portal's SQLite file with the settings every connection needs. */
export function openSqlite(file: string, opts: { readonly?: boolean; busyTimeoutMs?: number } = {}): Database.Database {
  const db = new Database(file, { readonly: opts.readonly ?? false });
  // WAL lets the agent path, Prisma and the CLI work on one file at once;
  // NORMAL sync keeps commits durable across process crashes (not power loss
  // of the last transaction), which is the trade every check-in batch makes.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10000}`);
  db.pragma('foreign_keys = ON');
  return db;
}
