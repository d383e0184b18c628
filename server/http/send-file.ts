// Sends one immutable file with HEAD, ETag/If-None-Match, single Range and an
// exact Content-Length. Callers pass a path they looked up, never request text.
import { createReadStream, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

/** Parses a single `bytes=` range against `size`; null = serve whole, 'bad' = unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multi-range or other units: RFC 9110 allows ignoring Range
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'bad';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'bad';
  return { start, end };
}

function etagOf(st: Stats): string {
  return `"${st.size.toString(36)}-${Math.trunc(st.mtimeMs).toString(36)}-${st.ino.toString(36)}"`;
}

/** Streams a regular file; false when it does not exist (caller answers 404). */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, contentType: string): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(file);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  const etag = etagOf(st);
  const common = { ETag: etag, 'Last-Modified': st.mtime.toUTCString(), 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, max-age=0, must-revalidate' };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.writeHead(304, common);
    res.end();
    return true;
  }
  const range = parseRange(req.headers.range, st.size);
  if (range === 'bad') {
    res.writeHead(416, { ...common, 'Content-Range': `bytes */${st.size}`, 'Content-Length': 0 });
    res.end();
    return true;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? st.size - 1;
  const length = st.size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, {
    ...common,
    'Content-Type': contentType,
    'Content-Length': length,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return true;
  }
  await pipeline(createReadStream(file, { start, end }), res).catch(() => res.destroy());
  return true;
}
