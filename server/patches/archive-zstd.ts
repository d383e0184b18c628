import { Decompress } from 'fzstd';
import { ArchiveError } from './archive-error.js';
import { Xxh64 } from './archive-xxh64.js';

// The zstd CLI refuses windows above 128 MiB unless given --memory; fzstd would
// allocate any declared window (up to 2 GiB) and copy it on every block.
const MAX_WINDOW = 128 * 1024 * 1024;
// Format limit (RFC 8878 Block_Maximum_Size); fzstd does not check it for RLE blocks.
const MAX_BLOCK = 128 * 1024;
// Small slices bound how much one synchronous fzstd push can emit (RLE blocks
// turn 4 bytes into 128 KiB), so backpressure works even for decompression bombs.
const SLICE = 1024;
const ZSTD_MAGIC = 0xfd2fb528;
const MAGIC_BYTES = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd);
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const DICT_ID_BYTES = [0, 1, 2, 4];

type SplitState = 'magic' | 'skipLength' | 'descriptor' | 'frameHeader' | 'blockHeader' | 'checksum';

/** Receives the bytes of each zstd frame (skippable frames are dropped). */
export interface FrameSink {
  start(hasChecksum: boolean): void;
  data(bytes: Uint8Array): void;
  /** `checksum` is the stored low 32 bits of XXH64, or null when the frame has none. */
  end(checksum: number | null): void;
}

/**
 * Walks zstd frame and block headers ahead of fzstd, so that hostile headers
 * are refused before fzstd acts on them (it would allocate any declared window,
 * up to 2 GiB), each frame can be decoded and its checksum verified on its
 * own, and we know whether the input stopped on a frame boundary.
 */
export class ZstdFrameSplitter {
  private state: SplitState = 'magic';
  private need = 4;
  private readonly buf = Buffer.alloc(16);
  private have = 0;
  private skipLeft = 0;
  private inFrame = false;
  private endAfterSkip = false;
  private descriptor = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Feeds compressed bytes; throws ArchiveError on a header fzstd must not see. */
  feed(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.skipLeft > 0 ? this.skipLeft : this.need - this.have, chunk.length - off);
      if (this.inFrame) this.sink.data(chunk.subarray(off, off + n));
      if (this.skipLeft > 0) {
        this.skipLeft -= n;
        if (this.skipLeft === 0 && this.endAfterSkip) this.endFrame(null);
      } else {
        this.buf.set(chunk.subarray(off, off + n), this.have);
        this.have += n;
        if (this.have === this.need) {
          this.have = 0;
          this.onField(this.buf.subarray(0, this.need));
        }
      }
      off += n;
    }
  }

  /** True when the bytes seen so far end exactly after a complete frame. */
  atFrameBoundary(): boolean {
    return this.state === 'magic' && this.have === 0 && this.skipLeft === 0;
  }

  private expect(state: SplitState, need: number, skip = 0): void {
    this.state = state;
    this.need = need;
    this.skipLeft = skip;
  }

  private onField(b: Buffer): void {
    switch (this.state) {
      case 'magic':
        return this.onMagic(b.readUInt32LE(0));
      case 'skipLength':
        return this.expect('magic', 4, b.readUInt32LE(0));
      case 'descriptor':
        return this.onDescriptor(b[0] ?? 0);
      case 'frameHeader':
        return this.onFrameHeader(b);
      case 'blockHeader':
        return this.onBlockHeader(b[0]! | (b[1]! << 8) | (b[2]! << 16));
      case 'checksum':
        return this.endFrame(b.readUInt32LE(0));
    }
  }

  private onMagic(magic: number): void {
    // The frame starts for the sink only with its descriptor, which says whether it has a checksum.
    if (magic === ZSTD_MAGIC) return this.expect('descriptor', 1);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) return this.expect('skipLength', 4);
    throw new ArchiveError('FORMAT', 'bad zstd frame magic');
  }

  private onDescriptor(fhd: number): void {
    if (fhd & 0x08) throw new ArchiveError('FORMAT', 'reserved bit set in zstd frame header');
    this.descriptor = fhd;
    this.sink.start(((fhd >> 2) & 1) === 1);
    this.sink.data(MAGIC_BYTES);
    this.sink.data(Uint8Array.of(fhd));
    this.inFrame = true;
    const singleSegment = (fhd >> 5) & 1;
    this.expect('frameHeader', (singleSegment ? 0 : 1) + DICT_ID_BYTES[fhd & 3]! + contentSizeBytes(fhd));
  }

  private onFrameHeader(b: Buffer): void {
    const fhd = this.descriptor;
    const singleSegment = (fhd >> 5) & 1;
    const window = singleSegment
      ? readContentSize(b, DICT_ID_BYTES[fhd & 3]!, contentSizeBytes(fhd))
      : windowSize(b[0] ?? 0);
    if (window > MAX_WINDOW) throw new ArchiveError('FORMAT', `zstd window of ${window} bytes is over the 128 MiB limit`);
    this.expect('blockHeader', 3);
  }

  private onBlockHeader(header: number): void {
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new ArchiveError('FORMAT', 'reserved zstd block type');
    if (size > MAX_BLOCK) throw new ArchiveError('FORMAT', 'zstd block larger than 128 KiB');
    const body = type === 1 ? 1 : size;
    if (!last) return this.expect('blockHeader', 3, body);
    if ((this.descriptor >> 2) & 1) return this.expect('checksum', 4, body);
    this.expect('magic', 4, body);
    this.endAfterSkip = true;
    if (body === 0) this.endFrame(null);
  }

  private endFrame(checksum: number | null): void {
    this.inFrame = false;
    this.endAfterSkip = false;
    this.expect('magic', 4);
    this.sink.end(checksum);
  }
}

function contentSizeBytes(fhd: number): number {
  const flag = fhd >> 6;
  return flag ? 1 << flag : (fhd >> 5) & 1;
}

function readContentSize(b: Buffer, offset: number, bytes: number): number {
  if (bytes === 8) return Number(b.readBigUInt64LE(offset));
  const value = bytes === 0 ? 0 : b.readUIntLE(offset, bytes);
  return bytes === 2 ? value + 256 : value;
}

function windowSize(descriptor: number): number {
  const base = 2 ** (10 + (descriptor >> 3));
  return base + (base / 8) * (descriptor & 7);
}

/** Decompresses a zstd stream with fzstd, frame by frame, verifying content checksums. */
export async function* zstdDecode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const frames = new FrameDecoder();
  const splitter = new ZstdFrameSplitter(frames);
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += SLICE) {
      splitter.feed(chunk.subarray(off, off + SLICE));
      yield* frames.take();
    }
  }
  if (!splitter.atFrameBoundary()) throw new ArchiveError('TRUNCATED', 'zstd stream ends inside a frame');
}

// One fzstd decoder per frame: fzstd itself ignores checksums, and a fresh
// decoder per frame lets us hash exactly that frame's output.
class FrameDecoder implements FrameSink {
  private readonly out: Buffer[] = [];
  private decoder: Decompress | null = null;
  private hash: Xxh64 | null = null;

  start(hasChecksum: boolean): void {
    const hash = hasChecksum ? new Xxh64() : null;
    this.hash = hash;
    this.decoder = new Decompress((data) => {
      if (data.length === 0) return;
      hash?.update(data);
      this.out.push(Buffer.from(data)); // fzstd gives no promise that the array is not reused
    });
  }

  data(bytes: Uint8Array): void {
    pushZstd(this.decoder!, bytes, false);
  }

  end(checksum: number | null): void {
    pushZstd(this.decoder!, new Uint8Array(0), true);
    if (checksum !== null && this.hash?.digestLow32() !== checksum) {
      throw new ArchiveError('FORMAT', 'zstd content checksum mismatch');
    }
    this.decoder = null;
    this.hash = null;
  }

  take(): Buffer[] {
    return this.out.splice(0);
  }
}

function pushZstd(decoder: Decompress, piece: Uint8Array, final: boolean): void {
  try {
    decoder.push(piece, final);
  } catch (err) {
    const eof = (err as { code?: unknown }).code === 5; // fzstd's ZstdErrorCode.UnexpectedEOF
    throw new ArchiveError(eof ? 'TRUNCATED' : 'FORMAT', `zstd: ${(err as Error).message}`, { cause: err });
  }
}
