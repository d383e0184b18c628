// The registration and check-in contract of agent-protocol.md, driven by the
// agent simulator over real HTTP against a real portal and SQLite file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';

let portal: TestPortal;
const sim = (opts: Partial<ConstructorParameters<typeof AgentSim>[0]> = {}) =>
  new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, ...opts });

beforeAll(async () => {
  portal = await startTestPortal();
});
afterAll(async () => {
  await portal.stop();
});

async function serverRow(serverId: string) {
  portal.app.agent.checkins.flush();
  const { hashServerId } = await import('../../server/agent/server-id.js');
  return portal.app.db.prisma.server.findUnique({ where: { serverIdHash: hashServerId(serverId) }, include: { tags: true } });
}

describe('registration', () => {
  it('registers with a key and issues a 16-character server id', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ hostname: 'web-01' });
    const r = await a.register(key.key);
    expect(r.status).toBe(200);
    expect(r.code).toBe(0);
    expect(r.serverId).toMatch(/^[A-Za-z][A-Za-z0-9]{15}$/);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const row = await serverRow(r.serverId!);
    expect(row).toMatchObject({ hostname: 'web-01', ip: '127.0.0.1', keyId: key.id, serverIdHint: r.serverId!.slice(0, 4) });
  });

  it('answers code 2 for an unknown or missing key', async () => {
    expect((await sim().register('no-such-key')).code).toBe(2);
    expect((await sim().register('')).code).toBe(2);
  });

  it('holds the server limit (code 3 when full)', async () => {
    const key = await buildKey(portal.app, { serverLimit: 2 });
    expect((await sim().register(key.key)).code).toBe(0);
    expect((await sim().register(key.key)).code).toBe(0);
    const third = await sim().register(key.key);
    expect(third.code).toBe(3);
    expect(third.serverId).toBeNull();
  });

  it('holds the limit exactly under concurrent registrations', async () => {
    const key = await buildKey(portal.app, { serverLimit: 7 });
    const results = await Promise.all(Array.from({ length: 40 }, () => sim().register(key.key)));
    expect(results.filter((r) => r.code === 0)).toHaveLength(7);
    expect(results.filter((r) => r.code === 3)).toHaveLength(33);
    expect(await portal.app.db.prisma.server.count({ where: { keyId: key.id } })).toBe(7);
  });

  it('re-registering unregisters the old id first, like the agent', async () => {
    const key = await buildKey(portal.app);
    const a = sim();
    const first = (await a.register(key.key)).serverId!;
    const second = (await a.register(key.key)).serverId!;
    expect(second).not.toBe(first);
    expect(await serverRow(first)).toBeNull();
    expect(await serverRow(second)).not.toBeNull();
  });

  it('unregisters: success true, then false for the same id, and the id stops working', async () => {
    const key = await buildKey(portal.app);
    const a = sim();
    const id = (await a.register(key.key)).serverId!;
    const un = await a.unregister();
    expect(un?.reply).toEqual({ success: 'true' });
    const again = await sim({ serverId: id }).unregister();
    expect(again?.reply.success).toBe('false');
    expect(again?.reply.message).toBeTruthy();
    const stale = sim({ serverId: id });
    expect((await stale.checkin()).status).toBe(403);
    expect((await stale.check()).code).toBe(2);
  });

  it('never stores the server id itself', async () => {
    const key = await buildKey(portal.app);
    const id = (await sim().register(key.key)).serverId!;
    portal.app.db.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(path.join(portal.dataDir, 'eportal.sqlite'));
    expect(bytes.includes(Buffer.from(id))).toBe(false);
  });
});

describe('tags, check, trial, sticky, nagios key', () => {
  it('sets name:value and bare tags, and the empty string removes them', async () => {
    const key = await buildKey(portal.app);
    const a = sim();
    await a.register(key.key);
    expect((await a.tag('env:prod;ubuntu')).code).toBe(0);
    let row = await serverRow(a.serverId!);
    expect(row!.tags.map((t) => [t.name, t.value]).sort()).toEqual([['env', 'prod'], ['ubuntu', null]]);
    expect((await a.tag('role: db ; ; rack:a:1')).code).toBe(0);
    row = await serverRow(a.serverId!);
    expect(row!.tags.map((t) => [t.name, t.value]).sort()).toEqual([['rack', 'a:1'], ['role', 'db']]);
    expect((await a.tag('')).code).toBe(0);
    expect((await serverRow(a.serverId!))!.tags).toEqual([]);
  });

  it('answers code -1 for tags of an unknown server and 1 for bad tags', async () => {
    expect((await sim({ serverId: 'Aaaaaaaaaaaaaaaa' }).tag('a:b')).code).toBe(-1);
    const key = await buildKey(portal.app);
    const a = sim();
    await a.register(key.key);
    expect((await a.tag(':novalue')).code).toBe(1);
    expect((await a.tag('x'.repeat(100))).code).toBe(1);
  });

  it('check.plain: 0 for a known server, 2 for an unknown one', async () => {
    const key = await buildKey(portal.app);
    const a = sim();
    await a.register(key.key);
    expect((await a.check()).code).toBe(0);
    expect((await sim({ serverId: 'Bbbbbbbbbbbbbbbb' }).check()).code).toBe(2);
    expect((await sim().check()).code).toBe(2);
  });

  it('trial.plain answers success: na; sticky_patch 1 known / 2 unknown', async () => {
    expect((await sim().trial()).reply).toEqual({ success: 'na' });
    const key = await buildKey(portal.app);
    const a = sim();
    await a.register(key.key);
    expect((await a.stickyPatch()).code).toBe(1);
    expect((await sim({ serverId: 'Cccccccccccccccc' }).stickyPatch()).code).toBe(2);
  });

  it('nagios/register_key.plain: 0 known key, 1 unknown', async () => {
    const key = await buildKey(portal.app);
    expect((await sim().registerNagiosKey(key.key)).code).toBe(0);
    expect((await sim().registerNagiosKey('nope')).code).toBe(1);
  });
});

describe('check-in on latest.v2', () => {
  it('records every field of the payload, and answers 404 while no patchset knows the kernel', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ hostname: 'db-7', patchLevel: 12, patchType: 'extra', euname: '6.18.44-fc.kc12' });
    await a.register(key.key);
    const r = await a.checkin();
    expect(r.status).toBe(404);
    const row = await serverRow(a.serverId!);
    expect(row).toMatchObject({
      hostname: 'db-7', ip: '127.0.0.1', kernelId: a.khash, effectiveKernel: '6.18.44-fc.kc12', release: '6.18.44-fc', machine: 'x86_64',
      agentVersion: '2.32-1', patchLevel: 12, patchType: 'extra', virt: 'kvm',
    });
    expect(row!.uptime).toBeGreaterThanOrEqual(1043);
    expect(row!.lastCheckinAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('parses Python 2 agents (u-prefixes, longs, other key order)', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ python2: true, hostname: 'legacy', patchLevel: 3 });
    await a.register(key.key);
    await a.checkin();
    expect(await serverRow(a.serverId!)).toMatchObject({ hostname: 'legacy', distro: 'debian', distroVersion: '12.11', patchLevel: 3 });
  });

  it('a malformed payload still counts as a check-in and keeps the recorded level', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ patchLevel: 5 });
    await a.register(key.key);
    await a.checkin();
    const before = portal.app.agent.checkins.stats.malformed;
    const bad = await a.checkin({ rawQuery: 'ZZ-not-hex' });
    expect(bad.status).toBe(404);
    expect(portal.app.agent.checkins.stats.malformed).toBe(before + 1);
    const row = await serverRow(a.serverId!);
    expect(row!.patchLevel).toBe(5);
    expect(row!.lastCheckinAt).not.toBeNull();
  });

  it('unknown server id → 403; no credentials → served from the default feed', async () => {
    expect((await sim({ serverId: 'Dddddddddddddddd' }).checkin()).status).toBe(403);
    expect((await sim().checkin()).status).toBe(404);
  });

  it('handles PREFIX and repeated slashes', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ prefix: 'test', hostname: 'pfx' });
    await a.register(key.key);
    const r = await a.checkin();
    expect(r.url).toContain('//test/');
    expect(r.status).toBe(404);
    expect((await serverRow(a.serverId!))!.hostname).toBe('pfx');
    const res = await fetch(`${portal.url}///admin//api/kcare//trial.plain`);
    expect(await res.text()).toBe('success: na\n');
  });

  it('v2-new-version is 404, with or without prefix', async () => {
    expect((await sim().fetch('v2-new-version')).status).toBe(404);
    expect((await sim({ prefix: '12h' }).fetch('v2-new-version')).status).toBe(404);
  });
});

describe('check-in writes', () => {
  it('an unchanged check-in moves only the time; a later change is written in full', async () => {
    const key = await buildKey(portal.app);
    const a = sim({ hostname: 'steady', patchLevel: 2 });
    await a.register(key.key);
    await a.checkin();
    const first = (await serverRow(a.serverId!))!;
    await new Promise((r) => setTimeout(r, 15));
    await a.checkin();
    const second = (await serverRow(a.serverId!))!;
    expect(second.lastCheckinAt!.getTime()).toBeGreaterThan(first.lastCheckinAt!.getTime());
    expect(second).toMatchObject({ hostname: 'steady', patchLevel: 2 });
    a.hostname = 'renamed';
    a.patchLevel = 3;
    await a.checkin();
    expect(await serverRow(a.serverId!)).toMatchObject({ hostname: 'renamed', patchLevel: 3 });
  });
});
