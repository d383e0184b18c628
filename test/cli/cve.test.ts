// kc.eportal cve CVE-X, run as the real executable over a data directory that a
// portal filled: patchsets with kpatch-cve: lines, agents at known patch levels.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import { kc } from '../support/cli.js';
import { buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels } from '../support/patchset-fixtures.js';
import { startTestPortal } from '../support/portal.js';

const T = 120_000;
const [kA, kB, kOther] = makeKernels(3, 33);
let dir: string;
let fixtures: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-cli-cve-'));
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-cli-cve-fx-'));
  // level 2 of kA fixes it and is deployed; kB's fix is only imported
  const deployed = await buildPatchset({ name: 'K20240110_01', kernels: [kA!], level: 2, cves: ['CVE-2024-3333'], outDir: fixtures });
  const imported = await buildPatchset({ name: 'K20240210_01', kernels: [kB!], level: 1, cves: ['CVE-2024-3333', 'CVE-2024-4444'], outDir: fixtures });
  const a = await kc(dir, ['deploy', deployed.archivePath]);
  expect(a.code, a.stderr).toBe(0);
  const b = await kc(dir, ['deploy', imported.archivePath, '--disabled']);
  expect(b.code, b.stderr).toBe(0);
  const portal = await startTestPortal({}, { dataDir: dir });
  await buildKey(portal.app, { key: 'cli-cve-key' });
  const agents = [
    { host: 'low.example', kernel: kA!, level: 1 },
    { host: 'high.example', kernel: kA!, level: 2 },
    { host: 'nofix.example', kernel: kB!, level: null },
    { host: 'other.example', kernel: kOther!, level: 5 },
  ];
  for (const x of agents) {
    const sim = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: x.host, procVersion: x.kernel.procVersion, patchLevel: x.level });
    expect((await sim.register('cli-cve-key')).code).toBe(0);
    await sim.checkin();
  }
  portal.app.agent.checkins.flush();
  for (let i = 0; i < 100 && (await portal.app.db.prisma.server.count({ where: { lastCheckinAt: { not: null } } })) < agents.length; i++) await new Promise((r) => setTimeout(r, 20));
  await portal.stop({ keepData: true });
}, T);

afterAll(() => {
  for (const d of [dir, fixtures]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('kc.eportal cve', () => {
  it('prints the counts, then the exposed servers with their level and the fixing level', async () => {
    const r = await kc(dir, ['cve', 'CVE-2024-3333']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('CVE-2024-3333: 2 kernels, patchsets K20240110_01, K20240210_01');
    expect(lines[1]).toBe('exposed: 1, fix not deployed: 1, fixed: 1');
    expect(lines[3]).toMatch(/^Hostname +\| IP +\| Key +\| Kernel level \| Fixed at$/);
    expect(lines.slice(5).filter(Boolean)).toHaveLength(1);
    expect(lines[5]).toMatch(/^low\.example +\| 127\.0\.0\.1 +\| cli-cve-key +\| 1 +\| 2$/);
  }, T);

  it('--state fixed / fix-not-deployed and --limit', async () => {
    const fixed = await kc(dir, ['cve', 'cve-2024-3333', '--state', 'fixed']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/high\.example +\| .* \| 2 +\| 2\n/);
    expect(fixed.stdout).not.toContain('low.example');
    const nofix = await kc(dir, ['cve', 'CVE-2024-3333', '--state', 'fix-not-deployed']);
    expect(nofix.stdout).toMatch(/nofix\.example +\| .* \| - +\| -\n/);
    expect(nofix.stdout).not.toContain('other.example');
    const limited = await kc(dir, ['cve', 'CVE-2024-4444', '--state', 'fix-not-deployed', '--limit', '0']);
    expect(limited.stdout).toContain('exposed: 0, fix not deployed: 1, fixed: 0');
    expect(limited.stdout).toContain('more than 0 servers');
  }, T);

  it('refuses a bad id or state; says so for a CVE no patchset fixes', async () => {
    const bad = await kc(dir, ['cve', 'CVE-24-1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('CVE-2024-1234');
    expect((await kc(dir, ['cve', 'CVE-2024-3333', '--state', 'maybe'])).code).toBe(2);
    expect((await kc(dir, ['cve', 'CVE-2024-3333', '--limit', 'lots'])).code).toBe(2);
    const unknown = await kc(dir, ['cve', 'CVE-2019-0001']);
    expect(unknown.code).toBe(0);
    expect(unknown.stdout).toBe('CVE-2019-0001: no patchset in the store fixes it\n');
  }, T);
});
