// The resumable downloader against real HTTP on 127.0.0.1: resuming from a
// partial file, a stale partial from another version, a complete partial, a
// body larger than declared, a server that resumes at the wrong offset or
// refuses the range, and errors that must not be retried.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadArchive, type DownloadJob } from '../../server/patches/source/download.js';
import { createSourceHttp } from '../../server/patches/source/http.js';
import { detBytes } from '../support/patchset-fixtures.js';

const BODY = detBytes('download-test', 100_000);
const SHA = createHash('sha256').update(BODY).digest('hex');
let dir: string;
let server: http.Server;
let base: string;
let mode: 'normal' | 'wrong-offset' | 'refuse-range' | 'longer' | 'missing' = 'normal';
const seen: (string | null)[] = [];

const client = () => createSourceHttp({ proxy: null, tlsVerify: true, user: 'u', password: 'p', timeouts: { connectMs: 1000, headersMs: 1000, bodyMs: 1000 } });
const opts = { retry: { attempts: 3, baseMs: 5, maxMs: 10 }, freeBytes: async () => 1e12, reserveBytes: 0 };
let n = 0;
const job = (over: Partial<DownloadJob> = {}): DownloadJob => ({ name: 'K20240101_01', url: `${base}/a.tar.gz`, size: BODY.length, sha256: SHA, partPath: path.join(dir, `t${++n}.part`), ...over });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-download-'));
  server = http.createServer((req, res) => {
    seen.push(req.headers.range ?? null);
    if (mode === 'missing') return void res.writeHead(404).end();
    if (mode === 'longer') return void res.writeHead(200).end(Buffer.concat([BODY, Buffer.from('extra')]));
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && mode === 'refuse-range') return void res.writeHead(416, { 'content-range': `bytes */${BODY.length}` }).end();
    if (m && mode === 'wrong-offset') {
      mode = 'normal';
      return void res.writeHead(206, { 'content-range': `bytes 0-${BODY.length - 1}/${BODY.length}` }).end(BODY);
    }
    if (m) {
      const start = Number(m[1]);
      return void res.writeHead(206, { 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` }).end(BODY.subarray(start));
    }
    res.writeHead(200).end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function run(j: DownloadJob, m: typeof mode = 'normal') {
  mode = m;
  seen.length = 0;
  const h = client();
  try {
    return await downloadArchive(h, j, opts);
  } finally {
    await h.close();
  }
}

describe('downloadArchive', () => {
  it('downloads and verifies a whole file', async () => {
    const j = job();
    expect(await run(j)).toBe(BODY.length);
    expect(readFileSync(j.partPath).equals(BODY)).toBe(true);
    expect(seen).toEqual([null]);
  });

  it('resumes a partial file with Range', async () => {
    const j = job();
    writeFileSync(j.partPath, BODY.subarray(0, 30_000));
    expect(await run(j)).toBe(BODY.length - 30_000);
    expect(seen).toEqual(['bytes=30000-']);
    expect(readFileSync(j.partPath).equals(BODY)).toBe(true);
  });

  it('a stale partial (other bytes) fails verification once, then downloads cleanly', async () => {
    const j = job();
    writeFileSync(j.partPath, detBytes('other-version', 30_000));
    expect(await run(j)).toBe(BODY.length - 30_000 + BODY.length);
    expect(seen).toEqual(['bytes=30000-', null]);
  });

  it('a complete partial is verified without any request; an oversized one is discarded', async () => {
    const done = job();
    writeFileSync(done.partPath, BODY);
    expect(await run(done)).toBe(0);
    expect(seen).toEqual([]);
    const big = job();
    writeFileSync(big.partPath, Buffer.concat([BODY, BODY]));
    expect(await run(big)).toBe(BODY.length);
    expect(seen).toEqual([null]);
  });

  it('restarts when the server resumes at the wrong offset or refuses the range', async () => {
    const j = job();
    writeFileSync(j.partPath, BODY.subarray(0, 10_000));
    await run(j, 'wrong-offset');
    expect(seen).toEqual(['bytes=10000-', null]);
    expect(readFileSync(j.partPath).equals(BODY)).toBe(true);
    const k = job();
    writeFileSync(k.partPath, BODY.subarray(0, 10_000));
    expect(await run(k, 'refuse-range')).toBe(BODY.length);
    expect(seen).toEqual(['bytes=10000-', null]);
    expect(readFileSync(k.partPath).equals(BODY)).toBe(true);
  });

  it('a body longer than declared is refused and its partial deleted (not retried)', async () => {
    const j = job();
    await expect(run(j, 'longer')).rejects.toMatchObject({ code: 'SOURCE_SIZE' });
    expect(seen).toHaveLength(1);
    expect(existsSync(j.partPath)).toBe(false);
  });

  it('a 404 is not retried', async () => {
    await expect(run(job(), 'missing')).rejects.toMatchObject({ code: 'SOURCE_HTTP', retryable: false });
    expect(seen).toHaveLength(1);
  });

  it('a wrong checksum of a fresh download is final and deletes the file', async () => {
    const j = job({ sha256: 'f'.repeat(64) });
    await expect(run(j)).rejects.toMatchObject({ code: 'SOURCE_CHECKSUM' });
    expect(seen).toEqual([null]);
    expect(existsSync(j.partPath)).toBe(false);
  });
});
