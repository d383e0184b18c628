// kc.eportal deploy / --unroll / feed / patchset, run as the real executable,
// including a SIGKILL in the middle of an import.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { kc } from '../support/cli.js';
import { buildPatchset, makeKernels, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { spawnPortal } from '../support/child-portal.js';
import { AgentSim } from '../support/agent-sim.js';

const T = 120_000;
const kernels = makeKernels(4, 7);
let fixtures: string;
let p1: BuiltPatchset;
let p2: BuiltPatchset;

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const deployedIn = (dataDir: string, feed: string) => {
  const db = new Database(path.join(dataDir, 'eportal.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT p.name FROM Deployment d JOIN Patchset p ON p.id = d.patchsetId JOIN Feed f ON f.id = d.feedId WHERE f.name = ? ORDER BY p.name').all(feed) as { name: string }[];
  db.close();
  return rows.map((r) => r.name);
};

beforeAll(async () => {
  fixtures = tmp('eportal-cli-fixtures-');
  p1 = await buildPatchset({ name: 'K20240110_01', kernels, level: 1, outDir: fixtures, format: 'bz2' });
  p2 = await buildPatchset({ name: 'K20240210_01', kernels, level: 2, outDir: fixtures, format: 'zst' });
});

describe('kc.eportal deploy and --unroll', () => {
  it('deploy imports and deploys with everything older; --unroll rolls back; --disabled only imports', async () => {
    const dir = tmp('eportal-cli-deploy-');
    const a = await kc(dir, ['deploy', p1.archivePath, '--disabled']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('imported K20240110_01: 4 kernels');
    expect(deployedIn(dir, 'default')).toEqual([]);
    const b = await kc(dir, ['deploy', p2.archivePath, '--sha256', p2.sha256]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("deployed to feed 'default': K20240110_01, K20240210_01");
    expect(deployedIn(dir, 'default')).toEqual(['K20240110_01', 'K20240210_01']);
    const list = await kc(dir, ['patchset', 'list']);
    expect(list.stdout).toMatch(/K20240110_01 +\| kernel +\| 2024-01-10 +\| 4 .*\| default/);
    const c = await kc(dir, ['--unroll', 'K20240210_01']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe("rolled back from feed 'default': K20240210_01\n");
    expect(deployedIn(dir, 'default')).toEqual(['K20240110_01']);
    expect((await kc(dir, ['--unroll', 'K19990101_01'])).code).toBe(1);
  }, T);

  it('feeds: create, deploy into one with --feed, delete moves its keys to the default feed', async () => {
    const dir = tmp('eportal-cli-feeds-');
    expect((await kc(dir, ['feed', 'create', 'canary', '--auto-update', 'on', '--deploy-after', '12', '--channel', 'test'])).code).toBe(0);
    expect((await kc(dir, ['feed', 'create', 'canary'])).code).toBe(1);
    const key = (await kc(dir, ['key', 'create', '--feed', 'canary'])).stdout.trim();
    expect((await kc(dir, ['deploy', p1.archivePath, '--feed', 'canary'])).code).toBe(0);
    expect(deployedIn(dir, 'canary')).toEqual(['K20240110_01']);
    expect(deployedIn(dir, 'default')).toEqual([]);
    const list = await kc(dir, ['feed', 'list']);
    expect(list.stdout).toMatch(/canary +\| on +\| 12 +\| test +\| 1 +\| 1/);
    const del = await kc(dir, ['feed', 'delete', 'canary']);
    expect(del.stdout).toContain('1 key moved to the default feed');
    const keys = await kc(dir, ['key', 'list']);
    expect(keys.stdout).toMatch(new RegExp(`${key} .*\\| default`));
    const bad = await kc(dir, ['feed', 'delete', 'default']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('default feed cannot be deleted');
  }, T);

  it('refuses a bad archive with a clear message and changes nothing', async () => {
    const dir = tmp('eportal-cli-bad-');
    const r = await kc(dir, ['deploy', p1.archivePath, '--name', 'K20240110_02', '--sha256', 'ab'.repeat(32)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checksum/i);
    expect(readdirSync(path.join(dir, 'patches')).filter((d) => d !== '.staging')).toEqual([]);
  }, T);
});

describe('an import killed half way', () => {
  it('leaves no half patchset; the server cleans up and the import can be repeated', async () => {
    const dir = tmp('eportal-cli-kill-');
    // big enough (bz2 decodes at a few MB/s) that the kill lands mid-extraction
    const bigKernels = makeKernels(120, 9);
    const big = await buildPatchset({ name: 'K20240301_01', kernels: bigKernels, level: 1, binSize: 256 * 1024, outDir: tmp('eportal-big-'), format: 'bz2' });
    let killedAt = 0;
    const r = await kc(dir, ['deploy', big.archivePath], {
      started: (child) => {
        const staging = path.join(dir, 'patches', '.staging');
        const poll = setInterval(() => {
          const inside = existsSync(staging) ? readdirSync(staging) : [];
          if (inside.length && inside.some((d) => existsSync(path.join(staging, d)) && readdirSync(path.join(staging, d)).length > 3)) {
            clearInterval(poll);
            killedAt = Date.now();
            child.kill('SIGKILL');
          }
        }, 5);
        child.on('exit', () => clearInterval(poll));
      },
    });
    expect(r.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    const db = new Database(path.join(dir, 'eportal.sqlite'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM Patchset').get() as { n: number }).n).toBe(0);
    expect((db.prepare('SELECT COUNT(*) AS n FROM PatchsetKernel').get() as { n: number }).n).toBe(0);
    db.close();
    expect(readdirSync(path.join(dir, 'patches', '.staging')).length).toBeGreaterThan(0); // debris of the dead import

    const portal = await spawnPortal({}, dir);
    expect(readdirSync(path.join(dir, 'patches', '.staging'))).toEqual([]); // cleaned at start
    const anon = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: `${portal.url}/admin/api/kcare`, procVersion: bigKernels[0]!.procVersion });
    expect((await anon.checkin()).status).toBe(404); // nothing half-imported is visible
    // the import is repeated while the server runs, and agents see it within the index refresh
    const again = await kc(dir, ['deploy', big.archivePath]);
    expect(again.code, again.stderr).toBe(0);
    let level: number | null = null;
    for (let i = 0; i < 60 && level !== 1; i++) {
      level = (await anon.checkin()).level;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(level).toBe(1);
    portal.proc.kill('SIGTERM');
    expect(await portal.exited).toBe(0);
  }, T);
});
