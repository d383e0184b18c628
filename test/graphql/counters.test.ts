// The counters behind the start page: KeyServerCount kept exact by SQLite
// triggers (property-tested against GROUP BY), and the "checked in within
// 48 h" counter driven by check-in batches, expiry and recounts.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckinBuffer } from '../../server/agent/checkin-buffer.js';
import type { CheckinRecord } from '../../server/db/agent-store.js';
import { MIGRATIONS_DIR } from '../../server/db/index.js';
import { migrateSqlite } from '../../server/db/migrate.js';
import { openSqlite } from '../../server/db/sqlite.js';
import { SqliteAgentStore } from '../../server/db/sqlite-agent-store.js';
import { PortalEvents } from '../../server/events.js';
import { LiveStats } from '../../server/graphql/live/stats.js';
import { createLogger } from '../../server/log.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { eventually, startApiPortal } from './helpers.js';

const HOUR = 3_600_000;

describe('KeyServerCount triggers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-counters-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exist after every migration (a table rebuild of Server must recreate them)', () => {
    const db = openSqlite(path.join(dir, 'triggers.sqlite'));
    migrateSqlite(db, MIGRATIONS_DIR);
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['Key_count_delete', 'Server_count_delete', 'Server_count_insert', 'Server_count_rekey']));
    db.close();
  });

  it('agree with GROUP BY after any sequence of inserts, deletes, re-keys, key deletions (cascade) and bulk deletes', () => {
    const db = openSqlite(path.join(dir, 'property.sqlite'));
    migrateSqlite(db, MIGRATIONS_DIR);
    db.prepare("INSERT INTO Feed (name, isDefault, createdAt) VALUES ('default', 1, 0)").run();
    let seq = 0;
    const op = fc.oneof(
      fc.record({ t: fc.constant('addKey' as const) }),
      fc.record({ t: fc.constant('addServer' as const), key: fc.nat(6), none: fc.boolean() }),
      fc.record({ t: fc.constant('deleteServer' as const), pick: fc.nat(50) }),
      fc.record({ t: fc.constant('rekey' as const), pick: fc.nat(50), key: fc.nat(6), none: fc.boolean() }),
      fc.record({ t: fc.constant('deleteKey' as const), key: fc.nat(6) }),
      fc.record({ t: fc.constant('deleteMany' as const), key: fc.nat(6) }),
    );
    const keyIds = () => (db.prepare('SELECT id FROM Key ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    const serverIds = () => (db.prepare('SELECT id FROM Server ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        db.exec('DELETE FROM Server; DELETE FROM Key; DELETE FROM KeyServerCount;');
        for (const o of ops) {
          const keys = keyIds();
          const servers = serverIds();
          const keyOf = (n: number, none: boolean) => (none || keys.length === 0 ? null : keys[n % keys.length]!);
          if (o.t === 'addKey') db.prepare('INSERT INTO Key (key, feedId, createdAt) VALUES (?, 1, 0)').run(`k${++seq}`);
          else if (o.t === 'addServer') db.prepare('INSERT INTO Server (serverIdHash, serverIdHint, keyId, registeredAt) VALUES (?, ?, ?, 0)').run(`h${++seq}`, 'x', keyOf(o.key, o.none));
          else if (o.t === 'deleteServer' && servers.length) db.prepare('DELETE FROM Server WHERE id = ?').run(servers[o.pick % servers.length]);
          else if (o.t === 'rekey' && servers.length) db.prepare('UPDATE Server SET keyId = ? WHERE id = ?').run(keyOf(o.key, o.none), servers[o.pick % servers.length]);
          else if (o.t === 'deleteKey' && keys.length) db.prepare('DELETE FROM Key WHERE id = ?').run(keys[o.key % keys.length]);
          else if (o.t === 'deleteMany' && keys.length) db.prepare('DELETE FROM Server WHERE keyId = ?').run(keys[o.key % keys.length]);
        }
        const truth = db.prepare('SELECT COALESCE(keyId, 0) AS k, COUNT(*) AS n FROM Server GROUP BY COALESCE(keyId, 0) ORDER BY k').all();
        const kept = db.prepare('SELECT keyId AS k, count AS n FROM KeyServerCount WHERE count <> 0 ORDER BY k').all();
        expect(kept).toEqual(truth);
        // no counter lingers for a deleted key
        expect(db.prepare('SELECT COUNT(*) AS n FROM KeyServerCount WHERE keyId <> 0 AND keyId NOT IN (SELECT id FROM Key)').get()).toEqual({ n: 0 });
      }),
      { numRuns: 150 },
    );
    db.close();
  });
});

describe('the live "checked in within 48 hours" counter', () => {
  let portal: Awaited<ReturnType<typeof startApiPortal>>;
  beforeAll(async () => {
    portal = await startApiPortal();
  });
  afterAll(async () => {
    await portal.stop();
  });

  const record = (serverRowId: number, at: number): CheckinRecord => ({
    serverRowId, at, ip: '10.0.0.1', hostname: null, kernelId: 'k'.repeat(40), effectiveKernel: null, release: null, machine: null, distro: null,
    distroVersion: null, agentVersion: null, hasPayload: false, patchLevel: null, patchType: null, uptime: null, virt: null, changed: true,
  });

  it('follows check-ins (no query), expiry (a small index range) and deletions (recount)', async () => {
    const p = portal.app.db.prisma;
    const T = Date.UTC(2030, 0, 10);
    let now = T;
    const mk = (name: string, last: number | null) => p.server.create({ data: { serverIdHash: name.padEnd(64, '0'), serverIdHint: name, hostname: name, lastCheckinAt: last === null ? null : new Date(last) } });
    const a = await mk('a', T - 1 * HOUR);
    await mk('b', T - 47 * HOUR);
    const c = await mk('c', T - 50 * HOUR);
    const d = await mk('d', null);

    const events = new PortalEvents();
    const log = createLogger('silent');
    const stats = new LiveStats({ prisma: p, events, now: () => now, log }, { expiryIntervalMs: 20, recountIntervalMs: 60_000, recountDelayMs: 20, publishIntervalMs: 10 });
    const conn = openSqlite(portal.app.config.dbFile!, { busyTimeoutMs: 0 });
    const buffer = new CheckinBuffer(new SqliteAgentStore(conn), events, log, 1000);
    try {
      await stats.start();
      expect(stats.checkedIn).toBe(2); // a, b

      const flushed: { count: number; firstOfServers: number; newlyActive?: number }[] = [];
      events.on('checkins', (e) => void flushed.push(e));
      buffer.add(record(c.id, now));
      buffer.add(record(a.id, now));
      buffer.flush();
      expect(flushed.at(-1)).toEqual({ count: 2, firstOfServers: 0, newlyActive: 1 });
      expect(stats.checkedIn).toBe(3); // c came back; a already counted

      now = T + 2 * HOUR; // b (T-47h) leaves the window
      await new Promise((r) => setTimeout(r, 60));
      expect(stats.checkedIn).toBe(2);

      buffer.add(record(d.id, now)); // first check-in ever
      buffer.flush();
      expect(flushed.at(-1)).toEqual({ count: 1, firstOfServers: 1, newlyActive: 1 });
      expect(stats.checkedIn).toBe(3);

      await p.server.delete({ where: { id: a.id } });
      events.emit('serverUnregistered', { count: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(stats.checkedIn).toBe(2);
      expect(stats.checkedIn).toBe(await p.server.count({ where: { lastCheckinAt: { gte: new Date(now - 48 * HOUR) } } }));
    } finally {
      await stats.stop();
      conn.close();
      await p.server.deleteMany({ where: { serverIdHint: { in: ['a', 'b', 'c', 'd'] } } });
    }
  });

  it('the stats query matches the database after real agents register, check in, unregister and lose their key', async () => {
    const key = await buildKey(portal.app, { key: 'count-key' });
    const other = await buildKey(portal.app, { key: 'count-other' });
    const agents = Array.from({ length: 6 }, (_, i) => new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: `c${i}` }));
    for (const [i, a] of agents.entries()) expect((await a.register(i < 4 ? key.key : other.key)).code).toBe(0);
    for (const a of agents.slice(0, 5)) await a.checkin();
    await agents[5]!.unregister();
    const admin = await portal.admin();
    await admin.request('mutation { deleteKey(key: "count-other") { serversDeleted } }');
    const p = portal.app.db.prisma;
    type Stats = { totalServers: number; checkedInLast48h: number; keyInventory: { key: string; serverCount: number }[] };
    let stats: Stats | undefined;
    // check-ins are flushed every 50 ms here, and deletions trigger a recount 1 s later
    await eventually(async () => {
      stats = (await admin.request<{ stats: Stats }>('{ stats { totalServers checkedInLast48h keyInventory { key serverCount } } }')).data!.stats;
      const active = await p.server.count({ where: { lastCheckinAt: { gte: new Date(Date.now() - 48 * HOUR) } } });
      return stats.totalServers === (await p.server.count()) && stats.checkedInLast48h === active;
    }, 4000, 100);
    stats = stats!;
    expect(stats.keyInventory.find((k) => k.key === 'count-key')).toEqual({ key: 'count-key', serverCount: 4 });
    expect(stats.keyInventory.find((k) => k.key === 'count-other')).toBeUndefined();
  });
});
