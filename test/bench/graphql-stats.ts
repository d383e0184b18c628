// Benchmark of the live start page at fleet scale: 1,000,000 servers in the
// database, 50 graphql-ws subscribers to statsUpdated, check-ins at 1,000/s.
// Measures the stats query latency (idle and under load), the subscription
// update latency (a registration until each subscriber sees it), updates per
// second per subscriber (coalescing), and what the counters cost.
//
//   npx tsx test/bench/graphql-stats.ts [--servers 1000000] [--seconds 20] [--subscribers 50] [--rate 1000] [--profile]
//
// The portal runs as its own process (tsx server/main.ts, killed by the
// watchdog if this script dies); servers are seeded with raw better-sqlite3
// inserts in one transaction (the KeyServerCount triggers fire as in production).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createClient, type Client } from 'graphql-ws';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { addUser } from '../../server/commands/users.js';
import { createApiToken } from '../../server/commands/tokens.js';
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/db/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const HOUR = 3_600_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const SERVERS = arg('servers', 1_000_000);
const SECONDS = arg('seconds', 20);
const SUBSCRIBERS = arg('subscribers', 50);
const RATE = arg('rate', 1000);
const KEYS = 100;

const serverId = (i: number) => `benchsrv${String(i).padStart(8, '0')}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s.at(-1) ?? NaN), mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user+system) and RSS of a process, from /proc. */
function procUsage(pid: number): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpu: ticks / 100, rssMb: Math.round(Number(rss) / 1024) };
}

async function seed(dataDir: string): Promise<{ token: string; key: string; seedSeconds: number; activeAtSeed: number }> {
  const config = loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir });
  const db = await openDatabase(config); // migrations, default feed
  const admin = await addUser(db.prisma, 'bench', 'bench password 1');
  const { token } = await createApiToken(db.prisma, admin.id, { name: 'bench' });
  await db.close();

  const sqlite = new Database(config.dbFile!);
  sqlite.pragma('journal_mode = WAL');
  const t0 = performance.now();
  const now = Date.now();
  let active = 0;
  sqlite.transaction(() => {
    const addKey = sqlite.prepare('INSERT INTO Key (key, description, feedId, createdAt) VALUES (?, ?, 1, ?)');
    for (let k = 0; k < KEYS; k++) addKey.run(`bench-key-${k}`, `key ${k}`, now);
    const add = sqlite.prepare(
      `INSERT INTO Server (serverIdHash, serverIdHint, keyId, hostname, ip, kernelId, effectiveKernel, patchLevel, registeredAt, lastCheckinAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let i = 0; i < SERVERS; i++) {
      // 70% checked in within 48 h, 30% quiet for 2 to 30 days
      const recent = i % 10 < 7;
      if (recent) active++;
      const last = recent ? now - ((i * 7919) % (47 * HOUR)) : now - 49 * HOUR - ((i * 104_729) % (28 * 24 * HOUR));
      add.run(sha256(serverId(i)), 'benc', (i % KEYS) + 1, `host-${i}.example.com`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        createHash('sha1').update(`kernel ${i % 50}`).digest('hex'), '5.14.0-362.el9.x86_64', i % 7, now - 90 * 24 * HOUR, last);
    }
  })();
  const seedSeconds = (performance.now() - t0) / 1000;
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  return { token, key: 'bench-key-0', seedSeconds, activeAtSeed: active };
}

/** Costs of the counters' own queries at this size, measured on a separate connection. */
function counterCosts(dbFile: string) {
  const db = new Database(dbFile, { readonly: true });
  const time = (fn: () => unknown, n = 5) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    return Math.round(((performance.now() - t) / n) * 100) / 100;
  };
  const since = Date.now() - 48 * HOUR;
  const res = {
    recountMs: time(() => db.prepare('SELECT COUNT(*) FROM Server WHERE lastCheckinAt >= ?').get(since)),
    expiryTickMs: time(() => db.prepare('SELECT COUNT(*) FROM Server WHERE lastCheckinAt >= ? AND lastCheckinAt < ?').get(since - 10_000, since), 50),
    countersTableMs: time(() => db.prepare('SELECT keyId, count FROM KeyServerCount').all(), 50),
    fullGroupByMs: time(() => db.prepare('SELECT keyId, COUNT(*) FROM Server GROUP BY keyId').all(), 2),
  };
  db.close();
  return res;
}

async function startPortal(dataDir: string, port: number): Promise<ChildProcess> {
  const profile = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(os.tmpdir(), 'eportal-bench-prof')}`] : [];
  const proc = spawn(process.execPath, [...profile, '--import', path.join(HERE, 'watchdog.mjs'), '--import', 'tsx', 'server/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH, EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir, EPORTAL_HOST: '127.0.0.1', EPORTAL_PORT: String(port), EPORTAL_LOG_LEVEL: 'warn', EPORTAL_SYNC_CRON: '0 0 1 1 *' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 120_000;
  while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
    if (proc.exitCode !== null) throw new Error('portal exited during start-up');
    if (Date.now() > deadline) throw new Error('portal did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return proc;
}

interface StatsData {
  totalServers: number;
  checkedInLast48h: number;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-bench-gql-'));
  let portal: ChildProcess | null = null;
  const clients: Client[] = [];
  try {
    console.log(`seeding ${SERVERS.toLocaleString()} servers over ${KEYS} keys...`);
    const seeded = await seed(dataDir);
    const dbFile = path.join(dataDir, 'eportal.sqlite');
    const costs = counterCosts(dbFile);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const tStart = performance.now();
    portal = await startPortal(dataDir, port);
    const startSeconds = (performance.now() - tStart) / 1000;
    const pid = portal.pid!;

    const dispatcher = new Agent({ connections: 32, pipelining: 1, keepAliveTimeout: 30_000 });
    const gql = async <T>(query: string): Promise<T> => {
      const res = await request(`${url}/graphql`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', 'x-api-key': seeded.token }, body: JSON.stringify({ query }) });
      const body = (await res.body.json()) as { data: T; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const STATS_QUERY = '{ stats { totalServers checkedInLast48h keyInventory { key serverCount } } }';
    const queryLatency = async (n: number, gapMs: number) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await gql(STATS_QUERY);
        samples.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      return samples;
    };
    await queryLatency(20, 5); // warm up
    const idle = summary(await queryLatency(100, 10));

    // 50 subscribers, each on its own connection
    const latest: StatsData[] = [];
    const updates: number[] = [];
    const waiters: { sub: number; total: number; t0: number; resolve: (ms: number) => void }[] = [];
    for (let s = 0; s < SUBSCRIBERS; s++) {
      const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { apiKey: seeded.token }, retryAttempts: 0 });
      clients.push(client);
      updates.push(0);
      await new Promise<void>((ready) => {
        client.subscribe<{ statsUpdated: StatsData }>({ query: 'subscription { statsUpdated { totalServers checkedInLast48h keyInventory { key serverCount } } }' }, {
          next: (v) => {
            const d = v.data!.statsUpdated;
            if (latest[s] === undefined) ready();
            latest[s] = d;
            updates[s]!++;
            for (let i = waiters.length - 1; i >= 0; i--) {
              const w = waiters[i]!;
              if (w.sub === s && d.totalServers >= w.total) {
                waiters.splice(i, 1);
                w.resolve(performance.now() - w.t0);
              }
            }
          },
          error: (e) => console.error('subscription error', e),
          complete: () => {},
        });
      });
    }

    // check-ins at RATE/s for SECONDS, spread over all servers (30% of them bring a quiet server back)
    let sent = 0;
    let ok = 0;
    const checkinLatency: number[] = [];
    let running = true;
    const load = (async () => {
      const t0 = performance.now();
      const khash = createHash('sha1').update('kernel 0').digest('hex');
      const inflight = new Set<Promise<void>>();
      while (running) {
        const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
        while (sent < due) {
          const i = (sent * 104_729 + 17) % SERVERS;
          sent++;
          const t = performance.now();
          const p = request(`${url}/${khash}/latest.v2`, { dispatcher, headers: { authorization: `Basic ${Buffer.from(`${serverId(i)}:kernelcare`).toString('base64')}` } })
            .then(async (res) => {
              await res.body.dump();
              if (res.statusCode === 200 || res.statusCode === 404) ok++;
              checkinLatency.push(performance.now() - t);
            }, () => {})
            .finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(inflight);
    })();

    const cpu0 = procUsage(pid);
    const t0 = performance.now();
    for (let s = 0; s < SUBSCRIBERS; s++) updates[s] = 0;

    // a registration every ~550 ms: how long until every subscriber sees the new total
    const subLatency: number[] = [];
    const registrations = (async () => {
      let n = 0;
      while (performance.now() - t0 < SECONDS * 1000 - 1500) {
        const before = Math.max(...latest.map((l) => l.totalServers));
        const res = await request(`${url}/admin/api/kcare/register_server.plain?hostname=bench-new-${n++}&key=${seeded.key}`, { dispatcher });
        const text = await res.body.text();
        const tReg = performance.now();
        if (!/code:\s*0/.test(text)) throw new Error(`registration failed: ${text}`);
        const seen = await Promise.all(latest.map((_l, s) => new Promise<number>((resolve) => waiters.push({ sub: s, total: before + 1, t0: tReg, resolve }))));
        subLatency.push(...seen);
        // jitter, so registrations do not fall in step with the 250 ms publishing cadence
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 300));
      }
    })();
    const underLoad = summary(await queryLatency(Math.floor((SECONDS * 1000 - 1000) / 60), 50));
    await registrations;
    const elapsed = (performance.now() - t0) / 1000;
    running = false;
    await load;
    const cpu1 = procUsage(pid);
    const final = await gql<{ stats: StatsData }>(STATS_QUERY);

    const truthDb = new Database(dbFile, { readonly: true });
    const truthActive = (truthDb.prepare('SELECT COUNT(*) AS n FROM Server WHERE lastCheckinAt >= ?').get(Date.now() - 48 * HOUR) as { n: number }).n;
    const truthTotal = (truthDb.prepare('SELECT COUNT(*) AS n FROM Server').get() as { n: number }).n;
    truthDb.close();

    const results = {
      servers: SERVERS,
      subscribers: SUBSCRIBERS,
      seconds: Math.round(elapsed * 10) / 10,
      seedSeconds: Math.round(seeded.seedSeconds * 10) / 10,
      portalStartSeconds: Math.round(startSeconds * 10) / 10,
      checkins: { target: RATE, achievedPerSecond: Math.round(ok / elapsed), latencyMs: summary(checkinLatency) },
      statsQueryMs: { idle, underLoad },
      subscriptionUpdateMs: summary(subLatency),
      updatesPerSubscriberPerSecond: summary(updates.map((u) => u / elapsed)),
      portal: { cpuPercentOfOneCore: Math.round(((cpu1.cpu - cpu0.cpu) / elapsed) * 100), rssMb: cpu1.rssMb },
      counterQueriesMs: costs,
      accuracy: { totalServers: { counter: final.stats.totalServers, truth: truthTotal }, checkedInLast48h: { counter: final.stats.checkedInLast48h, truth: truthActive, atSeed: seeded.activeAtSeed } },
    };
    console.log(JSON.stringify(results, null, 2));
    const out = path.join(HERE, 'results');
    if (existsSync(out)) writeFileSync(path.join(out, 'graphql-stats.json'), JSON.stringify(results, null, 2) + '\n');
    await dispatcher.close();
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    if (portal && portal.exitCode === null) {
      const exited = new Promise((r) => portal!.once('exit', r));
      portal.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
