// The patchset fixture generator: deterministic kernels, and archives that
// independent tools (node-tar, bzip2, zstd) read back as exactly the files
// and levels the generator declares.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMaliciousArchive,
  buildPatchset,
  makeKernels,
  MALICIOUS_KINDS,
  rawTar,
  type BuiltPatchset,
  type FixtureFormat,
} from '../support/patchset-fixtures.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(os.tmpdir(), 'fixtures-test-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Decompresses with the real CLIs / zlib, independent of the code under test. */
function untar(archive: Buffer, format: FixtureFormat): Buffer {
  if (format === 'gz') return gunzipSync(archive);
  return execFileSync(format === 'bz2' ? 'bzip2' : 'zstd', ['-d', '-c'], { input: archive, maxBuffer: 1 << 30 });
}

/** Lists a tar with node-tar's parser: files with their bytes, and directories. */
async function listTar(tarBytes: Buffer): Promise<{ files: Map<string, Buffer>; dirs: string[] }> {
  const files = new Map<string, Buffer>();
  const dirs: string[] = [];
  const pending: Promise<void>[] = [];
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (entry.type === 'Directory') {
        dirs.push(entry.path);
        entry.resume();
        return;
      }
      pending.push(entry.concat().then((data) => void files.set(entry.path, data)));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(tarBytes);
  });
  await Promise.all(pending);
  return { files, dirs };
}

describe('makeKernels', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(makeKernels(20, 5)).toEqual(makeKernels(20, 5));
    expect(makeKernels(20, 5)).not.toEqual(makeKernels(20, 6));
    expect(makeKernels(5)).toEqual(makeKernels(5, 1));
    expect(makeKernels(10, 5).slice(0, 5)).toEqual(makeKernels(5, 5));
  });

  it('gives distinct kernels whose khash is the sha1 of a realistic /proc/version', () => {
    const kernels = makeKernels(500, 3);
    expect(new Set(kernels.map((k) => k.khash)).size).toBe(500);
    for (const k of kernels) {
      expect(k.khash).toBe(sha1(k.procVersion));
      expect(k.khash).toMatch(/^[0-9a-f]{40}$/);
      expect(k.procVersion.startsWith(`Linux version ${k.release} (`)).toBe(true);
      expect(k.procVersion).toMatch(/ #\d+(-Ubuntu)? SMP .*(UTC \d{4}|\(\d{4}-\d\d-\d\d\))\n$/);
    }
    const families = new Set(kernels.map((k) => /el7|el8|el9|generic|amd64/.exec(k.release)?.[0]));
    expect(families).toEqual(new Set(['el7', 'el8', 'el9', 'generic', 'amd64']));
  });
});

describe('buildPatchset', () => {
  const kernels = makeKernels(4, 21);
  const levels = new Map(kernels.map((k, i) => [k.khash, 10 + i]));
  const built = new Map<FixtureFormat, BuiltPatchset>();

  beforeAll(async () => {
    for (const format of ['gz', 'bz2', 'zst'] as const) {
      built.set(
        format,
        await buildPatchset({
          name: 'K20240115_01',
          kernels,
          level: (k) => levels.get(k.khash)!,
          format,
          types: ['default', 'extra', 'free', 'edf'],
          withFixups: true,
          cves: ['CVE-2024-1086', 'CVE-2024-26581'],
          binSize: 2000,
          outDir: join(root, format),
        }),
      );
    }
  });

  it.each(['gz', 'bz2', 'zst'] as const)('%s: the archive holds exactly the declared files, with directories', async (format) => {
    const b = built.get(format)!;
    const archive = await readFile(b.archivePath);
    expect(b.archivePath.endsWith(`K20240115_01.tar.${format}`)).toBe(true);
    expect(archive.length).toBe(b.size);
    expect(sha256(archive)).toBe(b.sha256);
    const { files, dirs } = await listTar(untar(archive, format));
    expect(files).toEqual(b.files);
    expect(dirs.map((d) => d.replace(/\/$/, '')).sort()).toEqual(
      kernels.flatMap((k) => [k.khash, `${k.khash}/${levels.get(k.khash)}`]).sort(),
    );
    expect(b.levels).toEqual(levels);
  });

  it('carries kcare.ko, every patch type, fixups extras and a signature for every file', () => {
    const b = built.get('gz')!;
    for (const k of kernels) {
      const dir = `${k.khash}/${levels.get(k.khash)}`;
      expect(b.files.get(`${k.khash}/kcare.ko`)!.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      for (const infix of ['', '.extra', '.free', '.edf']) {
        for (const ext of ['bin', 'info', 'fixups']) expect(b.files.has(`${dir}/kpatch${infix}.${ext}`), `${infix}.${ext}`).toBe(true);
      }
      const extras = b.files.get(`${dir}/kpatch.extra.fixups`)!.toString().trim().split('\n');
      expect(extras).toHaveLength(2);
      for (const extra of extras) expect(b.files.has(`${dir}/${extra}`)).toBe(true);
    }
    const unsigned = [...b.files.keys()].filter((p) => !p.endsWith('.sig') && !b.files.has(`${p}.sig`));
    expect(unsigned).toEqual([]);
    for (const [path, data] of b.files) {
      if (!path.endsWith('.sig')) continue;
      expect(data.toString()).toMatch(/^-----BEGIN PGP SIGNATURE-----\n\n([A-Za-z0-9+/=]{1,64}\n)+=[A-Za-z0-9+/]{4}\n-----END PGP SIGNATURE-----\n$/);
    }
  });

  it('writes realistic kpatch.info texts', () => {
    const b = built.get('gz')!;
    const k = kernels[1]!;
    const info = b.files.get(`${k.khash}/${levels.get(k.khash)}/kpatch.info`)!.toString();
    expect(info.match(/^kpatch-cve: .*$/gm)).toEqual(['kpatch-cve: CVE-2024-1086', 'kpatch-cve: CVE-2024-26581']);
    for (const key of ['kpatch-name', 'kpatch-description', 'kpatch-kernel', 'kpatch-cvss', 'kpatch-cve-url', 'kpatch-patch-url']) {
      expect(info.match(new RegExp(`^${key}: \\S.*$`, 'gm')), key).toHaveLength(2);
    }
    expect(info).toMatch(new RegExp(`^uname: ${k.release.replace(/\./g, '\\.')}-patched-${levels.get(k.khash)}$`, 'm'));
  });

  it('writes a UTF-8 changelog next to the archive', async () => {
    const text = await readFile(built.get('gz')!.changelogPath, 'utf8');
    expect(text).toContain('K20240115_01 — kernel patchset');
    expect(text).toContain('CVE-2024-26581');
    expect(text).toContain(`${kernels[0]!.release} → ${levels.get(kernels[0]!.khash)}`);
  });

  it.each(['gz', 'bz2', 'zst'] as const)('%s: the same options give the same bytes', async (format) => {
    const again = await buildPatchset({ name: 'K20240115_01', kernels, level: (k) => levels.get(k.khash)!, format, types: ['default', 'extra', 'free', 'edf'], withFixups: true, cves: ['CVE-2024-1086', 'CVE-2024-26581'], binSize: 2000, outDir: join(root, `again-${format}`) });
    expect(again.sha256).toBe(built.get(format)!.sha256);
  });

  it('a fixed level and the default type give kcare.ko plus kpatch.bin/.info per kernel', async () => {
    const b = await buildPatchset({ name: 'K20240116_01', kernels: kernels.slice(0, 2), level: 7, outDir: join(root, 'plain') });
    expect([...b.levels.values()]).toEqual([7, 7]);
    const names = [...b.files.keys()].map((p) => p.replace(/^[0-9a-f]{40}\//, '')).sort();
    expect(names).toEqual(['7/kpatch.bin', '7/kpatch.bin.sig', '7/kpatch.info', '7/kpatch.info.sig', 'kcare.ko', 'kcare.ko.sig'].flatMap((n) => [n, n]).sort());
  });

  it('libcare sets use both documented layouts with real .tgz bundles', async () => {
    const ids = ['1234abcd'.repeat(5), 'abcdef01'.repeat(5), '00ff00ff'.repeat(5), 'deadbeef'.repeat(5)];
    const b = await buildPatchset({ name: 'U20240115_01', kernels: [], level: 1, product: 'libcare', libcareBuildIds: ids, outDir: join(root, 'libcare') });
    expect([...b.files.keys()]).toEqual([
      `userspace/glibc/${ids[0]}/kpatch.tgz`,
      `userspace/openssl/${ids[1]}/kpatch.tgz`,
      `userspace/zlib/${ids[2]}/kpatch.tgz`,
      `userspace/${ids[3]}.tgz`,
    ]);
    expect(b.levels.size).toBe(0);
    const inner = await listTar(gunzipSync(b.files.get(`userspace/${ids[3]}.tgz`)!));
    expect([...inner.files.keys()]).toEqual(['kpatch.bin', 'kpatch.info']);
    const { files } = await listTar(untar(await readFile(b.archivePath), 'gz'));
    expect(files).toEqual(b.files);
  });
});

describe('buildMaliciousArchive', () => {
  it.each(MALICIOUS_KINDS)('%s: writes a gzip archive of hand-made ustar headers', async (kind) => {
    const path = await buildMaliciousArchive(kind, join(root, 'evil'));
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    if (kind === 'truncated') {
      expect(() => gunzipSync(bytes)).toThrow();
      return;
    }
    const first = new tar.Header(gunzipSync(bytes).subarray(0, 512));
    expect(first.cksumValid).toBe(true);
    if (kind === 'device') expect(first.type).toBe('CharacterDevice');
    if (kind === 'fifo') expect(first.type).toBe('FIFO');
    if (kind === 'oversize') expect(first.size).toBe(9 * 1024 ** 3);
  });

  it('rawTar output is a valid tar for node-tar', async () => {
    const { files, dirs } = await listTar(rawTar([{ path: 'd/', type: '5' }, { path: 'd/f', data: Buffer.from('hello') }, { path: `${'p'.repeat(120)}/${'n'.repeat(90)}`, data: Buffer.from('long') }]));
    expect(dirs).toEqual(['d/']);
    expect(files).toEqual(new Map([['d/f', Buffer.from('hello')], [`${'p'.repeat(120)}/${'n'.repeat(90)}`, Buffer.from('long')]]));
  });
});
