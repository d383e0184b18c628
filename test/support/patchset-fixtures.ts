/**
 * Realistic patchset archives, written as real files, for tests and benchmarks;
 * plus hand-crafted hostile archives that node-tar would refuse to create.
 * Everything is deterministic: the same options give the same bytes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

/** A kernel as an agent sees it: khash is the sha1 of the raw /proc/version bytes. */
export interface FixtureKernel {
  khash: string;
  procVersion: string;
  release: string;
}

/** Options of buildPatchset. */
export interface BuildPatchsetOptions {
  name: string;
  kernels: FixtureKernel[];
  level: number | ((k: FixtureKernel) => number);
  format?: FixtureFormat;
  types?: PatchType[];
  withFixups?: boolean;
  cves?: string[];
  binSize?: number;
  outDir: string;
  product?: 'kernel' | 'libcare';
  libcareBuildIds?: string[];
}

/** A built archive and the exact content it carries. */
export interface BuiltPatchset {
  name: string;
  archivePath: string;
  sha256: string;
  size: number;
  changelogPath: string;
  /** Relative path in the archive -> exact bytes. */
  files: Map<string, Buffer>;
  /** khash -> level carried (kernel patchsets only). */
  levels: Map<string, number>;
}

/** Hostile archive kinds buildMaliciousArchive can write. */
export type MaliciousKind =
  | 'traversal'
  | 'absolute'
  | 'symlink-out'
  | 'hardlink'
  | 'device'
  | 'fifo'
  | 'duplicate'
  | 'bad-shape'
  | 'truncated'
  | 'oversize';

/** Every MaliciousKind, for table-driven tests. */
export const MALICIOUS_KINDS: readonly MaliciousKind[] = [
  'traversal',
  'absolute',
  'symlink-out',
  'hardlink',
  'device',
  'fifo',
  'duplicate',
  'bad-shape',
  'truncated',
  'oversize',
];

/** Compression of a fixture archive. */
export type FixtureFormat = 'gz' | 'bz2' | 'zst';
/** Patch types; the file infix is empty for default, `.<type>` otherwise. */
export type PatchType = 'default' | 'extra' | 'free' | 'edf';

/** One entry of a hand-written tar stream. */
export interface RawTarEntry {
  path: string;
  /** ustar typeflag: '0' file, '1' hardlink, '2' symlink, '3'/'4' device, '5' dir, '6' fifo, 'x' pax, 'L' GNU long name. */
  type?: string;
  data?: Buffer;
  linkname?: string;
  /** Declared size when it must differ from data.length (hostile headers). */
  size?: number;
  mode?: number;
  devmajor?: number;
  devminor?: number;
}

const FIXED_MTIME = new Date('2024-01-15T00:00:00Z');
const DEFAULT_CVES = ['CVE-2024-1086', 'CVE-2023-6817', 'CVE-2024-0646'];
const LIBS = ['glibc', 'openssl', 'zlib', 'libxml2'];
const BLOCK = 512;

// ---------------------------------------------------------------- kernels

/** Deterministic, distinct kernels with realistic /proc/version texts. */
export function makeKernels(n: number, seed = 1): FixtureKernel[] {
  const rng = mulberry32(seed);
  const byHash = new Map<string, FixtureKernel>();
  for (let attempts = 0; byHash.size < n; attempts++) {
    if (attempts > n * 50 + 100) throw new Error(`could not make ${n} distinct kernels`);
    const { release, procVersion } = DISTROS[Math.floor(rng() * DISTROS.length)]!(rng);
    const khash = sha1(procVersion);
    if (!byHash.has(khash)) byHash.set(khash, { khash, procVersion, release });
  }
  return [...byHash.values()];
}

type Rng = () => number;
type Distro = (rng: Rng) => { release: string; procVersion: string };

const DISTROS: Distro[] = [
  (r) => {
    const release = `3.10.0-${pick(r, [957, 1062, 1127, 1160])}.${int(r, 1, 119)}.${int(r, 1, 3)}.el7.x86_64`;
    return version(release, `(mockbuild@x86-${pad(int(r, 1, 40), 2)}.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP ${procDate(r)}`);
  },
  (r) => {
    const release = `4.18.0-${pick(r, [305, 348, 372, 425, 477, 513, 553])}.${int(r, 1, 45)}.${int(r, 1, 3)}.el8_${int(r, 4, 10)}.x86_64`;
    return version(release, `(mockbuild@x86-vm-${pad(int(r, 1, 60), 2)}.build.eng.bos.redhat.com) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-20) (GCC)) #1 SMP ${procDate(r)}`);
  },
  (r) => {
    const release = `5.14.0-${pick(r, [70, 162, 284, 362, 427, 503])}.${int(r, 1, 45)}.${int(r, 1, 3)}.el9_${int(r, 0, 5)}.x86_64`;
    return version(release, `(mockbuild@x86-64-${pad(int(r, 1, 20), 2)}.build.eng.rdu2.redhat.com) (gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3), GNU ld version 2.35.2-43.el9) #1 SMP PREEMPT_DYNAMIC ${procDate(r)}`);
  },
  (r) => {
    const release = `5.15.0-${int(r, 25, 130)}-generic`;
    return version(release, `(buildd@lcy02-amd64-${pad(int(r, 1, 120), 3)}) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #${int(r, 25, 140)}-Ubuntu SMP ${procDate(r)}`);
  },
  (r) => {
    const release = `6.1.0-${int(r, 9, 28)}-amd64`;
    const date = new Date(Date.UTC(2023, 0, 1) + Math.floor(r() * 700) * 86_400_000).toISOString().slice(0, 10);
    return version(release, `(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.${int(r, 50, 130)}-1 (${date})`);
  },
];

function version(release: string, rest: string): { release: string; procVersion: string } {
  // The agent hashes the raw file, trailing newline included.
  return { release, procVersion: `Linux version ${release} ${rest}\n` };
}

function procDate(r: Rng): string {
  const d = new Date(Date.UTC(2019, 0, 1) + Math.floor(r() * 6 * 365 * 86_400) * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = d.toISOString().slice(11, 19);
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${day} ${time} UTC ${d.getUTCFullYear()}`;
}

// ---------------------------------------------------------------- patchsets

/** Writes a patchset archive (and its changelog) into opts.outDir. */
export async function buildPatchset(opts: BuildPatchsetOptions): Promise<BuiltPatchset> {
  const format = opts.format ?? 'gz';
  const levels = new Map<string, number>();
  const files = opts.product === 'libcare' ? libcareFiles(opts) : kernelFiles(opts, levels);
  await mkdir(opts.outDir, { recursive: true });
  const tarBytes = await tarFromFiles(files, opts.outDir);
  const archive = await compressBuffer(tarBytes, format);
  const archivePath = join(opts.outDir, `${opts.name}.tar.${format}`);
  const changelogPath = join(opts.outDir, `${opts.name}.changelog`);
  await writeFile(archivePath, archive);
  await writeFile(changelogPath, changelog(opts, levels), 'utf8');
  return { name: opts.name, archivePath, sha256: sha256(archive), size: archive.length, changelogPath, files, levels };
}

function kernelFiles(opts: BuildPatchsetOptions, levels: Map<string, number>): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const binSize = opts.binSize ?? 4096;
  for (const k of opts.kernels) {
    const level = typeof opts.level === 'function' ? opts.level(k) : opts.level;
    levels.set(k.khash, level);
    addSigned(files, `${k.khash}/kcare.ko`, elfLike(`${k.khash}/kcare.ko`, binSize));
    for (const type of opts.types ?? ['default']) addLevelFiles(files, opts, k, level, type, binSize);
  }
  return files;
}

function addLevelFiles(
  files: Map<string, Buffer>,
  opts: BuildPatchsetOptions,
  k: FixtureKernel,
  level: number,
  type: PatchType,
  binSize: number,
): void {
  const dir = `${k.khash}/${level}`;
  const infix = type === 'default' ? '' : `.${type}`;
  const seed = `${opts.name}/${dir}/${type}`;
  addSigned(files, `${dir}/kpatch${infix}.bin`, elfLike(`${seed}/bin`, binSize));
  addSigned(files, `${dir}/kpatch${infix}.info`, Buffer.from(kpatchInfo(k, level, opts.cves ?? DEFAULT_CVES, seed)));
  if (!opts.withFixups) return;
  const extras = [1, 2].map((i) => `fixup-${type}-${i}.bin`);
  addSigned(files, `${dir}/kpatch${infix}.fixups`, Buffer.from(extras.map((e) => `${e}\n`).join('')));
  for (const extra of extras) addSigned(files, `${dir}/${extra}`, elfLike(`${seed}/${extra}`, Math.max(64, binSize >> 2)));
}

function libcareFiles(opts: BuildPatchsetOptions): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const ids = opts.libcareBuildIds ?? [0, 1, 2, 3].map((i) => sha1(`${opts.name}/build-id/${i}`));
  ids.forEach((id, i) => {
    const path = i % 4 === 3 ? `userspace/${id}.tgz` : `userspace/${LIBS[i % LIBS.length]}/${id}/kpatch.tgz`;
    const inner = rawTar([
      { path: 'kpatch.bin', data: elfLike(`${opts.name}/${id}/bin`, opts.binSize ?? 4096) },
      { path: 'kpatch.info', data: Buffer.from(`build-id: ${id}\n`) },
    ]);
    files.set(path, gzipSync(inner));
  });
  return files;
}

function kpatchInfo(k: FixtureKernel, level: number, cves: string[], seed: string): string {
  const blocks = cves.map((cve, i) =>
    [
      `kpatch-name: ${k.release.replace(/\.x86_64$/, '')}/${cve}-${i + 1}.patch`,
      `kpatch-description: ${pickByHash(`${seed}/${cve}`, DESCRIPTIONS)}`,
      `kpatch-kernel: kernel-${k.release}`,
      `kpatch-cve: ${cve}`,
      `kpatch-cvss: ${(4 + (parseInt(sha1(cve).slice(0, 4), 16) % 60) / 10).toFixed(1)}`,
      `kpatch-cve-url: https://access.redhat.com/security/cve/${cve}`,
      `kpatch-patch-url: https://git.kernel.org/stable/c/${sha1(`${seed}/${cve}/commit`)}`,
    ].join('\n'),
  );
  return `${blocks.join('\n\n')}\n\nuname: ${k.release}-patched-${level}\n`;
}

const DESCRIPTIONS = [
  'netfilter: nf_tables: reject QUEUE/DROP verdict parameters',
  'net/sched: sch_hfsc: ensure inner classes have fsc curve',
  'perf: Fix the nr_addr_filters fix',
  'ipv6: fix potential NULL deref in fib6_add()',
  'tls: fix race between async notify and socket close',
];

function changelog(opts: BuildPatchsetOptions, levels: Map<string, number>): string {
  const lines = [`${opts.name} — ${opts.product === 'libcare' ? 'LibCare' : 'kernel'} patchset`, ''];
  for (const cve of opts.cves ?? DEFAULT_CVES) lines.push(`* ${cve}: ${pickByHash(cve, DESCRIPTIONS)}`);
  lines.push('', 'Kernels (kernel → level):');
  for (const k of opts.kernels) if (levels.has(k.khash)) lines.push(`  ${k.release} → ${levels.get(k.khash)}`);
  return `${lines.join('\n')}\n`;
}

// Writes the files under a scratch directory and lets node-tar, a standard
// producer, make the archive (with directory entries, as tar(1) would).
async function tarFromFiles(files: Map<string, Buffer>, outDir: string): Promise<Buffer> {
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const dirs = new Set<string>();
    for (const [path, data] of files) {
      await mkdir(join(work, dirname(path)), { recursive: true });
      await writeFile(join(work, path), data);
      for (let d = dirname(path); d !== '.'; d = dirname(d)) dirs.add(d);
    }
    const entries = [...dirs, ...files.keys()].sort();
    const chunks: Buffer[] = [];
    const pack = tar.c({ cwd: work, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, entries);
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Compresses bytes like the vendor would: gzip in-process, bzip2/zstd with their CLIs. */
export async function compressBuffer(data: Buffer, format: FixtureFormat): Promise<Buffer> {
  if (format === 'gz') return gzipSync(data);
  return format === 'bz2' ? runFilter('bzip2', ['-c', '-9'], data) : runFilter('zstd', ['-c', '-q', '-3'], data);
}

function runFilter(command: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out));
      else reject(new Error(`${command} exited with ${code}: ${Buffer.concat(err).toString()}`));
    });
    child.stdin.end(input);
  });
}

// ---------------------------------------------------------------- hostile archives

/** Where a successful escape from a staging dir that is a direct child of outDir would land. */
export function maliciousSentinel(outDir: string): string {
  return join(resolve(outDir), 'pwned');
}

/** Writes a hostile .tar.gz into outDir; see maliciousSentinel for the escape target. */
export async function buildMaliciousArchive(kind: MaliciousKind, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const archivePath = join(outDir, `malicious-${kind}.tar.gz`);
  await writeFile(archivePath, maliciousBytes(kind, outDir));
  return archivePath;
}

const EVIL_KHASH = sha1('Linux version 5.14.0-999.evil.el9.x86_64 (mallory@example) #1 SMP\n');

function maliciousBytes(kind: MaliciousKind, outDir: string): Buffer {
  const kh = EVIL_KHASH;
  const ko = { path: `${kh}/kcare.ko`, data: elfLike('evil', 300) };
  const good: RawTarEntry[] = [{ path: `${kh}/`, type: '5' }, ko, { path: `${kh}/kcare.ko.sig`, data: signature(ko.data, 'evil') }];
  const payload = Buffer.from('owned\n');
  switch (kind) {
    case 'traversal':
      return gzipSync(rawTar([...good, { path: `${kh}/../../pwned`, data: payload }]));
    case 'absolute':
      return gzipSync(rawTar([...good, { path: maliciousSentinel(outDir), data: payload }]));
    case 'symlink-out':
      // The classic two-step: plant a link, then write "into" it.
      return gzipSync(rawTar([{ path: `${kh}/`, type: '5' }, { path: ko.path, type: '2', linkname: '../../pwned' }, { path: ko.path, data: payload }]));
    case 'hardlink':
      return gzipSync(rawTar([...good, { path: `${kh}/1/kpatch.bin`, type: '1', linkname: '../../pwned' }]));
    case 'device':
      return gzipSync(rawTar([{ path: ko.path, type: '3', devmajor: 1, devminor: 3 }]));
    case 'fifo':
      return gzipSync(rawTar([{ path: ko.path, type: '6' }]));
    case 'duplicate':
      return gzipSync(rawTar([...good, { path: ko.path, data: payload }]));
    case 'bad-shape':
      return gzipSync(rawTar([...good, { path: `${kh}/README.txt`, data: payload }]));
    case 'truncated': {
      const whole = gzipSync(rawTar([...good, { path: `${kh}/1/kpatch.bin`, data: detBytes('big', 64 * 1024) }]));
      return whole.subarray(0, Math.floor(whole.length / 2));
    }
    case 'oversize':
      // 9 GiB declared (base-256 size field), far over the 8 GiB default cap.
      return gzipSync(rawTar([{ path: ko.path, size: 9 * 1024 ** 3, data: payload }], { end: false }));
  }
}

/** A tar stream written header by header, so any field can be made hostile. */
export function rawTar(entries: RawTarEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(rawHeader(e, e.size ?? data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** One ustar header block with a correct checksum. */
export function rawHeader(e: RawTarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, name] = splitUstarPath(e.path);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, 100, 8, e.mode ?? (e.type === '5' ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, size);
  writeOctal(h, 136, 12, Math.floor(FIXED_MTIME.getTime() / 1000));
  h.write(e.type ?? '0', 156, 1, 'latin1');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write('root', 265, 32, 'latin1');
  h.write('root', 297, 32, 'latin1');
  writeOctal(h, 329, 8, e.devmajor ?? 0);
  writeOctal(h, 337, 8, e.devminor ?? 0);
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function splitUstarPath(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`path too long for a plain ustar header: ${path}`);
}

function writeOctal(h: Buffer, off: number, len: number, value: number): void {
  h.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

// Sizes from 8 GiB up do not fit 11 octal digits: GNU base-256 encoding.
function writeSize(h: Buffer, size: number): void {
  if (size < 8 ** 11) return writeOctal(h, 124, 12, size);
  h[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--, v >>= 8n) h[i] = Number(v & 0xffn);
}

// ---------------------------------------------------------------- bytes

function addSigned(files: Map<string, Buffer>, path: string, data: Buffer): void {
  files.set(path, data);
  files.set(`${path}.sig`, signature(data, path));
}

/** An ASCII-armoured, GnuPG-looking detached signature; deterministic, not real. */
export function signature(data: Buffer, label: string): Buffer {
  const body = detBytes(`sig/${label}/${sha256(data)}`, 310).toString('base64');
  const lines = body.match(/.{1,64}/g) ?? [];
  const crc = detBytes(`crc/${label}`, 3).toString('base64');
  return Buffer.from(['-----BEGIN PGP SIGNATURE-----', '', ...lines, `=${crc}`, '-----END PGP SIGNATURE-----', ''].join('\n'));
}

// Looks like a kernel module: ELF magic, runs of zeros, random-ish code.
function elfLike(label: string, size: number): Buffer {
  const buf = detBytes(label, size);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(buf, 0);
  for (let off = 256; off < size; off += 768) buf.fill(0, off, Math.min(size, off + 256));
  return buf;
}

/** Deterministic pseudo-random bytes (sha256 in counter mode). */
export function detBytes(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; off += 32, i++) {
    createHash('sha256').update(`${label}#${i}`).digest().copy(out, off);
  }
  return out;
}

function pickByHash<T>(label: string, items: T[]): T {
  return items[parseInt(sha1(label).slice(0, 8), 16) % items.length]!;
}

function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function pick<T>(r: Rng, items: T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
