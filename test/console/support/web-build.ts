// Makes sure web/build holds the console built from the current sources.
// `npm test` does not build the console, so the console tests do it here when
// web/build is missing or older than any source file; a lock (a directory
// created atomically) keeps parallel test files from building at once.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The console's folder in the repository. */
export const WEB_DIR = path.resolve(import.meta.dirname, '../../../web');
/** What `npm run build:web` produces. */
export const WEB_BUILD_DIR = path.join(WEB_DIR, 'build');

const SOURCES = ['src', 'static', 'svelte.config.js', 'vite.config.ts'];
const LOCK = path.join(os.tmpdir(), `eportal-web-build-${createHash('sha1').update(WEB_DIR).digest('hex').slice(0, 12)}.lock`);
const STALE_LOCK_MS = 5 * 60_000;

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** Whether web/build is missing or older than a source file. */
export function webBuildIsStale(): boolean {
  const index = path.join(WEB_BUILD_DIR, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((s) => newestMtime(path.join(WEB_DIR, s)) > built);
}

function runBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const vite = path.resolve(WEB_DIR, '../node_modules/vite/bin/vite.js');
    const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: WEB_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output.slice(-4000)}`))));
  });
}

/** Builds the console unless web/build is up to date (waits for a build another test file started). */
export async function ensureWebBuild(): Promise<void> {
  for (;;) {
    if (!webBuildIsStale()) return;
    try {
      mkdirSync(LOCK);
    } catch {
      // another worker is building; take over a lock left by a crash
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (webBuildIsStale()) await runBuild();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
    return;
  }
}
