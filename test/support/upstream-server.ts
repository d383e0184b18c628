/**
 * A patch source for tests: a real HTTP server on 127.0.0.1 serving
 * index.json, archives and changelogs in the documented format
 * (docs/patch-source.md) under a path prefix, with Basic auth and Range.
 * Faults can be switched on at any time: a fixed status (401/500), a
 * replaced index body (malformed, enormous), slow bodies, connections
 * dropped mid-file, stalled bodies, corrupted bytes, Range ignored, or the
 * whole server down (connection refused). Every request and connection is
 * logged so tests can prove what reached it (e.g. only through a proxy).
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { BuiltPatchset } from './patchset-fixtures.js';

/** One patchset as the upstream publishes it. */
export interface UpstreamPatchset {
  name: string;
  product: 'kernel' | 'libcare';
  released: string;
  archive: string;
  size: number;
  sha256: string;
  changelog: string;
  channels: string[];
  blocked: boolean;
  bytes: Buffer;
  changelogText: string;
}

/** Switchable misbehaviour. */
export interface UpstreamFaults {
  /** every request is answered with this status */
  status?: number;
  /** index.json body replaced by this */
  indexBody?: string | Buffer;
  /** archive bodies trickle at about this rate */
  bytesPerSecond?: number;
  /** the next `times` archive responses are cut (socket destroyed) after `bytes` body bytes */
  drop?: { bytes: number; times: number };
  /** the next `times` archive responses send `bytes` body bytes, then nothing, without closing */
  stall?: { bytes: number; times: number };
  /** archives served with one byte flipped (the index's sha256 no longer matches) */
  corrupt?: string[];
  /** Range is ignored: always 200 with the whole file */
  noRange?: boolean;
}

/** A request the upstream answered. */
export interface UpstreamRequest {
  method: string;
  path: string;
  range: string | null;
  authorized: boolean;
  status: number;
  remotePort: number;
}

/** The running test upstream. */
export interface TestUpstream {
  /** the patch source URL to configure (with a path prefix, no credentials) */
  url: string;
  port: number;
  user: string;
  password: string;
  faults: UpstreamFaults;
  requests: UpstreamRequest[];
  /** remote ports of every TCP connection accepted */
  connectionPorts: number[];
  patchsets: Map<string, UpstreamPatchset>;
  /** Publishes a built patchset (archive and changelog read from disk). */
  publish(p: BuiltPatchset, meta?: Partial<Pick<UpstreamPatchset, 'released' | 'channels' | 'blocked' | 'product' | 'sha256'>>): Promise<UpstreamPatchset>;
  /** Changes what the index says about a published patchset. */
  update(name: string, patch: Partial<Pick<UpstreamPatchset, 'channels' | 'blocked' | 'sha256'>>): void;
  /** Stops listing a patchset (its files stay reachable). */
  unpublish(name: string): void;
  /** The index.json value as served. */
  index(): { patchsets: Record<string, unknown>[] };
  /** Archive GETs seen so far (optionally for one patchset). */
  archiveRequests(name?: string): UpstreamRequest[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const PREFIX = '/mirror/kernelcare';

/** Starts the upstream on an ephemeral 127.0.0.1 port. */
export async function startUpstream(opts: { user?: string; password?: string } = {}): Promise<TestUpstream> {
  const user = opts.user ?? 'mirror-user';
  const password = opts.password ?? 'mirror-pass:with:colons';
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const sockets = new Set<Socket>();
  const patchsets = new Map<string, UpstreamPatchset>();
  const listed = new Set<string>();

  const up: TestUpstream = {
    url: '',
    port: 0,
    user,
    password,
    faults: {},
    requests: [],
    connectionPorts: [],
    patchsets,
    async publish(p, meta = {}) {
      const bytes = await readFile(p.archivePath);
      const entry: UpstreamPatchset = {
        name: p.name,
        product: meta.product ?? (p.name.startsWith('U') ? 'libcare' : 'kernel'),
        released: meta.released ?? releasedFromName(p.name),
        archive: p.archivePath.split('/').pop()!,
        size: bytes.length,
        sha256: meta.sha256 ?? p.sha256,
        changelog: `${p.name}.changelog`,
        channels: meta.channels ?? ['default'],
        blocked: meta.blocked ?? false,
        bytes,
        changelogText: await readFile(p.changelogPath, 'utf8'),
      };
      patchsets.set(p.name, entry);
      listed.add(p.name);
      return entry;
    },
    update(name, patch) {
      Object.assign(patchsets.get(name)!, patch);
    },
    unpublish(name) {
      listed.delete(name);
    },
    index() {
      return {
        patchsets: [...patchsets.values()].filter((p) => listed.has(p.name)).map((p) => ({
          name: p.name, product: p.product, released: p.released, archive: p.archive, size: p.size, sha256: p.sha256,
          changelog: p.changelog, channels: p.channels, blocked: p.blocked, vendor_note: 'unknown fields are ignored',
        })),
      };
    },
    archiveRequests(name) {
      return up.requests.filter((r) => /\.tar\.(gz|bz2|zst)$/.test(r.path) && (!name || r.path.includes(name)));
    },
    down: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    up: () => new Promise<void>((r) => server.listen(up.port, '127.0.0.1', () => r())),
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server = http.createServer((req, res) => {
    const rec: UpstreamRequest = { method: req.method ?? '', path: req.url ?? '', range: req.headers.range ?? null, authorized: req.headers.authorization === expected, status: 0, remotePort: req.socket.remotePort ?? 0 };
    up.requests.push(rec);
    res.on('finish', () => (rec.status = res.statusCode));
    res.on('close', () => (rec.status ||= res.statusCode));
    if (up.faults.status) return void res.writeHead(up.faults.status).end('fault\n');
    if (!rec.authorized) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="patches"' }).end('login required\n');
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    if (!path.startsWith(`${PREFIX}/`)) return void res.writeHead(404).end();
    const file = path.slice(PREFIX.length + 1);
    if (file === 'index.json') {
      const body = up.faults.indexBody ?? JSON.stringify(up.index());
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    const p = [...patchsets.values()].find((x) => x.archive === file || x.changelog === file);
    if (!p) return void res.writeHead(404).end();
    if (file === p.changelog) return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(p.changelogText);
    serveArchive(up.faults, req, res, p);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    up.connectionPorts.push(s.remotePort ?? 0);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  up.port = (server.address() as AddressInfo).port;
  up.url = `http://127.0.0.1:${up.port}${PREFIX}`;
  return up;
}

function serveArchive(f: UpstreamFaults, req: http.IncomingMessage, res: http.ServerResponse, p: UpstreamPatchset): void {
  let bytes = p.bytes;
  if (f.corrupt?.includes(p.name)) {
    bytes = Buffer.from(bytes);
    bytes[bytes.length >> 1]! ^= 0xff;
  }
  let start = 0;
  let end = bytes.length - 1;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m && !f.noRange) {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), end) : end;
    if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
  } else {
    res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
  }
  let body = bytes.subarray(start, end + 1);
  let cut: 'drop' | 'stall' | null = null;
  for (const kind of ['drop', 'stall'] as const) {
    const fault = f[kind];
    if (fault && fault.times > 0 && body.length > fault.bytes) {
      fault.times--;
      body = body.subarray(0, fault.bytes);
      cut = kind;
      break;
    }
  }
  const finish = () => {
    if (cut === 'drop') res.socket?.destroy();
    else if (cut === null) res.end();
    // stall: leave the response open and silent
  };
  if (!f.bytesPerSecond) {
    res.write(body, finish);
    return;
  }
  const chunk = 16 * 1024;
  const delay = (chunk / f.bytesPerSecond) * 1000;
  let off = 0;
  const tick = () => {
    if (res.destroyed) return;
    if (off >= body.length) return finish();
    res.write(body.subarray(off, off + chunk));
    off += chunk;
    setTimeout(tick, delay);
  };
  tick();
}

function releasedFromName(name: string): string {
  const m = /(\d{4})(\d{2})(\d{2})_(\d+)$/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : '2024-01-01T00:00:00Z';
}

/** Tuning that keeps fault tests fast: short timeouts, millisecond back-off, no disk reserve. */
export const FAST_TUNING = {
  attempts: 3,
  backoffBaseMs: 10,
  backoffMaxMs: 40,
  connectTimeoutMs: 2000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 400,
  lockTtlMs: 5000,
  lockWaitPollMs: 20,
  reserveBytes: 0,
} as const;
