// Check-in benchmark ("figures in the note"). Entry point of `npm run bench`
// (which builds first); run directly with `npx tsx test/bench/run.ts [options]`.
//
// What it does, each part in its own process on this machine:
//   1. starts the built portal (node dist/server/main.js) once on a temporary
//      data directory so it creates and migrates its SQLite file, stops it;
//   2. seeds that file directly: a key, a deployed patchset for the agent's
//      kernel, and N servers with real ids (generateServerId → hashServerId +
//      serverIdHint), keeping the ids in memory; copies the file for the baseline;
//   3. restarts the portal on the seeded file and starts two raw baselines
//      (test/bench/raw-baseline.ts), each on its own copy: one UPDATE per
//      request (the baseline as specified) and the same UPDATEs batched every
//      250 ms like the portal's CheckinBuffer (the tighter upper bound);
//   4. check-in load on `<khash>/latest.v2?<hex>` (AgentSim's exact payload and
//      Basic auth) rotating over `--distinct` different servers:
//      keep-alive with autocannon, then `Connection: close` (one TCP connection
//      per request, like the real agent) with a raw-socket generator;
//      each against the portal and both baselines, one after the other;
//   5. registers servers through register_server.plain (`Connection: close`,
//      `--reg-concurrency` in flight), then again into a key with a server limit;
//   6. reads the portal's RSS (idle, after load), verifies the database
//      (last check-in set on exactly the servers hit, with the payload's fields);
//   7. "micro": times the portal's hot-path pieces in-process on another copy
//      (auth lookup, payload parse, batch UPDATE, registration), to show where
//      a request's time goes;
//   then prints a table and writes test/bench/results/last-checkin.json.
//
// Options (defaults): --only keepalive,close,register,micro (all; `checkin` = keepalive,close)
//   --servers 100000  --distinct 10000  --duration 10  --warmup 2  --connections 50
//   --close-concurrency 50  --registrations 10000  --reg-concurrency 32
//   --limited-registrations 2000 (0 skips)  --no-patchset (latest.v2 answers 404)  --keep (keep temp dir)
//   --rounds 1 (check-in runs per target, interleaved; the median round is reported)
//   --wait-quiet 0 (before each run, wait up to this many seconds for other processes to leave the CPU idle)
// Every run reports the CPU used by the server, the load generator and everything
// else on the machine ("other"): a high "other" means the figures are contaminated.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKey, generateServerId, hashServerId, serverIdHint } from '../../server/agent/server-id.js';
import { parseCheckin } from '../../server/agent/pyliteral.js';
import type { CheckinRecord } from '../../server/db/agent-store.js';
import { openSqlite } from '../../server/db/sqlite.js';
import { SqliteAgentStore } from '../../server/db/sqlite-agent-store.js';
import { splitTarget } from '../../server/http/router.js';
import { AgentSim, pyUrlencode } from '../support/agent-sim.js';
import {
  BENCH_DIR, freePort, httpGet, machineBusyPct, summarize, killAllChildren, numArg, parseArgs, procMemory, REPO_DIR, round, runLoadChild, sleep,
  spawnNode, stopProcess, strArg, waitReady, type LoadResult, type LoadSpec, type ProcMemory, type RequestSpec, type Spawned,
} from './lib.js';

// ---------------------------------------------------------------- options

const args = parseArgs(process.argv.slice(2));

// ---- issue-3 patch benchmark (test/bench/patches.ts): `--only patches` or any of files,lookups,deploy ----
if (/(^|,)\s*(patches|files|lookups|deploy)\s*(,|$)/.test(strArg(args, 'only') ?? '')) {
  const { runPatchesBench } = await import('./patches.js');
  process.exit(await runPatchesBench(process.argv.slice(2)));
}
// ---- end of the patch benchmark hook ----
const PHASES = ['keepalive', 'close', 'register', 'micro'] as const;
type Phase = (typeof PHASES)[number];
const only = new Set<Phase>();
for (const p of (strArg(args, 'only') ?? PHASES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
  if (p === 'checkin') {
    only.add('keepalive');
    only.add('close');
  } else if ((PHASES as readonly string[]).includes(p)) only.add(p as Phase);
  else throw new Error(`--only: unknown phase ${p} (keepalive, close, checkin, register, micro)`);
}
const opt = {
  servers: numArg(args, 'servers', 100_000, 1),
  distinct: numArg(args, 'distinct', 10_000, 1),
  duration: numArg(args, 'duration', 10, 1),
  warmup: numArg(args, 'warmup', 2, 0),
  connections: numArg(args, 'connections', 50, 1),
  closeConcurrency: numArg(args, 'close-concurrency', 50, 1),
  registrations: numArg(args, 'registrations', 10_000, 1),
  regConcurrency: numArg(args, 'reg-concurrency', 32, 1),
  limitedRegistrations: numArg(args, 'limited-registrations', 2_000, 0),
  patchset: !args.has('no-patchset'),
  keep: args.has('keep'),
  waitQuiet: numArg(args, 'wait-quiet', 0, 0),
  rounds: numArg(args, 'rounds', 1, 1),
};
opt.distinct = Math.min(opt.distinct, opt.servers);
const LEVEL = 17;
const FLUSH_MS = 250; // the portal's default EPORTAL_CHECKIN_FLUSH_MS
const HOST = '127.0.0.1';
const MAIN = path.join(REPO_DIR, 'dist/server/main.js');
const RESULTS_FILE = path.join(BENCH_DIR, 'results/last-checkin.json');

const t0Run = performance.now();
function log(msg: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0Run) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}

// ---------------------------------------------------------------- cleanup

let tmpDir: string | null = null;
function cleanup(): void {
  killAllChildren('SIGKILL');
  if (tmpDir && !opt.keep) rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = null;
}
process.on('exit', () => killAllChildren('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    cleanup();
    process.exit(130);
  });
}

// ---------------------------------------------------------------- seeding

interface Seeded {
  keyId: number;
  key: string;
  ids: string[];
  khash: string;
  seedSeconds: number;
}

/** Inserts the key, the patchset and `n` servers straight into the portal's (stopped) database. */
function seed(dbFile: string, n: number, sim: AgentSim): Seeded {
  const t = performance.now();
  const db = openSqlite(dbFile);
  const now = Date.now();
  const feedId = (db.prepare('SELECT id FROM Feed WHERE isDefault = 1').get() as { id: number }).id;
  const key = generateKey();
  const ids: string[] = new Array<string>(n);
  let keyId = 0;
  const release = /^Linux version (\S+)/.exec(sim.procVersion)?.[1] ?? '';
  db.transaction(() => {
    keyId = Number(
      db.prepare('INSERT INTO Key (key, description, serverLimit, feedId, createdAt) VALUES (?, ?, NULL, ?, ?)').run(key, 'bench', feedId, now).lastInsertRowid,
    );
    if (opt.patchset) {
      const psId = Number(
        db.prepare(
          `INSERT INTO Patchset (name, product, releasedAt, appearedAt, size, sha256, channels, blocked, changelog, storeDir)
           VALUES (?, 'kernel', ?, ?, 0, ?, 'default', 0, '', ?)`,
        ).run('bench-20250101', now - 86_400_000, now - 86_400_000, '0'.repeat(64), 'bench-20250101').lastInsertRowid,
      );
      db.prepare(`INSERT INTO PatchsetKernel (patchsetId, kernelId, level, patchTypes) VALUES (?, ?, ?, 'default')`).run(psId, sim.khash, LEVEL);
      db.prepare(`INSERT INTO Deployment (feedId, patchsetId, deployedAt, deployedBy) VALUES (?, ?, ?, 'bench')`).run(feedId, psId, now - 86_400_000);
    }
    // A realistic table: every server has checked in before (a day ago, spread
    // over a few hours), so lastCheckinAt >= load start identifies the ones hit.
    const ins = db.prepare(
      `INSERT INTO Server (serverIdHash, serverIdHint, keyId, hostname, ip, kernelId, effectiveKernel, release, machine, distro,
         distroVersion, agentVersion, patchLevel, patchType, uptime, virt, registeredAt, lastCheckinAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x86_64', '', '', '2.32-1', NULL, 'default', ?, 'kvm', ?, ?)`,
    );
    for (let i = 0; i < n; i++) {
      const id = generateServerId();
      ids[i] = id;
      ins.run(hashServerId(id), serverIdHint(id), keyId, `host-${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sim.khash, release, release,
        1000 + i, now - 30 * 86_400_000, now - 86_400_000 - (i % 14_400) * 1000);
    }
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { keyId, key, ids, khash: sim.khash, seedSeconds: round((performance.now() - t) / 1000, 2) };
}

function shuffledSample(n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

// ---------------------------------------------------------------- processes

function portalEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EPORTAL_') && !/^(https?_proxy|PROXY|all_proxy)$/i.test(k)) env[k] = v;
  return {
    ...env,
    NODE_ENV: 'production',
    EPORTAL_DATA_DIR: dataDir,
    EPORTAL_HOST: HOST,
    EPORTAL_PORT: String(port),
    EPORTAL_LOG_LEVEL: 'silent',
    EPORTAL_CONFIG: '/dev/null',
  };
}

async function startPortal(dataDir: string, port: number): Promise<{ p: Spawned; readyMs: number }> {
  const p = spawnNode('portal', MAIN, [], { env: portalEnv(dataDir, port) });
  const readyMs = await waitReady(`http://${HOST}:${port}/healthz`, p);
  return { p, readyMs: round(readyMs, 0) };
}

function writeSpec(file: string, port: number, requests: RequestSpec[]): string {
  const spec: LoadSpec = { host: HOST, port, requests };
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

// ---------------------------------------------------------------- phases

const TARGETS = ['portal', 'baseline', 'batched'] as const;
type Target = (typeof TARGETS)[number];
const TARGET_LABEL: Record<Target, string> = { portal: 'portal', baseline: 'raw baseline', batched: 'raw batched' };

interface ModeResult {
  portal: LoadResult;
  baseline: LoadResult;
  batched: LoadResult;
  /** portal rps as % of the per-request-UPDATE baseline (the baseline as specified) */
  ratioPct: number;
  /** portal rps as % of the batched baseline */
  ratioBatchedPct: number;
  /** the same ratios per CPU-second of the server: robust against other load on the machine */
  ratioPerCpuPct: number | null;
  ratioBatchedPerCpuPct: number | null;
  /** every round, when --rounds > 1 (the figures above are the median round) */
  rounds?: Record<Target, LoadResult[]>;
}

/** Check-ins per CPU-second the server used. */
function perCpu(r: LoadResult): number | null {
  const pct = r.cpu?.targetPct;
  return pct ? round(r.rps / (pct / 100), 0) : null;
}

function perCpuRatio(a: LoadResult, b: LoadResult): number | null {
  const x = perCpu(a);
  const y = perCpu(b);
  return x && y ? round((100 * x) / y, 1) : null;
}

interface TargetProc {
  port: number;
  pid: number;
  spec: string;
}

/** With --wait-quiet: waits (bounded) until the rest of the machine is idle, so runs are comparable. */
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

async function loadKeepAlive(name: string, t: TargetProc, outFile: string): Promise<LoadResult> {
  log(`keep-alive → ${name}: ${opt.connections} connections, ${opt.warmup} s warm-up + ${opt.duration} s`);
  await waitQuiet();
  return runLoadChild(`autocannon-${name}`, path.join(BENCH_DIR, 'load-keepalive.ts'), [
    '--spec', t.spec, '--out', outFile, '--connections', String(opt.connections), '--duration', String(opt.duration), '--warmup', String(opt.warmup),
    '--target-pid', String(t.pid),
  ], outFile);
}

async function loadClose(name: string, t: TargetProc, outFile: string): Promise<LoadResult> {
  log(`Connection: close → ${name}: ${opt.closeConcurrency} in flight, ${opt.duration} s`);
  await waitQuiet();
  return runLoadChild(`close-${name}`, path.join(BENCH_DIR, 'load-net.ts'), [
    '--mode', 'checkin', '--spec', t.spec, '--out', outFile, '--concurrency', String(opt.closeConcurrency), '--duration', String(opt.duration),
    '--target-pid', String(t.pid),
  ], outFile);
}

async function loadRegister(name: string, specFile: string, pid: number, outFile: string, count: number): Promise<LoadResult> {
  log(`register_server.plain × ${count} (${name}), ${opt.regConcurrency} in flight, Connection: close`);
  await waitQuiet();
  return runLoadChild(`register-${name}`, path.join(BENCH_DIR, 'load-net.ts'), [
    '--mode', 'register', '--spec', specFile, '--out', outFile, '--concurrency', String(opt.regConcurrency), '--count', String(count),
    '--target-pid', String(pid),
  ], outFile);
}

/** 2xx and 404 are successes here; 5xx, other statuses, socket errors are failures. */
function failures(r: LoadResult): { http5xx: number; otherStatus: number; socketErrors: number } {
  let http5xx = 0;
  let otherStatus = 0;
  for (const [s, n] of Object.entries(r.statusCounts)) {
    const code = Number(s);
    if (code >= 500) http5xx += n;
    else if (!(code >= 200 && code < 300) && code !== 404) otherStatus += n;
  }
  const socketErrors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  return { http5xx, otherStatus, socketErrors };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-bench-'));
  const portalDir = path.join(tmpDir, 'portal');
  const copyDir = path.join(tmpDir, 'copies');
  mkdirSync(copyDir, { recursive: true });
  const dbFile = path.join(portalDir, 'eportal.sqlite');
  const copies = { baseline: path.join(copyDir, 'baseline.sqlite'), batched: path.join(copyDir, 'batched.sqlite'), micro: path.join(copyDir, 'micro.sqlite') };
  const portalPort = await freePort();
  const portalUrl = `http://${HOST}:${portalPort}`;
  const problems: string[] = [];
  const out: Record<string, unknown> = {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memGiB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version },
    options: { ...opt, phases: [...only] },
  };

  // 1. create + migrate
  const busyAtStart = await machineBusyPct(1000);
  out.otherCpuAtStartPct = busyAtStart;
  log(`temp dir ${tmpDir}; portal on ${portalUrl}; other processes use ${busyAtStart ?? '?'} % of a core`);
  let { p: portal, readyMs } = await startPortal(portalDir, portalPort);
  await sleep(2000);
  const emptyMemory = procMemory(portal.pid);
  log(`portal created its database (${readyMs} ms to ready, idle RSS ${emptyMemory.rssMiB} MiB with no servers); stopping it to seed`);
  await stopProcess(portal);

  // 2. seed, copy
  const sim = new AgentSim({ patchServer: `${portalUrl}/`, registrationUrl: `${portalUrl}/admin/api/kcare` });
  log(`seeding ${opt.servers.toLocaleString('en')} servers`);
  const seeded = seed(dbFile, opt.servers, sim);
  log(`seeded in ${seeded.seedSeconds} s (key ${seeded.key.slice(0, 4)}…, kernel ${seeded.khash.slice(0, 8)}…)`);
  for (const f of Object.values(copies)) copyFileSync(dbFile, f);

  // The check-in requests: a random sample of servers, each with its own
  // payload (hostname bench-<i> so the database shows the payload was applied).
  const sample = shuffledSample(opt.servers, opt.distinct);
  const checkins: RequestSpec[] = sample.map((i) => {
    const agent = new AgentSim({ patchServer: `${portalUrl}/`, registrationUrl: `${portalUrl}/admin/api/kcare`, serverId: seeded.ids[i]!, hostname: `bench-${i}` });
    return { path: `/${agent.khash}/latest.v2?${agent.checkinQuery()}`, auth: agent.authHeader() };
  });
  const first = checkins[0]!;
  const queryLen = first.path.length - first.path.indexOf('?') - 1;
  out.seed = { servers: opt.servers, seedSeconds: seeded.seedSeconds, distinctServersInLoad: opt.distinct, checkinQueryChars: queryLen, patchsetDeployed: opt.patchset };

  // 3. restart portal (seeded) + baselines
  ({ p: portal, readyMs } = await startPortal(portalDir, portalPort));
  log(`portal restarted with ${opt.servers.toLocaleString('en')} servers (${readyMs} ms to ready)`);
  await sleep(2000);
  const memory: Record<string, ProcMemory> = { portalIdleNoServers: emptyMemory, portalIdleAfterStart: procMemory(portal.pid) };
  log(`portal idle RSS ${memory.portalIdleAfterStart!.rssMiB} MiB`);
  out.portalStartMs = readyMs;

  const expectStatus = opt.patchset ? 200 : 404;
  {
    const r = await httpGet(`${portalUrl}${first.path}`, { Authorization: first.auth!, Connection: 'close' });
    const bad = await httpGet(`${portalUrl}${first.path}`, { Authorization: `Basic ${Buffer.from('Xnotaserverid000:kernelcare').toString('base64')}` });
    log(`sanity: latest.v2 → ${r.status} ${JSON.stringify(r.text)}; unknown id → ${bad.status}`);
    if (r.status !== expectStatus || (opt.patchset && r.text !== String(LEVEL))) problems.push(`sanity check-in answered ${r.status} ${r.text}`);
    if (bad.status !== 403) problems.push(`unknown server id answered ${bad.status}, expected 403`);
  }

  const wantCheckins = only.has('keepalive') || only.has('close');
  const targets = new Map<Target, TargetProc>();
  const baselines: Spawned[] = [];
  targets.set('portal', { port: portalPort, pid: portal.pid, spec: writeSpec(path.join(tmpDir, 'checkin-portal.json'), portalPort, checkins) });
  if (wantCheckins) {
    for (const t of ['baseline', 'batched'] as const) {
      const port = await freePort();
      const extra = t === 'batched' ? ['--batch-ms', String(FLUSH_MS)] : [];
      const b = spawnNode(t, path.join(BENCH_DIR, 'raw-baseline.ts'), ['--db', copies[t], '--port', String(port), '--level', String(opt.patchset ? LEVEL : 0), ...extra], { tsx: true });
      baselines.push(b);
      await waitReady(`http://${HOST}:${port}/healthz`, b);
      const r = await httpGet(`http://${HOST}:${port}${first.path}`, { Authorization: first.auth! });
      if (r.status !== expectStatus) problems.push(`${t} sanity check-in answered ${r.status}`);
      targets.set(t, { port, pid: b.pid, spec: writeSpec(path.join(tmpDir, `checkin-${t}.json`), port, checkins) });
      log(`${TARGET_LABEL[t]} on port ${port}`);
    }
  }

  // 4. check-in load
  const loadStart = Date.now();
  const checkinResults: Record<string, ModeResult> = {};
  let maxDistinct = 0;
  for (const mode of ['keepalive', 'close'] as const) {
    if (!only.has(mode)) continue;
    // rounds interleave the targets, so background load on a shared machine hits all of them alike
    const rounds = {} as Record<Target, LoadResult[]>;
    for (const t of TARGETS) rounds[t] = [];
    for (let round_ = 1; round_ <= opt.rounds; round_++) {
      for (const t of TARGETS) {
        const file = path.join(tmpDir, `${mode}-${t}-${round_}.out.json`);
        const res = mode === 'keepalive' ? await loadKeepAlive(t, targets.get(t)!, file) : await loadClose(t, targets.get(t)!, file);
        rounds[t].push(res);
        const f = failures(res);
        if (f.http5xx || f.otherStatus || f.socketErrors) {
          problems.push(`${mode}/${t}: ${f.http5xx} 5xx, ${f.otherStatus} unexpected statuses, ${f.socketErrors} socket errors ${JSON.stringify(res.errors)} ${JSON.stringify(res.statusCounts)}`);
        }
        if (t === 'portal') maxDistinct = Math.max(maxDistinct, res.distinctSent ?? 0);
      }
    }
    // the median round by throughput (upper median for an even count)
    const pick = (list: LoadResult[]) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)]!;
    const r = { portal: pick(rounds.portal), baseline: pick(rounds.baseline), batched: pick(rounds.batched) };
    checkinResults[mode] = {
      ...r,
      ratioPct: round((100 * r.portal.rps) / r.baseline.rps, 1),
      ratioBatchedPct: round((100 * r.portal.rps) / r.batched.rps, 1),
      ratioPerCpuPct: perCpuRatio(r.portal, r.baseline),
      ratioBatchedPerCpuPct: perCpuRatio(r.portal, r.batched),
      ...(opt.rounds > 1 ? { rounds } : {}),
    };
  }
  out.checkin = checkinResults;
  let verify: ReturnType<typeof verifyCheckins> | null = null;
  if (wantCheckins) {
    await sleep(Math.max(1000, 4 * FLUSH_MS)); // several flush intervals
    memory.portalAfterCheckinLoad = procMemory(portal.pid);
    for (const b of baselines) memory[`${b.name}AfterCheckinLoad`] = procMemory(b.pid);
    verify = verifyCheckins(dbFile, seeded, sample, loadStart, maxDistinct, problems);
    log(`verified: ${verify.updatedWhileRunning} servers checked in (expected ${verify.serversExpectedUpdated})`);
    for (const b of baselines) await stopProcess(b);
  }

  // 5. registration
  let registered: string[] = [];
  const probeHashes = new Set<string>();
  if (only.has('register')) {
    const regSpec = (n: number, tag: string): RequestSpec[] =>
      Array.from({ length: n }, (_, i) => ({ path: `/admin/api/kcare/register_server.plain?${pyUrlencode([['hostname', `reg-${tag}-${i}`], ['key', seeded.key]])}`, auth: null }));
    const rr = await loadRegister('portal', writeSpec(path.join(tmpDir, 'reg.json'), portalPort, regSpec(opt.registrations, 'a')), portal.pid, path.join(tmpDir, 'reg.out.json'), opt.registrations);
    registered = rr.serverIds ?? [];
    const reg: Record<string, unknown> = { unlimitedKey: summarizeRegistration(rr, problems, opt.registrations) };
    if (opt.limitedRegistrations > 0) {
      // Same key, now with a server limit: every registration also counts the key's servers.
      const w = openSqlite(dbFile);
      w.prepare('UPDATE Key SET serverLimit = ? WHERE id = ?').run(10_000_000, seeded.keyId);
      const serversInKey = (w.prepare('SELECT COUNT(*) AS n FROM Server WHERE keyId = ?').get(seeded.keyId) as { n: number }).n;
      w.close();
      const lr = await loadRegister('portal-limited', writeSpec(path.join(tmpDir, 'reg-lim.json'), portalPort, regSpec(opt.limitedRegistrations, 'b')), portal.pid, path.join(tmpDir, 'reg-lim.out.json'), opt.limitedRegistrations);
      registered = registered.concat(lr.serverIds ?? []);
      reg.limitedKey = { ...summarizeRegistration(lr, problems, opt.limitedRegistrations), serversInKeyBefore: serversInKey };
    }
    out.registration = reg;
    // the new ids work: a sample checks in (200/404, not 403)
    let ok = 0;
    const probe = registered.slice(0, 50);
    for (const id of probe) {
      probeHashes.add(hashServerId(id));
      const a = new AgentSim({ patchServer: `${portalUrl}/`, registrationUrl: `${portalUrl}/admin/api/kcare`, serverId: id });
      const r = await httpGet(`${portalUrl}/${a.khash}/latest.v2?${a.checkinQuery()}`, { Authorization: a.authHeader()! });
      if (r.status === 200 || r.status === 404) ok++;
    }
    if (ok !== probe.length) problems.push(`only ${ok}/${probe.length} newly registered ids could check in`);
    memory.portalAfterRegistration = procMemory(portal.pid);
  }

  // 6. clean stop: the final flush must not change what was verified
  memory.portalFinal = procMemory(portal.pid);
  out.memory = memory;
  const stopT = performance.now();
  const code = await stopProcess(portal);
  const stopMs = round(performance.now() - stopT, 0);
  if (code !== 0) problems.push(`portal exited with ${code} on SIGTERM`);
  const after = openSqlite(dbFile, { readonly: true });
  const totalServers = (after.prepare('SELECT COUNT(*) AS n FROM Server').get() as { n: number }).n;
  const touched = (after.prepare('SELECT serverIdHash AS h FROM Server WHERE lastCheckinAt >= ?').all(loadStart) as { h: string }[]).filter((r) => !probeHashes.has(r.h)).length;
  after.close();
  const expectedServers = opt.servers + new Set(registered).size;
  if (totalServers !== expectedServers) problems.push(`database holds ${totalServers} servers, expected ${expectedServers}`);
  if (new Set(registered).size !== registered.length) problems.push('registration handed out a duplicate server id');
  if (verify && touched !== verify.updatedWhileRunning) problems.push(`after stop ${touched} servers have a new lastCheckinAt, ${verify.updatedWhileRunning} while running`);
  out.verification = { ...verify, updatedAfterStop: touched, totalServers, expectedServers, portalStopMs: stopMs };

  // 7. micro
  if (only.has('micro')) {
    log('micro: hot-path pieces in-process');
    out.micro = micro(copies.micro, seeded, sample, checkins);
  }
  out.problems = problems;

  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(out, null, 2)}\n`);
  printTable(out, checkinResults, memory, problems);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE)}; total ${((performance.now() - t0Run) / 1000).toFixed(1)} s`);
  return problems.length ? 1 : 0;
}

function summarizeRegistration(r: LoadResult, problems: string[], expected: number) {
  const f = failures(r);
  const ok = r.codes?.['0'] ?? 0;
  if (ok !== expected || f.http5xx || f.socketErrors) problems.push(`registration: ${ok}/${expected} code 0, codes ${JSON.stringify(r.codes)}, errors ${JSON.stringify(r.errors)}`);
  return { count: expected, registered: ok, seconds: r.seconds, perSecond: r.rps, latencyMs: r.latencyMs, codes: r.codes, statusCounts: r.statusCounts, errors: r.errors, cpu: r.cpu };
}

/** Rows with lastCheckinAt >= loadStart must be exactly (a subset of) the servers hit, with the payload applied. */
function verifyCheckins(dbFile: string, seeded: Seeded, sample: number[], loadStart: number, maxDistinct: number, problems: string[]) {
  const db = openSqlite(dbFile, { readonly: true });
  const rows = db.prepare('SELECT serverIdHash AS h, hostname, ip, kernelId, agentVersion, virt, patchType FROM Server WHERE lastCheckinAt >= ?').all(loadStart) as {
    h: string; hostname: string; ip: string; kernelId: string; agentVersion: string; virt: string; patchType: string;
  }[];
  db.close();
  const hit = new Map(sample.map((i) => [hashServerId(seeded.ids[i]!), i]));
  let outside = 0;
  let wrongFields = 0;
  for (const r of rows) {
    const i = hit.get(r.h);
    if (i === undefined) outside++;
    else if (r.hostname !== `bench-${i}` || r.ip !== HOST || r.kernelId !== seeded.khash || r.agentVersion !== '2.32-1' || r.virt !== 'kvm' || r.patchType !== 'default') wrongFields++;
  }
  const expected = Math.min(sample.length, maxDistinct);
  if (outside) problems.push(`${outside} servers that were never hit have a new lastCheckinAt`);
  if (wrongFields) problems.push(`${wrongFields} checked-in servers do not carry the payload's fields`);
  if (rows.length < expected) problems.push(`only ${rows.length} of ${expected} servers hit have a new lastCheckinAt`);
  return { serversTargeted: sample.length, serversExpectedUpdated: expected, updatedWhileRunning: rows.length, notHitButUpdated: outside, wrongFields };
}

// ---------------------------------------------------------------- micro

/** µs per call of `fn` over `n` calls (after a short warm-up). */
function timeIt(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return round(((performance.now() - t) * 1000) / n, 2);
}

/** The portal's hot-path pieces timed in this process, on a copy of the seeded database. */
function micro(file: string, seeded: Seeded, sample: number[], checkins: RequestSpec[]) {
  const db = openSqlite(file);
  const store = new SqliteAgentStore(db);
  const n = checkins.length;
  const ids = sample.map((i) => seeded.ids[i]!);
  const queries = checkins.map((c) => c.path.slice(c.path.indexOf('?') + 1));
  const res: Record<string, number | Record<string, number>> = {};
  res.splitTargetUs = timeIt(n, (i) => splitTarget(checkins[i % n]!.path));
  res.basicDecodeUs = timeIt(n, (i) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]{1,200})$/i.exec(checkins[i % n]!.auth!);
    Buffer.from(m![1]!, 'base64').toString('utf8');
  });
  res.sha256Us = timeIt(n, (i) => hashServerId(ids[i % n]!));
  const hashes = ids.map(hashServerId);
  res.findServerUs = timeIt(n, (i) => store.findServer(hashes[i % n]!));
  res.parseCheckinUs = timeIt(n, (i) => parseCheckin(queries[i % n]!));
  // one flush of the batch the portal accumulates in 250 ms at a given rate
  const rows = sample.map((_, i) => store.findServer(hashes[i]!)!.rowId);
  const parsed = queries.map((q) => parseCheckin(q));
  const record = (i: number, at: number): CheckinRecord => {
    const p = parsed[i]!;
    const f = p.ok ? p.fields : null;
    return {
      serverRowId: rows[i]!, at, ip: HOST, kernelId: seeded.khash, hostname: f?.node ?? null, effectiveKernel: f?.euname ?? null, release: f?.release ?? null,
      machine: f?.machine ?? null, distro: f?.distro ?? null, distroVersion: f?.distroVersion ?? null, agentVersion: f?.kcareVersion ?? null, hasPayload: !!f,
      patchLevel: f?.patchLevel ?? null, patchType: f?.patchType ?? null, uptime: f?.uptime ?? null, virt: f?.virt ?? null, changed: true,
    };
  };
  // One flush of what the portal buffers in 250 ms at 10,000 check-ins/s (2,500
  // servers), with the 48 h activity window CheckinBuffer passes. First the
  // servers' first check-in in the load (hostname and ip change: their index
  // entries move), then the same servers again (only the time etc. change, the
  // steady state of agents checking in every 4 hours).
  const BATCH = Math.min(2500, n);
  const passes = Math.max(1, Math.floor(n / BATCH));
  const timeBatches = () => {
    const times: number[] = [];
    for (let b = 0; b < passes; b++) {
      const batch = Array.from({ length: BATCH }, (_, k) => record(b * BATCH + k, Date.now()));
      const t = performance.now();
      store.applyCheckins(batch, 48 * 3_600_000);
      times.push(performance.now() - t);
    }
    return summarize(times).p50;
  };
  const firstMs = timeBatches();
  const repeatMs = timeBatches();
  const flush: Record<string, number> = {
    batchRows: BATCH,
    firstCheckinBatchMs: round(firstMs, 1),
    firstCheckinUsPerRow: round((firstMs * 1000) / BATCH, 1),
    repeatCheckinBatchMs: round(repeatMs, 1),
    repeatCheckinUsPerRow: round((repeatMs * 1000) / BATCH, 1),
  };
  res.applyCheckins = flush;
  // registration: the store call alone, then with the key's server limit set (COUNT per call)
  const reg = (i: number) =>
    store.register({ key: seeded.key, hostname: `micro-${i}`, ip: HOST, idHash: hashServerId(`micro${i}x${Math.random()}`), idHint: 'micr', at: Date.now() });
  db.prepare('UPDATE Key SET serverLimit = NULL WHERE id = ?').run(seeded.keyId);
  res.registerUnlimitedUs = timeIt(500, reg);
  db.prepare('UPDATE Key SET serverLimit = ? WHERE id = ?').run(10_000_000, seeded.keyId);
  res.registerLimitedUs = timeIt(500, (i) => reg(i + 10_000));
  res.countServersInKeyUs = timeIt(200, () => db.prepare('SELECT COUNT(*) AS n FROM Server WHERE keyId = ?').get(seeded.keyId));
  db.close();
  return res;
}

// ---------------------------------------------------------------- report

function printTable(out: Record<string, unknown>, c: Record<string, ModeResult>, mem: Record<string, ProcMemory>, problems: string[]): void {
  const lines: string[] = [];
  const fmt = (v: number, d = 0) => v.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d });
  const W = 16;
  const pad = (s: string) => s.padStart(W);
  const m = out.machine as { cpus: number; cpuModel: string; node: string };
  lines.push('');
  lines.push(`Check-in benchmark: ${opt.servers.toLocaleString('en')} servers in the database, load over ${opt.distinct.toLocaleString('en')} distinct server ids`);
  lines.push(`${m.cpus} CPU (${m.cpuModel}), node ${m.node}; portal, baselines and load generator are separate processes on this machine`);
  lines.push(`CPU used by other processes before the run: ${String(out.otherCpuAtStartPct ?? '?')} % of one core (see "other" per run)`);
  lines.push(`latest.v2?<hex> with AgentSim's payload (${(out.seed as { checkinQueryChars: number }).checkinQueryChars} hex chars) + Basic auth; ${opt.duration} s per run`);
  lines.push(`raw baseline = node:http + better-sqlite3, one UPDATE per request; raw batched = same, UPDATEs batched every ${FLUSH_MS} ms like the portal`);
  lines.push('');
  const head = `${''.padEnd(36)}${TARGETS.map((t) => pad(TARGET_LABEL[t])).join('')}`;
  if (Object.keys(c).length) {
    lines.push(head);
    lines.push('-'.repeat(head.length));
  }
  const label: Record<string, string> = { keepalive: `keep-alive (autocannon, ${opt.connections} conns)`, close: `Connection: close (${opt.closeConcurrency} in flight)` };
  for (const [mode, r] of Object.entries(c)) {
    const row = (name: string, f: (x: LoadResult) => string) => lines.push(`${name.padEnd(36)}${TARGETS.map((t) => pad(f(r[t]))).join('')}`);
    lines.push(label[mode] ?? mode);
    row('  check-ins/s', (x) => fmt(x.rps));
    row('  p50 latency, ms', (x) => fmt(x.latencyMs.p50, 2));
    row('  p99 latency, ms', (x) => fmt(x.latencyMs.p99, 2));
    row('  CPU % server / load-gen / other', (x) => `${x.cpu?.targetPct ?? '?'}/${x.cpu?.generatorPct ?? '?'}/${x.cpu?.otherPct ?? '?'}`);
    row('  check-ins per server CPU-second', (x) => {
      const v = perCpu(x);
      return v === null ? '?' : fmt(v);
    });
    row('  responses', (x) => fmt(x.responses));
    row('  non-2xx (404 ok) / 5xx / sock err', (x) => {
      const f = failures(x);
      return `${x.responses - Object.entries(x.statusCounts).filter(([s]) => s.startsWith('2')).reduce((a, [, k]) => a + k, 0)} / ${f.http5xx} / ${f.socketErrors}`;
    });
    lines.push(`${'  portal vs baseline (throughput)'.padEnd(36)}${pad('')}${pad(`${r.ratioPct} %`)}${pad(`${r.ratioBatchedPct} %`)}`);
    lines.push(`${'  portal vs baseline (per CPU-second)'.padEnd(36)}${pad('')}${pad(`${r.ratioPerCpuPct ?? '?'} %`)}${pad(`${r.ratioBatchedPerCpuPct ?? '?'} %`)}`);
  }
  const reg = out.registration as Record<string, { count: number; seconds: number; perSecond: number; latencyMs: { p50: number; p99: number }; serversInKeyBefore?: number; cpu?: { targetPct: number | null; otherPct: number | null } }> | undefined;
  if (reg) {
    lines.push('');
    lines.push(`registration (register_server.plain, ${opt.regConcurrency} in flight, Connection: close)`);
    for (const [k, r] of Object.entries(reg)) {
      const what = k === 'limitedKey' ? `into key with serverLimit (${fmt(r.serversInKeyBefore ?? 0)} servers)` : `into key without limit (${fmt(opt.servers)} servers)`;
      lines.push(`  ${fmt(r.count)} ${what}: ${fmt(r.seconds, 2)} s, ${fmt(r.perSecond)} reg/s, p50 ${fmt(r.latencyMs.p50, 2)} ms, p99 ${fmt(r.latencyMs.p99, 2)} ms, CPU % portal ${r.cpu?.targetPct ?? '?'}, other ${r.cpu?.otherPct ?? '?'}`);
    }
  }
  lines.push('');
  lines.push('memory, VmRSS / VmHWM MiB');
  for (const [k, v] of Object.entries(mem)) lines.push(`  ${k.padEnd(34)}${fmt(v.rssMiB, 1).padStart(8)} / ${fmt(v.hwmMiB, 1)}`);
  const mi = out.micro as Record<string, number | Record<string, number>> | undefined;
  if (mi) {
    lines.push('');
    lines.push('hot path in-process (µs per call unless noted)');
    const flat = Object.entries(mi).flatMap(([k, v]) => (typeof v === 'number' ? [[k, v] as const] : Object.entries(v).map(([k2, v2]) => [`${k}.${k2}`, v2] as const)));
    for (const [k, v] of flat) lines.push(`  ${k.padEnd(40)}${fmt(v, Number.isInteger(v) ? 0 : 2).padStart(10)}`);
  }
  const v = out.verification as { updatedWhileRunning?: number; serversExpectedUpdated?: number; updatedAfterStop: number; notHitButUpdated?: number; wrongFields?: number; totalServers: number; portalStopMs: number };
  lines.push('');
  if (v.updatedWhileRunning !== undefined) {
    lines.push(`verification: ${fmt(v.updatedWhileRunning)} of ${fmt(v.serversExpectedUpdated ?? 0)} servers hit have the new lastCheckinAt (${fmt(v.updatedAfterStop)} after stop), ${v.notHitButUpdated} others touched, ${v.wrongFields} rows with wrong fields`);
  }
  lines.push(`database: ${fmt(v.totalServers)} servers at the end; portal stopped (SIGTERM, final flush) in ${v.portalStopMs} ms`);
  for (const [mode, r] of Object.entries(c)) {
    const t1 = r.portal.rps >= 5000;
    const t2 = r.ratioPct >= 60;
    const t3 = r.ratioBatchedPct >= 60;
    lines.push(`target ${mode}: ≥ 5,000 check-ins/s ${t1 ? 'PASS' : 'FAIL'} (${fmt(r.portal.rps)}); ≥ 60 % of raw baseline ${t2 ? 'PASS' : 'FAIL'} (${r.ratioPct} %); of raw batched ${t3 ? 'PASS' : 'FAIL'} (${r.ratioBatchedPct} %)`);
  }
  const r1 = reg?.unlimitedKey;
  if (r1) lines.push(`target registration: ${fmt(r1.count)} in < 10 s ${r1.seconds < 10 ? 'PASS' : 'FAIL'} (${fmt(r1.seconds, 2)} s)`);
  lines.push(problems.length ? `PROBLEMS:\n  ${problems.join('\n  ')}` : 'correctness: OK (no 5xx, no socket errors, database as expected)');
  lines.push('');
  process.stdout.write(`${lines.join('\n')}\n`);
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  cleanup();
}
process.exit(exitCode);
