// One validated configuration for the server and the CLI. Sources, later ones
// winning: built-in defaults < config file < envdir folder < process environment.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), 'expected true/false')
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const lower = v.toLowerCase();
    if (['', '0', 'false', 'no', 'off'].includes(lower)) return [] as string[];
    if (['1', 'true', 'yes', 'on', 'loopback'].includes(lower)) return ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const ip of list) {
      if (!/^[0-9a-fA-F:.]+$/.test(ip)) ctx.addIssue({ code: 'custom', message: `not an IP address: ${ip}` });
    }
    return list;
  });

const url = (protocols: string[]) =>
  z.string().trim().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `expected a URL (${protocols.join(', ')})`);

/** EPORTAL_SYNC_CRON values that turn the schedule off (syncs then only run on demand). */
export const SCHEDULE_OFF = ['', 'off', 'never', 'disabled', 'false', '0'];

/** Every setting, keyed by its environment variable name. */
const schema = z.object({
  EPORTAL_DATA_DIR: z.string().min(1).default('./data'),
  EPORTAL_HOST: z.string().min(1).default('0.0.0.0'),
  EPORTAL_PORT: int(0, 65535).default(8080),
  EPORTAL_TRUST_PROXY: trustProxy.default([]),
  EPORTAL_DATABASE_URL: z.string().optional(),
  EPORTAL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EPORTAL_CHECKIN_FLUSH_MS: int(10, 1000).default(250),
  EPORTAL_INACTIVE_HOURS: int(1, 24 * 365).default(48),
  EPORTAL_PUBLIC_URL: url(['http:', 'https:']).optional(),
  EPORTAL_PATCH_SOURCE_URL: url(['http:', 'https:']).optional(),
  EPORTAL_PATCH_SOURCE_USER: z.string().optional(),
  EPORTAL_PATCH_SOURCE_PASSWORD: z.string().optional(),
  EPORTAL_SYNC_CRON: z
    .string()
    .trim()
    .refine((v) => SCHEDULE_OFF.includes(v.toLowerCase()) || cron.validate(v), 'not a cron expression (or off)')
    .default('*/10 * * * *'),
  EPORTAL_TLS_VERIFY: bool.optional(),
  PYTHONHTTPSVERIFY: bool.optional(),
  PROXY: url(['http:', 'https:']).optional(),
  EPORTAL_SESSION_HOURS: int(1, 24 * 90).default(12),
  EPORTAL_REDIS_URL: url(['redis:', 'rediss:']).optional(),
  // LDAP login (server/auth/ldap.ts): both URL and DN template, or neither
  EPORTAL_LDAP_URL: url(['ldap:', 'ldaps:']).optional(),
  EPORTAL_LDAP_DN_TEMPLATE: z.string().trim().refine((v) => v.split('%s').length === 2, 'must contain %s exactly once').optional(),
  EPORTAL_LDAP_STARTTLS: bool.optional(),
  EPORTAL_LDAP_CA_FILE: z.string().trim().min(1).optional(),
  EPORTAL_LDAP_CONNECT_TIMEOUT_MS: int(100, 60_000).default(3000),
  EPORTAL_LDAP_TIMEOUT_MS: int(100, 60_000).default(5000),
});

type Raw = z.infer<typeof schema>;

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  trustProxy: string[];
  databaseUrl: string;
  dbFile: string | null;
  logLevel: Raw['EPORTAL_LOG_LEVEL'];
  checkinFlushMs: number;
  inactiveHours: number;
  publicUrl?: string;
  patchSource: { url?: string; user?: string; password?: string; cron: string };
  tlsVerify: boolean;
  proxy?: string;
  sessionHours: number;
  redisUrl?: string;
  /** LDAP login; absent when EPORTAL_LDAP_URL is not set */
  ldap?: LdapConfig;
  /** where each setting came from, for `kc.eportal --config` style diagnostics */
  sources: Record<string, string>;
}

/** Where and how to bind for LDAP logins. */
export interface LdapConfig {
  url: string;
  /** bind DN with `%s` where the (RFC 4514-escaped) user name goes */
  dnTemplate: string;
  /** upgrade an ldap:// connection with StartTLS before binding */
  startTls: boolean;
  /** PEM file of the CA that signed the directory's certificate */
  caFile?: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** verify the directory's certificate (EPORTAL_TLS_VERIFY) */
  tlsVerify: boolean;
}

export class ConfigError extends Error {}

/** Reads a `NAME=value` file (blank lines and `#` comments ignored, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    let v = m[2]!;
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** Reads a daemontools envdir: one file per variable, first line is the value. */
export function readEnvDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    const file = path.join(dir, name);
    if (!statSync(file).isFile()) continue;
    // envdir semantics: first line, trailing spaces trimmed, NUL means newline
    out[name] = (readFileSync(file, 'utf8').split('\n')[0] ?? '').replace(/[ \t]+$/, '').replace(/\0/g, '\n');
  }
  return out;
}

/** Builds the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const sources: Record<string, string> = {};
  const merged: Record<string, string> = {};
  const take = (vars: Record<string, string | undefined>, from: string) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined || !(k in schema.shape)) continue;
      merged[k] = v;
      sources[k] = from;
    }
  };
  const configFile = env.EPORTAL_CONFIG ?? (existsSync('/etc/eportal/eportal.conf') ? '/etc/eportal/eportal.conf' : undefined);
  if (configFile) {
    if (!existsSync(configFile)) throw new ConfigError(`EPORTAL_CONFIG: file not found: ${configFile}`);
    take(parseEnvFile(readFileSync(configFile, 'utf8')), configFile);
  }
  const envDir = env.EPORTAL_ENV_DIR;
  if (envDir) {
    if (!existsSync(envDir) || !statSync(envDir).isDirectory()) throw new ConfigError(`EPORTAL_ENV_DIR: not a directory: ${envDir}`);
    take(readEnvDir(envDir), envDir);
  }
  take(env, 'environment');
  // an empty value (`EPORTAL_PATCH_SOURCE_URL=`) means "not set", as in shell env files
  for (const k of Object.keys(merged)) if (merged[k] === '' && !(schema.shape[k as keyof typeof schema.shape] instanceof z.ZodDefault)) delete merged[k];

  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}${sources[String(i.path[0])] ? ` (from ${sources[String(i.path[0])]})` : ''}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.EPORTAL_DATA_DIR);
  const databaseUrl = c.EPORTAL_DATABASE_URL ?? `file:${path.join(dataDir, 'eportal.sqlite')}`;
  if (!/^(file:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('invalid configuration:\n  EPORTAL_DATABASE_URL: expected file:PATH or postgres://...');
  }
  const dbFile = databaseUrl.startsWith('file:') ? path.resolve(databaseUrl.slice(5)) : null;
  if (Boolean(c.EPORTAL_LDAP_URL) !== Boolean(c.EPORTAL_LDAP_DN_TEMPLATE)) {
    throw new ConfigError('invalid configuration:\n  EPORTAL_LDAP_URL and EPORTAL_LDAP_DN_TEMPLATE must be set together');
  }
  if (c.EPORTAL_LDAP_CA_FILE && !existsSync(c.EPORTAL_LDAP_CA_FILE)) {
    throw new ConfigError(`invalid configuration:\n  EPORTAL_LDAP_CA_FILE: file not found: ${c.EPORTAL_LDAP_CA_FILE}`);
  }
  const tlsVerify = c.EPORTAL_TLS_VERIFY ?? c.PYTHONHTTPSVERIFY ?? true;
  const ldap: LdapConfig | undefined = c.EPORTAL_LDAP_URL && c.EPORTAL_LDAP_DN_TEMPLATE
    ? {
        url: c.EPORTAL_LDAP_URL,
        dnTemplate: c.EPORTAL_LDAP_DN_TEMPLATE,
        startTls: c.EPORTAL_LDAP_STARTTLS ?? false,
        caFile: c.EPORTAL_LDAP_CA_FILE,
        connectTimeoutMs: c.EPORTAL_LDAP_CONNECT_TIMEOUT_MS,
        timeoutMs: c.EPORTAL_LDAP_TIMEOUT_MS,
        tlsVerify,
      }
    : undefined;
  return {
    dataDir,
    host: c.EPORTAL_HOST,
    port: c.EPORTAL_PORT,
    trustProxy: c.EPORTAL_TRUST_PROXY,
    databaseUrl,
    dbFile,
    logLevel: c.EPORTAL_LOG_LEVEL,
    checkinFlushMs: c.EPORTAL_CHECKIN_FLUSH_MS,
    inactiveHours: c.EPORTAL_INACTIVE_HOURS,
    publicUrl: c.EPORTAL_PUBLIC_URL,
    patchSource: { url: c.EPORTAL_PATCH_SOURCE_URL, user: c.EPORTAL_PATCH_SOURCE_USER, password: c.EPORTAL_PATCH_SOURCE_PASSWORD, cron: c.EPORTAL_SYNC_CRON },
    tlsVerify,
    proxy: c.PROXY,
    sessionHours: c.EPORTAL_SESSION_HOURS,
    redisUrl: c.EPORTAL_REDIS_URL,
    ldap,
    sources,
  };
}
