// Load generator of the patch benchmark (own process, raw sockets): GETs of
// patch files or latest.v2, rotating over the spec's requests (many server
// ids, many kernels), either on persistent connections (keep-alive, one
// request in flight per connection) or one fresh connection per request with
// `Connection: close` like the real agent. Unlike load-keepalive.ts /
// load-net.ts it counts the body bytes of every response and checks them
// against Content-Length and the expected file size, so MB/s are real bytes
// delivered, and a truncated or wrong file is an error, not a response.
//
//   tsx test/bench/patches-load.ts --mode keepalive|close --spec FILE --out FILE
//       [--concurrency 32] [--duration 6] [--warmup 1] [--target-pid PID]
//
// Spec: LoadSpec whose requests may carry `expectLen` (body bytes) and
// `expectStatus` (default 200).
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpuWindow, numArg, parseArgs, rawAgentRequest, round, Samples, strArg, summarize, type LoadResult, type RequestSpec } from './lib.js';

export interface FileRequestSpec extends RequestSpec {
  expectLen?: number;
  expectStatus?: number;
}

export interface FileLoadSpec {
  host: string;
  port: number;
  requests: FileRequestSpec[];
}

export interface FileLoadResult extends LoadResult {
  /** body bytes received in the measured window (complete, checked responses only) */
  bodyBytes: number;
  /** 10^6 bytes per second of body */
  mbPerSec: number;
  /** responses whose body length differed from Content-Length or the expected size, or with an unexpected status */
  badResponses: number;
  badSamples: string[];
}

const args = parseArgs(process.argv.slice(2));
const mode = strArg(args, 'mode');
const specFile = strArg(args, 'spec');
const outFile = strArg(args, 'out');
if ((mode !== 'keepalive' && mode !== 'close') || !specFile || !outFile) throw new Error('usage: patches-load.ts --mode keepalive|close --spec FILE --out FILE');
const spec = JSON.parse(readFileSync(specFile, 'utf8')) as FileLoadSpec;
if (spec.requests.length === 0) throw new Error('empty request list');
const concurrency = numArg(args, 'concurrency', 32, 1);
const duration = numArg(args, 'duration', 6, 0.1);
const warmup = numArg(args, 'warmup', 1, 0);
const targetPid = numArg(args, 'target-pid', 0, 0) || null;
const TIMEOUT_MS = 15_000;
const close = mode === 'close';
const buffers = spec.requests.map((r) => rawAgentRequest(spec.host, spec.port, r, close));
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONN_CLOSE = /\r\nconnection:[ \t]*close/i;

interface Reply {
  status: number;
  bodyBytes: number;
  contentLength: number | null;
  /** the server announced (or did) close the connection */
  closed: boolean;
}

type Err = Error & { code?: string };
const err = (code: string, msg: string): Err => Object.assign(new Error(msg), { code });

/**
 * Reads one response from `sock` (already written to). Keep-alive: complete
 * when Content-Length body bytes arrived; close: complete at EOF.
 */
function readResponse(sock: net.Socket, untilEof: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let status = 0;
    let contentLength: number | null = null;
    let announcedClose = false;
    let body = 0;
    let done = false;
    const finish = (e: Err | null, r?: Reply) => {
      if (done) return;
      done = true;
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
      sock.off('timeout', onTimeout);
      sock.setTimeout(0);
      if (e) reject(e);
      else resolve(r!);
    };
    const complete = () => finish(null, { status, bodyBytes: body, contentLength, closed: announcedClose || untilEof });
    const onData = (c: Buffer) => {
      if (head !== null) {
        const all: Buffer = head.length ? Buffer.concat([head, c]) : c;
        const end = all.indexOf(HEADER_END);
        if (end < 0) {
          if (all.length > 16_384) return finish(err('EHEADER', 'response header too large'));
          head = all;
          return;
        }
        const text = all.toString('latin1', 0, end + 2);
        status = Number(text.slice(9, 12));
        const m = CONTENT_LENGTH.exec(text);
        contentLength = m ? Number(m[1]) : null;
        announcedClose = CONN_CLOSE.test(text);
        head = null;
        body = all.length - end - 4;
      } else body += c.length;
      if (!untilEof) {
        if (contentLength === null) return finish(err('ENOLENGTH', 'keep-alive response without Content-Length'));
        if (body > contentLength) return finish(err('EEXTRA', 'more bytes than Content-Length'));
        if (body === contentLength) complete();
      }
    };
    const onError = (e: Err) => finish(e);
    const onClose = () => {
      if (head !== null) return finish(err('EMPTY', 'closed without a response'));
      if (untilEof) return complete();
      finish(err('ETRUNC', `closed after ${body} of ${contentLength} body bytes`));
    };
    sock.on('data', onData);
    sock.on('error', onError);
    const onTimeout = () => finish(err('ETIMEDOUT', 'timeout'));
    sock.on('close', onClose);
    sock.on('timeout', onTimeout);
    sock.setTimeout(TIMEOUT_MS);
  });
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(spec.port, spec.host);
    sock.setNoDelay(true);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

const latencies = new Samples();
const statuses = new Map<number, number>();
const errors = new Map<string, number>();
const sent = new Set<number>();
const badSamples: string[] = [];
let bodyBytes = 0;
let bad = 0;
let record = false;
let t0 = 0;
let next = 0;

function check(i: number, r: Reply): boolean {
  const want = spec.requests[i]!;
  const expectStatus = want.expectStatus ?? 200;
  let problem: string | null = null;
  if (r.status !== expectStatus) problem = `status ${r.status}, expected ${expectStatus}`;
  else if (r.contentLength !== null && r.bodyBytes !== r.contentLength) problem = `body ${r.bodyBytes} bytes, Content-Length ${r.contentLength}`;
  else if (want.expectLen !== undefined && r.bodyBytes !== want.expectLen) problem = `body ${r.bodyBytes} bytes, expected ${want.expectLen}`;
  if (problem && badSamples.length < 10) badSamples.push(`${want.path.slice(0, 120)}: ${problem}`);
  return problem === null;
}

async function worker(deadline: () => number): Promise<void> {
  let sock: net.Socket | null = null;
  for (;;) {
    if (performance.now() >= deadline()) break;
    const i = next;
    next = next + 1 === buffers.length ? 0 : next + 1;
    const start = performance.now();
    try {
      if (!sock || sock.destroyed) sock = await connect();
      const s: net.Socket = sock;
      const reply = readResponse(s, close);
      // never half-close after the request (sock.end): Node's http server
      // (httpAllowHalfOpen false) then aborts any response not written
      // synchronously; the agent (urllib) does not half-close either
      s.write(buffers[i]!);
      const r = await reply;
      const ms = performance.now() - start;
      if (r.closed) {
        s.destroy();
        sock = null;
      }
      if (!record || start < t0) continue;
      sent.add(i);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (check(i, r)) {
        latencies.push(ms);
        bodyBytes += r.bodyBytes;
      } else bad++;
    } catch (e) {
      sock?.destroy();
      sock = null;
      if (record) {
        const code = (e as Err).code ?? (e as Err).message;
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    }
  }
  sock?.destroy();
}

// Warm-up and measured window run on the same workers (keep-alive connections
// carry over); only responses started and completed inside the window count.
let phaseEnd = Number.POSITIVE_INFINITY;
const workers = Promise.all(Array.from({ length: concurrency }, () => worker(() => phaseEnd)));
if (warmup > 0) await new Promise((r) => setTimeout(r, warmup * 1000));
const cpu = cpuWindow(targetPid);
t0 = performance.now();
record = true;
phaseEnd = t0 + duration * 1000;
await workers;
const seconds = (performance.now() - t0) / 1000;
const cpuUsed = cpu.stop();
const responses = latencies.length;
const out: FileLoadResult = {
  mode: close ? 'close' : 'keepalive',
  seconds: round(seconds, 3),
  responses,
  rps: round(responses / seconds, 1),
  statusCounts: Object.fromEntries([...statuses].map(([k, v]) => [String(k), v])),
  errors: Object.fromEntries(errors),
  latencyMs: summarize(latencies.view()),
  distinctSent: sent.size,
  cpu: cpuUsed,
  bodyBytes,
  mbPerSec: round(bodyBytes / seconds / 1e6, 1),
  badResponses: bad,
  badSamples,
};
writeFileSync(outFile, JSON.stringify(out));
