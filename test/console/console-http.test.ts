// server/http/console.ts: the console's files under /admin with the right
// cache headers, precompressed variants, HEAD, 304, the SPA fallback, 404 for
// missing assets, and no way out of the build folder.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleHandler } from '../../server/http/console.js';
import { splitTarget } from '../../server/http/router.js';
import type { TestPortal } from '../support/portal.js';
import { rawRequest } from '../support/raw-http.js';
import { startConsolePortal } from './support/console-portal.js';
import { WEB_BUILD_DIR } from './support/web-build.js';

const INDEX = '<!doctype html><title>console</title>';
const APP_JS = 'console.log("app");'.repeat(50);

let tmp: string;
let base: string;
let server: http.Server;

/** Serves a handler the way the router hands it /admin requests. */
async function serve(dir: string): Promise<{ server: http.Server; url: string }> {
  const handler = await createConsoleHandler({ dir });
  const s = http.createServer((req, res) => {
    const target = splitTarget(req.url ?? '/');
    if (!target) return void res.writeHead(400).end();
    const [first, ...rest] = target.segments;
    if (first !== 'admin') return void res.writeHead(404).end();
    void handler.handle(req, res, rest);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'eportal-console-http-'));
  const build = path.join(tmp, 'build');
  mkdirSync(path.join(build, '_app/immutable/entry'), { recursive: true });
  writeFileSync(path.join(build, 'index.html'), INDEX);
  writeFileSync(path.join(build, '_app/immutable/entry/app.abc123.js'), APP_JS);
  writeFileSync(path.join(build, '_app/immutable/entry/app.abc123.js.br'), brotliCompressSync(APP_JS));
  writeFileSync(path.join(build, '_app/immutable/entry/app.abc123.js.gz'), gzipSync(APP_JS));
  writeFileSync(path.join(build, '_app/version.json'), '{"version":"1"}');
  writeFileSync(path.join(build, 'favicon.svg'), '<svg/>');
  // outside the build folder, and a link pointing there: neither may be served
  writeFileSync(path.join(tmp, 'secret.txt'), 'SECRET');
  symlinkSync(path.join(tmp, 'secret.txt'), path.join(build, 'linked.txt'));
  ({ server, url: base } = await serve(build));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('console files', () => {
  it('serves hashed assets as immutable, in the best encoding the client takes', async () => {
    const url = `${base}/admin/_app/immutable/entry/app.abc123.js`;
    const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('vary')).toBe('Accept-Encoding');
    expect(await plain.text()).toBe(APP_JS);

    for (const [accept, encoding] of [['gzip, deflate, br', 'br'], ['gzip', 'gzip'], ['br;q=0, gzip', 'gzip']] as const) {
      const res = await rawRequest(Number(new URL(base).port), '/admin/_app/immutable/entry/app.abc123.js', { 'Accept-Encoding': accept });
      expect(res.head).toMatch(new RegExp(`content-encoding: ${encoding}`, 'i'));
    }
  });

  it('answers HEAD with headers only and a matching ETag with 304', async () => {
    const url = `${base}/admin/_app/immutable/entry/app.abc123.js`;
    const head = await fetch(url, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(APP_JS.length));
    expect(await head.text()).toBe('');
    const etag = head.headers.get('etag')!;
    const again = await fetch(url, { headers: { 'accept-encoding': 'identity', 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves index.html, revalidated, for /admin, /admin/ and every client route', async () => {
    for (const p of ['/admin', '/admin/', '/admin/keys', '/admin/keys/abc/edit', '/admin/settings/feeds/my.feed/edit', '/admin/index.html']) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toBe(INDEX);
    }
    const other = await fetch(`${base}/admin/favicon.svg`);
    expect(other.headers.get('cache-control')).toBe('no-cache');
    expect(other.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('answers 404 for a missing asset and 405 for other methods', async () => {
    for (const p of ['/admin/_app/immutable/entry/app.gone.js', '/admin/_app/anything', '/admin/robots.txt', '/admin/style.css', '/admin/api/other']) {
      expect((await fetch(`${base}${p}`)).status, p).toBe(404);
    }
    const post = await fetch(`${base}/admin/keys`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('never reads outside the build folder', async () => {
    const port = Number(new URL(base).port);
    const targets = [
      '/admin/../secret.txt',
      '/admin/../../secret.txt',
      '/admin/%2e%2e/secret.txt',
      '/admin/_app/%2e%2e/%2e%2e/secret.txt',
      '/admin/..%2fsecret.txt',
      '/admin/..%5csecret.txt',
      '/admin/linked.txt',
      '/admin/%00/secret.txt',
      `/admin/${encodeURIComponent(path.join(tmp, 'secret.txt'))}`,
    ];
    for (const t of targets) {
      const res = await rawRequest(port, t);
      expect(res.body.toString(), t).not.toContain('SECRET');
      expect([400, 404], t).toContain(res.status);
    }
  });

  it('answers 503 while the console is not built (assets still 404)', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'eportal-console-empty-'));
    const { server: s, url } = await serve(empty);
    try {
      expect((await fetch(`${url}/admin`)).status).toBe(503);
      expect((await fetch(`${url}/admin/_app/immutable/x.js`)).status).toBe(404);
    } finally {
      await new Promise((r) => s.close(r));
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('console in the portal', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await startConsolePortal();
  }, 90_000);
  afterAll(async () => {
    await portal?.stop();
  });

  it('serves the built app at /admin and /admin/, its assets immutable, and leaves the agent API alone', async () => {
    for (const p of ['/admin', '/admin/', '/admin/keys/some-key/servers']) {
      const res = await fetch(`${portal.url}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('/admin/_app/immutable/entry/start.');
    }
    const entry = readdirSync(path.join(WEB_BUILD_DIR, '_app/immutable/entry')).find((f) => f.startsWith('start.') && f.endsWith('.js'))!;
    const asset = await fetch(`${portal.url}/admin/_app/immutable/entry/${entry}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync(path.join(WEB_BUILD_DIR, '_app/immutable/entry', entry)))).toBe(true);

    expect((await fetch(`${portal.url}/admin/_app/immutable/entry/missing.js`)).status).toBe(404);
    const head = await fetch(`${portal.url}/admin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // the agents' API is still the agents'
    const trial = await fetch(`${portal.url}/admin/api/kcare/trial.plain`);
    expect(trial.headers.get('content-type')).toContain('text/plain');
  });
});
