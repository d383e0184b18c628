import { ArchiveError } from './archive-error.js';
import {
  classifyDirectory,
  classifyFile,
  isListedFixup,
  normalizeEntryPath,
  parseFixups,
  type FileShape,
  type PatchProduct,
} from './archive-layout.js';
import type { StagedFile, StagingWriter } from './archive-staging.js';
import type { TarBody, TarEntry, TarVisitor } from './archive-tar.js';

/** What an extracted patchset holds, for the importer to record. */
export interface PatchsetManifest {
  /** Per kernel id (khash): the levels carried and every file path under it. */
  kernels: Map<string, { levels: Set<number>; files: string[] }>;
  libcare: { lib?: string; buildId: string; path: string }[];
  /** Every file, in archive order, with its size and sha256. */
  files: { path: string; size: number; sha256: string }[];
  totalBytes: number;
  /** sha256 of the compressed archive file. */
  archiveSha256: string;
}

/** Limits applied while extracting. */
export interface CollectLimits {
  maxTotalBytes: number;
  maxEntries: number;
  product: PatchProduct | undefined;
}

// A fixups list names a handful of files; anything bigger is not one.
const FIXUPS_KEEP_LIMIT = 1024 * 1024;

type Claim = 'file' | 'directory' | 'parent';
interface Extra {
  path: string;
  levelDir: string;
  name: string;
}
interface Written {
  path: string;
  size: number;
  file: StagedFile;
}

/**
 * Judges each tar entry against the documented layout and the limits before a
 * byte of it is written, and builds the manifest of what was accepted.
 */
export class PatchsetCollector implements TarVisitor {
  private readonly claims = new Map<string, Claim>();
  private readonly written: Written[] = [];
  private readonly shapes = new Map<string, FileShape>();
  private readonly extras: Extra[] = [];
  private readonly fixupLists: { levelDir: string; file: StagedFile }[] = [];
  private product: PatchProduct | undefined;
  private totalBytes = 0;
  private entries = 0;

  constructor(
    private readonly staging: StagingWriter,
    private readonly limits: CollectLimits,
  ) {
    this.product = limits.product;
  }

  /** Validates one entry; returns where its body goes. */
  async entry(entry: TarEntry): Promise<TarBody | null> {
    if (++this.entries > this.limits.maxEntries) {
      throw new ArchiveError('TOO_BIG', `more than ${this.limits.maxEntries} entries`);
    }
    const path = normalizeEntryPath(entry.path, entry.kind === 'directory');
    refuseSpecial(entry);
    if (entry.kind === 'directory') return this.acceptDirectory(path, entry.path);
    return this.acceptFile(path, entry.size);
  }

  /** Final checks once the whole archive has been read; returns the manifest. */
  finish(archiveSha256: string): PatchsetManifest {
    if (this.written.length === 0) throw new ArchiveError('EMPTY', 'the archive holds no patch files');
    this.checkExtras();
    return this.manifest(archiveSha256);
  }

  private async acceptDirectory(path: string, raw: string): Promise<null> {
    const product = classifyDirectory(path);
    if (product) this.claimProduct(product, raw);
    this.claim(path, 'directory', raw);
    await this.staging.ensureDirectory(path);
    return null;
  }

  private async acceptFile(path: string, size: number): Promise<TarBody> {
    if (path === '') throw new ArchiveError('SHAPE', 'a file entry names the archive root', { entry: path });
    const shape = classifyFile(path);
    this.claimProduct(shape.product, path);
    this.claim(path, 'file', path);
    this.totalBytes += size;
    if (this.totalBytes > this.limits.maxTotalBytes) {
      throw new ArchiveError('TOO_BIG', `unpacked size exceeds ${this.limits.maxTotalBytes} bytes`, { entry: path });
    }
    const keep = shape.kind === 'kpatch' && shape.fixups ? FIXUPS_KEEP_LIMIT : 0;
    const file = await this.staging.createFile(path, keep);
    this.record(path, size, shape, file);
    return file;
  }

  private record(path: string, size: number, shape: FileShape, file: StagedFile): void {
    this.written.push({ path, size, file });
    this.shapes.set(path, shape);
    if (shape.kind === 'extra') this.extras.push({ path, levelDir: levelDir(shape), name: shape.name });
    if (shape.kind === 'kpatch' && shape.fixups) this.fixupLists.push({ levelDir: levelDir(shape), file });
  }

  private claimProduct(product: PatchProduct, entry: string): void {
    this.product ??= product;
    if (this.product !== product) {
      throw new ArchiveError('SHAPE', `${product} path in a ${this.product} patchset`, { entry });
    }
  }

  // Records a path and its parents so that the same path twice, or a file
  // standing where a directory is needed, is refused before anything is written.
  private claim(path: string, claim: Claim, raw: string): void {
    const parts = path === '' ? [] : path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.claims.get(prefix) === 'file') throw duplicate(raw);
      if (!this.claims.has(prefix)) this.claims.set(prefix, 'parent');
    }
    if (path === '') return;
    const previous = this.claims.get(path);
    const upgradesParent = previous === 'parent' && claim === 'directory';
    if (previous !== undefined && !upgradesParent) throw duplicate(raw);
    this.claims.set(path, claim);
  }

  private checkExtras(): void {
    const listed = new Map<string, Set<string>>();
    for (const { levelDir, file } of this.fixupLists) {
      const names = listed.get(levelDir) ?? new Set<string>();
      for (const name of parseFixups(file.text())) names.add(name);
      listed.set(levelDir, names);
    }
    for (const extra of this.extras) {
      if (!isListedFixup(extra.name, listed.get(extra.levelDir) ?? new Set())) {
        throw new ArchiveError('SHAPE', `${extra.path} is not named in a fixups list of its level`, {
          entry: extra.path,
        });
      }
    }
  }

  private manifest(archiveSha256: string): PatchsetManifest {
    const m: PatchsetManifest = { kernels: new Map(), libcare: [], files: [], totalBytes: this.totalBytes, archiveSha256 };
    for (const { path, size, file } of this.written) {
      m.files.push({ path, size, sha256: file.sha256 });
      const shape = this.shapes.get(path)!;
      if (shape.product === 'libcare') {
        m.libcare.push(shape.lib === undefined ? { buildId: shape.buildId, path } : { lib: shape.lib, buildId: shape.buildId, path });
        continue;
      }
      const kernel = m.kernels.get(shape.khash) ?? { levels: new Set<number>(), files: [] };
      if (shape.kind !== 'kcare') kernel.levels.add(shape.level);
      kernel.files.push(path);
      m.kernels.set(shape.khash, kernel);
    }
    return m;
  }
}

// The documented layout has no links at all, so every link is refused, not
// only those pointing outside the archive: an in-archive link could still be
// replaced or followed later by code that trusts the store.
function refuseSpecial(entry: TarEntry): void {
  const { kind, path, linkpath } = entry;
  if (kind === 'symlink' || kind === 'hardlink' || linkpath !== '') {
    throw new ArchiveError('LINK', `${JSON.stringify(path)} is a link to ${JSON.stringify(linkpath)}`, { entry: path });
  }
  if (kind !== 'file' && kind !== 'directory') {
    throw new ArchiveError('DEVICE', `${JSON.stringify(path)} is a ${kind} entry`, { entry: path });
  }
}

function levelDir(shape: { khash: string; level: number }): string {
  return `${shape.khash}/${shape.level}`;
}

function duplicate(raw: string): ArchiveError {
  return new ArchiveError('DUPLICATE', `${JSON.stringify(raw)} appears twice or clashes with another entry`, {
    entry: raw,
  });
}
