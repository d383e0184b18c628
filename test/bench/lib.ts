// Shared helpers of the benchmark: child processes (tracked and always
// killed), free ports, readiness polling, /proc memory, percentiles, and the
// request-spec / result shapes exchanged with the load-generator processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.resolve(BENCH_DIR, '../..');
const WATCHDOG = path.join(BENCH_DIR, 'watchdog.mjs');

/** One request a load generator sends: raw path (with query) and the Authorization value (or null). */
export interface RequestSpec {
  path: string;
  auth: string | null;
}

/** What run.ts hands a load generator (as a JSON file). */
export interface LoadSpec {
  host: string;
  port: number;
  requests: RequestSpec[];
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What a load generator writes back. */
export interface LoadResult {
  mode: 'keepalive' | 'close' | 'register';
  /** measured seconds (wall clock of the measured window) */
  seconds: number;
  /** responses received in the measured window */
  responses: number;
  /** responses per second */
  rps: number;
  statusCounts: Record<string, number>;
  /** socket errors, timeouts, resets (per kind) */
  errors: Record<string, number>;
  latencyMs: LatencySummary;
  /** autocannon's own histogram figures (integer ms), for cross-checking */
  autocannon?: { p50: number; p99: number; rpsAverage: number; errors: number; timeouts: number; resets: number };
  /** register mode: replies by `code:` and the ids handed out */
  codes?: Record<string, number>;
  serverIds?: string[];
  /** number of distinct request specs actually sent */
  distinctSent?: number;
  /** CPU used during the measured window, % of one core: the target process and the generator itself */
  cpu?: CpuUse;
}

// ---------------------------------------------------------------- processes

const children = new Set<ChildProcess>();

export interface Spawned {
  child: ChildProcess;
  pid: number;
  name: string;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
  stderr(): string;
}

/**
 * Starts a node process with the watchdog preloaded (it exits when this
 * process dies). `tsx: true` loads TypeScript through tsx.
 */
export function spawnNode(name: string, script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; tsx?: boolean; cwd?: string } = {}): Spawned {
  const nodeArgs = ['--import', WATCHDOG, ...(opts.tsx ? ['--import', 'tsx'] : []), script, ...args];
  const child = spawn(process.execPath, nodeArgs, { cwd: opts.cwd ?? REPO_DIR, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  children.add(child);
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    if (err.length > 64_000) err = err.slice(-32_000);
  });
  child.stdout?.on('data', (c: Buffer) => {
    // children are quiet except for diagnostics; pass them through, prefixed
    const text = c.toString('utf8').trimEnd();
    if (text) process.stderr.write(`[${name}] ${text.replace(/\n/g, `\n[${name}] `)}\n`);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  return { child, pid: child.pid, name, exited, stderr: () => err };
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Resolves with the exit status. */
export async function stopProcess(p: Spawned, graceMs = 15_000): Promise<number | string> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every child still running (synchronous: usable from 'exit' handlers). */
export function killAllChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of children) {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs a load-generator child to completion and parses the JSON it writes to `outFile`. */
export async function runLoadChild(name: string, script: string, args: string[], outFile: string): Promise<LoadResult> {
  const p = spawnNode(name, script, args, { tsx: true });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${p.stderr().slice(-4000)}`);
  return JSON.parse(readFileSync(outFile, 'utf8')) as LoadResult;
}

// ---------------------------------------------------------------- network

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One GET, body as text. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls `url` until it answers 200, the process dies, or `timeoutMs` passes. */
export async function waitReady(url: string, p: Spawned, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited before it was ready (${p.child.exitCode ?? p.child.signalCode}):\n${p.stderr().slice(-4000)}`);
    }
    try {
      const r = await httpGet(url);
      if (r.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${p.name} not ready after ${timeoutMs} ms:\n${p.stderr().slice(-4000)}`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- measurements

export interface ProcMemory {
  /** resident set size, MiB */
  rssMiB: number;
  /** peak resident set size since start, MiB */
  hwmMiB: number;
}

/** VmRSS / VmHWM of a process from /proc/<pid>/status (Linux). */
export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: round(kb('VmRSS') / 1024, 1), hwmMiB: round(kb('VmHWM') / 1024, 1) };
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86_64/arm64

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat), null when unreadable. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, /proc/stat), null when unreadable. */
export function machineBusySeconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU over a measured window, in % of one core (a 2-core machine has 200 %). */
export interface CpuUse {
  /** the server under load */
  targetPct: number | null;
  /** the load generator */
  generatorPct: number;
  /** everything else on the machine (other processes): when high, the figures are contaminated */
  otherPct: number | null;
}

/** Measures CPU of a target pid, this process and the machine over a window. */
export function cpuWindow(targetPid: number | null): { stop(): CpuUse } {
  const t = performance.now();
  const self = process.cpuUsage();
  const target = targetPid ? procCpuSeconds(targetPid) : null;
  const machine = machineBusySeconds();
  return {
    stop() {
      const wall = (performance.now() - t) / 1000;
      const used = process.cpuUsage(self);
      const targetNow = targetPid ? procCpuSeconds(targetPid) : null;
      const machineNow = machineBusySeconds();
      const targetPct = target !== null && targetNow !== null ? round((100 * (targetNow - target)) / wall, 0) : null;
      const generatorPct = round((100 * (used.user + used.system)) / 1e6 / wall, 0);
      const machinePct = machine !== null && machineNow !== null ? (100 * (machineNow - machine)) / wall : null;
      const otherPct = machinePct === null ? null : Math.max(0, round(machinePct - (targetPct ?? 0) - generatorPct, 0));
      return { targetPct, generatorPct, otherPct };
    },
  };
}

/** Busy % (of one core) of the whole machine over `ms`. */
export async function machineBusyPct(ms: number): Promise<number | null> {
  const a = machineBusySeconds();
  const t = performance.now();
  await sleep(ms);
  const b = machineBusySeconds();
  return a === null || b === null ? null : round((100 * (b - a)) / ((performance.now() - t) / 1000), 0);
}

/** Percentiles of latencies (ms), nearest-rank. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  return { count: n, mean: round(sum / n, 3), p50: round(at(0.5), 3), p90: round(at(0.9), 3), p99: round(at(0.99), 3), max: round(sorted[n - 1]!, 3) };
}

/** A growable list of doubles (latencies), cheaper than number[] at 10^5-10^6 entries. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---------------------------------------------------------------- arguments

/** `--name value`, `--name=value` and bare `--flag` (true). */
export function parseArgs(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out.set(a.slice(2), next);
      i++;
    } else out.set(a.slice(2), true);
  }
  return out;
}

export function numArg(args: Map<string, string | true>, name: string, def: number, min = 0): number {
  const v = args.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number >= ${min}`);
  return n;
}

export function strArg(args: Map<string, string | true>, name: string): string | undefined {
  const v = args.get(name);
  if (v === undefined) return undefined;
  if (v === true) throw new Error(`--${name}: expected a value`);
  return v;
}

/** The raw HTTP/1.1 request bytes an agent (Python urllib) sends. */
export function rawAgentRequest(host: string, port: number, spec: RequestSpec, close: boolean): Buffer {
  let head = `GET ${spec.path} HTTP/1.1\r\nAccept-Encoding: identity\r\nHost: ${host}:${port}\r\nUser-Agent: Python-urllib/3.11\r\n`;
  if (spec.auth) head += `Authorization: ${spec.auth}\r\n`;
  head += close ? 'Connection: close\r\n\r\n' : '\r\n';
  return Buffer.from(head, 'latin1');
}
