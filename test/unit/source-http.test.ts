// The patch source's HTTP client over real sockets: TLS verification on by
// default (a self-signed upstream is refused with SOURCE_TLS), the documented
// EPORTAL_TLS_VERIFY=0 switch (works, and says so loudly), HTTPS through the
// CONNECT proxy, and redirects that never carry the credentials elsewhere.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { openDatabase, type Database } from '../../server/db/index.js';
import { createSourceHttp } from '../../server/patches/source/http.js';
import { updateSourceSettings } from '../../server/patches/source/settings.js';
import { runSync } from '../../server/patches/source/sync.js';
import { fetchIndex } from '../../server/patches/source/upstream-index.js';
import { startProxy } from '../support/http-proxy.js';
import { FAST_TUNING } from '../support/upstream-server.js';

let dir: string;
let db: Database;
let tlsServer: https.Server;
let tlsUrl: string;
const logged: string[] = [];
const log = pino({ level: 'warn' }, { write: (s: string) => void logged.push(s) });

const listen = async (s: http.Server | https.Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
};
const sync = (env: Record<string, string> = {}) => runSync({
  prisma: db.prisma, dataDir: dir, log, now: Date.now, tuning: FAST_TUNING, config: loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir, ...env }),
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-http-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  tlsServer = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"patchsets":[]}');
  });
  tlsUrl = `https://127.0.0.1:${await listen(tlsServer)}/kc`;
  db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }));
  await updateSourceSettings({ prisma: db.prisma, dataDir: dir, config: loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }) }, { url: tlsUrl, user: 'u', password: 'p' });
});
afterAll(async () => {
  await db.close();
  tlsServer.closeAllConnections();
  await new Promise((r) => tlsServer.close(r));
});

describe('TLS', () => {
  it('verifies certificates by default: a self-signed upstream is refused with SOURCE_TLS', async () => {
    expect(await sync()).toMatchObject({ result: 'failed', errorCode: 'SOURCE_TLS', error: expect.stringContaining('EPORTAL_TLS_VERIFY=0') });
  });

  it.each([['EPORTAL_TLS_VERIFY'], ['PYTHONHTTPSVERIFY']])('%s=0 turns verification off, with a warning in the log and the report', async (name) => {
    logged.length = 0;
    const r = await sync({ [name]: '0' });
    expect(r.result).toBe('ok');
    expect(r.warnings.join()).toContain('TLS certificate verification of the patch source is OFF');
    expect(logged.join()).toContain('verification of the patch source is OFF');
  });

  it('reaches an HTTPS upstream through the CONNECT proxy', async () => {
    const proxy = await startProxy();
    try {
      expect((await sync({ EPORTAL_TLS_VERIFY: '0', PROXY: proxy.url })).result).toBe('ok');
      expect(proxy.log).toEqual([expect.objectContaining({ method: 'CONNECT', authorized: true, status: 200 })]);
    } finally {
      await proxy.close();
    }
  });
});

describe('redirects', () => {
  it('follow within the origin with credentials, and drop them for another origin', async () => {
    const seen: { server: string; path: string; auth: string | undefined }[] = [];
    const other = http.createServer((req, res) => {
      seen.push({ server: 'other', path: req.url!, auth: req.headers.authorization });
      res.end('{"patchsets":[]}');
    });
    const otherPort = await listen(other);
    const main = http.createServer((req, res) => {
      seen.push({ server: 'main', path: req.url!, auth: req.headers.authorization });
      if (req.url === '/old/index.json') return void res.writeHead(301, { location: '/kc/index.json' }).end();
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/cdn/index.json` }).end();
    });
    const port = await listen(main);
    const client = createSourceHttp({ proxy: null, tlsVerify: true, user: 'u', password: 'p', timeouts: { connectMs: 1000, headersMs: 1000, bodyMs: 1000 } });
    try {
      expect(await fetchIndex(client, `http://127.0.0.1:${port}/old`, 1024)).toEqual({ entries: [], bad: [] });
    } finally {
      await client.close();
      main.close();
      other.close();
    }
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    expect(seen).toEqual([
      { server: 'main', path: '/old/index.json', auth: basic },
      { server: 'main', path: '/kc/index.json', auth: basic },
      { server: 'other', path: '/cdn/index.json', auth: undefined },
    ]);
  });
});
