// The cross-process sync lock: one holder at a time, renewed while held,
// released on finish, and taken over once a holder stops renewing it — also
// when the holder is a real process killed with SIGKILL.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { openDatabase, type Database } from '../../server/db/index.js';
import { readLockHolder, SYNC_LOCK, SyncLock } from '../../server/patches/source/lock.js';

let dataDir: string;
let a: Database;
let b: Database;
const open = () => openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function take(db: Database, ttl: number): Promise<SyncLock> {
  const r = await SyncLock.tryAcquire(db.prisma, ttl);
  if (!('lock' in r)) throw new Error(`lock held by ${JSON.stringify(r.heldBy)}`);
  return r.lock;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-lock-'));
  // two connections: as two processes would have
  a = await open();
  b = await open();
});
// one failure must not leave the lock held for the next test
afterEach(async () => {
  await a.prisma.setting.deleteMany({ where: { name: SYNC_LOCK } });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('SyncLock', () => {
  it('has one holder; renewal keeps it past its TTL; release frees it', async () => {
    // renewals every TTL/3: even a loaded machine renews well within the TTL
    const lock = await take(a, 600);
    expect(await SyncLock.tryAcquire(b.prisma, 600)).toMatchObject({ heldBy: { pid: process.pid } });
    await sleep(1500);
    expect('heldBy' in (await SyncLock.tryAcquire(b.prisma, 600))).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
    expect(await readLockHolder(b.prisma)).toBeNull();
    const other = await take(b, 600);
    await other.release();
  });

  it('is taken over when the holder stops renewing; the old holder learns it lost the lock', async () => {
    const stale = await take(a, 200);
    (stale as unknown as { stopTimer(): void }).stopTimer(); // a hung holder
    await sleep(250);
    const fresh = await take(b, 1000);
    await (stale as unknown as { renew(): Promise<void> }).renew();
    expect(stale.signal.aborted).toBe(true);
    await stale.release(); // does not free the new holder's lock
    expect(await readLockHolder(a.prisma)).not.toBeNull();
    expect('heldBy' in (await SyncLock.tryAcquire(a.prisma, 100))).toBe(true);
    await fresh.release();
  });

  it('a holder process killed with SIGKILL blocks only until its lease expires', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { loadConfig } = await import('./server/config.ts');
      const { openDatabase } = await import('./server/db/index.ts');
      const { SyncLock } = await import('./server/patches/source/lock.ts');
      const db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: process.argv[1] }));
      const r = await SyncLock.tryAcquire(db.prisma, 600);
      console.log('lock' in r ? 'HELD' : 'BUSY');
      setInterval(() => {}, 1000);
    `, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    expect(said).toBe('HELD');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const t0 = Date.now();
    expect('heldBy' in (await SyncLock.tryAcquire(a.prisma, 600))).toBe(true);
    let lock: SyncLock | null = null;
    while (!lock) {
      const r = await SyncLock.tryAcquire(a.prisma, 600);
      if ('lock' in r) lock = r.lock;
      else await sleep(50);
    }
    expect(Date.now() - t0).toBeLessThan(2000);
    await lock.release();
  });
});
