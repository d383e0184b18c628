// Patch Source settings: the password is stored sealed with the data
// directory's key, usable by the sync, and never returned; the environment
// overrides stored values and cannot be changed through the API.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { openDatabase, type Database } from '../../server/db/index.js';
import { SECRET_KEY_FILE, seal, unseal } from '../../server/patches/source/secret.js';
import { effectiveSourceSettings, getPublicSettings, getSourceSettings, SOURCE_SETTINGS, updateSourceSettings, type SourceContext } from '../../server/patches/source/settings.js';

const PASSWORD = 'correct horse battery staple';
let db: Database;
let dataDir: string;
const ctx = (env: Record<string, string> = {}): SourceContext => ({ prisma: db.prisma, dataDir, config: loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir, ...env }) });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-settings-'));
  db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir }));
});
afterAll(async () => {
  await db.close();
});

describe('secret sealing', () => {
  it('round-trips, uses a fresh IV each time, and keeps the key file private', () => {
    const a = seal(dataDir, PASSWORD);
    const b = seal(dataDir, PASSWORD);
    expect(a).not.toBe(b);
    expect(unseal(dataDir, a)).toBe(PASSWORD);
    expect(statSync(path.join(dataDir, SECRET_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses a tampered value or another directory key', () => {
    const s = seal(dataDir, PASSWORD);
    const raw = Buffer.from(s.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => unseal(dataDir, `v1:${raw.toString('base64')}`)).toThrow(/cannot be decrypted/);
    const other = mkdtempSync(path.join(os.tmpdir(), 'eportal-settings-other-'));
    expect(() => unseal(other, s)).toThrow(/cannot be decrypted/);
  });
});

describe('settings', () => {
  it('stores the password sealed, uses it, and returns only passwordSet', async () => {
    const pub = await updateSourceSettings(ctx(), { url: 'https://patches.example.com/kc/', user: 'mirror', password: PASSWORD, products: ['kernel'] });
    expect(pub).toEqual({
      url: 'https://patches.example.com/kc/', user: 'mirror', passwordSet: true, enabled: true, products: ['kernel'], proxy: null, proxyPasswordSet: false,
      tlsVerify: true, schedule: '*/10 * * * *', fromEnv: [], configured: true, problems: [],
    });
    expect(JSON.stringify(pub)).not.toContain(PASSWORD);
    expect(JSON.stringify(await getPublicSettings(ctx()))).not.toContain(PASSWORD);
    const row = await db.prisma.setting.findUniqueOrThrow({ where: { name: SOURCE_SETTINGS } });
    expect(row.value).not.toContain(PASSWORD);
    expect((await effectiveSourceSettings(ctx())).password).toBe(PASSWORD);
  });

  it('keeps the password when a field is omitted, clears it with null', async () => {
    await updateSourceSettings(ctx(), { enabled: false });
    expect((await effectiveSourceSettings(ctx())).password).toBe(PASSWORD);
    expect((await getSourceSettings(ctx())).enabled).toBe(false);
    await updateSourceSettings(ctx(), { password: null, enabled: true });
    expect((await getSourceSettings(ctx())).passwordSet).toBe(false);
    await updateSourceSettings(ctx(), { password: PASSWORD });
  });

  it('masks the proxy password and accepts the masked value back unchanged', async () => {
    const pub = await updateSourceSettings(ctx(), { proxy: 'http://squid:s3cret@10.0.0.1:3128' });
    expect(pub).toMatchObject({ proxy: 'http://squid:***@10.0.0.1:3128/', proxyPasswordSet: true });
    await updateSourceSettings(ctx(), { proxy: pub.proxy });
    expect((await effectiveSourceSettings(ctx())).proxy).toBe('http://squid:s3cret@10.0.0.1:3128/');
    await expect(updateSourceSettings(ctx(), { proxy: 'http://squid:***@10.9.9.9:3128' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await updateSourceSettings(ctx(), { proxy: '' });
    expect((await getSourceSettings(ctx())).proxy).toBeNull();
  });

  it.each([
    [{ url: 'ftp://example.com/' }],
    [{ url: 'https://user:pw@example.com/' }],
    [{ products: ['windows'] }],
    [{ password: 'x'.repeat(2000) }],
    [{ unknownField: 1 }],
  ])('rejects %j', async (input) => {
    await expect(updateSourceSettings(ctx(), input as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('environment values win, are reported, and cannot be changed through the API', async () => {
    const env = { EPORTAL_PATCH_SOURCE_URL: 'https://envuser:envpass@mirror.internal/kc', PROXY: 'http://p:q@proxy.internal:3128', EPORTAL_TLS_VERIFY: '0' };
    const eff = await effectiveSourceSettings(ctx(env));
    expect(eff).toMatchObject({ url: 'https://mirror.internal/kc', user: 'envuser', password: 'envpass', proxy: 'http://p:q@proxy.internal:3128', tlsVerify: false });
    const pub = await getSourceSettings(ctx(env));
    expect(pub).toMatchObject({ url: 'https://mirror.internal/kc', fromEnv: ['url', 'proxy'], tlsVerify: false, passwordSet: true });
    expect(JSON.stringify(pub)).not.toMatch(/envpass|:q@/);
    await expect(updateSourceSettings(ctx(env), { url: 'https://other.example/' })).rejects.toMatchObject({ code: 'SETTING_FROM_ENVIRONMENT' });
    await updateSourceSettings(ctx(env), { url: 'https://mirror.internal/kc', enabled: true }); // unchanged value: accepted
    const withPw = { EPORTAL_PATCH_SOURCE_URL: 'https://mirror.internal/kc', EPORTAL_PATCH_SOURCE_USER: 'u', EPORTAL_PATCH_SOURCE_PASSWORD: 'envonly' };
    expect(await effectiveSourceSettings(ctx(withPw))).toMatchObject({ user: 'u', password: 'envonly', fromEnv: ['url', 'user', 'password'] });
  });

  it('reports an undecryptable stored password instead of failing', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'eportal-settings-moved-'));
    const moved: SourceContext = { ...ctx(), dataDir: other };
    const eff = await effectiveSourceSettings(moved);
    expect(eff.password).toBeNull();
    expect(eff.problems.join()).toMatch(/cannot be decrypted/);
    expect(readFileSync(path.join(other, SECRET_KEY_FILE), 'utf8')).not.toBe(readFileSync(path.join(dataDir, SECRET_KEY_FILE), 'utf8'));
  });
});
