/**
 * A KernelCare agent simulator that speaks the wire protocol the way kcarectl
 * 2.32 does (see docs/agent-protocol.md), for tests and benchmarks against a
 * running portal. It sends exactly the agent's requests (GET, Python-urllib
 * headers, `Connection: close`, Basic `server_id:kernelcare` on patch-server
 * calls) and never retries unless asked to, but records every 5xx it sees.
 */
import { createHash } from 'node:crypto';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import { pyLong, pyRepr, type PyInput } from './pyrepr.js';

export interface AgentSimOptions {
  /** PATCH_SERVER, e.g. `http://127.0.0.1:PORT/`. */
  patchServer: string;
  /** REGISTRATION_URL, e.g. `http://127.0.0.1:PORT/admin/api/kcare`. */
  registrationUrl: string;
  /** PREFIX (`test`, `12h`...), inserted after PATCH_SERVER. */
  prefix?: string;
  /** Keep the agent's `host//prefix/` double slash (default true). */
  prefixDoubleSlash?: boolean;
  /** Node name: `hostname=` on registration and `node` in check-ins. */
  hostname?: string;
  /** Raw /proc/version text; its SHA-1 is the kernel id. */
  procVersion?: string;
  /** Behave like the agent under Python 2.7 (key order, u-prefixes, longs, distro filled). */
  python2?: boolean;
  /** Start as already registered with this server id. */
  serverId?: string;
  /** Loaded patch level (None when nothing is loaded). */
  patchLevel?: number | null;
  /** `default`, `extra`, `free`, `edf`. */
  patchType?: string;
  /** Effective kernel; defaults to the release from /proc/version. */
  euname?: string;
  /** Persistent check-in field overrides; `undefined` removes a field. */
  fields?: Record<string, PyInput | undefined>;
  /** undici dispatcher (e.g. an `Agent` for keep-alive in benchmarks). */
  dispatcher?: Dispatcher;
  /** Omit `Connection: close` so a dispatcher can reuse sockets (default false, like the agent). */
  keepAlive?: boolean;
  /** Retries on 5xx/network errors; the real agent does 5, the default here is 0. */
  retries?: number;
  /** Back-off per retry, last value repeats; the agent uses 3, 6, 12, 24 s. */
  retryDelaysMs?: readonly number[];
  /** Extra headers sent with every request (e.g. X-Forwarded-For in proxy tests). */
  extraHeaders?: Record<string, string>;
}

export interface SimResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface PlainResponse extends SimResponse {
  /** The reply parsed exactly like the agent does. */
  reply: Record<string, string>;
  /** `code:` as an integer, or null when absent or not an int. */
  code: number | null;
}

export interface RegisterResult extends PlainResponse {
  serverId: string | null;
}

export interface CheckinOptions {
  /** One-off field overrides on top of the persistent ones; `undefined` removes a field. */
  fields?: Record<string, PyInput | undefined>;
  /** Send this verbatim after `?` instead of the encoded payload; null sends no query at all. */
  rawQuery?: string | null;
}

export interface CheckinResponse extends SimResponse {
  /** The Python-literal text that was hex-encoded (null when rawQuery was used). */
  payload: string | null;
  /** `latest.v2` body as an int, or null if the body is not a plain integer. */
  level: number | null;
}

export interface LatestPatchInfo {
  checkin: CheckinResponse;
  info: SimResponse | null;
}

export interface ServerErrorRecord {
  url: string;
  status: number;
}

const PY3_ORDER = [
  'machine', 'processor', 'release', 'system', 'version', 'distro', 'distro_version', 'euname',
  'kcare_version', 'last_stop', 'node', 'uptime', 'virt', 'ltimestamp', 'patch_level', 'patch_type',
  'server_id', 'state',
] as const;

// CPython 2.7 iterates dicts in hash order; these are what 2.7.18 (64-bit, no -R)
// prints for the same keys, independent of which of them are present.
const PY2_ORDER = [
  'node', 'uptime', 'patch_type', 'last_stop', 'euname', 'patch_level', 'server_id', 'system',
  'distro_version', 'machine', 'kcare_version', 'state', 'version', 'ltimestamp', 'virt', 'release',
  'processor', 'distro',
] as const;

const STATE_PY3_ORDER = ['khash', 'future', 'mode', 'action', 'current', 'kmod_changed'] as const;
const STATE_PY2_ORDER = ['kmod_changed', 'current', 'future', 'mode', 'action', 'khash'] as const;

const DEFAULT_PROC_VERSION =
  'Linux version 6.18.44-fc (root@builder) (gcc (GCC) 14.2.1, GNU ld 2.43) #1 SMP PREEMPT_DYNAMIC @0\n';

// Python's str.isspace() set, so parsePlainReply trims exactly like str.strip()
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
  0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f,
  0x205f, 0x3000,
]);

/** Python's `str.strip()` with no arguments. */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE.has(s.charCodeAt(a))) a++;
  while (b > a && PY_SPACE.has(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** Parses a `*.plain` reply like the agent: split at the first `:`, key as is, value stripped, no-colon lines ignored. */
export function parsePlainReply(text: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    out[line.slice(0, i)] = pyStrip(line.slice(i + 1));
  }
  return out;
}

/** Percent-encodes like Python's `urllib.parse.quote_plus` (safe set: letters, digits, `_.-~`). */
export function pyQuotePlus(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.\-~]/.test(ch)) out += ch;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's `urllib.parse.urlencode` for a list of string pairs. */
export function pyUrlencode(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${pyQuotePlus(k)}=${pyQuotePlus(v)}`).join('&');
}

/** Lowercase hex SHA-1 of the /proc/version text: the agent's kernel id. */
export function kernelHash(procVersion: string): string {
  return createHash('sha1').update(procVersion, 'utf8').digest('hex');
}

/** Upper-case hex of the UTF-8 bytes, as the agent encodes its check-in. */
export function hexEncodeQuery(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex').toUpperCase();
}

/** `latest.v2`'s body as an int, or null when it is not one. */
function parseLevel(text: string): number | null {
  const t = text.trim();
  return /^\d{1,15}$/.test(t) ? Number(t) : null;
}

function releaseOf(procVersion: string): string {
  return /^Linux version (\S+)/.exec(procVersion)?.[1] ?? 'unknown';
}

function kernelVersionOf(procVersion: string): string {
  return /(#\d+.*?)\s*$/.exec(procVersion)?.[1] ?? '#1 SMP';
}

/** Origin plus the raw path: the path keeps double slashes and exact query bytes (no URL normalisation). */
export function splitUrl(url: string): { origin: string; path: string } {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (!m) throw new TypeError(`not an absolute URL: ${url}`);
  const rest = url.slice(m[0].length);
  return { origin: new URL(m[0]).origin, path: rest.startsWith('/') ? rest : `/${rest}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function orderKeys<T>(entries: Map<string, T>, order: readonly string[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const k of order) if (entries.has(k)) out.set(k, entries.get(k) as T);
  for (const [k, v] of entries) if (!out.has(k)) out.set(k, v);
  return out;
}

function applyOverrides(m: Map<string, PyInput>, over: Record<string, PyInput | undefined> | undefined): void {
  if (!over) return;
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
}

/** Simulates one host running kcarectl against a portal. */
export class AgentSim {
  readonly patchServer: string;
  readonly registrationUrl: string;
  readonly prefix: string | undefined;
  readonly python2: boolean;
  readonly procVersion: string;
  readonly khash: string;
  hostname: string;
  serverId: string | null;
  patchLevel: number | null;
  patchType: string;
  euname: string;
  /** Persistent payload overrides; mutate freely between check-ins. */
  fields: Record<string, PyInput | undefined>;
  /** Every 5xx answer received (tests assert this stays empty). */
  readonly serverErrors: ServerErrorRecord[] = [];
  /** Number of HTTP requests sent, retries included. */
  requestCount = 0;
  /** Method, URL and headers of the most recent request. */
  lastRequest: { url: string; headers: Record<string, string> } | null = null;

  private readonly dispatcher: Dispatcher | undefined;
  private readonly keepAlive: boolean;
  private readonly retries: number;
  private readonly retryDelaysMs: readonly number[];
  private readonly extraHeaders: Record<string, string>;
  private readonly prefixDoubleSlash: boolean;
  private readonly startedAt = Date.now();

  constructor(opts: AgentSimOptions) {
    this.patchServer = opts.patchServer;
    this.registrationUrl = opts.registrationUrl;
    this.prefix = opts.prefix || undefined;
    this.prefixDoubleSlash = opts.prefixDoubleSlash ?? true;
    this.python2 = opts.python2 ?? false;
    this.procVersion = opts.procVersion ?? DEFAULT_PROC_VERSION;
    this.khash = kernelHash(this.procVersion);
    this.hostname = opts.hostname ?? 'vm';
    this.serverId = opts.serverId ?? null;
    this.patchLevel = opts.patchLevel ?? null;
    this.patchType = opts.patchType ?? 'default';
    this.euname = opts.euname ?? releaseOf(this.procVersion);
    this.fields = { ...opts.fields };
    this.dispatcher = opts.dispatcher;
    this.keepAlive = opts.keepAlive ?? false;
    this.retries = opts.retries ?? 0;
    this.retryDelaysMs = opts.retryDelaysMs ?? [3000, 6000, 12000, 24000];
    this.extraHeaders = { ...opts.extraHeaders };
  }

  /** `User-Agent` value of the simulated Python. */
  get userAgent(): string {
    return this.python2 ? 'Python-urllib/2.7' : 'Python-urllib/3.11';
  }

  /** The `Authorization` header value once registered, else null. */
  authHeader(): string | null {
    if (!this.serverId) return null;
    return `Basic ${Buffer.from(`${this.serverId}:kernelcare`, 'utf8').toString('base64')}`;
  }

  /** `{PS}[/prefix]/` as an absolute URL string, slashes exactly as the agent builds them. */
  patchBase(): string {
    const ps = this.patchServer;
    if (!this.prefix) return ps.endsWith('/') ? ps : `${ps}/`;
    const head = this.prefixDoubleSlash ? `${ps}/` : `${ps.replace(/\/+$/, '')}/`;
    return `${head}${this.prefix}/`;
  }

  /** The file infix for the patch type: '' for default, `.extra` etc. otherwise. */
  patchInfix(): string {
    return this.patchType === 'default' || this.patchType === '' ? '' : `.${this.patchType}`;
  }

  /** The check-in dict in the agent's key order (Python 2 or 3). */
  payloadDict(over?: Record<string, PyInput | undefined>): Map<string, PyInput> {
    const level: PyInput = this.patchLevel === null ? null : this.python2 ? pyLong(this.patchLevel) : this.patchLevel;
    const m = new Map<string, PyInput>([
      ['machine', 'x86_64'],
      ['processor', this.python2 ? 'x86_64' : ''],
      ['release', releaseOf(this.procVersion)],
      ['system', 'Linux'],
      ['version', kernelVersionOf(this.procVersion)],
      ['distro', this.python2 ? 'debian' : ''],
      ['distro_version', this.python2 ? '12.11' : ''],
      ['euname', this.euname],
      ['kcare_version', '2.32-1'],
      ['last_stop', '-1'],
      ['node', this.hostname],
      ['uptime', String(1043 + Math.floor((Date.now() - this.startedAt) / 1000))],
      ['virt', 'kvm'],
      ['ltimestamp', ''],
      ['patch_level', level],
      ['patch_type', this.patchType],
    ]);
    if (this.serverId) m.set('server_id', this.serverId);
    m.set('state', this.stateDict(level));
    applyOverrides(m, this.fields);
    applyOverrides(m, over);
    return orderKeys(m, this.python2 ? PY2_ORDER : PY3_ORDER);
  }

  // The doc names the state keys but not their values; these are plausible defaults.
  private stateDict(level: PyInput): Map<string, PyInput> {
    const s = new Map<string, PyInput>([
      ['khash', this.khash],
      ['future', level],
      ['mode', 'update'],
      ['action', 'update'],
      ['current', level],
      ['kmod_changed', false],
    ]);
    return orderKeys(s, this.python2 ? STATE_PY2_ORDER : STATE_PY3_ORDER);
  }

  /** `str(dict)` of the check-in payload. */
  payloadText(over?: Record<string, PyInput | undefined>): string {
    return pyRepr(this.payloadDict(over), { python2: this.python2 });
  }

  /** The bare upper-case hex query the agent appends to `latest.v2?`. */
  checkinQuery(over?: Record<string, PyInput | undefined>): string {
    return hexEncodeQuery(this.payloadText(over));
  }

  /** The URL of `latest.v2` without query. */
  latestUrl(): string {
    return `${this.patchBase()}${this.khash}/latest.v2`;
  }

  /** Registers with a key (silently unregistering first, like the agent); stores the server id on `code: 0`. */
  async register(key: string): Promise<RegisterResult> {
    if (this.serverId) {
      await this.unregister().catch(() => null);
      this.serverId = null;
    }
    const res = await this.plain('register_server.plain', [['hostname', this.hostname], ['key', key]]);
    const id = res.reply['server_id'];
    const serverId = res.code === 0 && id ? id : null;
    if (serverId) this.serverId = serverId;
    return { ...res, serverId };
  }

  /** Unregisters (only when registered); forgets the server id on `success: true`. Null when not registered. */
  async unregister(): Promise<PlainResponse | null> {
    if (!this.serverId) return null;
    const res = await this.plain('unregister_server.plain', [['server_id', this.serverId]]);
    if (res.reply['success'] === 'true') this.serverId = null;
    return res;
  }

  /** `--tag`: `;`-separated items, `name:value` or bare; '' clears. */
  tag(tags: string): Promise<PlainResponse> {
    return this.plain('tag_server.plain', [['server_id', this.serverId ?? ''], ['tag', tags]]);
  }

  /** Licence check (`code` 0 valid, 1 not yet active, 2+ invalid). */
  check(): Promise<PlainResponse> {
    return this.plain('check.plain', [['server_id', this.serverId ?? '']]);
  }

  /** Trial request (on-prem answers `success: na`). */
  trial(): Promise<PlainResponse> {
    return this.plain('trial.plain', []);
  }

  /** Sticky patch lookup. */
  stickyPatch(): Promise<PlainResponse> {
    return this.plain('sticky_patch.plain', [['server_id', this.serverId ?? '']]);
  }

  /** Nagios key registration check. */
  registerNagiosKey(key: string): Promise<PlainResponse> {
    return this.plain('nagios/register_key.plain', [['key', key]]);
  }

  /** The check-in: `GET {PS}/<khash>/latest.v2?<HEX>` with Basic auth once registered. */
  async checkin(opts?: CheckinOptions): Promise<CheckinResponse> {
    const raw = opts?.rawQuery;
    const payload = raw === undefined ? this.payloadText(opts?.fields) : null;
    const query = raw === undefined ? hexEncodeQuery(payload as string) : raw;
    const url = query === null ? this.latestUrl() : `${this.latestUrl()}?${query}`;
    const res = await this.get(url, true);
    return { ...res, payload, level: res.status === 200 ? parseLevel(res.text) : null };
  }

  /** GET a file relative to `{PS}[/prefix]/` (e.g. `<khash>/17/kpatch.bin`) with the agent's auth. */
  fetch(relativePath: string): Promise<SimResponse> {
    return this.get(`${this.patchBase()}${relativePath.replace(/^\/+/, '')}`, true);
  }

  /** GET a file under this kernel's directory, e.g. `17/kpatch.info` or `kcare.ko`. */
  fetchKernelFile(rest: string): Promise<SimResponse> {
    return this.fetch(`${this.khash}/${rest.replace(/^\/+/, '')}`);
  }

  /** `--latest-patch-info`: check in, then fetch `kpatch[T].info` of the level when it is not 0. */
  async latestPatchInfo(): Promise<LatestPatchInfo> {
    const checkin = await this.checkin();
    if (checkin.level === null || checkin.level === 0) return { checkin, info: null };
    const info = await this.fetchKernelFile(`${checkin.level}/kpatch${this.patchInfix()}.info`);
    return { checkin, info };
  }

  /** A registration-URL call: no Authorization header, reply parsed like the agent. */
  private async plain(endpoint: string, pairs: ReadonlyArray<readonly [string, string]>): Promise<PlainResponse> {
    const q = pyUrlencode(pairs);
    const url = `${this.registrationUrl}/${endpoint}${q ? `?${q}` : ''}`;
    const res = await this.get(url, false);
    const reply = parsePlainReply(res.text);
    const codeText = reply['code'];
    const code = codeText !== undefined && /^-?\d+$/.test(codeText) ? Number(codeText) : null;
    return { ...res, reply, code };
  }

  private buildHeaders(withAuth: boolean): Record<string, string> {
    const h: Record<string, string> = { 'Accept-Encoding': 'identity', 'User-Agent': this.userAgent };
    if (!this.keepAlive) h['Connection'] = 'close';
    const auth = withAuth ? this.authHeader() : null;
    if (auth) h['Authorization'] = auth;
    return { ...h, ...this.extraHeaders };
  }

  /** One GET with optional retries; the path is sent verbatim (no URL normalisation). */
  private async get(url: string, withAuth: boolean): Promise<SimResponse> {
    const headers = this.buildHeaders(withAuth);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.send(url, headers);
        if (res.status < 500 || attempt >= this.retries) return res;
      } catch (err) {
        if (attempt >= this.retries) throw err;
      }
      const delays = this.retryDelaysMs;
      await sleep(delays[Math.min(attempt, delays.length - 1)] ?? 0);
    }
  }

  private async send(url: string, headers: Record<string, string>): Promise<SimResponse> {
    const { origin, path } = splitUrl(url);
    const dispatcher = this.dispatcher ?? getGlobalDispatcher();
    this.requestCount++;
    this.lastRequest = { url, headers };
    const res = await dispatcher.request({ origin, path, method: 'GET', headers });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 500) this.serverErrors.push({ url, status: res.statusCode });
    return { url, status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
  }
}
