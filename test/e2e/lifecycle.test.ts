// Start-up, graceful shutdown and crashes of the real server process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { hashServerId } from '../../server/agent/server-id.js';
import { AgentSim } from '../support/agent-sim.js';
import { spawnPortal } from '../support/child-portal.js';

function openDb(dataDir: string) {
  return new Database(path.join(dataDir, 'eportal.sqlite'), { readonly: true });
}

function createKey(dataDir: string, key: string) {
  const db = new Database(path.join(dataDir, 'eportal.sqlite'));
  const feed = db.prepare('SELECT id FROM Feed WHERE isDefault = 1').get() as { id: number };
  db.prepare('INSERT INTO Key (key, description, feedId, createdAt) VALUES (?, ?, ?, ?)').run(key, '', feed.id, Date.now());
  db.close();
}

describe('server process', () => {
  it('refuses to start on a bad setting and names the variable', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-badcfg-'));
    const r = spawnSync(process.execPath, ['dist/server/main.js'], { env: { PATH: process.env.PATH, EPORTAL_DATA_DIR: dataDir, EPORTAL_PORT: 'eighty' }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('EPORTAL_PORT');
  });

  it('on SIGTERM finishes in-flight check-ins, writes them, and exits 0', async () => {
    const p = await spawnPortal({ EPORTAL_CHECKIN_FLUSH_MS: '1000' });
    createKey(p.dataDir, 'lifecyclekey');
    const sims = Array.from({ length: 30 }, (_, i) => new AgentSim({ patchServer: `${p.url}/`, registrationUrl: `${p.url}/admin/api/kcare`, hostname: `h${i}` }));
    for (const s of sims) expect((await s.register('lifecyclekey')).code).toBe(0);
    // Check-ins land in the 1 s buffer; SIGTERM arrives before any timed flush.
    const answered = await Promise.all(sims.map((s) => s.checkin({ fields: { node: `${s.hostname}-after` } })));
    expect(answered.every((r) => r.status === 404)).toBe(true);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('portal stopped');
    const db = openDb(p.dataDir);
    for (const s of sims) {
      const row = db.prepare('SELECT hostname, lastCheckinAt FROM Server WHERE serverIdHash = ?').get(hashServerId(s.serverId!)) as { hostname: string; lastCheckinAt: number };
      expect(row.hostname).toBe(`${s.hostname}-after`);
      expect(row.lastCheckinAt).toBeGreaterThan(0);
    }
    db.close();
  });

  it('after SIGKILL loses at most the last flush window and no row is corrupt', async () => {
    const p = await spawnPortal({ EPORTAL_CHECKIN_FLUSH_MS: '200' });
    createKey(p.dataDir, 'crashkey');
    const sims = Array.from({ length: 20 }, () => new AgentSim({ patchServer: `${p.url}/`, registrationUrl: `${p.url}/admin/api/kcare` }));
    for (const s of sims) await s.register('crashkey');
    for (const s of sims) await s.checkin({ fields: { node: 'early' } });
    await new Promise((r) => setTimeout(r, 1000)); // older than one second: must survive
    // a burst that is cut off by the kill
    const burst = Promise.allSettled(Array.from({ length: 200 }, (_, i) => sims[i % sims.length]!.checkin({ fields: { node: 'late' } })));
    await new Promise((r) => setTimeout(r, 30));
    p.proc.kill('SIGKILL');
    await burst;
    await p.exited;
    const db = openDb(p.dataDir);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    for (const s of sims) {
      const row = db.prepare('SELECT hostname, lastCheckinAt FROM Server WHERE serverIdHash = ?').get(hashServerId(s.serverId!)) as { hostname: string; lastCheckinAt: number };
      expect(['early', 'late']).toContain(row.hostname);
      expect(row.lastCheckinAt).toBeGreaterThan(0);
    }
    db.close();
    // and it starts again on the same data
    const again = await spawnPortal({}, p.dataDir);
    expect((await new AgentSim({ patchServer: `${again.url}/`, registrationUrl: `${again.url}/admin/api/kcare`, serverId: sims[0]!.serverId! }).check()).code).toBe(0);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
