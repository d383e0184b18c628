// Closed-connection load generator (own process), on raw sockets so it costs
// the target nothing extra and measures what a real agent sees: one new TCP
// connection per request, `Connection: close`, read to EOF. autocannon cannot
// do this (it reuses sockets; its reconnectRate drops the responses it resets).
//
//   checkin:  tsx test/bench/load-net.ts --mode checkin  --spec FILE --out FILE [--concurrency 50] [--duration 10] [--target-pid PID]
//   register: tsx test/bench/load-net.ts --mode register --spec FILE --out FILE [--concurrency 32] [--count 10000]
// In register mode the spec's requests are the register_server.plain URLs (one each).
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpuWindow, numArg, parseArgs, rawAgentRequest, round, Samples, strArg, summarize, type LoadResult, type LoadSpec } from './lib.js';

const args = parseArgs(process.argv.slice(2));
const mode = strArg(args, 'mode');
const specFile = strArg(args, 'spec');
const outFile = strArg(args, 'out');
if ((mode !== 'checkin' && mode !== 'register') || !specFile || !outFile) throw new Error('usage: load-net.ts --mode checkin|register --spec FILE --out FILE');
const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
if (spec.requests.length === 0) throw new Error('empty request list');
const concurrency = numArg(args, 'concurrency', mode === 'register' ? 32 : 50, 1);
const duration = numArg(args, 'duration', 10, 0.1);
const count = numArg(args, 'count', spec.requests.length, 1);
const targetPid = numArg(args, 'target-pid', 0, 0) || null;
const TIMEOUT_MS = 10_000;

const buffers = spec.requests.map((r) => rawAgentRequest(spec.host, spec.port, r, true));

interface Reply {
  status: number;
  body: Buffer | null;
}

/** One request on a fresh connection, read until the server closes it. */
function once(buf: Buffer, wantBody: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(spec.port, spec.host);
    const chunks: Buffer[] = [];
    let status = 0;
    let done = false;
    sock.setNoDelay(true);
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    sock.on('data', (c: Buffer) => {
      if (status === 0 && c.length >= 12) status = Number(c.toString('latin1', 9, 12));
      if (wantBody) chunks.push(c);
    });
    sock.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
    sock.on('close', () => {
      if (done) return;
      done = true;
      if (status === 0) reject(Object.assign(new Error('closed without a response'), { code: 'EMPTY' }));
      else resolve({ status, body: wantBody ? Buffer.concat(chunks) : null });
    });
    sock.end(buf);
  });
}

const latencies = new Samples();
const statuses = new Map<number, number>();
const errors = new Map<string, number>();
const codes = new Map<string, number>();
const serverIds: string[] = [];
const sent = new Set<number>();
const count1 = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

let next = 0;
let issued = 0;
const cpu = cpuWindow(targetPid);
const t0 = performance.now();
const deadline = t0 + duration * 1000;

async function worker(): Promise<void> {
  for (;;) {
    if (mode === 'checkin' ? performance.now() >= deadline : issued >= count) return;
    issued++;
    const i = next;
    next = next + 1 === buffers.length ? 0 : next + 1;
    sent.add(i);
    const start = performance.now();
    try {
      const r = await once(buffers[i]!, mode === 'register');
      latencies.push(performance.now() - start);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.body) {
        const text = r.body.toString('utf8');
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        const code = /^code:\s*(-?\d+)/m.exec(body)?.[1] ?? 'none';
        count1(codes, code);
        const id = /^server_id:\s*(\S+)/m.exec(body)?.[1];
        if (code === '0' && id) serverIds.push(id);
      }
    } catch (e) {
      const err = e as Error & { code?: string };
      count1(errors, err.code ?? err.message);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
const seconds = (performance.now() - t0) / 1000;
const cpuUsed = cpu.stop();
const out: LoadResult = {
  mode: mode === 'checkin' ? 'close' : 'register',
  seconds: round(seconds, 3),
  responses: latencies.length,
  rps: round(latencies.length / seconds, 1),
  statusCounts: Object.fromEntries([...statuses].map(([k, v]) => [String(k), v])),
  errors: Object.fromEntries(errors),
  latencyMs: summarize(latencies.view()),
  distinctSent: sent.size,
  cpu: cpuUsed,
  ...(mode === 'register' ? { codes: Object.fromEntries(codes), serverIds } : {}),
};
writeFileSync(outFile, JSON.stringify(out));
