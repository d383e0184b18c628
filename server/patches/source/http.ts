// Outbound HTTP to the patch source through undici. Every request of a sync
// goes through one dispatcher: a ProxyAgent (HTTP CONNECT, with credentials)
// when a proxy is set, a plain Agent otherwise, so nothing can bypass PROXY.
// Redirects are followed by hand so the Basic credentials are only ever sent
// to the origin the admin configured.
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { SourceError, toSourceError } from './errors.js';

/** Timeouts of one request; body = longest silence between two chunks. */
export interface HttpTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

/** An HTTP client bound to one source's credentials and dispatcher. */
export interface SourceHttp {
  get(url: string, opts?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

/** Builds the client; `proxy` may carry user:password (sent as Proxy-Authorization on CONNECT). */
export function createSourceHttp(opts: { proxy: string | null; tlsVerify: boolean; user: string | null; password: string | null; timeouts: HttpTimeouts }): SourceHttp {
  const tls = { rejectUnauthorized: opts.tlsVerify, timeout: opts.timeouts.connectMs };
  const common = { headersTimeout: opts.timeouts.headersMs, bodyTimeout: opts.timeouts.bodyMs, connections: 4 };
  let dispatcher: Dispatcher;
  if (opts.proxy) {
    const p = new URL(opts.proxy);
    const token = p.username ? `Basic ${Buffer.from(`${decodeURIComponent(p.username)}:${decodeURIComponent(p.password)}`).toString('base64')}` : undefined;
    // credentials go in `token`, not in the URI, so undici never repeats them in an error
    p.username = '';
    p.password = '';
    dispatcher = new ProxyAgent({ uri: p.href, token, requestTls: tls, proxyTls: tls, ...common });
  } else {
    dispatcher = new Agent({ connect: tls, ...common });
  }
  const auth = opts.user !== null ? `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}` : null;
  let authOrigin: string | null = null;
  return {
    async get(url, { headers = {}, signal } = {}) {
      authOrigin ??= new URL(url).origin;
      let target = new URL(url);
      for (let hop = 0; ; hop++) {
        const h: Record<string, string> = { 'user-agent': 'kc-eportal', ...headers };
        if (auth && target.origin === authOrigin) h.authorization = auth;
        const res = await request(target, { method: 'GET', headers: h, dispatcher, signal });
        const location = res.headers.location;
        if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304 || typeof location !== 'string') return res;
        await res.body.dump();
        if (hop >= 5) throw new SourceError('SOURCE_HTTP', `${target.pathname}: too many redirects`);
        target = new URL(location, target);
        if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new SourceError('SOURCE_HTTP', `redirect to a non-HTTP URL refused`);
      }
    },
    close: () => dispatcher.close(),
  };
}

/** Throws the right SourceError for a non-2xx status (after discarding the body). */
export async function checkStatus(res: Dispatcher.ResponseData, what: string, ok: number[] = [200]): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  await res.body.dump().catch(() => undefined);
  const s = res.statusCode;
  if (s === 401 || s === 403) throw new SourceError('SOURCE_AUTH', `${what}: the patch source refused the login (${s}); check the login and password`);
  if (s === 407) throw new SourceError('SOURCE_PROXY', `${what}: the proxy wants credentials (407)`);
  throw new SourceError('SOURCE_HTTP', `${what}: HTTP ${s}`, s >= 500 || s === 408 || s === 429);
}

/** Back-off of the retries: exponential from `baseMs`, capped, with ±25 % jitter. */
export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** Runs `fn` until it succeeds, a non-retryable error occurs, or attempts run out. */
export async function withRetries<T>(policy: RetryPolicy, what: string, signal: AbortSignal | undefined, fn: (attempt: number) => Promise<T>, onRetry?: (err: SourceError, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (raw) {
      const err = toSourceError(raw, what, signal);
      if (!(err instanceof SourceError) || !err.retryable || attempt >= policy.attempts || signal?.aborted) throw err;
      onRetry?.(err, attempt);
      const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      await sleep(delay, signal);
    }
  }
}

/** setTimeout as a promise that an abort ends early (resolving; callers check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Drops a response body we will not read (undici reports the abort as an error: it is expected). */
export function discardBody(res: Dispatcher.ResponseData): void {
  res.body.on('error', () => undefined).destroy();
}

/** Reads a whole body up to `max` bytes; SOURCE_INDEX_TOO_BIG-style error (via `tooBig`) beyond. */
export async function readBounded(res: Dispatcher.ResponseData, max: number, tooBig: () => SourceError): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    discardBody(res);
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      discardBody(res);
      throw tooBig();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
