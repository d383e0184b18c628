// Only one sync at a time across every process on the database (the server,
// a second server, `kc.eportal --sync`). The lock is a Setting row holding
// the owner and an expiry; the holder renews it (heartbeat) and a crashed
// holder's row simply expires. Every change is a compare-and-swap on the
// row's exact previous value, so two processes can never both win.
// The expiry uses the real clock, not the portal's injectable one: it
// measures whether a process is alive, not patch ages.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { prismaErrorCode } from '../../commands/errors.js';
import type { Logger } from '../../log.js';

/** Setting row name of the lock. */
export const SYNC_LOCK = 'patch_sync_lock';

/** Who holds the lock. */
export interface LockHolder {
  owner: string;
  pid: number;
  host: string;
  /** ms since epoch (real clock) */
  since: number;
  expiresAt: number;
}

/** A held sync lock; `signal` aborts when it is lost (renewal impossible, or taken over after expiry). */
export class SyncLock {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private released = false;
  private renewing: Promise<void> | null = null;

  private constructor(
    private readonly prisma: PrismaClient,
    private value: string,
    private holder: LockHolder,
    private readonly ttlMs: number,
    private readonly log?: Logger,
  ) {
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.max(50, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** Aborted when this process no longer holds the lock. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Takes the lock if it is free or expired; otherwise says who holds it. */
  static async tryAcquire(prisma: PrismaClient, ttlMs: number, log?: Logger): Promise<{ lock: SyncLock } | { heldBy: LockHolder }> {
    const now = Date.now();
    const holder: LockHolder = { owner: randomBytes(8).toString('hex'), pid: process.pid, host: os.hostname(), since: now, expiresAt: now + ttlMs };
    const value = JSON.stringify(holder);
    try {
      await prisma.setting.create({ data: { name: SYNC_LOCK, value } });
      return { lock: new SyncLock(prisma, value, holder, ttlMs, log) };
    } catch (err) {
      if (prismaErrorCode(err) !== 'P2002') throw err;
    }
    const row = await prisma.setting.findUnique({ where: { name: SYNC_LOCK } });
    const current = row ? parseHolder(row.value) : null;
    if (row && current && current.expiresAt > now) return { heldBy: current };
    // free (row vanished) or expired: swap exactly the value we saw
    const taken = row
      ? (await prisma.setting.updateMany({ where: { name: SYNC_LOCK, value: row.value }, data: { value } })).count === 1
      : await prisma.setting.create({ data: { name: SYNC_LOCK, value } }).then(() => true, () => false);
    if (taken) {
      if (current) log?.warn({ previous: current }, 'took over an expired patch sync lock (its holder stopped renewing it)');
      return { lock: new SyncLock(prisma, value, holder, ttlMs, log) };
    }
    const now2 = await readLockHolder(prisma);
    return { heldBy: now2 ?? current ?? holder };
  }

  private async renew(): Promise<void> {
    if (this.controller.signal.aborted || this.released) return;
    const next = JSON.stringify({ ...this.holder, expiresAt: Date.now() + this.ttlMs });
    try {
      const r = await this.prisma.setting.updateMany({ where: { name: SYNC_LOCK, value: this.value }, data: { value: next } });
      if (r.count === 1) {
        this.value = next;
        this.holder = JSON.parse(next) as LockHolder;
        return;
      }
      if (this.released) return;
      this.lose('the patch sync lock was taken over by another process');
    } catch (err) {
      // a busy database is no reason to give up, unless the lease ran out meanwhile
      if (Date.now() >= this.holder.expiresAt) this.lose('the patch sync lock could not be renewed in time');
      else this.log?.warn({ err }, 'patch sync lock renewal failed; retrying');
    }
  }

  private lose(reason: string): void {
    if (this.released) return;
    this.log?.error(reason);
    this.stopTimer();
    this.controller.abort(new Error(reason));
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Gives the lock up (only if it is still ours). */
  async release(): Promise<void> {
    this.released = true;
    this.stopTimer();
    // a renewal in flight changes the row's value: delete what it leaves
    await this.renewing;
    await this.prisma.setting.deleteMany({ where: { name: SYNC_LOCK, value: this.value } });
  }
}

/** The current holder, or null when the lock is free or expired. */
export async function readLockHolder(prisma: PrismaClient): Promise<LockHolder | null> {
  const row = await prisma.setting.findUnique({ where: { name: SYNC_LOCK } });
  const h = row ? parseHolder(row.value) : null;
  return h && h.expiresAt > Date.now() ? h : null;
}

function parseHolder(value: string): LockHolder | null {
  try {
    const v = JSON.parse(value) as Partial<LockHolder>;
    return typeof v.owner === 'string' && typeof v.expiresAt === 'number' ? (v as LockHolder) : null;
  } catch {
    return null;
  }
}
