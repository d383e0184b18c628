// kc.eportal db backup FILE | db restore FILE: a consistent copy of the
// database taken while the portal runs (SQLite online backup), and putting one
// back while it is stopped. The patch store (`patches/`) is plain files: copy it
// alongside.
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CliModule } from '../builder.js';
import { CliError } from '../context.js';

/** `db backup <file>` and `db restore <file>` */
export const dbCommand: CliModule = {
  register(cli) {
    const group = cli.group('db', 'back up or restore the database');
    group.command('backup').description('write a consistent copy of the database (safe while the portal runs)').argument('<file>').action(async (file: string) => {
      const target = path.resolve(file);
      if (existsSync(target)) throw new CliError(`${target} exists; refusing to overwrite it`);
      await cli.ctx.withDatabase(async (db) => {
        if (!db.sqlite) throw new CliError('db backup works on the SQLite database; use pg_dump for PostgreSQL');
        await db.sqlite.backup(target);
      });
      cli.ctx.out(`database backed up to ${target}`);
    });
    group.command('restore').description('replace the database with a backup (stop the portal first)').argument('<file>').action(async (file: string) => {
      const { loadConfig } = await import('../../config.js');
      const { runningServerPid } = await import('../../db/pidfile.js');
      const Database = (await import('better-sqlite3')).default;
      const config = loadConfig(cli.ctx.io.env);
      if (!config.dbFile) throw new CliError('db restore works on the SQLite database; use pg_restore for PostgreSQL');
      const pid = runningServerPid(config.dataDir);
      if (pid) throw new CliError(`the portal is running on this data directory (pid ${pid}); stop it first`);
      const source = path.resolve(file);
      try {
        const check = new Database(source, { readonly: true, fileMustExist: true });
        const ok = check.pragma('integrity_check', { simple: true }) === 'ok' && check.prepare("SELECT 1 FROM sqlite_master WHERE name = '_prisma_migrations'").get();
        check.close();
        if (!ok) throw new Error('not a portal database');
      } catch (err) {
        throw new CliError(`${source} is not a usable portal database backup (${(err as Error).message})`);
      }
      // copy next to the target, then rename: the database is never half written
      const tmp = `${config.dbFile}.restore-${process.pid}`;
      copyFileSync(source, tmp);
      for (const suffix of ['-wal', '-shm']) rmSync(config.dbFile + suffix, { force: true });
      renameSync(tmp, config.dbFile);
      cli.ctx.out(`database restored from ${source}; migrations newer than the backup are applied at the next start`);
    });
  },
};
