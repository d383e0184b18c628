// What every CLI command gets: the process streams, output helpers, and the
// portal's database opened exactly as the server opens it.
import { existsSync } from 'node:fs';
import type { Database } from '../db/index.js';

/** The streams and environment a CLI run works with (the process's, or a test's). */
export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** A failure to report as `kc.eportal: <message>`, exiting with `exitCode` (1 unless said otherwise). */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    public exitCode = 1,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: exit status 2, with a pointer to --help. */
export class UsageError extends CliError {
  override name = 'UsageError';

  constructor(message: string) {
    super(message, 2);
  }
}

/** The per-run context handed to every command. */
export class CliContext {
  /** the command being run, for 'Try ... --help' hints */
  commandPath = 'kc.eportal';

  constructor(readonly io: CliIO) {}

  /** Writes one line to stdout. */
  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  /** Writes one line to stderr, prefixed with the program name. */
  warn(line: string): void {
    this.io.stderr.write(`kc.eportal: ${line}\n`);
  }

  /**
   * Loads the configuration (file, envdir, EPORTAL_* environment), opens the
   * portal's database (SQLite in WAL mode with a busy timeout, so it works
   * while the server runs), runs `fn` and closes the database again.
   */
  async withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    // imported here so that --help and usage errors do not load Prisma
    const { loadConfig } = await import('../config.js');
    const config = loadConfig(this.io.env);
    const { openDatabase } = await import('../db/index.js');
    if (config.dbFile && !existsSync(config.dbFile)) {
      this.warn(`no database at ${config.dbFile} yet: creating it (set EPORTAL_DATA_DIR if the portal keeps its data elsewhere)`);
    }
    const db = await openDatabase(config);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }
}
