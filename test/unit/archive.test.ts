// Patchset archive extraction: real archives in every format unpack byte for
// byte; hostile, damaged and oversized ones are refused with the right code
// and nothing is ever written outside the staging directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  extractPatchset,
  parseFixups,
  sniffFormat,
  type ArchiveErrorCode,
  type ExtractOptions,
  type PatchsetManifest,
} from '../../server/patches/archive.js';
import { Xxh64 } from '../../server/patches/archive-xxh64.js';
import {
  buildMaliciousArchive,
  buildPatchset,
  compressBuffer,
  detBytes,
  makeKernels,
  MALICIOUS_KINDS,
  maliciousSentinel,
  rawTar,
  type BuiltPatchset,
  type FixtureFormat,
  type MaliciousKind,
  type RawTarEntry,
} from '../support/patchset-fixtures.js';

const FORMATS: FixtureFormat[] = ['gz', 'bz2', 'zst'];
const KH = 'a'.repeat(40);
let root: string;
let caseNo = 0;

beforeAll(() => {
  root = mkdtempSync(join(os.tmpdir(), 'archive-test-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory per case; its `stage` child is the staging dir. */
async function caseDir(): Promise<string> {
  const dir = join(root, `case-${++caseNo}`);
  await mkdir(dir);
  return dir;
}

async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = join(entry.parentPath, entry.name);
      out.set(relative(dir, full), await readFile(full));
    }
  }
  return out;
}

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

async function refusal(p: Promise<unknown>): Promise<ArchiveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the archive to be refused').toBeInstanceOf(ArchiveError);
  return err as ArchiveError;
}

async function expectCode(p: Promise<unknown>, code: ArchiveErrorCode): Promise<ArchiveError> {
  const err = await refusal(p);
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Writes a hand-made tar, compressed, and extracts it into a fresh staging dir. */
async function extractRaw(
  entries: RawTarEntry[] | Buffer,
  opts: ExtractOptions & { end?: boolean; compress?: FixtureFormat } = {},
): Promise<PatchsetManifest> {
  const dir = await caseDir();
  const tarBytes = Buffer.isBuffer(entries) ? entries : rawTar(entries, { end: opts.end });
  const archive = join(dir, 'raw.tar');
  await writeFile(archive, await compressBuffer(tarBytes, opts.compress ?? 'gz'));
  return extractPatchset(archive, join(dir, 'stage'), opts);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function file(path: string, text = `${path}\n`): RawTarEntry {
  return { path, data: Buffer.from(text) };
}

function pax(records: Record<string, string>): RawTarEntry {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const tail = ` ${k}=${v}\n`;
      let len = tail.length + 1;
      while (String(len).length + tail.length !== len) len = String(len).length + tail.length;
      return `${len}${tail}`;
    })
    .join('');
  return { path: 'PaxHeader', type: 'x', data: Buffer.from(body) };
}

describe('extractPatchset: good archives', () => {
  const kernels = makeKernels(3, 11);
  const levelOf = (k: { khash: string }): number => 1 + kernels.findIndex((x) => x.khash === k.khash) * 7;

  it.each(FORMATS)('%s: unpacks byte for byte with a correct manifest', async (format) => {
    const dir = await caseDir();
    const built = await buildPatchset({
      name: 'K20240115_01',
      kernels,
      level: levelOf,
      format,
      types: ['default', 'extra', 'free', 'edf'],
      withFixups: true,
      binSize: 3000,
      outDir: dir,
    });
    const stage = join(dir, 'stage');
    const m = await extractPatchset(built.archivePath, stage, { expectedSha256: built.sha256, product: 'kernel' });

    expect(await readTree(stage)).toEqual(built.files);
    expect(m.archiveSha256).toBe(built.sha256);
    expect(m.libcare).toEqual([]);
    expect(m.files.map((f) => f.path).sort()).toEqual([...built.files.keys()].sort());
    for (const f of m.files) {
      const data = built.files.get(f.path)!;
      expect(f).toEqual({ path: f.path, size: data.length, sha256: sha256(data) });
    }
    expect(m.totalBytes).toBe([...built.files.values()].reduce((n, b) => n + b.length, 0));
    expect([...m.kernels.keys()].sort()).toEqual(kernels.map((k) => k.khash).sort());
    for (const k of kernels) {
      const entry = m.kernels.get(k.khash)!;
      expect([...entry.levels]).toEqual([built.levels.get(k.khash)]);
      expect([...entry.files].sort()).toEqual([...built.files.keys()].filter((p) => p.startsWith(`${k.khash}/`)).sort());
    }
    await expectModes(stage);
  });

  it('libcare: both documented layouts, build ids up to 128 hex digits', async () => {
    const dir = await caseDir();
    const ids = ['0123abcd', 'f'.repeat(128), 'e'.repeat(40), 'd'.repeat(64), 'c'.repeat(127)];
    const built = await buildPatchset({ name: 'U20240115_01', kernels: [], level: 1, outDir: dir, product: 'libcare', libcareBuildIds: ids });
    const m = await extractPatchset(built.archivePath, join(dir, 'stage'), { product: 'libcare' });
    expect(await readTree(join(dir, 'stage'))).toEqual(built.files);
    expect(m.kernels.size).toBe(0);
    expect(m.libcare.map((l) => l.buildId).sort()).toEqual([...ids].sort());
    expect(m.libcare.find((l) => l.buildId === 'd'.repeat(64))).toEqual({ buildId: 'd'.repeat(64), path: `userspace/${'d'.repeat(64)}.tgz` });
    expect(m.libcare.find((l) => l.buildId === 'f'.repeat(128))?.lib).toBe('openssl');
  });

  const haveGnuTar = spawnSync('tar', ['--version']).stdout?.toString().includes('GNU tar') ?? false;
  it.skipIf(!haveGnuTar).each(['gnu', 'posix'])('archives made by GNU tar --format=%s (./ prefixes, long names)', async (tarFormat) => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'U20240201_01', kernels: [], level: 1, outDir: dir, product: 'libcare', libcareBuildIds: ['9'.repeat(128), '8'.repeat(20)] });
    const src = join(dir, 'src');
    for (const [path, data] of built.files) {
      await mkdir(join(src, path, '..'), { recursive: true });
      await writeFile(join(src, path), data);
    }
    const tarBytes = execFileSync('tar', ['-C', src, `--format=${tarFormat}`, '-cf', '-', '.']);
    const m = await extractRaw(tarBytes, { compress: 'gz' });
    expect(m.files.map((f) => f.path).sort()).toEqual([...built.files.keys()].sort());
  });

  it('normalises ./ prefixes and accepts directory entries for documented prefixes', async () => {
    const m = await extractRaw([
      { path: './', type: '5' },
      { path: `./${KH}/`, type: '5' },
      { path: `./${KH}/12/`, type: '5' },
      file(`./${KH}/kcare.ko`),
      file(`././${KH}/12/kpatch.bin`),
    ]);
    expect(m.files.map((f) => f.path)).toEqual([`${KH}/kcare.ko`, `${KH}/12/kpatch.bin`]);
    expect([...m.kernels.get(KH)!.levels]).toEqual([12]);
  });

  it('applies pax path records and GNU long names to the next entry only', async () => {
    const long = `userspace/${'x'.repeat(60)}/${'a'.repeat(128)}/kpatch.tgz`;
    const m = await extractRaw([
      pax({ path: long }),
      file('ignored-name-1'.padEnd(90, 'z')),
      { path: '././@LongLink', type: 'L', data: Buffer.from(`userspace/${'b'.repeat(100)}.tgz\0`) },
      file('ignored-name-2'),
    ]);
    expect(m.libcare.map((l) => l.path)).toEqual([long, `userspace/${'b'.repeat(100)}.tgz`]);
  });

  it('accepts fixups extras listed in their own level only', async () => {
    const listed = [file(`${KH}/3/kpatch.fixups`, '# extras\n./extra-1.ko\n\nextra-2.ko  \n'), file(`${KH}/3/extra-1.ko`), file(`${KH}/3/extra-1.ko.sig`), file(`${KH}/3/extra-2.ko`)];
    const m = await extractRaw(listed);
    expect(m.files).toHaveLength(4);
    await expectCode(extractRaw([...listed, file(`${KH}/3/extra-3.ko`)]), 'SHAPE');
    await expectCode(extractRaw([...listed, file(`${KH}/4/extra-1.ko`)]), 'SHAPE');
    // an extra must not be vouched for by a signature file that merely looks like a list
    await expectCode(extractRaw([file(`${KH}/3/kpatch.fixups.sig`, 'extra-1.ko\n'), file(`${KH}/3/extra-1.ko`)]), 'SHAPE');
  });

  it.each(FORMATS)('%s: accepts multi-member streams (pigz, pbzip2, pzstd with skippable frames)', async (format) => {
    const tarBytes = rawTar([{ path: `${KH}/kcare.ko`, data: detBytes('multi', 300_000) }, file(`${KH}/kcare.ko.sig`)]);
    const parts = await Promise.all([tarBytes.subarray(0, 1000), tarBytes.subarray(1000, 200_000), tarBytes.subarray(200_000)].map((p) => compressBuffer(p, format)));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const dir = await caseDir();
    await writeFile(join(dir, 'multi'), format === 'zst' ? Buffer.concat([skippable, parts[0]!, skippable, parts[1]!, parts[2]!]) : Buffer.concat(parts));
    const m = await extractPatchset(join(dir, 'multi'), join(dir, 'stage'));
    expect(m.files.map((f) => f.size)).toEqual([300_000, `${KH}/kcare.ko.sig\n`.length]);
    expect(await readFile(join(dir, 'stage', KH, 'kcare.ko'))).toEqual(detBytes('multi', 300_000));
  });

  it('accepts an archive ending with a single zero block, as GNU tar does', async () => {
    const bytes = rawTar([file(`${KH}/kcare.ko`)], { end: false });
    const m = await extractRaw(Buffer.concat([bytes, Buffer.alloc(512)]));
    expect(m.files).toHaveLength(1);
  });
});

async function expectModes(stage: string): Promise<void> {
  for (const rel of await listAll(stage)) {
    const st = await lstat(join(stage, rel));
    expect(st.isFile() || st.isDirectory(), rel).toBe(true);
    expect(st.mode & 0o777, rel).toBe(st.isDirectory() ? 0o755 : 0o644);
  }
}

const EXPECTED: Record<MaliciousKind, ArchiveErrorCode> = {
  traversal: 'TRAVERSAL',
  absolute: 'ABSOLUTE',
  'symlink-out': 'LINK',
  hardlink: 'LINK',
  device: 'DEVICE',
  fifo: 'DEVICE',
  duplicate: 'DUPLICATE',
  'bad-shape': 'SHAPE',
  truncated: 'TRUNCATED',
  oversize: 'TOO_BIG',
};

describe('extractPatchset: refusals', () => {
  it.each(MALICIOUS_KINDS)('%s is refused and nothing lands outside staging', async (kind) => {
    const dir = await caseDir();
    const archive = await buildMaliciousArchive(kind, dir);
    const before = await listAll(dir);
    await expectCode(extractPatchset(archive, join(dir, 'stage')), EXPECTED[kind]);
    expect(existsSync(maliciousSentinel(dir))).toBe(false);
    const outside = (await listAll(dir)).filter((p) => p !== 'stage' && !p.startsWith('stage/'));
    expect(outside).toEqual(before);
    await expectModes(join(dir, 'stage')); // only plain files and directories, never links
  });

  it('wrong expectedSha256 -> CHECKSUM, checked over the whole file', async () => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'K20240301_01', kernels: makeKernels(1, 2), level: 1, outDir: dir });
    await expectCode(extractPatchset(built.archivePath, join(dir, 's1'), { expectedSha256: 'f'.repeat(64) }), 'CHECKSUM');
    // accepted in either case
    await extractPatchset(built.archivePath, join(dir, 's2'), { expectedSha256: built.sha256.toUpperCase() });
    // trailing bytes after the gzip member change the file, not the content
    await writeFile(built.archivePath, Buffer.concat([await readFile(built.archivePath), Buffer.from('junk')]));
    await expectCode(extractPatchset(built.archivePath, join(dir, 's3'), { expectedSha256: built.sha256 }), 'CHECKSUM');
  });

  it('a damaged download is reported as CHECKSUM when the checksum is known', async () => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'K20240302_01', kernels: makeKernels(1, 3), level: 1, outDir: dir, format: 'bz2' });
    const bytes = await readFile(built.archivePath);
    await writeFile(built.archivePath, bytes.subarray(0, bytes.length - 100));
    await expectCode(extractPatchset(built.archivePath, join(dir, 's1')), 'TRUNCATED');
    const err = await expectCode(extractPatchset(built.archivePath, join(dir, 's2'), { expectedSha256: built.sha256 }), 'CHECKSUM');
    expect((err.cause as ArchiveError).code).toBe('TRUNCATED');
  });

  it('maxTotalBytes caps the declared size of all files', async () => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'K20240303_01', kernels: makeKernels(2, 4), level: 2, outDir: dir, binSize: 5000 });
    const total = [...built.files.values()].reduce((n, b) => n + b.length, 0);
    await expectCode(extractPatchset(built.archivePath, join(dir, 's1'), { maxTotalBytes: total - 1 }), 'TOO_BIG');
    expect((await extractPatchset(built.archivePath, join(dir, 's2'), { maxTotalBytes: total })).totalBytes).toBe(total);
    await expectCode(extractPatchset(built.archivePath, join(dir, 's3'), { maxEntries: built.files.size - 1 }), 'TOO_BIG');
  });

  it('refuses a declared size over the cap before reading the data (pax size)', async () => {
    await expectCode(extractRaw([pax({ size: String(2 ** 40) }), file(`${KH}/kcare.ko`)], { end: false }), 'TOO_BIG');
  });

  it('stops decompression bombs made of padding or trailing zeros', async () => {
    const zeros = Buffer.alloc(40 * 1024 * 1024);
    const tarBytes = Buffer.concat([rawTar([file(`${KH}/kcare.ko`)]), zeros]);
    await expectCode(extractRaw(tarBytes, { compress: 'gz' }), 'TOO_BIG');
    await expectCode(extractRaw(tarBytes, { compress: 'zst' }), 'TOO_BIG');
  });

  it('stops a zstd RLE bomb (4 bytes -> 128 KiB per block)', async () => {
    const dir = await caseDir();
    const block = Buffer.from([((131072 << 3) | 2) & 0xff, ((131072 << 3) >> 8) & 0xff, (131072 << 3) >> 16, 0]);
    const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]), Buffer.concat(Array(20_000).fill(block))]);
    await writeFile(join(dir, 'bomb.tar.zst'), frame);
    await expectCode(extractPatchset(join(dir, 'bomb.tar.zst'), join(dir, 'stage')), 'TOO_BIG');
  });

  it.each([
    ['a product mismatch', [file(`${KH}/kcare.ko`)], { product: 'libcare' }],
    ['kernel and libcare paths mixed', [file(`${KH}/kcare.ko`), file(`userspace/${'c'.repeat(40)}.tgz`)], {}],
    ['a directory that is not a documented prefix', [{ path: `${KH}/12/sub/`, type: '5' }, file(`${KH}/kcare.ko`)], {}],
    ['a libcare directory in a kernel set', [file(`${KH}/kcare.ko`), { path: 'userspace/', type: '5' }], {}],
    ['a level with a leading zero', [file(`${KH}/012/kpatch.bin`)], {}],
    ['a level above 1e6', [file(`${KH}/1000001/kpatch.bin`)], {}],
    ['an uppercase khash', [file(`${'A'.repeat(40)}/kcare.ko`)], {}],
    ['an empty segment', [file(`${KH}//kcare.ko`)], {}],
    ['a ./ inside the path', [file(`${KH}/./kcare.ko`)], {}],
    ['an unknown kpatch type', [file(`${KH}/1/kpatch.lite.bin`)], {}],
    ['a file named like the root', [file('.')], {}],
    ['a short build id', [file('userspace/glibc/abc/kpatch.tgz')], {}],
  ] as [string, RawTarEntry[], ExtractOptions][])('SHAPE for %s', async (_what, entries, opts) => {
    await expectCode(extractRaw(entries, opts), 'SHAPE');
  });

  it('a file where a directory is needed is a DUPLICATE', async () => {
    await expectCode(extractRaw([file(`userspace/${'c'.repeat(40)}.tgz`), file(`userspace/${'c'.repeat(40)}.tgz/${'d'.repeat(40)}/kpatch.tgz`)]), 'DUPLICATE');
    await expectCode(extractRaw([{ path: `${KH}/`, type: '5' }, { path: `${KH}/`, type: '5' }, file(`${KH}/kcare.ko`)]), 'DUPLICATE');
  });

  it('EMPTY when there are no files', async () => {
    await expectCode(extractRaw([]), 'EMPTY');
    await expectCode(extractRaw([{ path: `${KH}/`, type: '5' }, { path: `${KH}/1/`, type: '5' }], { product: 'kernel' }), 'EMPTY');
  });

  it('LINK for a regular file carrying a link path, and for GNU long link names', async () => {
    await expectCode(extractRaw([pax({ linkpath: '/etc/shadow' }), file(`${KH}/kcare.ko`)]), 'LINK');
    await expectCode(extractRaw([{ path: '././@LongLink', type: 'K', data: Buffer.from('/etc/shadow\0') }, { path: `${KH}/kcare.ko`, type: '2', linkname: 'x' }]), 'LINK');
  });

  it.each(['4', 'S', 'V', 'D', 'M', 'Z'])('DEVICE (or other non-regular entry) for typeflag %s', async (type) => {
    await expectCode(extractRaw([{ path: `${KH}/kcare.ko`, type }]), 'DEVICE');
  });

  it('FORMAT for a tar header with a bad checksum or data after a lone zero block', async () => {
    const bytes = rawTar([file(`${KH}/kcare.ko`)]);
    bytes[10] = 0x41;
    await expectCode(extractRaw(bytes), 'FORMAT');
    const two = Buffer.concat([Buffer.alloc(512), rawTar([file(`${KH}/kcare.ko`)])]);
    await expectCode(extractRaw(two), 'FORMAT');
  });

  it.each(FORMATS)('%s: TRUNCATED when the tar stream stops early', async (compress) => {
    await expectCode(extractRaw([file(`${KH}/kcare.ko`)], { end: false, compress }), 'TRUNCATED');
    const cut = rawTar([{ path: `${KH}/kcare.ko`, data: detBytes('x', 3000) }]).subarray(0, 2048);
    await expectCode(extractRaw(cut, { compress }), 'TRUNCATED');
  });

  it.each(FORMATS)('%s: TRUNCATED when the compressed stream stops early', async (format) => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'K20240304_01', kernels: makeKernels(2, 5), level: 2, outDir: dir, format, binSize: 20_000 });
    const bytes = await readFile(built.archivePath);
    for (const keep of [bytes.length - 1, Math.floor(bytes.length / 2), 5]) {
      await writeFile(built.archivePath, bytes.subarray(0, keep));
      await expectCode(extractPatchset(built.archivePath, join(dir, `s${keep}`)), 'TRUNCATED');
    }
  });

  it('FORMAT for unknown magic, a format option that does not match, and a corrupt zstd checksum', async () => {
    const dir = await caseDir();
    await writeFile(join(dir, 'plain.tar'), rawTar([file(`${KH}/kcare.ko`)]));
    await expectCode(extractPatchset(join(dir, 'plain.tar'), join(dir, 's1')), 'FORMAT');
    await writeFile(join(dir, 'tiny'), Buffer.from([0x1f]));
    await expectCode(extractPatchset(join(dir, 'tiny'), join(dir, 's2')), 'TRUNCATED');
    const built = await buildPatchset({ name: 'K20240305_01', kernels: makeKernels(1, 6), level: 1, outDir: dir, format: 'zst' });
    await expectCode(extractPatchset(built.archivePath, join(dir, 's3'), { format: 'bz2' }), 'FORMAT');
    const bytes = await readFile(built.archivePath);
    bytes[bytes.length - 1]! ^= 0x55; // the frame's stored XXH64
    await writeFile(built.archivePath, bytes);
    const err = await expectCode(extractPatchset(built.archivePath, join(dir, 's4')), 'FORMAT');
    expect(err.message).toMatch(/checksum/);
  });

  it('FORMAT for a zstd frame declaring a window over 128 MiB, before allocating it', async () => {
    const dir = await caseDir();
    // window descriptor 0xa0: 2^(10+20) = 1 GiB
    await writeFile(join(dir, 'w.tar.zst'), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa0, 0x01, 0x00, 0x00]));
    const err = await expectCode(extractPatchset(join(dir, 'w.tar.zst'), join(dir, 'stage')), 'FORMAT');
    expect(err.message).toMatch(/window/);
  });

  it('refuses a staging directory that is not empty (a caller error, not an ArchiveError)', async () => {
    const dir = await caseDir();
    const built = await buildPatchset({ name: 'K20240306_01', kernels: makeKernels(1, 7), level: 1, outDir: dir });
    await mkdir(join(dir, 'stage'));
    await writeFile(join(dir, 'stage', 'x'), 'x');
    const err = await extractPatchset(built.archivePath, join(dir, 'stage')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ArchiveError);
  });
});

describe('sniffFormat and parseFixups', () => {
  it('sniffs the three magic numbers and nothing else', () => {
    expect(sniffFormat(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gz');
    expect(sniffFormat(Buffer.from('BZh9'))).toBe('bz2');
    expect(sniffFormat(Buffer.from('BZh'))).toBe('bz2');
    expect(sniffFormat(Buffer.from('BZh0'))).toBeNull();
    expect(sniffFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zst');
    expect(sniffFormat(Buffer.from([0x50, 0x2a, 0x4d, 0x18]))).toBe('zst'); // skippable frame (pzstd)
    expect(sniffFormat(Buffer.from([0x28, 0xb5, 0x2f]))).toBeNull();
    expect(sniffFormat(Buffer.from('ustar'))).toBeNull();
    expect(sniffFormat(Buffer.alloc(0))).toBeNull();
  });

  it('parses a fixups list', () => {
    expect(parseFixups('a.ko\r\n# comment\n\n  b.bin  \n./c\nd e\n../x\n.\nsub/f\na.ko\n')).toEqual(['a.ko', 'b.bin', 'c']);
    expect(parseFixups('')).toEqual([]);
  });
});

describe('Xxh64 (zstd content checksum)', () => {
  it('matches the reference vectors and the zstd CLI for many lengths and split points', () => {
    const hex = (s: string): string => {
      const h = new Xxh64();
      h.update(Buffer.from(s));
      return h.digestHex();
    };
    expect(hex('')).toBe('ef46db3751d8e999');
    expect(hex('a')).toBe('d24ec4f1a98c6e5b');
    expect(hex('abc')).toBe('44bc2cf5ad770999');
    for (const n of [0, 1, 4, 7, 8, 15, 31, 32, 33, 64, 100, 1000, 70_000]) {
      const data = detBytes(`xxh${n}`, n);
      const frame = execFileSync('zstd', ['-c', '-q'], { input: data });
      const h = new Xxh64();
      for (let off = 0; off < n; off += 13) h.update(data.subarray(off, off + 13));
      expect(h.digestLow32(), `length ${n}`).toBe(frame.readUInt32LE(frame.length - 4));
    }
  });
});

describe('property: damaged archives', () => {
  const built = new Map<FixtureFormat, BuiltPatchset>();
  let dir: string;

  beforeAll(async () => {
    dir = await caseDir();
    for (const format of FORMATS) {
      built.set(format, await buildPatchset({ name: 'K20240401_01', kernels: makeKernels(1, 8), level: 2, format, outDir: join(dir, format), withFixups: true, binSize: 600 }));
    }
  });

  const mutation = fc.oneof(
    fc.record({ flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }) }),
    fc.record({ truncateAt: fc.nat() }),
  );

  function mutate(bytes: Buffer, m: { flips: { at: number; xor: number }[] } | { truncateAt: number }): Buffer {
    if ('truncateAt' in m) return bytes.subarray(0, m.truncateAt % bytes.length);
    const out = Buffer.from(bytes);
    for (const f of m.flips) out[f.at % out.length]! ^= f.xor;
    return out;
  }

  it.each(FORMATS)('%s: a damaged archive unpacks identically or is refused, within bounds', async (format) => {
    const b = built.get(format)!;
    const original = await readFile(b.archivePath);
    const work = join(dir, `work-${format}`);
    await mkdir(work);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const archive = join(work, 'm.tar');
        const stage = join(work, `stage-${++run}`);
        await writeFile(archive, mutate(original, m));
        const outcome = await withTimeout(extractPatchset(archive, stage), 10_000).then(
          () => null,
          (e: unknown) => e,
        );
        if (outcome === null) expect(await readTree(stage)).toEqual(b.files);
        else if (!(outcome instanceof ArchiveError)) throw outcome;
        expect(readdirSync(work).filter((n) => !n.startsWith('stage-'))).toEqual(['m.tar']);
        expect(existsSync(maliciousSentinel(dir))).toBe(false);
        await rm(stage, { recursive: true, force: true });
      }),
      { numRuns: format === 'bz2' ? 60 : 100, seed: 20240115 },
    );
  });

  it('tar-level damage (validly compressed) is refused, or what is written matches the manifest', async () => {
    const b = built.get('gz')!;
    const tarBytes = gunzipSync(await readFile(b.archivePath));
    const work = join(dir, 'work-tar');
    await mkdir(work);
    let run = 0;
    // flips are aimed at header blocks half of the time, where the parser lives
    const flip = fc.record({ block: fc.nat(), offset: fc.nat({ max: 511 }), header: fc.boolean(), xor: fc.integer({ min: 1, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(flip, { minLength: 1, maxLength: 3 }), fc.option(fc.nat(), { nil: undefined }), async (flips, cut) => {
        const bytes = Buffer.from(tarBytes);
        for (const f of flips) {
          const at = f.header ? (f.block % (bytes.length / 512)) * 512 + (f.offset % 160) : (f.block * 512 + f.offset) % bytes.length;
          bytes[at]! ^= f.xor;
        }
        const archive = join(work, 'm.tar.gz');
        const stage = join(work, `stage-${++run}`);
        await writeFile(archive, gzipSync(cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length)));
        const outcome = await withTimeout(extractPatchset(archive, stage), 10_000).catch((e: unknown) => e);
        if (outcome instanceof ArchiveError) return;
        if (outcome instanceof Error) throw outcome;
        const m = outcome as PatchsetManifest;
        const tree = await readTree(stage);
        expect([...tree.keys()].sort()).toEqual(m.files.map((f) => f.path).sort());
        for (const f of m.files) expect(sha256(tree.get(f.path)!)).toBe(f.sha256);
        await rm(stage, { recursive: true, force: true });
      }),
      { numRuns: 150, seed: 42 },
    );
    expect(readdirSync(work).filter((n) => !n.startsWith('stage-'))).toEqual(['m.tar.gz']);
  });

  it('with the checksum known, every damaged archive is a CHECKSUM refusal', async () => {
    const b = built.get('gz')!;
    const original = await readFile(b.archivePath);
    const work = join(dir, 'work-sha');
    await mkdir(work);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const archive = join(work, 'm.tar');
        await writeFile(archive, mutate(original, m));
        const err = await refusal(withTimeout(extractPatchset(archive, join(work, `s${++run}`), { expectedSha256: b.sha256 }), 10_000));
        expect(err.code).toBe('CHECKSUM');
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`extraction did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('resources', () => {
  it.skipIf(!existsSync('/proc/self/fd'))('leaks no file descriptors across many refusals', async () => {
    const dir = await caseDir();
    const archives: string[] = [];
    for (const kind of MALICIOUS_KINDS) archives.push(await buildMaliciousArchive(kind, join(dir, 'm')));
    for (const format of FORMATS) {
      const b = await buildPatchset({ name: 'K20240501_01', kernels: makeKernels(1, 9), level: 1, format, outDir: join(dir, format), binSize: 5000 });
      const bytes = await readFile(b.archivePath);
      const cut = join(dir, format, 'cut');
      await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
      archives.push(cut, b.archivePath);
    }
    const fds = (): number => readdirSync('/proc/self/fd').length;
    // one warm-up round so lazily opened descriptors (thread pool, etc.) are not counted
    let n = 0;
    const round = async (): Promise<void> => {
      for (const a of archives) {
        await extractPatchset(a, join(dir, `s${++n}`), { expectedSha256: 'f'.repeat(64) }).catch((e: unknown) => {
          if (!(e instanceof ArchiveError)) throw e;
        });
      }
    };
    await round();
    const before = fds();
    for (let i = 0; i < 3; i++) await round();
    expect(fds()).toBe(before);
  });
});
