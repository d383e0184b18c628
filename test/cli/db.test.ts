// kc.eportal db backup / restore against a real portal process.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import { spawnPortal } from '../support/child-portal.js';
import { kc } from '../support/cli.js';

const T = 120_000;

describe('kc.eportal db', () => {
  it('backs up while the portal runs, refuses to restore under it, restores once it stopped', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-db-'));
    const backup = path.join(mkdtempSync(path.join(os.tmpdir(), 'eportal-backup-')), 'portal.sqlite');
    const portal = await spawnPortal({}, dir);
    const key = (await kc(dir, ['key', 'create', '--key', 'before-backup'])).stdout.trim();
    const agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: `${portal.url}/admin/api/kcare` });
    expect((await agent.register(key)).code).toBe(0);

    const b = await kc(dir, ['db', 'backup', backup]);
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(backup)).toBe(true);
    expect((await kc(dir, ['db', 'backup', backup])).code).toBe(1); // never overwrites

    expect((await kc(dir, ['key', 'create', '--key', 'after-backup'])).code).toBe(0);
    const refused = await kc(dir, ['db', 'restore', backup]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('stop it first');

    portal.proc.kill('SIGTERM');
    expect(await portal.exited).toBe(0);
    expect((await kc(dir, ['db', 'restore', '/etc/hostname'])).code).toBe(1);
    const r = await kc(dir, ['db', 'restore', backup]);
    expect(r.code, r.stderr).toBe(0);
    const keys = (await kc(dir, ['key', 'list'])).stdout;
    expect(keys).toContain('before-backup');
    expect(keys).not.toContain('after-backup');

    // the restored portal knows the agent registered before the backup
    const again = await spawnPortal({}, dir);
    const restored = new AgentSim({ patchServer: `${again.url}/`, registrationUrl: `${again.url}/admin/api/kcare`, serverId: agent.serverId! });
    expect((await restored.check()).code).toBe(0);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, T);
});
