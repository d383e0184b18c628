// index.json of the patch source (format: docs/patch-source.md). The body is
// read with a size cap, the envelope must be right, and each entry is checked
// on its own: a bad entry is reported and skipped, the good ones still sync.
// Unknown fields are ignored (zod objects strip them).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { z } from 'zod';
import { PATCHSET_NAME, productFromName } from '../patchset-name.js';
import { SourceError } from './errors.js';
import { checkStatus, readBounded, type SourceHttp } from './http.js';

/** One usable entry of the upstream index. */
export interface IndexEntry {
  name: string;
  product: 'kernel' | 'libcare';
  released: Date;
  archive: string;
  size: number;
  sha256: string;
  changelog: string | null;
  channels: string[];
  blocked: boolean;
}

/** An entry that was skipped, and why. */
export interface BadEntry {
  index: number;
  name: string | null;
  error: string;
}

/** The parsed index: good entries in deploy order, bad ones reported. */
export interface UpstreamIndex {
  entries: IndexEntry[];
  bad: BadEntry[];
}

// a plain file name: the value becomes both a URL path segment and part of a local file name
const FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;
const MAX_ARCHIVE_BYTES = 64 * 1024 ** 3;
const MAX_ENTRIES = 200_000;

const entrySchema = z.object({
  name: z.string().regex(PATCHSET_NAME, 'not a patchset name'),
  product: z.enum(['kernel', 'libcare']).optional(),
  released: z.string().max(40).refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), 'not an ISO-8601 date'),
  archive: z.string().regex(FILE, 'not a plain file name').refine((v) => /\.tar\.(gz|bz2|zst)$|\.tgz$/.test(v) && !v.includes('..'), 'expected .tar.gz, .tar.bz2 or .tar.zst'),
  size: z.number().int().positive().max(MAX_ARCHIVE_BYTES),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'not a sha256 hex digest'),
  changelog: z.string().regex(FILE, 'not a plain file name').refine((v) => !v.includes('..'), 'not a plain file name').nullable().optional(),
  channels: z.array(z.string().regex(/^[a-z0-9_-]{1,32}$/, 'bad channel name')).max(16).optional(),
  blocked: z.boolean().optional(),
});

const envelope = z.object({ patchsets: z.array(z.unknown()).max(MAX_ENTRIES, `more than ${MAX_ENTRIES} patchsets`) });

/** Validates a decoded index.json value; throws SOURCE_INDEX_INVALID only when the envelope is wrong. */
export async function parseIndex(value: unknown): Promise<UpstreamIndex> {
  const env = envelope.safeParse(value);
  if (!env.success) throw new SourceError('SOURCE_INDEX_INVALID', `index.json: ${issue(env.error)}`);
  const entries: IndexEntry[] = [];
  const bad: BadEntry[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of env.data.patchsets.entries()) {
    // validation is cheap per entry, but a huge index must not hold the event loop
    if (i % 2000 === 1999) await yieldToLoop();
    const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? String((raw as { name: string }).name).slice(0, 80) : null;
    const r = entrySchema.safeParse(raw);
    if (!r.success) {
      bad.push({ index: i, name, error: issue(r.error) });
      continue;
    }
    const e = r.data;
    if (seen.has(e.name) || seen.has(`archive:${e.archive}`)) {
      bad.push({ index: i, name, error: seen.has(e.name) ? 'duplicate name (the first entry wins)' : 'archive shared with an earlier entry' });
      continue;
    }
    seen.add(e.name).add(`archive:${e.archive}`);
    entries.push({
      name: e.name,
      product: e.product ?? productFromName(e.name),
      released: new Date(e.released),
      archive: e.archive,
      size: e.size,
      sha256: e.sha256.toLowerCase(),
      changelog: e.changelog ?? null,
      channels: e.channels?.length ? [...new Set(e.channels)] : ['default'],
      blocked: e.blocked ?? false,
    });
  }
  entries.sort((a, b) => a.released.getTime() - b.released.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, bad };
}

/** Fetches and parses `<source>/index.json` (at most `maxBytes`). */
export async function fetchIndex(http: SourceHttp, sourceUrl: string, maxBytes: number, signal?: AbortSignal): Promise<UpstreamIndex> {
  const res = await http.get(sourceFile(sourceUrl, 'index.json'), { signal, headers: { accept: 'application/json' } });
  await checkStatus(res, 'index.json');
  const body = await readBounded(res, maxBytes, () => new SourceError('SOURCE_INDEX_TOO_BIG', `index.json: larger than ${maxBytes} bytes`));
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new SourceError('SOURCE_INDEX_INVALID', `index.json: not valid UTF-8 JSON (${(err as Error).message.slice(0, 120)})`);
  }
  return parseIndex(value);
}

/** URL of a file next to index.json. */
export function sourceFile(sourceUrl: string, file: string): string {
  return new URL(encodeURIComponent(file), sourceUrl.endsWith('/') ? sourceUrl : `${sourceUrl}/`).href;
}

function issue(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || 'value'}: ${i.message}`.slice(0, 200) : 'invalid';
}
