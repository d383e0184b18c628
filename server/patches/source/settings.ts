// Patch Source settings: URL, login, password, enabled flag, product filter
// and proxy, kept as one JSON value in the Setting table. Secrets are stored
// sealed (secret.ts) and no function here that an API may call returns them.
// EPORTAL_PATCH_SOURCE_URL/_USER/_PASSWORD and PROXY override the stored
// values (config management stays authoritative on unattended installs); the
// API refuses to change a field the environment sets to something else.
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { DomainError, parseInput } from '../../commands/errors.js';
import { seal, unseal } from './secret.js';

/** Setting row name. */
export const SOURCE_SETTINGS = 'patch_source_settings';

/** Patchset products the filter can select. */
export const PRODUCTS = ['kernel', 'libcare'] as const;
/** One of PRODUCTS. */
export type Product = (typeof PRODUCTS)[number];

/** What the settings functions need: the database, the data directory (key file) and the parsed config. */
export interface SourceContext {
  prisma: PrismaClient;
  dataDir: string;
  config: Pick<Config, 'patchSource' | 'proxy' | 'tlsVerify'>;
}

type EnvField = 'url' | 'user' | 'password' | 'proxy';
const ENV_NAME: Record<EnvField, string> = { url: 'EPORTAL_PATCH_SOURCE_URL', user: 'EPORTAL_PATCH_SOURCE_USER', password: 'EPORTAL_PATCH_SOURCE_PASSWORD', proxy: 'PROXY' };

/** The settings the sync uses, secrets in clear. Never hand this to an API. */
export interface EffectiveSourceSettings {
  url: string | null;
  user: string | null;
  password: string | null;
  enabled: boolean;
  /** empty = every product */
  products: Product[];
  proxy: string | null;
  tlsVerify: boolean;
  schedule: string;
  fromEnv: EnvField[];
  /** why a stored secret could not be used, for the status page */
  problems: string[];
}

/** The settings as an API or the console may show them: no secret, only whether one is set. */
export interface PublicSourceSettings {
  url: string | null;
  user: string | null;
  passwordSet: boolean;
  enabled: boolean;
  products: Product[];
  /** proxy URL with its password masked as *** */
  proxy: string | null;
  proxyPasswordSet: boolean;
  tlsVerify: boolean;
  schedule: string;
  /** fields set by the environment (read-only through the API) */
  fromEnv: EnvField[];
  configured: boolean;
  problems: string[];
}

const stored = z.object({
  url: z.string().nullable().catch(null),
  user: z.string().nullable().catch(null),
  password: z.string().nullable().catch(null),
  enabled: z.boolean().catch(true),
  products: z.array(z.enum(PRODUCTS)).catch([]),
  proxy: z.string().nullable().catch(null),
});
type Stored = z.infer<typeof stored>;
const EMPTY: Stored = { url: null, user: null, password: null, enabled: true, products: [], proxy: null };

const httpUrl = (what: string, allowUserinfo: boolean) =>
  z.string().trim().max(2048).refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && (allowUserinfo || (!u.username && !u.password));
    } catch {
      return false;
    }
  }, allowUserinfo ? `${what}: expected an http(s) URL` : `${what}: expected an http(s) URL without user:password (use login and password)`);

const emptyToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : v);

/** Input of updateSourceSettings: an absent field keeps its value, null clears it. */
export const sourceSettingsInput = z
  .object({
    url: z.preprocess(emptyToNull, httpUrl('url', false).nullable()).optional(),
    user: z.preprocess(emptyToNull, z.string().max(256).nullable()).optional(),
    password: z.preprocess(emptyToNull, z.string().max(1024).nullable()).optional(),
    enabled: z.boolean().optional(),
    products: z.array(z.enum(PRODUCTS)).max(PRODUCTS.length).optional(),
    proxy: z.preprocess(emptyToNull, httpUrl('proxy', true).nullable()).optional(),
  })
  .strict();
/** What updateSourceSettings accepts. */
export type SourceSettingsInput = z.input<typeof sourceSettingsInput>;

async function readStored(ctx: SourceContext): Promise<Stored> {
  const row = await ctx.prisma.setting.findUnique({ where: { name: SOURCE_SETTINGS } });
  if (!row) return { ...EMPTY };
  try {
    return stored.parse(JSON.parse(row.value));
  } catch {
    return { ...EMPTY };
  }
}

/** The settings the sync runs with (stored values, environment on top, secrets decrypted). */
export async function effectiveSourceSettings(ctx: SourceContext): Promise<EffectiveSourceSettings> {
  const s = await readStored(ctx);
  const env = ctx.config.patchSource;
  const problems: string[] = [];
  const open = (sealed: string | null) => {
    if (!sealed) return null;
    try {
      return unseal(ctx.dataDir, sealed);
    } catch (err) {
      problems.push((err as Error).message);
      return null;
    }
  };
  const fromEnv: EnvField[] = [];
  let url = s.url;
  let user = s.user;
  let password = open(s.password);
  if (env.url) {
    fromEnv.push('url');
    // credentials written into the URL are taken out of it, so the URL can be shown
    const u = new URL(env.url);
    if (u.username && !env.user) user = decodeURIComponent(u.username);
    if (u.password && !env.password) password = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    url = u.href;
  }
  if (env.user !== undefined) {
    fromEnv.push('user');
    user = env.user;
  }
  if (env.password !== undefined) {
    fromEnv.push('password');
    password = env.password;
  }
  let proxy = open(s.proxy);
  if (ctx.config.proxy) {
    fromEnv.push('proxy');
    proxy = ctx.config.proxy;
  }
  return { url, user: user || null, password: password || null, enabled: s.enabled, products: s.products, proxy, tlsVerify: ctx.config.tlsVerify, schedule: env.cron, fromEnv, problems };
}

/** The settings as the API shows them; the password is never included, only `passwordSet`. */
export async function getSourceSettings(ctx: SourceContext): Promise<PublicSourceSettings> {
  return toPublic(await effectiveSourceSettings(ctx));
}

/** Alias of getSourceSettings, the name the API layer was told to use. */
export const getPublicSettings = getSourceSettings;

/** Changes the stored settings; returns the public view. INVALID_INPUT / SETTING_FROM_ENVIRONMENT on refusal. */
export async function updateSourceSettings(ctx: SourceContext, input: SourceSettingsInput): Promise<PublicSourceSettings> {
  const patch = parseInput(sourceSettingsInput, input);
  const current = await effectiveSourceSettings(ctx);
  for (const field of current.fromEnv) {
    const wanted = patch[field];
    if (wanted === undefined) continue;
    const same = field === 'url' && wanted ? sameUrl(wanted, current.url) : wanted === current[field];
    if (!same) throw new DomainError('SETTING_FROM_ENVIRONMENT', `${field} is set by ${ENV_NAME[field]}; change it there`);
  }
  const s = await readStored(ctx);
  if (patch.url !== undefined && !current.fromEnv.includes('url')) s.url = patch.url;
  if (patch.user !== undefined && !current.fromEnv.includes('user')) s.user = patch.user;
  if (patch.password !== undefined && !current.fromEnv.includes('password')) s.password = patch.password === null ? null : seal(ctx.dataDir, patch.password);
  if (patch.enabled !== undefined) s.enabled = patch.enabled;
  if (patch.products !== undefined) s.products = [...new Set(patch.products)].sort();
  if (patch.proxy !== undefined && !current.fromEnv.includes('proxy')) {
    s.proxy = patch.proxy === null ? null : seal(ctx.dataDir, keepMaskedPassword(patch.proxy, current.proxy));
  }
  const value = JSON.stringify(s);
  await ctx.prisma.setting.upsert({ where: { name: SOURCE_SETTINGS }, create: { name: SOURCE_SETTINGS, value }, update: { value } });
  return getSourceSettings(ctx);
}

function toPublic(e: EffectiveSourceSettings): PublicSourceSettings {
  return {
    url: e.url,
    user: e.user,
    passwordSet: e.password !== null,
    enabled: e.enabled,
    products: e.products,
    proxy: e.proxy ? maskUrlPassword(e.proxy) : null,
    proxyPasswordSet: e.proxy ? new URL(e.proxy).password !== '' : false,
    tlsVerify: e.tlsVerify,
    schedule: e.schedule,
    fromEnv: e.fromEnv,
    configured: e.url !== null,
    problems: e.problems,
  };
}

/** A URL with its password replaced by *** (for display and logs). */
export function maskUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(invalid URL)';
  }
}

// The console sends back the masked proxy URL it was shown: keep the real password then.
function keepMaskedPassword(next: string, current: string | null): string {
  const n = new URL(next);
  if (n.password !== '***' || !current) return next;
  const c = new URL(current);
  if (c.host !== n.host || c.username !== n.username) throw new DomainError('INVALID_INPUT', 'proxy: *** is only accepted for an unchanged proxy; give the password');
  n.password = c.password;
  return n.href;
}

function sameUrl(a: string, b: string | null): boolean {
  try {
    return b !== null && new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}
