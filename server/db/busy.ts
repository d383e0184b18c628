// The agent store's connection runs with no busy timeout: better-sqlite3 is
// synchronous, so waiting for a lock held by Prisma's connection in the same
// process would block the event loop that Prisma needs to release it. Writes
// that meet a lock are retried asynchronously instead.

const BUSY = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']);

/** Whether `err` means "the database is locked by someone else right now". */
export function isBusy(err: unknown): boolean {
  return typeof err === 'object' && err !== null && BUSY.has(String((err as { code?: unknown }).code));
}

/** Runs `fn`, retrying with back-off while the database is locked (up to `budgetMs`). */
export async function retryWhileBusy<T>(fn: () => T, budgetMs = 5000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() + delay > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
