// Interactive transactions that read before they write are unsafe on SQLite
// in WAL mode: Prisma's adapter opens them with a plain BEGIN, so if another
// connection (the agent store, the CLI) commits between the read and the
// first write, the upgrade fails with SQLITE_BUSY_SNAPSHOT and no busy
// timeout helps. Taking the write lock with the first statement avoids it.
// PostgreSQL needs nothing of the kind (row locks, read committed).
import type { PrismaClient } from '../generated/prisma/client.js';

export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

let sqlite = true;

/** Called once by openDatabase with the dialect in use. */
export function setWriteTransactionDialect(dialect: 'sqlite' | 'postgresql'): void {
  sqlite = dialect === 'sqlite';
}

/** Runs `fn` in a transaction that holds the database write lock from its first statement. */
export async function writeTransaction<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  return prisma.$transaction(
    async (tx) => {
      // A statement that writes nothing still takes SQLite's RESERVED lock.
      if (sqlite) await tx.$executeRawUnsafe('UPDATE "Setting" SET "name" = "name" WHERE 0');
      return fn(tx);
    },
    { maxWait: 10_000, timeout: opts.timeoutMs ?? 20_000 },
  );
}
