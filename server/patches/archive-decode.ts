import { Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import unbzip2 from 'unbzip2-stream';
import { ArchiveError } from './archive-error.js';
import { zstdDecode } from './archive-zstd.js';

/** Compression formats a patchset archive may use. */
export type ArchiveFormat = 'gz' | 'bz2' | 'zst';

// unbzip2-stream decodes synchronously inside write(); modest slices keep each
// burst of output (one or two bzip2 blocks) small enough to hand on promptly.
const BZ2_SLICE = 64 * 1024;
// Larger than zlib's 16 KiB default: each output chunk costs one awaited file write.
const GZIP_CHUNK = 128 * 1024;

/** Identifies the compression from the first bytes of the file. */
export function sniffFormat(firstBytes: Buffer): ArchiveFormat | null {
  const b = firstBytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gz';
  if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') {
    // The fourth byte is the block size digit; a short sample cannot show it.
    return b.length < 4 || (b[3]! >= 0x31 && b[3]! <= 0x39) ? 'bz2' : null;
  }
  if (b.length >= 4) {
    const magic = b.readUInt32LE(0);
    if (magic === 0xfd2fb528) return 'zst';
    if (((magic & 0xfffffff0) >>> 0) === 0x184d2a50) return 'zst'; // skippable frame first, as pzstd writes
  }
  return null;
}

/** A duplex stream turning compressed bytes of `format` into tar bytes. */
export function createDecoder(format: ArchiveFormat): Duplex {
  switch (format) {
    case 'gz':
      return createGunzip({ chunkSize: GZIP_CHUNK });
    case 'bz2':
      return Duplex.from(bzip2Decode);
    case 'zst':
      return Duplex.from(zstdDecode);
  }
}

/** Maps a decoder's own error to an ArchiveError; anything else is returned unchanged. */
export function decoderError(err: unknown): unknown {
  if (err instanceof ArchiveError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    // zlib reports a stream that stops mid-member as Z_BUF_ERROR "unexpected end of file".
    const kind = code === 'Z_BUF_ERROR' ? 'TRUNCATED' : 'FORMAT';
    return new ArchiveError(kind, `gzip: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

async function* bzip2Decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const inner = unbzip2();
  const out: Buffer[] = [];
  let failure: unknown;
  let ended = false;
  inner.on('data', (data: Buffer) => out.push(data));
  inner.on('error', (err: unknown) => (failure ??= err));
  inner.on('end', () => (ended = true));
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += BZ2_SLICE) {
      inner.write(chunk.subarray(off, off + BZ2_SLICE));
      if (failure !== undefined) throw bzip2Error(failure, false);
      yield* out.splice(0);
    }
  }
  inner.end();
  if (failure !== undefined) throw bzip2Error(failure, true);
  yield* out.splice(0);
  if (!ended) throw new ArchiveError('TRUNCATED', 'bzip2 stream did not finish');
}

function bzip2Error(err: unknown, atEnd: boolean): ArchiveError {
  const message = err instanceof Error ? err.message : String(err);
  // unbzip2-stream has no error codes: it says "ended prematurely" when the
  // last block is missing, and its bit reader hits a TypeError when the input
  // runs out in the middle of a block, which can only happen at the end.
  const truncated = /prematurely/.test(message) || (atEnd && err instanceof TypeError);
  return new ArchiveError(truncated ? 'TRUNCATED' : 'FORMAT', `bzip2: ${message}`, { cause: err });
}
