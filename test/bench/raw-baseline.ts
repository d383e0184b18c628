// The "raw baseline": the least a check-in can cost on this stack. A bare
// node:http server + better-sqlite3 doing per request what the portal does:
// Basic auth → sha256 → server lookup, a naive decode of the hex payload, the
// same UPDATE the portal's check-in batch runs (here one autocommit per
// request, no batching), and the level as text. Same SQLite file contents and
// pragmas (WAL, synchronous=NORMAL) as the portal.
//
// With `--batch-ms N` the UPDATEs are instead coalesced per server and run in
// one transaction every N ms, like the portal's CheckinBuffer: the minimal
// version of what the portal does, i.e. its real upper bound.
//
//   tsx test/bench/raw-baseline.ts --db FILE --port N [--host 127.0.0.1] [--level 17] [--batch-ms 250]
import { createHash } from 'node:crypto';
import http from 'node:http';
import Database from 'better-sqlite3';
import { numArg, parseArgs, strArg } from './lib.js';

const args = parseArgs(process.argv.slice(2));
const file = strArg(args, 'db');
const port = numArg(args, 'port', 0, 1);
const host = strArg(args, 'host') ?? '127.0.0.1';
/** level answered by latest.v2; 0 or less answers 404 like a portal that knows no patchset for the kernel */
const level = numArg(args, 'level', 17, -1);
const batchMs = numArg(args, 'batch-ms', 0, 0);
if (!file || !port) throw new Error('usage: raw-baseline.ts --db FILE --port N');

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.pragma('foreign_keys = ON');

// Same statements as server/db/sqlite-agent-store.ts (findServer, checkin).
const findServer = db.prepare(
  `SELECT s.id AS rowId, s.keyId AS keyId, k.feedId AS feedId
     FROM Server s LEFT JOIN Key k ON k.id = s.keyId WHERE s.serverIdHash = ?`,
);
const checkin = db.prepare(
  `UPDATE Server SET lastCheckinAt = ?, ip = ?, hostname = COALESCE(?, hostname), kernelId = ?,
     effectiveKernel = COALESCE(?, effectiveKernel), release = COALESCE(?, release), machine = COALESCE(?, machine),
     distro = COALESCE(?, distro), distroVersion = COALESCE(?, distroVersion), agentVersion = COALESCE(?, agentVersion),
     patchLevel = CASE WHEN ? THEN ? ELSE patchLevel END, patchType = COALESCE(?, patchType), uptime = COALESCE(?, uptime), virt = COALESCE(?, virt)
   WHERE id = ?`,
);

type Row = [number, string, string | null, string, string | null, string | null, string | null, string | null, string | null,
  string | null, number, number | null, string | null, number | null, string | null, number];
let pending = new Map<number, Row>();
const flushBatch = db.transaction((rows: Iterable<Row>) => {
  for (const r of rows) checkin.run(...r);
});
if (batchMs > 0) {
  setInterval(() => {
    if (pending.size === 0) return;
    const rows = pending.values();
    pending = new Map();
    flushBatch.immediate(rows);
  }, batchMs).unref();
}

const HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
const KHASH = /^[0-9a-f]{40}$/;
// 'key': 'string' | 'key': None | 'key': 123 — nothing fancy
const FIELD = /'([a-z_]+)': (?:'([^'\\]*)'|(None|True|False|-?\d+))/g;

function send(res: http.ServerResponse, status: number, body: string): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...HEADERS, 'Content-Length': buf.length });
  res.end(buf);
}

const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathPart = q < 0 ? url : url.slice(0, q);
  if (pathPart === '/healthz') return send(res, 200, 'ok\n');
  const segs = pathPart.split('/').filter(Boolean);
  const khash = segs[segs.length - 2] ?? '';
  if (segs[segs.length - 1] !== 'latest.v2' || !KHASH.test(khash)) return send(res, 404, 'Not Found\n');

  const auth = req.headers.authorization;
  if (!auth?.startsWith('Basic ')) return send(res, 403, 'Forbidden\n');
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const id = colon < 0 ? decoded : decoded.slice(0, colon);
  const row = findServer.get(createHash('sha256').update(id, 'utf8').digest('hex')) as { rowId: number } | undefined;
  if (!row) return send(res, 403, 'Forbidden\n');

  const f: Record<string, string | null> = {};
  if (q >= 0) {
    const text = Buffer.from(url.slice(q + 1), 'hex').toString('utf8');
    for (const m of text.matchAll(FIELD)) f[m[1]!] = m[2] ?? (m[3] === 'None' ? null : m[3]!);
  }
  const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const str = (k: string) => {
    const v = f[k];
    return typeof v === 'string' ? v.slice(0, 255) : null;
  };
  const patchLevel = f['patch_level'] ? Number(f['patch_level']) : null;
  const uptime = f['uptime'] && /^\d+$/.test(f['uptime']) ? Number(f['uptime']) : null;
  const values: Row = [Date.now(), ip, str('node'), khash, str('euname'), str('release'), str('machine'), str('distro'), str('distro_version'),
    str('kcare_version'), 1, patchLevel, str('patch_type'), uptime, str('virt'), row.rowId];
  if (batchMs > 0) pending.set(row.rowId, values);
  else checkin.run(...values);
  return level > 0 ? send(res, 200, String(level)) : send(res, 404, 'Not Found\n');
});

server.listen(port, host);
const shutdown = () => {
  if (pending.size) flushBatch.immediate(pending.values());
  server.close();
  server.closeAllConnections();
  db.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
