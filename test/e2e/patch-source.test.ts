// Patch source → store → auto-update feeds → agents, over real HTTP on
// 127.0.0.1: a new upstream patchset reaches an agent's latest.v2 within one
// sync when the feed deploys after 0 hours, and only once X hours have passed
// on the portal's (injected) clock otherwise; channels, blocked flags,
// removal upstream, the proxy and the cron schedule.
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { SyncScheduler } from '../../server/jobs/sync-scheduler.js';
import { getSourceSettings, getSyncStatus, updateSourceSettings, type PatchSyncEvent } from '../../server/patches/source/index.js';
import { runSync, type SyncDeps } from '../../server/patches/source/sync.js';
import { AgentSim } from '../support/agent-sim.js';
import { startProxy } from '../support/http-proxy.js';
import { buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { FAST_TUNING, startUpstream, type TestUpstream } from '../support/upstream-server.js';

const HOUR = 3_600_000;
const kernels = makeKernels(2, 11);
let clock = Date.parse('2025-03-01T00:00:00Z');
let portal: TestPortal;
let upstream: TestUpstream;
let fixtures: string;
const built: BuiltPatchset[] = [];

const deps = (extra: Partial<SyncDeps> = {}): SyncDeps => ({
  prisma: portal.app.db.prisma, dataDir: portal.dataDir, config: portal.app.config, log: portal.app.log,
  now: () => clock, events: portal.app.events, index: portal.app.agent.index, tuning: FAST_TUNING, ...extra,
});

async function feedWithAgent(name: string, opts: { deployAfterHours: number; channel?: string; kernel?: number }) {
  const feed = await portal.app.db.prisma.feed.create({ data: { name, autoUpdate: true, deployAfterHours: opts.deployAfterHours, channel: opts.channel ?? 'default' } });
  const key = await buildKey(portal.app, { feedId: feed.id });
  const agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, procVersion: kernels[opts.kernel ?? 0]!.procVersion, hostname: name });
  expect((await agent.register(key.key)).code).toBe(0);
  return { feed, agent, level: async () => (await agent.checkin()).level };
}

async function patchset(i: number, outDir = fixtures) {
  const p = await buildPatchset({ name: `K202501${String(i).padStart(2, '0')}_01`, kernels, level: i, outDir, cves: [`CVE-2025-${1000 + i}`] });
  built[i] = p;
  return p;
}

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-source-'));
  portal = await startTestPortal({ EPORTAL_SYNC_CRON: 'off' }, { now: () => clock });
  upstream = await startUpstream();
  await updateSourceSettings(deps(), { url: upstream.url, user: upstream.user, password: upstream.password });
});
afterAll(async () => {
  await portal?.stop();
  await upstream?.close();
});

describe('sync → auto-update → agents', () => {
  it('deploys a new upstream patchset to a 0-hour feed within one sync, and to an X-hour feed only after X hours', async () => {
    const now0 = await feedWithAgent('immediate', { deployAfterHours: 0 });
    const later = await feedWithAgent('six-hours', { deployAfterHours: 6 });
    expect(await now0.level()).toBeNull(); // unknown kernel: the store is empty
    await upstream.publish(await patchset(1));
    const appeared = clock;

    const r1 = await runSync(deps());
    expect(r1).toMatchObject({ result: 'ok', imported: [built[1]!.name], autoDeployed: [{ feed: 'immediate', patchsets: [built[1]!.name] }] });
    expect(r1.bytesDownloaded).toBe(built[1]!.size);
    expect(await now0.level()).toBe(1);
    expect(await later.level()).toBe(0);
    const bin = `${kernels[0]!.khash}/1/kpatch.bin`;
    expect(Buffer.compare((await now0.agent.fetch(bin)).body, built[1]!.files.get(bin)!)).toBe(0);
    const row = await portal.app.db.prisma.patchset.findUniqueOrThrow({ where: { name: built[1]!.name } });
    expect(row).toMatchObject({ origin: 'upstream', sha256: built[1]!.sha256, channels: 'default', blocked: false });
    expect(row.appearedAt.getTime()).toBe(appeared);
    expect(row.changelog).toContain('CVE-2025-1001');

    clock += 6 * HOUR - 60_000;
    expect((await runSync(deps())).autoDeployed).toEqual([]);
    expect(await later.level()).toBe(0);
    clock += 60_000;
    expect((await runSync(deps())).autoDeployed).toEqual([{ feed: 'six-hours', patchsets: [built[1]!.name] }]);
    expect(await later.level()).toBe(1);

    await upstream.publish(await patchset(2));
    await runSync(deps());
    expect(await now0.level()).toBe(2);
    expect(await later.level()).toBe(1);
    clock += 6 * HOUR;
    await runSync(deps());
    expect(await later.level()).toBe(2);
    // nothing new: no download, no request for an archive
    const before = upstream.archiveRequests().length;
    expect(await runSync(deps())).toMatchObject({ result: 'ok', imported: [], bytesDownloaded: 0 });
    expect(upstream.archiveRequests()).toHaveLength(before);
  });

  it('records status with per-patchset progress and emits progress events', async () => {
    const events: PatchSyncEvent[] = [];
    const listener = (e: PatchSyncEvent) => events.push(e);
    portal.app.events.on('patchSync', listener);
    await upstream.publish(await patchset(3));
    const r = await runSync(deps());
    portal.app.events.off('patchSync', listener);
    expect(r.patchsets).toEqual([expect.objectContaining({ name: built[3]!.name, state: 'imported', received: built[3]!.size, size: built[3]!.size })]);
    expect(events[0]).toMatchObject({ type: 'started' });
    expect(events.at(-1)).toMatchObject({ type: 'finished', report: { result: 'ok' } });
    expect(events.some((e) => e.type === 'patchset' && e.patchset.state === 'downloading')).toBe(true);
    const status = await getSyncStatus({ prisma: portal.app.db.prisma });
    expect(status).toMatchObject({ running: false, lastResult: 'ok', lastError: null, bytesDownloaded: built[3]!.size, lastSyncAt: new Date(clock).toISOString(), pending: [] });
    expect(status.lastRun?.imported).toEqual([built[3]!.name]);
  });

  it('a fresh portal with an X-hour feed deploys everything X hours after it all appeared', async () => {
    const fresh = await startTestPortal({ EPORTAL_SYNC_CRON: 'off' }, { now: () => clock });
    try {
      const d = { ...deps(), prisma: fresh.app.db.prisma, dataDir: fresh.dataDir, config: fresh.app.config, index: fresh.app.agent.index, events: fresh.app.events };
      await updateSourceSettings(d, { url: upstream.url, user: upstream.user, password: upstream.password });
      const feed = await fresh.app.db.prisma.feed.create({ data: { name: 'new-feed', autoUpdate: true, deployAfterHours: 2 } });
      const start = clock;
      expect((await runSync(d)).imported).toHaveLength(3);
      const deployed = () => fresh.app.db.prisma.deployment.count({ where: { feedId: feed.id } });
      expect(await deployed()).toBe(0);
      clock = start + 2 * HOUR - 1;
      await runSync(d);
      expect(await deployed()).toBe(0);
      clock = start + 2 * HOUR;
      expect((await runSync(d)).autoDeployed).toEqual([{ feed: 'new-feed', patchsets: built.slice(1, 4).map((b) => b.name) }]);
    } finally {
      await fresh.stop();
    }
  });
});

describe('channels, blocked and removed patchsets', () => {
  it('a feed takes patchsets of its channel and the ones below it (default ⊂ test ⊂ unstable), and stays a prefix', async () => {
    const def = await feedWithAgent('chan-default', { deployAfterHours: 0, kernel: 1 });
    const test = await feedWithAgent('chan-test', { deployAfterHours: 0, channel: 'test', kernel: 1 });
    const unstable = await feedWithAgent('chan-unstable', { deployAfterHours: 0, channel: 'unstable', kernel: 1 });
    await upstream.publish(await patchset(4), { channels: ['test'] });
    await upstream.publish(await patchset(5), { channels: ['unstable'] });
    await upstream.publish(await patchset(6));
    await runSync(deps());
    // default stops before the test-only set 4, even though 6 is on default
    expect([await def.level(), await test.level(), await unstable.level()]).toEqual([3, 4, 6]);
    upstream.update(built[4]!.name, { channels: ['default', 'test'] });
    upstream.update(built[5]!.name, { channels: ['test'] });
    const r = await runSync(deps());
    expect(r.changedUpstream.map((c) => c.name).sort()).toEqual([built[4]!.name, built[5]!.name]);
    expect([await def.level(), await test.level()]).toEqual([4, 6]);
  });

  it('mirrors upstream blocking onto existing rows, reports deployed blocked sets, and skips new blocked ones', async () => {
    upstream.update(built[6]!.name, { blocked: true });
    await upstream.publish(await patchset(7), { blocked: true });
    const r = await runSync(deps());
    expect(r.changedUpstream).toContainEqual({ name: built[6]!.name, blocked: true, channels: ['default'] });
    expect(r.blockedButDeployed).toContainEqual({ name: built[6]!.name, feeds: expect.arrayContaining(['chan-test', 'chan-unstable']) });
    expect(await portal.app.db.prisma.patchset.findUnique({ where: { name: built[7]!.name } })).toBeNull();
    expect(upstream.archiveRequests(built[7]!.name)).toHaveLength(0);
    upstream.update(built[6]!.name, { blocked: false });
    await runSync(deps());
  });

  it('keeps a patchset removed upstream (still deployed and served) and reports it', async () => {
    upstream.unpublish(built[1]!.name);
    const r = await runSync(deps());
    expect(r.removedUpstream).toEqual([built[1]!.name]);
    const row = await portal.app.db.prisma.patchset.findUniqueOrThrow({ where: { name: built[1]!.name }, include: { _count: { select: { deployments: true } } } });
    expect(row.removedUpstreamAt?.getTime()).toBe(clock);
    expect(row._count.deployments).toBeGreaterThan(0);
    expect(readdirSync(path.join(portal.dataDir, 'patches'))).toContain(built[1]!.name);
  });
});

describe('proxy and schedule', () => {
  it('sends every request through PROXY (CONNECT with credentials); the upstream sees only proxy connections', async () => {
    const proxy = await startProxy();
    try {
      const config = loadConfig({ EPORTAL_DATA_DIR: portal.dataDir, EPORTAL_CONFIG: '/dev/null', PROXY: proxy.url });
      expect(await getSourceSettings({ ...deps(), config })).toMatchObject({ proxy: `${proxy.url.replace('proxy-pass', '***')}/`, proxyPasswordSet: true, fromEnv: ['proxy'] });
      const seen = upstream.connectionPorts.length;
      await upstream.publish(await patchset(8));
      const r = await runSync(deps({ config }));
      expect(r).toMatchObject({ result: 'ok', imported: [built[8]!.name] });
      const mine = upstream.connectionPorts.slice(seen);
      expect(mine.length).toBeGreaterThan(0);
      for (const port of mine) expect(proxy.upstreamPorts).toContain(port);
      expect(proxy.log.length).toBeGreaterThan(0);
      expect(proxy.log.every((e) => e.method === 'CONNECT' && e.authorized && e.target === `127.0.0.1:${upstream.port}`)).toBe(true);

      const wrong = loadConfig({ EPORTAL_DATA_DIR: portal.dataDir, EPORTAL_CONFIG: '/dev/null', PROXY: proxy.url.replace('proxy-pass', 'nope') });
      const seen2 = upstream.connectionPorts.length;
      const bad = await runSync(deps({ config: wrong }));
      expect(bad).toMatchObject({ result: 'failed', errorCode: 'SOURCE_PROXY' });
      expect(upstream.connectionPorts.length).toBe(seen2);
      expect(JSON.stringify(bad)).not.toContain('nope');
    } finally {
      await proxy.close();
    }
  });

  it('runs on the cron schedule and stops cleanly', async () => {
    await upstream.publish(await patchset(9));
    const config = { ...portal.app.config, patchSource: { ...portal.app.config.patchSource, cron: '* * * * * *' } };
    const scheduler = new SyncScheduler({ ...deps(), config });
    const finished = new Promise<PatchSyncEvent>((resolve) => portal.app.events.once('patchSync', function wait(e) {
      if (e.type === 'finished') resolve(e);
      else portal.app.events.once('patchSync', wait);
    }));
    scheduler.start();
    const e = await finished;
    await scheduler.stop();
    expect(e).toMatchObject({ type: 'finished', report: { result: 'ok', imported: [built[9]!.name] } });
    expect(() => new SyncScheduler({ ...deps(), config: { ...config, patchSource: { ...config.patchSource, cron: 'every tuesday' } } }).start()).toThrow(/EPORTAL_SYNC_CRON/);
  });
});
