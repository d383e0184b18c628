import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseEnvFile } from '../../server/config.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'eportal-cfg-'));

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '0.0.0.0', port: 8080, trustProxy: [], dataDir: path.resolve('data'), checkinFlushMs: 250, tlsVerify: true });
    expect(c.databaseUrl).toBe(`file:${path.resolve('data/eportal.sqlite')}`);
  });

  it('layers config file < envdir < environment', () => {
    const dir = tmp();
    const file = path.join(dir, 'eportal.conf');
    writeFileSync(file, '# comment\nEPORTAL_PORT=9000\nEPORTAL_HOST="10.0.0.1"\nPROXY=http://file-proxy:3128\n');
    const envdir = path.join(dir, 'environment');
    mkdirSync(envdir);
    writeFileSync(path.join(envdir, 'EPORTAL_PORT'), '9100\nignored second line');
    writeFileSync(path.join(envdir, 'PYTHONHTTPSVERIFY'), '0\n');
    const c = loadConfig({ EPORTAL_CONFIG: file, EPORTAL_ENV_DIR: envdir, EPORTAL_HOST: '127.0.0.1' });
    expect(c.port).toBe(9100);
    expect(c.host).toBe('127.0.0.1');
    expect(c.proxy).toBe('http://file-proxy:3128');
    expect(c.tlsVerify).toBe(false);
    expect(c.sources.EPORTAL_PORT).toBe(envdir);
  });

  it('names every bad variable and where it came from', () => {
    const envdir = tmp();
    writeFileSync(path.join(envdir, 'EPORTAL_TRUST_PROXY'), 'not an ip!');
    let err: unknown;
    try {
      loadConfig({ EPORTAL_ENV_DIR: envdir, EPORTAL_PORT: '99999', PROXY: 'ftp://x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('EPORTAL_PORT');
    expect(msg).toContain('PROXY');
    expect(msg).toContain('EPORTAL_TRUST_PROXY');
    expect(msg).toContain(envdir);
  });

  it('parses trusted proxies', () => {
    expect(loadConfig({ EPORTAL_TRUST_PROXY: 'true' }).trustProxy).toContain('127.0.0.1');
    expect(loadConfig({ EPORTAL_TRUST_PROXY: '10.1.1.1, 10.1.1.2' }).trustProxy).toEqual(['10.1.1.1', '10.1.1.2']);
    expect(loadConfig({ EPORTAL_TRUST_PROXY: 'off' }).trustProxy).toEqual([]);
  });

  it('reads NAME=value files with quotes and export', () => {
    expect(parseEnvFile("export A=1\nB='two words'\n#C=3\n  D = x ")).toEqual({ A: '1', B: 'two words', D: 'x' });
  });
});

describe('configuration edge cases', () => {
  it('an empty optional value means unset; a bad cron expression is refused at load', () => {
    expect(loadConfig({ EPORTAL_PATCH_SOURCE_URL: '' }).patchSource.url).toBeUndefined();
    expect(loadConfig({ EPORTAL_SYNC_CRON: 'off' }).patchSource.cron).toBe('off');
    expect(() => loadConfig({ EPORTAL_SYNC_CRON: 'every tuesday' })).toThrow(/EPORTAL_SYNC_CRON/);
  });
});
