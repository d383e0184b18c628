// Patch benchmark (issue 3): patch-file downloads, latest.v2 lookups, deploy
// and rollback — the figures of the issue note.
//
//   npx tsx test/bench/run.ts --only patches          (or --only files,lookups,deploy, any subset)
//   npx tsx test/bench/patches.ts [--only files,lookups,deploy] [options]     (same thing)
//
// The portal is the built one (dist/server/main.js, `npm run build` first, as
// for the check-in benchmark); the in-process parts (import, deploy, index)
// run the TypeScript sources through tsx.
//
// What it does (every server and load generator is its own process):
//   1. builds real patchset archives with test/support/patchset-fixtures.ts:
//      - "lookup" sets: --lookup-sets (20) archives over --kernels (10,000)
//        kernels, tiny files (binSize 128, gz); the first --big-sets (4)
//        carry --big-set-kernels (2,000) kernels each, the others share the
//        rest (125 each); set i carries level i. Each kernel is in one set, so
//        the store holds 10,000 kernels x 6 files = 60,000 files: every
//        kernel in all 20 sets would be 1.2 M files, ~15 minutes of build +
//        import here (the full 10,000 x 20 matrix is measured in memory, 5.);
//      - one "files" set: --file-kernels (4) kernels with kcare.ko and
//        kpatch.bin of --file-size bytes (4 MiB), level 30;
//      - --deploy-sets (200) small sets of --deploy-kernels (3) kernels each;
//   2. imports the lookup and files sets with importPatchset into the portal's
//      data directory (in-process, before the portal starts), deploys them all
//      to the default feed with deployUpTo, then seeds --servers (100,000)
//      servers with raw better-sqlite3 (one key on the default feed);
//   3. starts the portal and the raw baseline (test/bench/patches-static.ts:
//      node:http + fs.stat + fs.createReadStream of the same files, no auth;
//      latest.v2 from a Map), checks bytes, Range, 403 and 404 on both;
//   4. "files": large files (kpatch.bin / kcare.ko of the files set) and
//      small files (kpatch.info, kpatch.info.sig, kpatch.bin.sig, kcare.ko.sig
//      of the 10,000 lookup kernels), and the .sig of extra files a level's
//      kpatch.fixups lists (served only after reading that list); every
//      request with the Basic auth of a different server (--distinct, 20,000,
//      drawn from the 100,000); keep-alive and Connection: close (the agent's
//      way), portal and baseline one after the other
//      (test/bench/patches-load.ts, raw sockets, body bytes counted and
//      checked against the expected file sizes);
//   5. "lookups": <khash>/latest.v2 over all 10,000 kernels (no credentials =
//      default feed, the pure index lookup; keep-alive and close, vs the Map
//      baseline) and once with Basic auth (identify + check-in record); then
//      the time from a rollback / deploy in another process until latest.v2
//      shows it (and the slowest latest.v2 meanwhile); the portal's RSS;
//      in-process FeedIndex reload (time, longest event-loop block) and
//      latest() on the real index and on a copy filled to the full
//      10,000 x 20 matrix;
//   6. "deploy": 200 small patchsets imported into a fresh store (A), and the
//      same count in the lookup store (B: 200 patchsets, 4 of them with
//      2,000 kernels / 12,000 files each, ~60,000 files): deployUpTo(last)
//      and rollBackFrom(first) on a fresh feed (all 200), then the daily case
//      (one new set onto 199, roll back the newest), --deploy-rounds (5) times,
//      FeedIndex.reload() after each, and a check that no file in the store
//      was created, removed or modified; plus one import on the real disk
//      when the temp root is tmpfs (files/s of importPatchset);
//   then prints a table and writes test/bench/results/last-patches.json.
//
// Options (defaults): --only files,lookups,deploy  --servers 100000  --distinct 20000
//   --kernels 10000 --lookup-sets 20 --big-sets 4 --big-set-kernels 2000
//   --file-kernels 4 --file-size 4194304  --deploy-sets 200 --deploy-kernels 3 --deploy-rounds 5
//   --duration 6 --warmup 1 (seconds per run)  --connections 32 (small files, lookups)
//   --large-connections 8  --close-concurrency 32
//   --rounds 1 (runs per target, interleaved; the median round is reported)
//   --wait-quiet 0 (before each run wait up to N s for the rest of the machine to go idle)
//   --tmp DIR (temp root; default /dev/shm when present, so building and
//   importing 60,000 files stays within the time budget; file serving reads
//   from the page cache either way; the disk-import figure shows the disk)
//   --keep (keep the temp root)
// Runs in ~3-3.5 minutes on 2 cores (about half of it building and importing
// archives). The portal logs at `warn` (its lines are prefixed [portal]).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey, generateServerId, hashServerId, serverIdHint } from '../../server/agent/server-id.js';
import type { Config } from '../../server/config.js';
import { openDatabase, type Database } from '../../server/db/index.js';
import { openSqlite } from '../../server/db/sqlite.js';
import { createLogger } from '../../server/log.js';
import { deployUpTo, rollBackFrom } from '../../server/patches/deploy.js';
import { FeedIndex } from '../../server/patches/feed-index.js';
import { importPatchset, type ImportResult } from '../../server/patches/store.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildPatchset, makeKernels, type BuiltPatchset, type FixtureKernel } from '../support/patchset-fixtures.js';
import {
  BENCH_DIR, freePort, killAllChildren, machineBusyPct, numArg, parseArgs, procMemory, REPO_DIR, round, runLoadChild, sleep, spawnNode,
  stopProcess, strArg, waitReady, type ProcMemory, type Spawned,
} from './lib.js';
import type { FileLoadResult, FileLoadSpec, FileRequestSpec } from './patches-load.js';

const HOST = '127.0.0.1';
const MAIN = path.join(REPO_DIR, 'dist/server/main.js');
const RESULTS_FILE = path.join(BENCH_DIR, 'results/last-patches.json');
const PHASES = ['files', 'lookups', 'deploy'] as const;
type Phase = (typeof PHASES)[number];
const TINY = 128;
const FILES_LEVEL = 30;
const SMALL_FILES = ['kpatch.info', 'kpatch.info.sig', 'kpatch.bin.sig', 'kcare.ko.sig'] as const;

type Opt = ReturnType<typeof parseOptions>;

function parseOptions(argv: readonly string[]) {
  const args = parseArgs(argv);
  const only = new Set<Phase>();
  for (const p of (strArg(args, 'only') ?? 'patches').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (p === 'patches') PHASES.forEach((x) => only.add(x));
    else if ((PHASES as readonly string[]).includes(p)) only.add(p as Phase);
    else throw new Error(`--only: unknown phase ${p} (patches = files,lookups,deploy)`);
  }
  const tmpDefault = existsSync('/dev/shm') && statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir();
  const o = {
    only,
    servers: numArg(args, 'servers', 100_000, 1),
    distinct: numArg(args, 'distinct', 20_000, 1),
    kernels: numArg(args, 'kernels', 10_000, 1),
    lookupSets: numArg(args, 'lookup-sets', 20, 1),
    bigSets: numArg(args, 'big-sets', 4, 0),
    bigSetKernels: numArg(args, 'big-set-kernels', 2_000, 1),
    fileKernels: numArg(args, 'file-kernels', 4, 1),
    fileSize: numArg(args, 'file-size', 4 * 1024 * 1024, 1024),
    deploySets: numArg(args, 'deploy-sets', 200, 2),
    deployKernels: numArg(args, 'deploy-kernels', 3, 1),
    deployRounds: numArg(args, 'deploy-rounds', 5, 1),
    duration: numArg(args, 'duration', 6, 1),
    warmup: numArg(args, 'warmup', 1, 0),
    connections: numArg(args, 'connections', 32, 1),
    largeConnections: numArg(args, 'large-connections', 8, 1),
    closeConcurrency: numArg(args, 'close-concurrency', 32, 1),
    rounds: numArg(args, 'rounds', 1, 1),
    waitQuiet: numArg(args, 'wait-quiet', 0, 0),
    tmp: strArg(args, 'tmp') ?? tmpDefault,
    keep: args.has('keep'),
  };
  o.distinct = Math.min(o.distinct, o.servers);
  if (o.bigSets >= o.lookupSets || o.bigSets * o.bigSetKernels >= o.kernels) throw new Error('--big-sets x --big-set-kernels must leave kernels for the other lookup sets');
  if ((o.kernels - o.bigSets * o.bigSetKernels) < o.lookupSets - o.bigSets) throw new Error('--kernels too small for --lookup-sets');
  return o;
}

// ---------------------------------------------------------------- small helpers

let opt!: Opt;
let tmpRoot: string | null = null;
const t0Run = performance.now();
function log(msg: string): void {
  process.stderr.write(`[patches ${((performance.now() - t0Run) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}
const fmt = (v: number, d = 0) => v.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d });
const ms = (t: number) => round(performance.now() - t, 2);

function cleanup(): void {
  killAllChildren('SIGKILL');
  if (tmpRoot && !opt?.keep) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = null;
}

/** K<YYYYMMDD>_01 for `base` + `days`: the name carries the release date, so the order is the date order. */
function setName(base: string, days: number): string {
  const d = new Date(Date.parse(`${base}T00:00:00Z`) + days * 86_400_000);
  return `K${d.toISOString().slice(0, 10).replace(/-/g, '')}_01`;
}

function dbConfig(dataDir: string): Pick<Config, 'dbFile' | 'databaseUrl' | 'dataDir'> {
  const dbFile = path.join(dataDir, 'eportal.sqlite');
  return { dataDir, dbFile, databaseUrl: `file:${dbFile}` };
}

async function defaultFeedId(db: Database): Promise<number> {
  const f = await db.prisma.feed.findFirst({ where: { isDefault: true } });
  if (!f) throw new Error('no default feed');
  return f.id;
}

function fetchBuf(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Files under `dir`: count, bytes, and a digest of (path, size, mtime, ctime, inode) of every entry. */
async function storeSnapshot(dir: string): Promise<{ files: number; dirs: number; bytes: number; digest: string }> {
  const h = createHash('sha256');
  let files = 0;
  let dirs = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      const st = await lstat(p);
      h.update(`${p}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}\n`);
      if (e.isDirectory()) {
        dirs++;
        await walk(p);
      } else {
        files++;
        bytes += st.size;
      }
    }
  };
  await walk(dir);
  return { files, dirs, bytes, digest: h.digest('hex') };
}

/** Source files of the measured path newer than their build in dist/ (the portal runs dist). */
function staleDist(): string[] {
  const out: string[] = [];
  for (const rel of ['agent/patch-server', 'http/send-file', 'http/router', 'patches/feed-index', 'agent/checkin-buffer', 'app', 'db/sqlite-agent-store']) {
    const src = path.join(REPO_DIR, 'server', `${rel}.ts`);
    const built = path.join(REPO_DIR, 'dist/server', `${rel}.js`);
    if (existsSync(src) && (!existsSync(built) || statSync(src).mtimeMs > statSync(built).mtimeMs)) out.push(`server/${rel}.ts`);
  }
  return out;
}

// ---------------------------------------------------------------- build + import

interface LookupSet {
  name: string;
  built: BuiltPatchset;
  kernels: FixtureKernel[];
  level: number;
}

interface Built {
  lookup: LookupSet[];
  files: BuiltPatchset;
  fileKernels: FixtureKernel[];
  small: { name: string; archivePath: string; sha256: string }[];
  /** khash -> expected latest level in the default feed (lookup + files sets deployed) */
  levels: Map<string, number>;
  lookupKernels: FixtureKernel[];
  seconds: Record<string, number>;
}

async function buildArchives(dir: string): Promise<Built> {
  const pool = makeKernels(opt.kernels + opt.fileKernels + opt.deployKernels * 10, 3);
  const lookupKernels = pool.slice(0, opt.kernels);
  const fileKernels = pool.slice(opt.kernels, opt.kernels + opt.fileKernels);
  const smallPool = pool.slice(opt.kernels + opt.fileKernels);
  const seconds: Record<string, number> = {};
  const levels = new Map<string, number>();

  let t = performance.now();
  const lookup: LookupSet[] = [];
  const rest = opt.kernels - opt.bigSets * opt.bigSetKernels;
  const others = opt.lookupSets - opt.bigSets;
  let at = 0;
  for (let i = 1; i <= opt.lookupSets; i++) {
    const n = i <= opt.bigSets ? opt.bigSetKernels : Math.floor(rest / others) + (i - opt.bigSets <= rest % others ? 1 : 0);
    const kernels = lookupKernels.slice(at, at + n);
    at += n;
    const name = setName('2025-01-01', i - 1);
    const built = await buildPatchset({ name, kernels, level: i, binSize: TINY, format: 'gz', outDir: dir });
    for (const k of kernels) levels.set(k.khash, i);
    lookup.push({ name, built, kernels, level: i });
  }
  seconds.lookupSets = round((performance.now() - t) / 1000, 1);
  log(`built ${opt.lookupSets} lookup sets over ${fmt(opt.kernels)} kernels (${fmt(lookup.reduce((a, s) => a + s.built.files.size, 0))} files) in ${seconds.lookupSets} s`);

  t = performance.now();
  const files = await buildPatchset({ name: setName('2025-06-01', 0), kernels: fileKernels, level: FILES_LEVEL, binSize: opt.fileSize, withFixups: true, format: 'gz', outDir: dir });
  for (const k of fileKernels) levels.set(k.khash, FILES_LEVEL);
  seconds.filesSet = round((performance.now() - t) / 1000, 1);

  t = performance.now();
  const small: Built['small'] = [];
  for (let j = 0; j < opt.deploySets; j++) {
    const kernels = Array.from({ length: opt.deployKernels }, (_, x) => smallPool[(j * opt.deployKernels + x) % smallPool.length]!);
    const b = await buildPatchset({ name: setName('2023-01-01', j), kernels, level: j + 1, binSize: TINY, format: 'gz', outDir: dir });
    small.push({ name: b.name, archivePath: b.archivePath, sha256: b.sha256 });
  }
  seconds.smallSets = round((performance.now() - t) / 1000, 1);
  log(`built the files set (${opt.fileKernels} kernels, ${fmt(opt.fileSize)}-byte kpatch.bin/kcare.ko) in ${seconds.filesSet} s and ${opt.deploySets} small sets in ${seconds.smallSets} s`);
  return { lookup, files, fileKernels, small, levels, lookupKernels, seconds };
}

interface ImportStats {
  sets: number;
  files: number;
  seconds: number;
  filesPerSec: number;
  msPerSet: number;
}

async function importAll(db: Database, storeDir: string, list: { name: string; archivePath: string; sha256: string }[]): Promise<ImportStats> {
  const t = performance.now();
  let files = 0;
  for (const a of list) {
    const r: ImportResult = await importPatchset(db.prisma, storeDir, a.archivePath, { name: a.name, expectedSha256: a.sha256 });
    if (r.alreadyPresent) throw new Error(`${a.name} was already present`);
    files += r.files;
  }
  const s = (performance.now() - t) / 1000;
  return { sets: list.length, files, seconds: round(s, 2), filesPerSec: round(files / s, 0), msPerSet: round((s * 1000) / list.length, 1) };
}

/** One key on the default feed and `n` servers with real ids, straight into the (stopped) portal's database. */
function seedServers(dbFile: string, n: number, khash: string): { ids: string[]; seconds: number } {
  const t = performance.now();
  const db = openSqlite(dbFile);
  const now = Date.now();
  const feedId = (db.prepare('SELECT id FROM Feed WHERE isDefault = 1').get() as { id: number }).id;
  const ids = new Array<string>(n);
  db.transaction(() => {
    const keyId = Number(db.prepare('INSERT INTO Key (key, description, serverLimit, feedId, createdAt) VALUES (?, ?, NULL, ?, ?)').run(generateKey(), 'bench', feedId, now).lastInsertRowid);
    const ins = db.prepare(
      `INSERT INTO Server (serverIdHash, serverIdHint, keyId, hostname, ip, kernelId, machine, agentVersion, patchType, virt, registeredAt, lastCheckinAt)
       VALUES (?, ?, ?, ?, ?, ?, 'x86_64', '2.32-1', 'default', 'kvm', ?, ?)`,
    );
    for (let i = 0; i < n; i++) {
      const id = generateServerId();
      ids[i] = id;
      ins.run(hashServerId(id), serverIdHint(id), keyId, `host-${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, khash, now - 30 * 86_400_000, now - 86_400_000);
    }
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { ids, seconds: round((performance.now() - t) / 1000, 2) };
}

// ---------------------------------------------------------------- processes + load

function portalEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EPORTAL_') && !/^(https?_proxy|PROXY|all_proxy)$/i.test(k)) env[k] = v;
  return { ...env, NODE_ENV: 'production', EPORTAL_DATA_DIR: dataDir, EPORTAL_HOST: HOST, EPORTAL_PORT: String(port), EPORTAL_LOG_LEVEL: 'warn', EPORTAL_CONFIG: '/dev/null' };
}

async function waitQuiet(): Promise<void> {
  if (opt.waitQuiet <= 0) return;
  const until = performance.now() + opt.waitQuiet * 1000;
  for (;;) {
    const busy = await machineBusyPct(1000);
    if (busy === null || busy < 25) return;
    if (performance.now() > until) {
      log(`machine still busy (${busy} % of a core used by other processes); running anyway`);
      return;
    }
  }
}

interface Target {
  name: 'portal' | 'static';
  port: number;
  pid: number;
}

interface RunDef {
  id: string;
  label: string;
  mode: 'keepalive' | 'close';
  concurrency: number;
  requests: FileRequestSpec[];
  targets: Target[];
  /** throughput unit of the table: MB/s (large files) or requests/s */
  unit: 'MB/s' | 'req/s';
}

interface RunResult {
  label: string;
  mode: 'keepalive' | 'close';
  concurrency: number;
  unit: 'MB/s' | 'req/s';
  meanBodyBytes: number;
  distinctRequests: number;
  byTarget: Partial<Record<Target['name'], FileLoadResult>>;
  rounds?: Partial<Record<Target['name'], FileLoadResult[]>>;
  /** portal / static, throughput and per server CPU-second */
  ratioPct: number | null;
  ratioPerCpuPct: number | null;
}

const value = (r: FileLoadResult, unit: RunDef['unit']) => (unit === 'MB/s' ? r.mbPerSec : r.rps);
function perCpu(r: FileLoadResult, unit: RunDef['unit']): number | null {
  const pct = r.cpu?.targetPct;
  return pct ? round(value(r, unit) / (pct / 100), unit === 'MB/s' ? 1 : 0) : null;
}

async function runLoads(def: RunDef, dir: string, problems: string[]): Promise<RunResult> {
  const rounds: Partial<Record<Target['name'], FileLoadResult[]>> = {};
  const specFiles = new Map<string, string>();
  for (const t of def.targets) {
    const spec: FileLoadSpec = { host: HOST, port: t.port, requests: def.requests };
    const f = path.join(dir, `${def.id}-${t.name}.spec.json`);
    writeFileSync(f, JSON.stringify(spec));
    specFiles.set(t.name, f);
  }
  for (let r = 1; r <= opt.rounds; r++) {
    for (const t of def.targets) {
      await waitQuiet();
      log(`${def.label} → ${t.name}: ${def.mode}, ${def.concurrency} ${def.mode === 'close' ? 'in flight' : 'connections'}, ${opt.warmup} s warm-up + ${opt.duration} s`);
      const out = path.join(dir, `${def.id}-${t.name}-${r}.out.json`);
      const res = (await runLoadChild(`load-${def.id}-${t.name}`, path.join(BENCH_DIR, 'patches-load.ts'), [
        '--mode', def.mode, '--spec', specFiles.get(t.name)!, '--out', out, '--concurrency', String(def.concurrency),
        '--duration', String(opt.duration), '--warmup', String(opt.warmup), '--target-pid', String(t.pid),
      ], out)) as FileLoadResult;
      (rounds[t.name] ??= []).push(res);
      const errs = Object.values(res.errors).reduce((a, b) => a + b, 0);
      if (res.badResponses || errs) problems.push(`${def.id}/${t.name}: ${res.badResponses} bad responses ${JSON.stringify(res.badSamples)}, errors ${JSON.stringify(res.errors)}`);
    }
  }
  const pick = (list: FileLoadResult[]) => [...list].sort((a, b) => value(a, def.unit) - value(b, def.unit))[Math.floor(list.length / 2)]!;
  const byTarget: RunResult['byTarget'] = {};
  for (const [k, list] of Object.entries(rounds)) byTarget[k as Target['name']] = pick(list);
  const p = byTarget.portal;
  const s = byTarget.static;
  const ratioPct = p && s && value(s, def.unit) ? round((100 * value(p, def.unit)) / value(s, def.unit), 1) : null;
  const pc = p ? perCpu(p, def.unit) : null;
  const sc = s ? perCpu(s, def.unit) : null;
  const meanBodyBytes = round(def.requests.reduce((a, q) => a + (q.expectLen ?? 0), 0) / def.requests.length, 0);
  return {
    label: def.label, mode: def.mode, concurrency: def.concurrency, unit: def.unit, meanBodyBytes, distinctRequests: def.requests.length, byTarget,
    ...(opt.rounds > 1 ? { rounds } : {}),
    ratioPct, ratioPerCpuPct: pc && sc ? round((100 * pc) / sc, 1) : null,
  };
}

// ---------------------------------------------------------------- deploy timing

interface DeployTimes {
  store: string;
  patchsets: number;
  kernelRows: number;
  files: number;
  storeMiB: number;
  /** ms per operation: median [min, max] over the rounds */
  deployAll: Stat;
  rollbackAll: Stat;
  deployOne: Stat;
  rollbackOne: Stat;
  indexReload: Stat;
  filesUntouched: boolean;
}
interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}
function stat(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { median: round(s[Math.floor((s.length - 1) / 2)]!, 2), min: round(s[0]!, 2), max: round(s[s.length - 1]!, 2), samples: values.map((v) => round(v, 2)) };
}

async function timeDeploys(db: Database, storeDir: string, label: string, problems: string[]): Promise<DeployTimes> {
  const prisma = db.prisma;
  const order = await prisma.patchset.findMany({ where: { product: 'kernel' }, orderBy: [{ releasedAt: 'asc' }, { name: 'asc' }], select: { name: true } });
  const n = order.length;
  const first = order[0]!.name;
  const last = order[n - 1]!.name;
  const secondLast = order[n - 2]!.name;
  const kernelRows = await prisma.patchsetKernel.count();
  const feed = await prisma.feed.create({ data: { name: `bench-${label}` } });
  const index = new FeedIndex(prisma, createLogger('silent'));
  const before = await storeSnapshot(storeDir);
  const t = { deployAll: [] as number[], rollbackAll: [] as number[], deployOne: [] as number[], rollbackOne: [] as number[], indexReload: [] as number[] };
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) problems.push(`deploy ${label}: ${what} changed ${got} patchsets, expected ${want}`);
  };
  const deployed = async () => prisma.deployment.count({ where: { feedId: feed.id } });
  // one untimed pass warms Prisma's query paths
  await deployUpTo(prisma, feed.id, last);
  await rollBackFrom(prisma, feed.id, first);
  for (let r = 0; r < opt.deployRounds; r++) {
    let s = performance.now();
    expect('deployUpTo(last)', (await deployUpTo(prisma, feed.id, last, 'bench')).changed.length, n);
    t.deployAll.push(performance.now() - s);
    if ((await deployed()) !== n) problems.push(`deploy ${label}: feed holds ${await deployed()} deployments, expected ${n}`);
    s = performance.now();
    await index.reload();
    t.indexReload.push(performance.now() - s);
    s = performance.now();
    expect('rollBackFrom(first)', (await rollBackFrom(prisma, feed.id, first)).changed.length, n);
    t.rollbackAll.push(performance.now() - s);
    if ((await deployed()) !== 0) problems.push(`deploy ${label}: feed holds ${await deployed()} deployments after the rollback`);
    // the daily case: one new patchset onto n-1 deployed, then roll back the newest
    await deployUpTo(prisma, feed.id, secondLast, 'bench');
    s = performance.now();
    expect('deployUpTo(last) onto n-1', (await deployUpTo(prisma, feed.id, last, 'bench')).changed.length, 1);
    t.deployOne.push(performance.now() - s);
    s = performance.now();
    expect('rollBackFrom(last)', (await rollBackFrom(prisma, feed.id, last)).changed.length, 1);
    t.rollbackOne.push(performance.now() - s);
    await rollBackFrom(prisma, feed.id, first);
  }
  index.stop();
  const after = await storeSnapshot(storeDir);
  const filesUntouched = before.digest === after.digest;
  if (!filesUntouched) problems.push(`deploy ${label}: the patch store changed (${before.files} → ${after.files} files)`);
  await prisma.feed.delete({ where: { id: feed.id } });
  return {
    store: label, patchsets: n, kernelRows, files: before.files, storeMiB: round(before.bytes / 2 ** 20, 1),
    deployAll: stat(t.deployAll), rollbackAll: stat(t.rollbackAll), deployOne: stat(t.deployOne), rollbackOne: stat(t.rollbackOne), indexReload: stat(t.indexReload), filesUntouched,
  };
}

/** FeedIndex in this process: reload time and µs per latest() over all kernels (default feed). */
async function indexMicro(db: Database, khashes: string[], expectLevel: (k: string) => number, problems: string[], label: string) {
  const index = new FeedIndex(db.prisma, createLogger('silent'));
  const feedId = await defaultFeedId(db);
  const reloads: number[] = [];
  const blocked: number[] = [];
  for (let i = 0; i < 3; i++) {
    const h = monitorEventLoopDelay({ resolution: 2 });
    h.enable();
    const t = performance.now();
    await index.reload();
    reloads.push(performance.now() - t);
    await sleep(5);
    h.disable();
    blocked.push(h.max / 1e6);
  }
  let wrong = 0;
  for (const k of khashes) if (index.latest(feedId, k)?.level !== expectLevel(k)) wrong++;
  if (wrong) problems.push(`index ${label}: ${wrong} kernels with an unexpected level`);
  const N = 200_000;
  for (let i = 0; i < 20_000; i++) index.latest(feedId, khashes[i % khashes.length]!);
  const t = performance.now();
  for (let i = 0; i < N; i++) index.latest(feedId, khashes[i % khashes.length]!);
  const latestUs = round(((performance.now() - t) * 1000) / N, 3);
  const rows = await db.prisma.patchsetKernel.count();
  index.stop();
  return { kernelRows: rows, reloadMs: stat(reloads), longestEventLoopBlockMs: stat(blocked), latestUs };
}

// ---------------------------------------------------------------- main

export async function runPatchesBench(argv: readonly string[]): Promise<number> {
  opt = parseOptions(argv);
  process.on('exit', () => killAllChildren('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping`);
      cleanup();
      process.exit(130);
    });
  }
  try {
    return await main();
  } catch (err) {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    cleanup();
  }
}

async function main(): Promise<number> {
  const want = (p: Phase) => opt.only.has(p);
  const needPortal = want('files') || want('lookups');
  if (needPortal && !existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  mkdirSync(opt.tmp, { recursive: true });
  tmpRoot = mkdtempSync(path.join(opt.tmp, 'eportal-bench-patches-'));
  const fsType = (() => {
    try {
      return execFileSync('stat', ['-f', '-c', '%T', tmpRoot], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  })();
  const archDir = path.join(tmpRoot, 'archives');
  const portalDir = path.join(tmpRoot, 'portal');
  const runDir = path.join(tmpRoot, 'runs');
  mkdirSync(runDir, { recursive: true });
  const problems: string[] = [];
  const stale = staleDist();
  const out: Record<string, unknown> = {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memGiB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version },
    options: { ...opt, only: [...opt.only] },
    tmp: { root: tmpRoot, fsType },
    distOlderThanSources: stale,
  };
  if (stale.length) log(`WARNING: dist/ is older than ${stale.join(', ')}: the portal process runs the older build (npm run build)`);
  out.otherCpuAtStartPct = await machineBusyPct(1000);
  log(`temp root ${tmpRoot} (${fsType}); other processes use ${out.otherCpuAtStartPct ?? '?'} % of a core`);

  // 1. archives
  const built = await buildArchives(archDir);
  out.build = { seconds: built.seconds, lookupSetKernels: built.lookup.map((s) => s.kernels.length), lookupFiles: built.lookup.reduce((a, s) => a + s.built.files.size, 0) };

  // 2. import into the portal's data directory, deploy to the default feed, seed servers
  const storeDir = path.join(portalDir, 'patches');
  mkdirSync(storeDir, { recursive: true });
  let db = await openDatabase(dbConfig(portalDir));
  const lookupImport = await importAll(db, storeDir, built.lookup.map((s) => ({ name: s.name, archivePath: s.built.archivePath, sha256: s.built.sha256 })));
  log(`imported ${lookupImport.sets} lookup sets (${fmt(lookupImport.files)} files) in ${lookupImport.seconds} s: ${fmt(lookupImport.filesPerSec)} files/s`);
  const filesImport = await importAll(db, storeDir, [{ name: built.files.name, archivePath: built.files.archivePath, sha256: built.files.sha256 }]);
  const feedId = await defaultFeedId(db);
  let t = performance.now();
  const dep = await deployUpTo(db.prisma, feedId, built.files.name, 'bench');
  const deployDefaultMs = ms(t);
  if (dep.changed.length !== opt.lookupSets + 1) problems.push(`deploying to the default feed added ${dep.changed.length} patchsets`);
  await db.close();
  const seeded = needPortal ? seedServers(path.join(portalDir, 'eportal.sqlite'), opt.servers, built.lookupKernels[0]!.khash) : { ids: [], seconds: 0 };
  log(`deployed ${dep.changed.length} sets to the default feed in ${deployDefaultMs} ms; seeded ${fmt(opt.servers)} servers in ${seeded.seconds} s`);
  out.setup = { lookupImport, filesImport, deployToDefaultMs: deployDefaultMs, seedSeconds: seeded.seconds };

  const lastLookup = built.lookup[built.lookup.length - 1]!;

  // 3. portal + baseline
  let portal: Spawned | null = null;
  let baseline: Spawned | null = null;
  const memory: Record<string, ProcMemory> = {};
  if (needPortal) {
    const port = await freePort();
    const url = `http://${HOST}:${port}`;
    portal = spawnNode('portal', MAIN, [], { env: portalEnv(portalDir, port) });
    const readyMs = round(await waitReady(`${url}/healthz`, portal), 0);
    await sleep(1500);
    memory.portalIdle = procMemory(portal.pid);
    log(`portal ready in ${readyMs} ms, idle RSS ${memory.portalIdle.rssMiB} MiB`);
    out.portalStartMs = readyMs;

    // request lists (each with the Basic auth of a different server)
    const sample = shuffle(Array.from({ length: opt.servers }, (_, i) => i)).slice(0, opt.distinct);
    const auths = sample.map((i) => new AgentSim({ patchServer: `${url}/`, registrationUrl: `${url}/admin/api/kcare`, serverId: seeded.ids[i]! }).authHeader()!);
    const fileOf = new Map<string, { abs: string; bytes: Buffer }>();
    const addFile = (setDir: string, rel: string, bytes: Buffer) => {
      const urlPath = `/${rel}`;
      fileOf.set(urlPath, { abs: path.join(storeDir, setDir, rel), bytes });
      return { path: urlPath, expectLen: bytes.length };
    };
    const large: FileRequestSpec[] = [];
    for (let r = 0; r < opt.distinct; r++) {
      const k = built.fileKernels[r % built.fileKernels.length]!;
      const rel = Math.floor(r / built.fileKernels.length) % 2 === 0 ? `${k.khash}/${FILES_LEVEL}/kpatch.bin` : `${k.khash}/kcare.ko`;
      large.push({ ...addFile(built.files.name, rel, built.files.files.get(rel)!), auth: auths[r]! });
    }
    const setOf = new Map<string, LookupSet>();
    for (const s of built.lookup) for (const k of s.kernels) setOf.set(k.khash, s);
    const small: FileRequestSpec[] = [];
    const kernelOrder = shuffle([...built.lookupKernels]);
    for (let r = 0; r < opt.distinct; r++) {
      const k = kernelOrder[r % kernelOrder.length]!;
      const s = setOf.get(k.khash)!;
      const f = SMALL_FILES[(r + Math.floor(r / kernelOrder.length)) % SMALL_FILES.length]!;
      const rel = f === 'kcare.ko.sig' ? `${k.khash}/kcare.ko.sig` : `${k.khash}/${s.level}/${f}`;
      small.push({ ...addFile(s.name, rel, s.built.files.get(rel)!), auth: auths[r]! });
    }
    // extra files a level's kpatch.fixups lists (their small .sig): the portal reads the .fixups list per request
    const fixupSigs: FileRequestSpec[] = [];
    for (let r = 0; r < opt.distinct; r++) {
      const k = built.fileKernels[r % built.fileKernels.length]!;
      const rel = `${k.khash}/${FILES_LEVEL}/fixup-default-${1 + (Math.floor(r / built.fileKernels.length) % 2)}.bin.sig`;
      fixupSigs.push({ ...addFile(built.files.name, rel, built.files.files.get(rel)!), auth: auths[r]! });
    }
    const lookups: FileRequestSpec[] = kernelOrder.map((k) => ({ path: `/${k.khash}/latest.v2`, auth: null, expectLen: String(built.levels.get(k.khash)).length }));
    const lookupsAuth: FileRequestSpec[] = lookups.map((q, i) => ({ ...q, auth: auths[i % auths.length]! }));

    // baseline on the same files
    const mapFile = path.join(runDir, 'static-map.json');
    writeFileSync(mapFile, JSON.stringify({ files: Object.fromEntries([...fileOf].map(([u, f]) => [u, f.abs])), levels: Object.fromEntries(built.levels) }));
    const sport = await freePort();
    baseline = spawnNode('static', path.join(BENCH_DIR, 'patches-static.ts'), ['--map', mapFile, '--port', String(sport)], { tsx: true });
    await waitReady(`http://${HOST}:${sport}/healthz`, baseline);
    const targets: Target[] = [{ name: 'portal', port, pid: portal.pid }, { name: 'static', port: sport, pid: baseline.pid }];

    // sanity: exact bytes from both, Range, 403, 404, levels
    {
      const checks: string[] = [];
      const probe = [...shuffle([...small]).slice(0, 40), ...large.slice(0, 8), ...fixupSigs.slice(0, 8)];
      for (const q of probe) {
        const want = fileOf.get(q.path)!.bytes;
        for (const tg of targets) {
          const r = await fetchBuf(`http://${HOST}:${tg.port}${q.path}`, { Authorization: q.auth! });
          if (r.status !== 200 || sha(r.body) !== sha(want)) checks.push(`${tg.name} ${q.path}: ${r.status}, ${r.body.length} bytes (want ${want.length})`);
        }
      }
      const big = large[0]!;
      const rng = await fetchBuf(`${url}${big.path}`, { Authorization: big.auth!, Range: 'bytes=100-1123' });
      if (rng.status !== 206 || !rng.body.equals(fileOf.get(big.path)!.bytes.subarray(100, 1124))) checks.push(`Range: ${rng.status} ${rng.body.length} bytes`);
      const etag = String(rng.headers.etag ?? '');
      const cond = await fetchBuf(`${url}${big.path}`, { Authorization: big.auth!, 'If-None-Match': etag });
      if (cond.status !== 304) checks.push(`If-None-Match: ${cond.status}`);
      const unknown = await fetchBuf(`${url}${big.path}`, { Authorization: `Basic ${Buffer.from('Xnotaserverid000:kernelcare').toString('base64')}` });
      if (unknown.status !== 403) checks.push(`unknown server id: ${unknown.status}, expected 403`);
      const k0 = built.fileKernels[0]!.khash;
      const missing = await fetchBuf(`${url}/${k0}/${FILES_LEVEL + 1}/kpatch.bin`, { Authorization: big.auth! });
      if (missing.status !== 404) checks.push(`level not carried: ${missing.status}, expected 404`);
      let wrongLevel = 0;
      for (const q of shuffle([...lookups]).slice(0, 300)) {
        const r = await fetchBuf(`${url}${q.path}`);
        if (r.status !== 200 || r.body.toString() !== String(built.levels.get(q.path.slice(1, 41)))) wrongLevel++;
      }
      if (wrongLevel) checks.push(`${wrongLevel}/300 latest.v2 answers wrong`);
      if (checks.length) problems.push(...checks.map((c) => `sanity: ${c}`));
      log(`sanity: ${probe.length} files byte-exact on portal and baseline, Range 206, ETag 304, unknown id 403, missing level 404, 300 latest.v2 levels${checks.length ? ` — ${checks.length} PROBLEMS` : ' — ok'}`);
    }

    // 4. files
    const results: Record<string, RunResult> = {};
    const sizeLabel = `${round(opt.fileSize / 2 ** 20, 1)} MiB`;
    if (want('files')) {
      const defs: RunDef[] = [
        { id: 'large-ka', label: `large files (${sizeLabel} kpatch.bin / kcare.ko), keep-alive`, mode: 'keepalive', concurrency: opt.largeConnections, requests: large, targets, unit: 'MB/s' },
        { id: 'large-close', label: `large files (${sizeLabel}), Connection: close`, mode: 'close', concurrency: opt.largeConnections, requests: large, targets, unit: 'MB/s' },
        { id: 'small-ka', label: 'small files (.info / .sig), keep-alive', mode: 'keepalive', concurrency: opt.connections, requests: small, targets, unit: 'req/s' },
        { id: 'small-close', label: 'small files (.info / .sig), Connection: close', mode: 'close', concurrency: opt.closeConcurrency, requests: small, targets, unit: 'req/s' },
        { id: 'fixup-ka', label: 'fixup extras\' .sig (listed in kpatch.fixups), keep-alive', mode: 'keepalive', concurrency: opt.connections, requests: fixupSigs, targets, unit: 'req/s' },
      ];
      for (const d of defs) results[d.id] = await runLoads(d, runDir, problems);
      memory.portalAfterFiles = procMemory(portal.pid);
    }
    // 5. lookups
    if (want('lookups')) {
      const defs: RunDef[] = [
        { id: 'lookup-ka', label: `latest.v2 over ${fmt(opt.kernels)} kernels, no credentials (default feed), keep-alive`, mode: 'keepalive', concurrency: opt.connections, requests: lookups, targets, unit: 'req/s' },
        { id: 'lookup-close', label: 'latest.v2, no credentials, Connection: close', mode: 'close', concurrency: opt.closeConcurrency, requests: lookups, targets, unit: 'req/s' },
        { id: 'lookup-auth-ka', label: 'latest.v2 with Basic auth (identify + check-in record, no payload), keep-alive', mode: 'keepalive', concurrency: opt.connections, requests: lookupsAuth, targets: targets.slice(0, 1), unit: 'req/s' },
      ];
      for (const d of defs) results[d.id] = await runLoads(d, runDir, problems);
      memory.portalAfterLookups = procMemory(portal.pid);

      // a rollback / deploy by another process (as kc.eportal does): time until latest.v2 shows it
      const probeKernel = lastLookup.kernels[0]!.khash;
      const other = await openDatabase(dbConfig(portalDir));
      let maxPollMs = 0;
      const visible = async (want: string): Promise<number> => {
        const s = performance.now();
        for (;;) {
          const q = performance.now();
          const r = await fetchBuf(`${url}/${probeKernel}/latest.v2`);
          maxPollMs = Math.max(maxPollMs, performance.now() - q);
          if (r.body.toString() === want) {
            // keep polling past the poll interval so a reload after the change is seen too
            const until = performance.now() + 1200;
            while (performance.now() < until) {
              const q2 = performance.now();
              await fetchBuf(`${url}/${probeKernel}/latest.v2`);
              maxPollMs = Math.max(maxPollMs, performance.now() - q2);
              await sleep(10);
            }
            return round(performance.now() - s - 1200, 0);
          }
          if (performance.now() - s > 15_000) {
            problems.push(`latest.v2 did not become ${want} within 15 s`);
            return -1;
          }
          await sleep(10);
        }
      };
      t = performance.now();
      const rb = await rollBackFrom(other.prisma, feedId, lastLookup.name);
      const rollbackMs = ms(t);
      const rollbackVisibleMs = await visible('0');
      t = performance.now();
      const rd = await deployUpTo(other.prisma, feedId, built.files.name);
      const redeployMs = ms(t);
      const redeployVisibleMs = await visible(String(lastLookup.level));
      await other.close();
      if (rb.changed.length !== 2 || rd.changed.length !== 2) problems.push(`visibility probe: rollback changed ${rb.changed.length}, redeploy ${rd.changed.length} (expected 2 each)`);
      out.visibility = { rollbackMs, rollbackVisibleMs, redeployMs, redeployVisibleMs, maxLatestV2Ms: round(maxPollMs, 1), note: 'ms from the call in another process until latest.v2 answers the new level (portal polls the index generation every 1,000 ms, then reloads)' };
      log(`rollback visible to agents after ${rollbackVisibleMs} ms, redeploy after ${redeployVisibleMs} ms`);
    }
    out.loads = results;
    memory.portalFinal = procMemory(portal.pid);
    memory.rawStaticFinal = procMemory(baseline.pid);
    const stopT = performance.now();
    const code = await stopProcess(portal);
    out.portalStopMs = ms(stopT);
    if (code !== 0) problems.push(`portal exited with ${code} on SIGTERM after ${out.portalStopMs} ms; its last output: ${portal.stderr().slice(-1500) || '(none)'}`);
    await stopProcess(baseline);
  }
  out.memory = memory;

  // 5b. FeedIndex in-process: the real index, then a copy filled to every kernel x every lookup set
  if (want('lookups')) {
    db = await openDatabase(dbConfig(portalDir));
    const all = [...built.levels.keys()];
    const real = await indexMicro(db, all, (k) => built.levels.get(k)!, problems, 'real');
    await db.close();
    const copyDir = path.join(tmpRoot, 'matrix');
    mkdirSync(copyDir, { recursive: true });
    const raw = openSqlite(path.join(portalDir, 'eportal.sqlite'));
    raw.prepare('VACUUM INTO ?').run(path.join(copyDir, 'eportal.sqlite'));
    raw.close();
    const m = openSqlite(path.join(copyDir, 'eportal.sqlite'));
    const ids = new Map((m.prepare('SELECT id, name FROM Patchset').all() as { id: number; name: string }[]).map((r) => [r.name, r.id]));
    const ins = m.prepare(`INSERT OR IGNORE INTO PatchsetKernel (patchsetId, kernelId, level, patchTypes) VALUES (?, ?, ?, 'default')`);
    m.transaction(() => {
      for (const s of built.lookup) for (const k of built.lookupKernels) ins.run(ids.get(s.name)!, k.khash, s.level);
    })();
    m.close();
    db = await openDatabase(dbConfig(copyDir));
    const matrix = await indexMicro(db, built.lookupKernels.map((k) => k.khash), () => opt.lookupSets, problems, 'matrix');
    await db.close();
    out.indexMicro = { real, matrix, note: `matrix = a copy whose PatchsetKernel holds every one of the ${fmt(opt.kernels)} kernels in each of the ${opt.lookupSets} lookup sets (rows added with SQL, no files)` };
    log(`FeedIndex reload: real ${real.reloadMs.median} ms (${fmt(real.kernelRows)} rows), matrix ${matrix.reloadMs.median} ms (${fmt(matrix.kernelRows)} rows); latest() ${real.latestUs} / ${matrix.latestUs} µs`);
  }

  // 6. deploy / rollback
  if (want('deploy')) {
    const deploy: Record<string, unknown> = {};
    // A: a fresh store with the small sets only
    const dirA = path.join(tmpRoot, 'deploy-small');
    const storeA = path.join(dirA, 'patches');
    mkdirSync(storeA, { recursive: true });
    db = await openDatabase(dbConfig(dirA));
    const impA = await importAll(db, storeA, built.small);
    log(`store A: imported ${impA.sets} small sets (${fmt(impA.files)} files) in ${impA.seconds} s (${impA.msPerSet} ms per set)`);
    const a = await timeDeploys(db, storeA, 'A', problems);
    await db.close();
    // B: the lookup store topped up with small sets to the same count
    db = await openDatabase(dbConfig(portalDir));
    const have = await db.prisma.patchset.count();
    const impB = await importAll(db, storeDir, built.small.slice(0, Math.max(0, opt.deploySets - have)));
    const b = await timeDeploys(db, storeDir, 'B', problems);
    await db.close();
    deploy.importA = impA;
    deploy.importB = impB;
    deploy.A = a;
    deploy.B = b;
    log(`deploy/rollback all ${a.patchsets}: A ${a.deployAll.median}/${a.rollbackAll.median} ms (${fmt(a.files)} files), B ${b.deployAll.median}/${b.rollbackAll.median} ms (${fmt(b.files)} files)`);
    // importPatchset on the real disk (when the temp root is not on it)
    const diskBase = os.tmpdir();
    if (fsType === 'tmpfs' && statSync(diskBase).dev !== statSync(tmpRoot).dev) {
      const diskDir = mkdtempSync(path.join(diskBase, 'eportal-bench-patches-disk-'));
      try {
        const s = [...built.lookup].sort((x, y) => x.kernels.length - y.kernels.length)[0]!;
        const tmpfsDir = path.join(tmpRoot, 'import-tmpfs');
        const res: Record<string, ImportStats> = {};
        for (const [where, dir] of [['tmpfs', tmpfsDir], ['disk', diskDir]] as const) {
          mkdirSync(path.join(dir, 'patches'), { recursive: true });
          const d = await openDatabase(dbConfig(dir));
          res[where] = await importAll(d, path.join(dir, 'patches'), [{ name: s.name, archivePath: s.built.archivePath, sha256: s.built.sha256 }]);
          await d.close();
        }
        let diskFs = '?';
        try {
          diskFs = execFileSync('stat', ['-f', '-c', '%T', diskDir], { encoding: 'utf8' }).trim();
        } catch {
          // unknown
        }
        deploy.importDisk = { set: s.name, kernels: s.kernels.length, diskDir: diskBase, diskFs, ...res };
        log(`importPatchset of ${s.name} (${fmt(res.disk!.files)} files): tmpfs ${fmt(res.tmpfs!.filesPerSec)} files/s, ${diskFs} ${fmt(res.disk!.filesPerSec)} files/s`);
      } finally {
        rmSync(diskDir, { recursive: true, force: true });
      }
    }
    out.deploy = deploy;
  }

  out.problems = problems;
  out.totalSeconds = round((performance.now() - t0Run) / 1000, 1);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(out, null, 2)}\n`);
  printTable(out, problems);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE)}; total ${out.totalSeconds} s`);
  return problems.length ? 1 : 0;
}

// ---------------------------------------------------------------- report

function printTable(out: Record<string, unknown>, problems: string[]): void {
  const L: string[] = [];
  const m = out.machine as { cpus: number; cpuModel: string; node: string };
  const W = 14;
  const pad = (s: string) => s.padStart(W);
  L.push('');
  L.push(`Patch benchmark (issue 3): ${fmt(opt.servers)} servers in the database, file requests spread over ${fmt(opt.distinct)} server ids (Basic auth)`);
  L.push(`${m.cpus} CPU (${m.cpuModel}), node ${m.node}; portal = dist/server/main.js, raw static = node:http + fs.stat + fs.createReadStream (no auth);`);
  L.push(`each in its own process, load from another process (raw sockets, every body checked); ${opt.warmup} s warm-up + ${opt.duration} s per run, ${opt.rounds} round(s)`);
  L.push(`temp root ${(out.tmp as { fsType: string }).fsType}; other processes used ${String(out.otherCpuAtStartPct ?? '?')} % of a core at start (see "other" per run)`);
  const stale = out.distOlderThanSources as string[];
  if (stale.length) L.push(`WARNING: dist/ older than ${stale.join(', ')}`);
  const loads = (out.loads ?? {}) as Record<string, RunResult>;
  if (Object.keys(loads).length) {
    L.push('');
    const head = `${''.padEnd(40)}${pad('portal')}${pad('raw static')}${pad('portal/raw')}`;
    L.push(head);
    L.push('-'.repeat(head.length));
    for (const r of Object.values(loads)) {
      const p = r.byTarget.portal;
      const s = r.byTarget.static;
      const d = r.unit === 'MB/s' ? 1 : 0;
      const row = (name: string, f: (x: FileLoadResult) => string, ratio = '') => L.push(`${name.padEnd(40)}${pad(p ? f(p) : '-')}${pad(s ? f(s) : '-')}${pad(ratio)}`);
      L.push(`${r.label} [${r.concurrency} ${r.mode === 'close' ? 'in flight' : 'conns'}, ${fmt(r.distinctRequests)} distinct, mean ${fmt(r.meanBodyBytes)} B]`);
      if (r.unit === 'MB/s') row('  MB/s', (x) => fmt(x.mbPerSec, 1), r.ratioPct === null ? '' : `${r.ratioPct} %`);
      row('  requests/s', (x) => fmt(x.rps), r.unit === 'req/s' && r.ratioPct !== null ? `${r.ratioPct} %` : '');
      row('  p50 / p99 latency, ms', (x) => `${fmt(x.latencyMs.p50, 2)}/${fmt(x.latencyMs.p99, 1)}`);
      row('  CPU % server / load-gen / other', (x) => `${x.cpu?.targetPct ?? '?'}/${x.cpu?.generatorPct ?? '?'}/${x.cpu?.otherPct ?? '?'}`);
      row(`  ${r.unit === 'MB/s' ? 'MB' : 'requests'} per server CPU-second`, (x) => {
        const v = perCpu(x, r.unit);
        return v === null ? '?' : fmt(v, d);
      }, r.ratioPerCpuPct === null ? '' : `${r.ratioPerCpuPct} %`);
      row('  bad responses / socket errors', (x) => `${x.badResponses}/${Object.values(x.errors).reduce((a, b) => a + b, 0)}`);
    }
  }
  const vis = out.visibility as { rollbackMs: number; rollbackVisibleMs: number; redeployMs: number; redeployVisibleMs: number; maxLatestV2Ms: number } | undefined;
  if (vis) L.push(`\nrollback in another process: ${vis.rollbackMs} ms, seen by latest.v2 after ${vis.rollbackVisibleMs} ms; redeploy ${vis.redeployMs} ms, seen after ${vis.redeployVisibleMs} ms (index poll 1 s); slowest latest.v2 meanwhile ${vis.maxLatestV2Ms} ms`);
  const im = out.indexMicro as { real: Awaited<ReturnType<typeof indexMicro>>; matrix: Awaited<ReturnType<typeof indexMicro>> } | undefined;
  if (im) {
    L.push('FeedIndex in-process (reload = what every portal process does after each import/deploy/rollback):');
    for (const [k, v] of [['real', im.real], ['matrix', im.matrix]] as const) {
      L.push(`  ${k.padEnd(7)} ${fmt(v.kernelRows).padStart(8)} kernel rows: reload ${fmt(v.reloadMs.median, 0)} ms [${fmt(v.reloadMs.min, 0)}–${fmt(v.reloadMs.max, 0)}], event loop blocked up to ${fmt(v.longestEventLoopBlockMs.median, 0)} ms, latest() ${v.latestUs} µs`);
    }
  }
  const mem = out.memory as Record<string, ProcMemory> | undefined;
  if (mem && Object.keys(mem).length) L.push(`portal VmRSS / VmHWM MiB: ${Object.entries(mem).map(([k, v]) => `${k} ${v.rssMiB}/${v.hwmMiB}`).join(', ')}`);
  const setup = out.setup as { lookupImport: ImportStats; filesImport: ImportStats; deployToDefaultMs: number } | undefined;
  if (setup) L.push(`import (importPatchset): ${opt.lookupSets} lookup sets, ${fmt(setup.lookupImport.files)} files in ${setup.lookupImport.seconds} s = ${fmt(setup.lookupImport.filesPerSec)} files/s; files set ${setup.filesImport.seconds} s; deploy ${opt.lookupSets + 1} to default ${setup.deployToDefaultMs} ms`);
  const dep = out.deploy as { A: DeployTimes; B: DeployTimes; importDisk?: { set: string; diskFs: string; tmpfs: ImportStats; disk: ImportStats } } | undefined;
  if (dep) {
    L.push('');
    const w = 30;
    const col = (d: DeployTimes) => `${d.store}: ${fmt(d.patchsets)} sets, ${fmt(d.files)} files`.padStart(w);
    L.push(`${'deploy / rollback, ms: median [min–max]'.padEnd(44)}${col(dep.A)}${col(dep.B)}`);
    L.push(`${''.padEnd(44)}${`${fmt(dep.A.kernelRows)} kernel rows, ${fmt(dep.A.storeMiB, 1)} MiB`.padStart(w)}${`${fmt(dep.B.kernelRows)} kernel rows, ${fmt(dep.B.storeMiB, 1)} MiB`.padStart(w)}`);
    const s = (x: Stat) => `${fmt(x.median, 1)} [${fmt(x.min, 1)}–${fmt(x.max, 1)}]`.padStart(w);
    L.push(`${`  deployUpTo(last): all ${dep.A.patchsets} added`.padEnd(44)}${s(dep.A.deployAll)}${s(dep.B.deployAll)}`);
    L.push(`${`  rollBackFrom(first): all ${dep.A.patchsets} removed`.padEnd(44)}${s(dep.A.rollbackAll)}${s(dep.B.rollbackAll)}`);
    L.push(`${'  deployUpTo(last) onto n-1: 1 added'.padEnd(44)}${s(dep.A.deployOne)}${s(dep.B.deployOne)}`);
    L.push(`${'  rollBackFrom(last): 1 removed'.padEnd(44)}${s(dep.A.rollbackOne)}${s(dep.B.rollbackOne)}`);
    L.push(`${'  FeedIndex.reload() after deploy'.padEnd(44)}${s(dep.A.indexReload)}${s(dep.B.indexReload)}`);
    L.push(`${'  patch store untouched (files, mtimes)'.padEnd(44)}${pad(String(dep.A.filesUntouched)).padStart(w)}${pad(String(dep.B.filesUntouched)).padStart(w)}`);
    if (dep.importDisk) {
      const d = dep.importDisk;
      L.push(`importPatchset ${d.set} (${fmt(d.disk.files)} files): tmpfs ${d.tmpfs.seconds} s = ${fmt(d.tmpfs.filesPerSec)} files/s, ${d.diskFs} ${d.disk.seconds} s = ${fmt(d.disk.filesPerSec)} files/s`);
    }
  }
  L.push('');
  L.push(problems.length ? `PROBLEMS:\n  ${problems.join('\n  ')}` : 'correctness: OK (every body byte-checked, no socket errors, levels and deployments as expected, store untouched by deploy/rollback)');
  L.push('');
  process.stdout.write(`${L.join('\n')}\n`);
}

// Entry point when run directly (run.ts imports runPatchesBench instead).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await runPatchesBench(process.argv.slice(2));
  process.exit(code);
}
