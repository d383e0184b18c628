import type BetterSqlite3 from 'better-sqlite3';
import type { AgentServer, AgentStore, CheckinBatchResult, CheckinRecord, RegisterInput, RegisterResult, ServerSnapshot } from './agent-store.js';

/** AgentStore over better-sqlite3 prepared statements. */
export class SqliteAgentStore implements AgentStore {
  private readonly stmts;
  private defaultFeed: number | null = null;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.stmts = {
      findServerFeed: db.prepare(
        `SELECT s.id AS rowId, s.keyId AS keyId, k.feedId AS feedId FROM Server s LEFT JOIN Key k ON k.id = s.keyId WHERE s.serverIdHash = ?`,
      ),
      findServer: db.prepare(
        `SELECT s.id AS rowId, s.keyId AS keyId, k.feedId AS feedId, s.ip, s.hostname, s.kernelId, s.effectiveKernel, s.release,
                s.machine, s.distro, s.distroVersion, s.agentVersion, s.patchLevel, s.patchType, s.virt
           FROM Server s LEFT JOIN Key k ON k.id = s.keyId WHERE s.serverIdHash = ?`,
      ),
      keyForRegister: db.prepare('SELECT id, serverLimit FROM Key WHERE key = ?'),
      // KeyServerCount is kept exact by triggers: no COUNT over the key's servers while holding the write lock
      countServers: db.prepare('SELECT count FROM KeyServerCount WHERE keyId = ?').pluck(),
      insertServer: db.prepare(
        `INSERT INTO Server (serverIdHash, serverIdHint, keyId, hostname, ip, registeredAt) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      deleteServer: db.prepare('DELETE FROM Server WHERE serverIdHash = ?'),
      serverRowId: db.prepare('SELECT id FROM Server WHERE serverIdHash = ?'),
      deleteTags: db.prepare('DELETE FROM ServerTag WHERE serverId = ?'),
      insertTag: db.prepare('INSERT OR REPLACE INTO ServerTag (serverId, name, value) VALUES (?, ?, ?)'),
      keyExists: db.prepare('SELECT 1 FROM Key WHERE key = ?'),
      defaultFeed: db.prepare('SELECT id FROM Feed WHERE isDefault = 1'),
      previousCheckin: db.prepare('SELECT lastCheckinAt FROM Server WHERE id = ?').pluck(),
      touch: db.prepare('UPDATE Server SET lastCheckinAt = ?, uptime = COALESCE(?, uptime) WHERE id = ?'),
      checkin: db.prepare(
        `UPDATE Server SET lastCheckinAt = ?, ip = ?, hostname = COALESCE(?, hostname), kernelId = ?,
           effectiveKernel = COALESCE(?, effectiveKernel), release = COALESCE(?, release), machine = COALESCE(?, machine),
           distro = COALESCE(?, distro), distroVersion = COALESCE(?, distroVersion), agentVersion = COALESCE(?, agentVersion),
           patchLevel = CASE WHEN ? THEN ? ELSE patchLevel END, patchType = COALESCE(?, patchType), uptime = COALESCE(?, uptime), virt = COALESCE(?, virt)
         WHERE id = ?`,
      ),
    };
  }

  findServer(idHash: string, withSnapshot = false): AgentServer | null {
    // file downloads only need the feed: the narrower statement is measurably cheaper
    const stmt = withSnapshot ? this.stmts.findServer : this.stmts.findServerFeed;
    const row = stmt.get(idHash) as (ServerSnapshot & { rowId: number; keyId: number | null; feedId: number | null }) | undefined;
    if (!row) return null;
    const { rowId, keyId, feedId, ...snapshot } = row;
    return { rowId, keyId, feedId: feedId ?? this.defaultFeedId(), snapshot: withSnapshot ? snapshot : null };
  }

  register(input: RegisterInput): RegisterResult {
    // IMMEDIATE takes the write lock before counting, so two registrations
    // (in this process or another) cannot both see room for one more server.
    return this.db
      .transaction((): RegisterResult => {
        const key = this.stmts.keyForRegister.get(input.key) as { id: number; serverLimit: number | null } | undefined;
        if (!key) return { code: 2 };
        if (key.serverLimit !== null) {
          const n = (this.stmts.countServers.get(key.id) as number | undefined) ?? 0;
          if (n >= key.serverLimit) return { code: 3 };
        }
        const info = this.stmts.insertServer.run(input.idHash, input.idHint, key.id, input.hostname, input.ip, input.at);
        return { code: 0, rowId: Number(info.lastInsertRowid) };
      })
      .immediate();
  }

  unregister(idHash: string): boolean {
    return this.stmts.deleteServer.run(idHash).changes > 0;
  }

  setTags(idHash: string, tags: { name: string; value: string | null }[]): boolean {
    return this.db
      .transaction(() => {
        const row = this.stmts.serverRowId.get(idHash) as { id: number } | undefined;
        if (!row) return false;
        this.stmts.deleteTags.run(row.id);
        for (const t of tags) this.stmts.insertTag.run(row.id, t.name, t.value);
        return true;
      })
      .immediate();
  }

  keyExists(key: string): boolean {
    return this.stmts.keyExists.get(key) !== undefined;
  }

  defaultFeedId(): number {
    // The default feed can be renamed but never deleted, so its id is stable.
    this.defaultFeed ??= (this.stmts.defaultFeed.get() as { id: number }).id;
    return this.defaultFeed;
  }

  applyCheckins(batch: CheckinRecord[], activeWindowMs?: number): CheckinBatchResult {
    const result: CheckinBatchResult = { firstOfServers: 0, newlyActive: 0 };
    if (batch.length === 0) return result;
    const s = this.stmts.checkin;
    const previous = this.stmts.previousCheckin;
    const touch = this.stmts.touch;
    this.db
      .transaction(() => {
        result.firstOfServers = 0;
        result.newlyActive = 0;
        for (const c of batch) {
          if (activeWindowMs !== undefined) {
            // a point read by primary key: ~1 µs, and it spares the counters a COUNT over Server
            const prev = previous.get(c.serverRowId) as number | null | undefined;
            if (prev === null) result.firstOfServers++;
            if (prev === null || (prev !== undefined && prev < c.at - activeWindowMs)) result.newlyActive++;
          }
          // most check-ins change nothing but the time: the narrow UPDATE leaves the indexes alone
          if (!c.changed) touch.run(c.at, c.uptime, c.serverRowId);
          else s.run(c.at, c.ip, c.hostname, c.kernelId, c.effectiveKernel, c.release, c.machine, c.distro, c.distroVersion,
            c.agentVersion, c.hasPayload ? 1 : 0, c.patchLevel, c.patchType, c.uptime, c.virt, c.serverRowId);
        }
      })
      .immediate();
    return result;
  }

  close(): void {}
}
