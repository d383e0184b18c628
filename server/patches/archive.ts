/**
 * Safe, streaming extraction of a patchset archive into a staging directory.
 *
 * The compressed file is read once: its bytes are hashed while they are
 * decompressed and parsed as tar, and every entry is validated against the
 * documented layout (docs/patch-source.md) before any of its bytes is written.
 * Files are created by us with O_EXCL|O_NOFOLLOW under the staging directory
 * only. On any refusal an ArchiveError is thrown and the staging directory is
 * left for the caller to delete.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PatchsetCollector, type PatchsetManifest } from './archive-collect.js';
import { createDecoder, decoderError, sniffFormat, type ArchiveFormat } from './archive-decode.js';
import { ArchiveError } from './archive-error.js';
import type { PatchProduct } from './archive-layout.js';
import { StagingWriter } from './archive-staging.js';
import { TarReader } from './archive-tar.js';

export { ArchiveError, type ArchiveErrorCode } from './archive-error.js';
export { parseFixups } from './archive-layout.js';
export { sniffFormat, type ArchiveFormat } from './archive-decode.js';
export type { PatchsetManifest } from './archive-collect.js';

/** Options of extractPatchset. */
export interface ExtractOptions {
  /** Compression; when absent it is sniffed from the magic bytes. */
  format?: ArchiveFormat;
  /** Lowercase or uppercase hex sha256 of the compressed file. */
  expectedSha256?: string;
  /** Cap on the declared size of all files together; default 8 GiB. */
  maxTotalBytes?: number;
  /** Cap on the number of tar entries; default 1,000,000. */
  maxEntries?: number;
  /** Accept only this product's layout; otherwise the first file decides. */
  product?: PatchProduct;
}

const DEFAULT_MAX_TOTAL_BYTES = 8 * 1024 ** 3;
const DEFAULT_MAX_ENTRIES = 1_000_000;
const READ_CHUNK = 256 * 1024;
const MAGIC_BYTES = 4;

/** Extracts and validates a patchset archive into an empty staging directory. */
export async function extractPatchset(
  archivePath: string,
  stagingDir: string,
  opts: ExtractOptions = {},
): Promise<PatchsetManifest> {
  const staging = await StagingWriter.prepare(stagingDir);
  const collector = new PatchsetCollector(staging, {
    maxTotalBytes: opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
    product: opts.product,
  });
  const hash = createHash('sha256');
  try {
    await streamArchive(archivePath, opts.format, hash, collector);
  } catch (err) {
    await staging.abort();
    throw await explainFailure(decoderError(err), archivePath, opts.expectedSha256);
  }
  const archiveSha256 = hash.digest('hex');
  checkSha256(archiveSha256, opts.expectedSha256);
  return collector.finish(archiveSha256);
}

async function streamArchive(
  archivePath: string,
  wanted: ArchiveFormat | undefined,
  hash: Hash,
  collector: PatchsetCollector,
): Promise<void> {
  const handle = await open(archivePath, 'r');
  let format: ArchiveFormat;
  try {
    format = await detectFormat(handle, wanted);
  } catch (err) {
    await handle.close();
    throw err;
  }
  // The stream owns the handle from here on and closes it however it ends.
  const source = handle.createReadStream({ start: 0, highWaterMark: READ_CHUNK });
  const closed = new Promise<void>((resolve) => source.once('close', resolve));
  let consumer: Promise<void> | undefined;
  let tarError: unknown;
  try {
    await pipeline(source, hashTap(hash), createDecoder(format), (tarBytes: AsyncIterable<Buffer>) => {
      consumer = readTar(tarBytes, collector).catch((err: unknown) => {
        tarError = err;
        throw err;
      });
      return consumer;
    });
  } catch (err) {
    await consumer?.catch(() => undefined);
    // When the tar reader refuses an entry, pipeline may report the AbortError
    // of tearing the streams down instead; the refusal is the real reason.
    throw tarError instanceof ArchiveError ? tarError : err;
  } finally {
    source.destroy();
    // pipeline may settle on an upstream error while the tar reader is still
    // inside a file write; wait for both so no descriptor outlives the call.
    await Promise.all([closed, consumer?.catch(() => undefined)]);
  }
}

async function readTar(tarBytes: AsyncIterable<Buffer>, collector: PatchsetCollector): Promise<void> {
  const tar = new TarReader(collector);
  for await (const chunk of tarBytes) await tar.write(chunk);
  tar.end();
}

async function detectFormat(handle: FileHandle, wanted: ArchiveFormat | undefined): Promise<ArchiveFormat> {
  const head = Buffer.alloc(MAGIC_BYTES);
  const { bytesRead } = await handle.read(head, 0, MAGIC_BYTES, 0);
  const sniffed = sniffFormat(head.subarray(0, bytesRead));
  if (sniffed && (!wanted || wanted === sniffed)) return sniffed;
  if (bytesRead < MAGIC_BYTES) throw new ArchiveError('TRUNCATED', `archive is only ${bytesRead} bytes long`);
  if (!sniffed) throw new ArchiveError('FORMAT', 'not a gzip, bzip2 or zstd file');
  throw new ArchiveError('FORMAT', `expected a ${wanted} archive, found ${sniffed}`);
}

function hashTap(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

function checkSha256(actual: string, expected: string | undefined): void {
  if (expected !== undefined && expected.toLowerCase() !== actual) {
    throw new ArchiveError('CHECKSUM', `archive sha256 is ${actual}, expected ${expected}`);
  }
}

// A damaged download usually shows up first as a format error; when the
// caller knows the checksum, say CHECKSUM instead, which points at the real
// cause. TOO_BIG is exempt: we promised to stop reading at once.
async function explainFailure(err: unknown, archivePath: string, expected: string | undefined): Promise<unknown> {
  if (expected === undefined || !(err instanceof ArchiveError) || err.code === 'TOO_BIG') return err;
  const actual = await sha256File(archivePath).catch(() => undefined);
  if (actual === undefined || actual === expected.toLowerCase()) return err;
  return new ArchiveError('CHECKSUM', `archive sha256 is ${actual}, expected ${expected}`, { cause: err });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
