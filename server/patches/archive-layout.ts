import { ArchiveError } from './archive-error.js';

/** Which product a patchset is for. */
export type PatchProduct = 'kernel' | 'libcare';

/** The documented place a file entry occupies in a patchset. */
export type FileShape =
  | { product: 'kernel'; kind: 'kcare'; khash: string }
  | { product: 'kernel'; kind: 'kpatch'; khash: string; level: number; fixups: boolean }
  | { product: 'kernel'; kind: 'extra'; khash: string; level: number; name: string }
  | { product: 'libcare'; kind: 'libcare'; lib?: string; buildId: string };

const KHASH = /^[0-9a-f]{40}$/;
const LEVEL = /^[1-9][0-9]{0,6}$/;
const MAX_LEVEL = 1_000_000;
const KCARE_FILE = /^kcare\.ko(\.sig)?$/;
const KPATCH_FILE = /^kpatch(\.extra|\.free|\.edf)?\.(bin|info|fixups)(\.sig)?$/;
const FIXUPS_LIST = /\.fixups$/; // the list itself; its .sig vouches for nothing
const EXTRA_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const LIB = /^[A-Za-z0-9._+-]{1,64}$/;
const BUILD_ID = /^[0-9a-f]{8,128}$/;
const BUILD_ID_TGZ = /^([0-9a-f]{8,128})\.tgz$/;
const USERSPACE = 'userspace';

/**
 * Turns a stored entry path into a clean relative path ('' for the archive
 * root), refusing absolute paths, `..` and anything a shell would normalise
 * differently (empty or `.` segments inside the path).
 */
export function normalizeEntryPath(raw: string, isDirectory: boolean): string {
  if (raw.startsWith('/')) throw new ArchiveError('ABSOLUTE', `absolute path ${JSON.stringify(raw)}`, { entry: raw });
  let path = raw;
  while (path.startsWith('./')) path = path.slice(2);
  if (isDirectory) path = path.replace(/\/+$/, '');
  if (path === '.' || path === '') return '';
  const segments = path.split('/');
  if (segments.includes('..')) throw new ArchiveError('TRAVERSAL', `path ${JSON.stringify(raw)} has a .. segment`, { entry: raw });
  if (segments.some((s) => s === '' || s === '.')) throw shapeError(raw);
  return path;
}

/** Classifies a file path, or throws SHAPE when it is not a documented one. */
export function classifyFile(path: string): FileShape {
  const s = path.split('/');
  const shape = s[0] === USERSPACE ? classifyLibcare(s) : classifyKernel(s);
  if (!shape) throw shapeError(path);
  return shape;
}

/** Product a directory path belongs to; null for the root; throws SHAPE otherwise. */
export function classifyDirectory(path: string): PatchProduct | null {
  if (path === '') return null;
  const s = path.split('/');
  if (s[0] === USERSPACE) {
    if (s.length === 1 || (s.length === 2 && isLib(s[1]!))) return 'libcare';
    if (s.length === 3 && isLib(s[1]!) && BUILD_ID.test(s[2]!)) return 'libcare';
  } else if (KHASH.test(s[0]!) && (s.length === 1 || (s.length === 2 && parseLevel(s[1]!) !== null))) {
    return 'kernel';
  }
  throw shapeError(path);
}

/** Whether `name` (an extra file, or its `.sig`) is covered by a fixups list. */
export function isListedFixup(name: string, listed: ReadonlySet<string>): boolean {
  return listed.has(name) || (name.endsWith('.sig') && listed.has(name.slice(0, -4)));
}

/**
 * Reads a `.fixups` list: one file name per line, surrounding blanks trimmed,
 * blank lines and `#` comments skipped (as server/patches/fixups.ts serves
 * them); a leading `./` is dropped and names that could not be a file of the
 * level directory are ignored, so they can never vouch for an entry.
 */
export function parseFixups(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const name = line.trim().replace(/^(\.\/)+/, '');
    if (name === '' || name.startsWith('#') || !isExtraName(name)) continue;
    names.add(name);
  }
  return [...names];
}

function classifyKernel(s: string[]): FileShape | null {
  const khash = s[0]!;
  if (!KHASH.test(khash)) return null;
  if (s.length === 2) return KCARE_FILE.test(s[1]!) ? { product: 'kernel', kind: 'kcare', khash } : null;
  const level = s.length === 3 ? parseLevel(s[1]!) : null;
  if (level === null) return null;
  const name = s[2]!;
  if (KPATCH_FILE.test(name)) return { product: 'kernel', kind: 'kpatch', khash, level, fixups: FIXUPS_LIST.test(name) };
  const stem = name.endsWith('.sig') ? name.slice(0, -4) : name;
  if (isExtraName(name) || isExtraName(stem)) return { product: 'kernel', kind: 'extra', khash, level, name };
  return null;
}

function classifyLibcare(s: string[]): FileShape | null {
  if (s.length === 2) {
    const m = BUILD_ID_TGZ.exec(s[1]!);
    return m ? { product: 'libcare', kind: 'libcare', buildId: m[1]! } : null;
  }
  if (s.length === 4 && isLib(s[1]!) && BUILD_ID.test(s[2]!) && s[3] === 'kpatch.tgz') {
    return { product: 'libcare', kind: 'libcare', lib: s[1]!, buildId: s[2]! };
  }
  return null;
}

function parseLevel(segment: string): number | null {
  if (!LEVEL.test(segment)) return null;
  const level = Number(segment);
  return level <= MAX_LEVEL ? level : null;
}

function isExtraName(name: string): boolean {
  return EXTRA_NAME.test(name) && name !== '.' && name !== '..';
}

function isLib(name: string): boolean {
  return LIB.test(name) && name !== '.' && name !== '..';
}

function shapeError(path: string): ArchiveError {
  return new ArchiveError('SHAPE', `${JSON.stringify(path)} is not a documented patchset path`, { entry: path });
}
