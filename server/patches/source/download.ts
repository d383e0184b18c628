// One archive from the patch source into `<dataDir>/downloads/<file>.part`:
// resumed with Range after a dropped connection, bounded by the size the
// index declares, sha256-verified, and retried with back-off. A network
// failure keeps the partial file for the next attempt (or the next run); a
// wrong checksum, an oversized body or a full disk deletes it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { SourceError, toSourceError } from './errors.js';
import { checkStatus, discardBody, withRetries, type RetryPolicy, type SourceHttp } from './http.js';

/** What to download and where. */
export interface DownloadJob {
  name: string;
  url: string;
  size: number;
  sha256: string;
  partPath: string;
}

/** How to download: retries, the disk check, progress and fault hooks. */
export interface DownloadOptions {
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** free bytes on the file system of `dir` (injectable: tests simulate a full disk) */
  freeBytes: (dir: string) => Promise<number>;
  /** free space to leave untouched after the download and its unpacking */
  reserveBytes: number;
  onProgress?: (received: number, size: number, delta: number) => void;
  /** called after every write with the bytes in the file; tests throw ENOSPC from it */
  onWrite?: (name: string, written: number) => void;
  onRetry?: (err: SourceError, attempt: number) => void;
}

// unpacked patch files take about this many times the archive's size
const UNPACK_FACTOR = 3;

/** Free bytes of the file system holding `dir` (statfs). */
export async function statfsFreeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Downloads and verifies the archive; resolves with the bytes received over the network. */
export async function downloadArchive(http: SourceHttp, job: DownloadJob, o: DownloadOptions): Promise<number> {
  let transferred = 0;
  let restartedAfterMismatch = false;
  try {
    await withRetries(o.retry, job.name, o.signal, async () => {
      let have = await sizeOf(job.partPath);
      if (have > job.size) have = await discard(job.partPath);
      if (have === job.size) {
        if ((await fileSha256(job.partPath)) === job.sha256) return;
        have = await discard(job.partPath);
      }
      const needed = job.size - have + job.size * UNPACK_FACTOR + o.reserveBytes;
      const free = await o.freeBytes(path.dirname(job.partPath));
      if (free < needed) throw new SourceError('SOURCE_DISK_FULL', `${job.name}: ${fmt(free)} free in the data directory, ${fmt(needed)} needed to download and unpack it`);
      const resumedFrom = have;
      // opened before the request: from the response on, nothing may wait for
      // I/O before the body's listeners are attached, or a connection that
      // breaks meanwhile would go unnoticed
      const fh = await open(job.partPath, 'a');
      try {
        const res = await http.get(job.url, { signal: o.signal, headers: have ? { range: `bytes=${have}-` } : {} });
        if (res.statusCode === 416 || (res.statusCode === 206 && contentRangeStart(res.headers['content-range']) !== have)) {
          discardBody(res);
          await fh.truncate(0);
          throw new SourceError('SOURCE_HTTP', `${job.name}: the server could not resume (${res.statusCode}); starting over`, true);
        }
        await checkStatus(res, job.name, [200, 206]);
        const restart = res.statusCode === 200 && have > 0; // Range ignored: the whole file comes again
        if (restart) have = 0;
        let received = have;
        await pumpToFile(res.body, fh, restart, (chunk) => {
          received += chunk.length;
          if (received > job.size) throw new SourceError('SOURCE_SIZE', `${job.name}: the server sends more than the ${job.size} bytes the index declares`);
        }, (n) => {
          have += n;
          transferred += n;
          o.onWrite?.(job.name, have);
          o.onProgress?.(have, job.size, n);
        });
      } finally {
        await fh.close();
      }
      if (have < job.size) throw new SourceError('SOURCE_UNREACHABLE', `${job.name}: the connection ended after ${have} of ${job.size} bytes`, true);
      const sum = await fileSha256(job.partPath);
      if (sum === job.sha256) return;
      await discard(job.partPath);
      // a resumed file may have stitched two versions together: one clean try
      if (resumedFrom > 0 && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        throw new SourceError('SOURCE_CHECKSUM', `${job.name}: the resumed download does not verify; starting over`, true);
      }
      throw new SourceError('SOURCE_CHECKSUM', `${job.name}: sha256 of the download is ${sum.slice(0, 16)}…, the index says ${job.sha256.slice(0, 16)}…`);
    }, o.onRetry);
  } catch (raw) {
    const err = toSourceError(raw, job.name, o.signal);
    if (err.code === 'SOURCE_DISK_FULL' || err.code === 'SOURCE_SIZE') await discard(job.partPath);
    throw err;
  }
  return transferred;
}

const QUEUE_HIGH = 8 * 1024 * 1024;

// Writes a body to the file in order without losing what already arrived:
// `for await` would drop chunks still buffered when the connection breaks,
// and every byte kept is a byte the resume does not fetch again. The socket
// is paused only while more than QUEUE_HIGH bytes wait for the disk.
function pumpToFile(body: Readable, fh: FileHandle, truncateFirst: boolean, check: (chunk: Buffer) => void, written: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body.destroyed) return reject(body.errored ?? new SourceError('SOURCE_UNREACHABLE', 'the connection closed before the body was read', true));
    let failure: unknown = null;
    let queued = 0;
    // queued, so it completes before the first write
    let chain = truncateFirst ? fh.truncate(0).catch((err: unknown) => void (failure ??= err)) : Promise.resolve();
    let settled = false;
    const fail = (err: unknown) => {
      failure ??= err;
      body.destroy();
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      void chain.then(() => (failure ? reject(failure as Error) : resolve()));
    };
    body.on('data', (chunk: Buffer) => {
      if (failure) return;
      try {
        check(chunk);
      } catch (err) {
        return fail(err);
      }
      queued += chunk.length;
      if (queued >= QUEUE_HIGH) body.pause();
      chain = chain.then(async () => {
        if (failure) return;
        try {
          await fh.write(chunk);
          written(chunk.length);
        } catch (err) {
          return fail(err);
        }
        queued -= chunk.length;
        if (queued < QUEUE_HIGH / 2 && body.isPaused()) body.resume();
      });
    });
    body.on('error', (err) => {
      failure ??= err;
      settle();
    });
    body.once('end', settle);
    body.once('close', settle);
  });
}

/** sha256 hex of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function discard(file: string): Promise<0> {
  await rm(file, { force: true });
  return 0;
}

function contentRangeStart(header: string | string[] | undefined): number | null {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(header ?? '').trim());
  return m ? Number(m[1]) : null;
}

function fmt(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
