// Keep-alive load generator (own process): autocannon's programmatic API,
// `connections` persistent connections, each request taken round-robin from
// the spec's list (many different servers), so the target does an auth lookup
// per request across the whole table rather than hitting one hot row.
//
//   tsx test/bench/load-keepalive.ts --spec FILE --out FILE [--connections 50] [--duration 10] [--warmup 2] [--target-pid PID]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpuWindow, numArg, parseArgs, round, Samples, strArg, summarize, type LoadResult, type LoadSpec } from './lib.js';

interface AcRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AcRequest, context: unknown) => AcRequest;
}

interface AcResult {
  duration: number;
  errors: number;
  timeouts: number;
  resets: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
  requests: { average: number; total: number };
}

interface AcInstance {
  on(event: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
  on(event: 'reqError', fn: (err: Error & { code?: string }) => void): void;
  stop(): void;
}

type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AcResult) => void) => AcInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const args = parseArgs(process.argv.slice(2));
const specFile = strArg(args, 'spec');
const outFile = strArg(args, 'out');
if (!specFile || !outFile) throw new Error('usage: load-keepalive.ts --spec FILE --out FILE');
const connections = numArg(args, 'connections', 50, 1);
const duration = numArg(args, 'duration', 10, 1);
const warmup = numArg(args, 'warmup', 2, 0);
const targetPid = numArg(args, 'target-pid', 0, 0) || null;
const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
const reqs = spec.requests;
if (reqs.length === 0) throw new Error('empty request list');

const baseHeaders = { 'Accept-Encoding': 'identity', 'User-Agent': 'Python-urllib/3.11' };
let next = 0;
const sent = new Set<number>();
let measuring = false;

function setupRequest(req: AcRequest): AcRequest {
  const i = next;
  next = next + 1 === reqs.length ? 0 : next + 1;
  if (measuring) sent.add(i);
  const r = reqs[i]!;
  req.method = 'GET';
  req.path = r.path;
  req.headers = r.auth ? { ...baseHeaders, Authorization: r.auth } : { ...baseHeaders };
  return req;
}

function run(seconds: number, collect: boolean): Promise<{ result: AcResult; latencies: Samples; statuses: Map<number, number>; errors: Map<string, number>; wallS: number }> {
  const latencies = new Samples();
  const statuses = new Map<number, number>();
  const errors = new Map<string, number>();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const inst = autocannon(
      {
        url: `http://${spec.host}:${spec.port}`,
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        requests: [{ setupRequest }],
      },
      (err, result) => (err ? reject(err) : resolve({ result, latencies, statuses, errors, wallS: (performance.now() - t0) / 1000 })),
    );
    if (collect) {
      inst.on('response', (_c, status, _bytes, ms) => {
        latencies.push(ms);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
      inst.on('reqError', (e) => errors.set(e.code ?? e.message, (errors.get(e.code ?? e.message) ?? 0) + 1));
    }
  });
}

if (warmup > 0) await run(warmup, false);
measuring = true;
const cpu = cpuWindow(targetPid);
const { result, latencies, statuses, errors } = await run(duration, true);
const cpuUsed = cpu.stop();
const responses = latencies.length;
if (result.timeouts) errors.set('timeout', result.timeouts);
if (result.resets) errors.set('reset', result.resets);
const out: LoadResult = {
  mode: 'keepalive',
  seconds: result.duration,
  responses,
  rps: round(responses / result.duration, 1),
  statusCounts: Object.fromEntries([...statuses].map(([k, v]) => [String(k), v])),
  errors: Object.fromEntries(errors),
  latencyMs: summarize(latencies.view()),
  autocannon: {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rpsAverage: result.requests.average,
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
  },
  distinctSent: sent.size,
  cpu: cpuUsed,
};
writeFileSync(outFile, JSON.stringify(out));
