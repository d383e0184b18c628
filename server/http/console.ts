// Serves the web console (the SvelteKit build in web/build) under /admin.
// At start-up the build folder is read once into a manifest (path → bytes,
// type, ETag, precompressed variants); a request is answered by looking its
// path up in that manifest, so request text never reaches the file system.
// Hashed files under _app/immutable/ are cached for a year; everything else
// (index.html above all) is revalidated on every use. A path that is not a
// file and does not look like one is a client route: it gets index.html.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { sendText } from './plain.js';

/** Where `npm run build:web` writes the console, from this file (server/http or dist/server/http). */
export function defaultConsoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../web/build'), path.resolve(here, '../../../web/build')];
  return candidates.find((c) => existsSync(path.join(c, 'index.html'))) ?? candidates[0]!;
}

interface Variant {
  body: Buffer;
  etag: string;
}

interface Asset {
  type: string;
  cacheControl: string;
  identity: Variant;
  br?: Variant;
  gzip?: Variant;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

// Paths that name a file: when missing they are a 404, never the app.
const FILE_LIKE = /\.(?:js|mjs|css|map|json|svg|png|jpe?g|ico|webp|woff2?|txt|webmanifest|br|gz)$/i;

// The app page: no framing by other sites, no MIME sniffing, no referrer to other origins.
const PAGE_HEADERS = {
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
  'Referrer-Policy': 'same-origin',
};

function etagOf(body: Buffer, suffix = ''): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}${suffix}"`;
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, child)));
    else if (entry.isFile()) out.push(child);
  }
  return out;
}

/** Reads a build folder into the manifest: URL path below /admin → asset. */
export async function loadConsoleManifest(dir: string): Promise<Map<string, Asset>> {
  const files = await listFiles(dir);
  const present = new Set(files);
  const manifest = new Map<string, Asset>();
  for (const rel of files) {
    if (/\.(br|gz)$/.test(rel) && present.has(rel.replace(/\.(br|gz)$/, ''))) continue; // a variant, attached below
    const body = await readFile(path.join(dir, rel));
    const asset: Asset = {
      type: TYPES[path.extname(rel).toLowerCase()] ?? 'application/octet-stream',
      cacheControl: rel.startsWith('_app/immutable/') ? IMMUTABLE : REVALIDATE,
      identity: { body, etag: etagOf(body) },
    };
    if (present.has(`${rel}.br`)) asset.br = { body: await readFile(path.join(dir, `${rel}.br`)), etag: etagOf(body, '-br') };
    if (present.has(`${rel}.gz`)) asset.gzip = { body: await readFile(path.join(dir, `${rel}.gz`)), etag: etagOf(body, '-gz') };
    manifest.set(rel, asset);
  }
  return manifest;
}

/** The encodings a client accepts (q=0 excluded). */
function accepted(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) out.add(name);
  }
  return out;
}

function send(req: IncomingMessage, res: ServerResponse, asset: Asset, extra: Record<string, string> = {}): void {
  const enc = accepted(req.headers['accept-encoding']);
  const [variant, encoding] =
    asset.br && enc.has('br') ? [asset.br, 'br'] : asset.gzip && enc.has('gzip') ? [asset.gzip, 'gzip'] : [asset.identity, undefined];
  const headers: Record<string, string | number> = {
    'Content-Type': asset.type,
    'Cache-Control': asset.cacheControl,
    ETag: variant.etag,
    'X-Content-Type-Options': 'nosniff',
    ...(asset.br || asset.gzip ? { Vary: 'Accept-Encoding' } : {}),
    ...extra,
  };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === variant.etag || t.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (encoding) headers['Content-Encoding'] = encoding;
  headers['Content-Length'] = variant.body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : variant.body);
}

export interface ConsoleHandler {
  /** Answers a request below /admin; `segments` are the decoded path segments after `admin`. */
  handle(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void>;
  /** whether a build was found */
  built: boolean;
}

/** Loads the console build (if any) and returns the /admin handler. */
export async function createConsoleHandler(opts: { dir?: string; log?: Logger } = {}): Promise<ConsoleHandler> {
  const dir = opts.dir ?? defaultConsoleDir();
  let manifest = new Map<string, Asset>();
  if (!existsSync(path.join(dir, 'index.html'))) opts.log?.warn({ dir }, 'the web console is not built (npm run build:web); /admin answers 503');
  else {
    try {
      manifest = await loadConsoleManifest(dir);
    } catch (err) {
      // e.g. a build rewriting the folder right now: the portal still starts, without its console
      opts.log?.warn({ err, dir }, 'the web console build could not be read; /admin answers 503');
    }
  }
  const index = manifest.get('index.html');

  return {
    built: index !== undefined,
    async handle(req, res, segments) {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      if (segments.some((s) => s === '.' || s === '..' || s.includes('\\'))) return sendText(res, 404, 'Not Found\n');
      const rel = segments.join('/');
      const asset = manifest.get(rel);
      if (asset && rel !== 'index.html') return send(req, res, asset);
      // no file: a missing asset is a 404; anything else is a route of the app
      if (rel.startsWith('_app/') || segments[0] === 'api' || FILE_LIKE.test(rel)) return sendText(res, 404, 'Not Found\n');
      if (!index) return sendText(res, 503, 'The web console is not built: run `npm run build:web`.\n', { 'Retry-After': '60' });
      return send(req, res, index, PAGE_HEADERS);
    },
  };
}
