import { Header, Pax, type HeaderData } from 'tar';
import { ArchiveError } from './archive-error.js';

const BLOCK = 512;
// node-tar's own limit for pax / GNU long-name bodies.
const META_LIMIT = 1024 * 1024;
// Headers, pax records, padding and bytes after the end marker are not file
// content; a well-formed archive needs at most ~3 blocks per entry plus one
// final record, so anything far beyond that is a bomb made of metadata.
const OVERHEAD_SLACK = 16 * 1024 * 1024;
const OVERHEAD_PER_ENTRY = 3 * BLOCK;

/** What a tar entry is, reduced to the distinctions the importer cares about. */
export type TarEntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo' | 'other';

/** One real (non-metadata) tar entry, after pax and GNU long names are applied. */
export interface TarEntry {
  path: string;
  kind: TarEntryKind;
  size: number;
  linkpath: string;
}

/** Receives the body of one file entry; close() is called after the last byte. */
export interface TarBody {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** Decides about each entry before any of its bytes are read. */
export interface TarVisitor {
  entry(entry: TarEntry): Promise<TarBody | null>;
}

type MetaKind = 'pax' | 'globalPax' | 'longPath';
type Phase = 'header' | 'body' | 'padding' | 'eof';

const KIND_BY_TYPE: Record<string, TarEntryKind | MetaKind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  NextFileHasLongLinkpath: 'hardlink', // only links carry a long link path
  CharacterDevice: 'device',
  BlockDevice: 'device',
  FIFO: 'fifo',
  ExtendedHeader: 'pax',
  OldExtendedHeader: 'pax',
  GlobalExtendedHeader: 'globalPax',
  NextFileHasLongPath: 'longPath',
};

/**
 * A strict, push-driven tar reader. It uses node-tar's Header and Pax decoders
 * but drives the block stream itself, so that every entry is judged before its
 * body is read, bodies are written with awaited backpressure, a missing end
 * marker is noticed, and nothing after the end marker is buffered.
 */
export class TarReader {
  private phase: Phase = 'header';
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private body: TarBody | null = null;
  private meta: { kind: MetaKind; chunks: Buffer[] } | null = null;
  private ex: HeaderData | undefined;
  private gex: HeaderData | undefined;
  private sawNullBlock = false;
  private overhead = 0;
  private entries = 0;

  constructor(private readonly visitor: TarVisitor) {}

  /** Consumes the next piece of the uncompressed tar stream. */
  async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) off += await this.consume(chunk, off);
  }

  /** Declares the end of input; throws TRUNCATED unless the end marker was seen. */
  end(): void {
    if (this.phase === 'eof') return;
    // GNU tar also accepts an archive that stops after a single zero block.
    if (this.phase === 'header' && this.headerFill === 0 && this.sawNullBlock) return;
    throw new ArchiveError('TRUNCATED', 'tar stream ends before its end-of-archive marker');
  }

  private async consume(chunk: Buffer, off: number): Promise<number> {
    const avail = chunk.length - off;
    switch (this.phase) {
      case 'header':
        return this.consumeHeader(chunk, off);
      case 'body':
        return this.consumeBody(chunk.subarray(off, off + Math.min(this.remaining, avail)));
      case 'padding':
        return this.skipPadding(Math.min(this.padding, avail));
      case 'eof':
        this.countOverhead(avail);
        return avail;
    }
  }

  private async consumeHeader(chunk: Buffer, off: number): Promise<number> {
    const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
    chunk.copy(this.header, this.headerFill, off, off + n);
    this.headerFill += n;
    if (this.headerFill === BLOCK) {
      this.headerFill = 0;
      this.countOverhead(BLOCK);
      await this.onHeaderBlock(this.header);
    }
    return n;
  }

  private async consumeBody(piece: Buffer): Promise<number> {
    if (this.meta) {
      this.meta.chunks.push(Buffer.from(piece));
      this.countOverhead(piece.length);
    } else if (this.body) {
      await this.body.write(piece);
    }
    this.remaining -= piece.length;
    if (this.remaining === 0) await this.finishEntry();
    return piece.length;
  }

  private skipPadding(n: number): number {
    this.countOverhead(n);
    this.padding -= n;
    if (this.padding === 0) this.phase = 'header';
    return n;
  }

  private async onHeaderBlock(block: Buffer): Promise<void> {
    if (isZeroBlock(block)) {
      if (this.sawNullBlock) this.phase = 'eof';
      this.sawNullBlock = true;
      return;
    }
    if (this.sawNullBlock) throw new ArchiveError('FORMAT', 'tar data after a lone end-of-archive block');
    const header = decodeHeader(block, this.ex, this.gex);
    const kind = KIND_BY_TYPE[header.type] ?? 'other';
    const size = header.size ?? 0;
    if (kind === 'pax' || kind === 'globalPax' || kind === 'longPath') return this.startMeta(kind, size);
    // Header joins a ustar prefix onto a pax path and lets the raw link field
    // override a pax linkpath; pax and long-name records must win, as in node-tar's ReadEntry.
    const path = this.ex?.path ?? header.path ?? '';
    const linkpath = this.ex?.linkpath || header.linkpath || '';
    this.ex = undefined; // pax and long-name records describe only the next entry
    this.entries++;
    const entry: TarEntry = { path, kind, size, linkpath };
    const body = await this.visitor.entry(entry);
    await this.startBody(size, body);
  }

  private async startMeta(kind: MetaKind, size: number): Promise<void> {
    if (size > META_LIMIT) throw new ArchiveError('TOO_BIG', `tar metadata record of ${size} bytes`);
    this.meta = { kind, chunks: [] };
    await this.startBody(size, null);
  }

  private async startBody(size: number, body: TarBody | null): Promise<void> {
    this.body = body;
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.phase = 'body';
    if (size === 0) await this.finishEntry();
  }

  private async finishEntry(): Promise<void> {
    const { meta, body } = this;
    this.meta = null;
    this.body = null;
    this.phase = this.padding > 0 ? 'padding' : 'header';
    if (meta) this.applyMeta(meta.kind, Buffer.concat(meta.chunks).toString('utf8'));
    if (body) await body.close();
  }

  private applyMeta(kind: MetaKind, text: string): void {
    if (kind === 'pax') this.ex = Pax.parse(text, this.ex, false);
    else if (kind === 'globalPax') this.gex = Pax.parse(text, this.gex, true);
    else this.ex = { ...this.ex, path: text.replace(/\0[\s\S]*$/, '') };
  }

  private countOverhead(n: number): void {
    this.overhead += n;
    if (this.overhead > OVERHEAD_SLACK + OVERHEAD_PER_ENTRY * this.entries) {
      throw new ArchiveError('TOO_BIG', 'too much tar metadata, padding or trailing data');
    }
  }
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function decodeHeader(block: Buffer, ex: HeaderData | undefined, gex: HeaderData | undefined): Header {
  let header: Header;
  try {
    header = new Header(block, 0, ex, gex);
  } catch (err) {
    throw new ArchiveError('FORMAT', `unreadable tar header: ${(err as Error).message}`, { cause: err });
  }
  if (!header.cksumValid) throw new ArchiveError('FORMAT', 'tar header checksum mismatch');
  const size = header.size;
  if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
    throw new ArchiveError('FORMAT', 'tar header has an invalid size');
  }
  return header;
}
