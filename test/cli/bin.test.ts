// bin/kc.eportal itself: found through a symlink from any directory, runs
// dist/ when built, falls back to the sources through tsx, and says what to do
// when it can run neither.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// every test spawns the CLI several times; generous for loaded CI machines
const CLI_TIMEOUT = 120_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin/kc.eportal');
const dirs: string[] = [];

function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-bin-'));
  dirs.push(dir);
  return dir;
}

function run(bin: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EPORTAL_')));
  Object.assign(env, { EPORTAL_CONFIG: '/dev/null' }, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('bin/kc.eportal', { timeout: CLI_TIMEOUT }, () => {
  it('is executable', () => {
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
  });

  it('runs through a symlink from another directory; a relative data directory is relative to the caller', async () => {
    const dir = tmp();
    const link = path.join(dir, 'kc.eportal');
    symlinkSync(BIN, link);
    const res = await run(link, ['-l'], { cwd: dir, env: { EPORTAL_DATA_DIR: 'rel-data' } });
    expect(res).toMatchObject({ code: 0, stdout: 'Num | Username\n--- + --------------------------------\n' });
    expect(existsSync(path.join(dir, 'rel-data', 'eportal.sqlite'))).toBe(true);
  });

  it('falls back to the TypeScript sources through tsx when dist/ is missing', async () => {
    // a checkout without dist/: the real sources and node_modules, linked
    const root = tmp();
    mkdirSync(path.join(root, 'bin'));
    copyFileSync(BIN, path.join(root, 'bin/kc.eportal'));
    for (const name of ['server', 'node_modules', 'prisma', 'package.json']) symlinkSync(path.join(ROOT, name), path.join(root, name));
    const data = tmp();
    const res = await run(path.join(root, 'bin/kc.eportal'), ['key', 'create', '--key', 'from-sources'], { env: { EPORTAL_DATA_DIR: data } });
    expect(res).toMatchObject({ code: 0, stdout: 'from-sources\n' });
    expect((await run(path.join(root, 'bin/kc.eportal'), ['--bogus'])).code).toBe(2);
  });

  it('says how to fix it when it can run neither', async () => {
    const root = tmp();
    mkdirSync(path.join(root, 'bin'));
    copyFileSync(BIN, path.join(root, 'bin/kc.eportal'));
    const res = await run(path.join(root, 'bin/kc.eportal'), ['-l']);
    expect(res).toEqual({ code: 1, stdout: '', stderr: `kc.eportal: ${root}/dist/server/cli/main.js is missing; run 'npm run build' in ${root}\n` });
  });
});
