import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ArchiveError } from './archive-error.js';
import type { TarBody } from './archive-tar.js';

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
// O_EXCL: never reuse or truncate anything; O_NOFOLLOW: never write through a
// link, even one planted in the staging directory by someone else meanwhile.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A file being written into staging; its sha256 and, optionally, its text are kept. */
export class StagedFile implements TarBody {
  private readonly hash: Hash = createHash('sha256');
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  sha256 = '';

  constructor(
    private readonly handle: FileHandle,
    private readonly onClose: (file: StagedFile) => void,
    private readonly keepLimit: number,
  ) {}

  /** Appends bytes to the file. */
  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.keep(chunk);
    for (let off = 0; off < chunk.length; ) {
      const { bytesWritten } = await this.handle.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }

  /** Closes the file and records its digest. */
  async close(): Promise<void> {
    this.sha256 = this.hash.digest('hex');
    this.onClose(this);
    await this.handle.close();
  }

  /** The kept bytes as UTF-8 text (only for files opened with a keep limit). */
  text(): string {
    return Buffer.concat(this.kept).toString('utf8');
  }

  /** Closes the handle without caring about errors, for the failure path. */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private keep(chunk: Buffer): void {
    if (this.keepLimit === 0) return;
    this.keptBytes += chunk.length;
    if (this.keptBytes > this.keepLimit) throw new ArchiveError('SHAPE', 'fixups list is too large');
    this.kept.push(Buffer.from(chunk));
  }
}

/**
 * Creates directories and files under a staging root that starts out empty.
 * Paths reaching this class are already validated; it still only ever creates
 * new entries, so a bug upstream cannot overwrite anything.
 */
export class StagingWriter {
  private readonly dirs = new Set<string>(['']);
  private readonly open = new Set<StagedFile>();
  private aborted = false;

  private constructor(private readonly root: string) {}

  /** Creates the staging root if needed and checks that it is empty. */
  static async prepare(root: string): Promise<StagingWriter> {
    await mkdir(root, { recursive: true, mode: DIR_MODE });
    const existing = await readdir(root);
    if (existing.length > 0) throw new Error(`staging directory ${root} is not empty`);
    return new StagingWriter(root);
  }

  /** Creates `rel` and its missing parents with mode 0755. */
  async ensureDirectory(rel: string): Promise<void> {
    const parts = rel === '' ? [] : rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.dirs.has(prefix)) continue;
      const full = join(this.root, prefix);
      await mkdir(full, { mode: DIR_MODE }).catch((err: unknown) => rethrowExists(err, prefix));
      await chmod(full, DIR_MODE); // mkdir's mode is filtered through the umask
      this.dirs.add(prefix);
    }
  }

  /** Creates a new file (mode 0644) for `rel`; keeps up to `keepLimit` bytes as text. */
  async createFile(rel: string, keepLimit = 0): Promise<StagedFile> {
    const slash = rel.lastIndexOf('/');
    await this.ensureDirectory(slash < 0 ? '' : rel.slice(0, slash));
    const handle = await open(join(this.root, rel), CREATE_FLAGS, FILE_MODE).catch((err: unknown) =>
      rethrowExists(err, rel),
    );
    const file = new StagedFile(handle, (f) => this.open.delete(f), keepLimit);
    this.open.add(file);
    if (this.aborted) await this.abort(); // lost a race with abort(): do not leak the descriptor
    await handle.chmod(FILE_MODE); // open's mode is filtered through the umask
    return file;
  }

  /** Closes every file still open, after a failure. */
  async abort(): Promise<void> {
    this.aborted = true;
    const files = [...this.open];
    this.open.clear();
    await Promise.all(files.map((f) => f.discard()));
  }
}

function rethrowExists(err: unknown, rel: string): never {
  if ((err as { code?: unknown }).code === 'EEXIST') {
    throw new ArchiveError('DUPLICATE', `${JSON.stringify(rel)} already exists in the archive`, { entry: rel });
  }
  throw err;
}
