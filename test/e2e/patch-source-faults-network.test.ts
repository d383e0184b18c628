// Network faults of the patch source, over real HTTP on 127.0.0.1: the
// upstream down, refusing the login, failing, slow, dropping or stalling
// mid-file, ignoring Range; a run stopped half-way. Each time the portal
// keeps serving agents, reports the error in the status, keeps no partial
// patchset in the store, and the next run recovers (resuming downloads).
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSyncStatus, updateSourceSettings } from '../../server/patches/source/index.js';
import { SyncTracker } from '../../server/patches/source/progress.js';
import { runSync, type SyncDeps } from '../../server/patches/source/sync.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { FAST_TUNING, startUpstream, type TestUpstream } from '../support/upstream-server.js';

const kernels = makeKernels(2, 23);
let portal: TestPortal;
let upstream: TestUpstream;
let fixtures: string;
let agent: AgentSim;
let seq = 0;

const deps = (extra: Partial<SyncDeps> = {}): SyncDeps => ({
  prisma: portal.app.db.prisma, dataDir: portal.dataDir, config: portal.app.config, log: portal.app.log,
  now: Date.now, events: portal.app.events, index: portal.app.agent.index, tuning: FAST_TUNING, ...extra,
});
const sync = (extra: Partial<SyncDeps> = {}) => runSync(deps(extra));

/** A new patchset one level up, published upstream. */
async function publishNext(binSize = 4096): Promise<BuiltPatchset> {
  const level = ++seq;
  const p = await buildPatchset({ name: `K202502${String(level).padStart(2, '0')}_01`, kernels, level, outDir: fixtures, binSize });
  await upstream.publish(p);
  return p;
}

/** The store, staging area and database hold nothing of `name`. */
async function expectNoTrace(name: string) {
  expect(await portal.app.db.prisma.patchset.findUnique({ where: { name } })).toBeNull();
  const store = path.join(portal.dataDir, 'patches');
  expect(readdirSync(store)).not.toContain(name);
  if (existsSync(path.join(store, '.staging'))) expect(readdirSync(path.join(store, '.staging'))).toEqual([]);
}

const parts = () => readdirSync(path.join(portal.dataDir, 'downloads')).filter((f) => f.endsWith('.part'));

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-source-net-'));
  portal = await startTestPortal({ EPORTAL_SYNC_CRON: 'off' });
  upstream = await startUpstream();
  await updateSourceSettings(deps(), { url: upstream.url, user: upstream.user, password: upstream.password });
  const feed = await portal.app.db.prisma.feed.create({ data: { name: 'auto', autoUpdate: true, deployAfterHours: 0 } });
  const key = await buildKey(portal.app, { feedId: feed.id });
  agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, procVersion: kernels[0]!.procVersion });
  await agent.register(key.key);
});
beforeEach(() => {
  upstream.faults = {};
});
afterAll(async () => {
  await portal?.stop();
  await upstream?.close();
});

describe('network faults', () => {
  it('upstream down: failed with SOURCE_UNREACHABLE in the status; the next run recovers', async () => {
    const p = await publishNext();
    await upstream.down();
    const r = await sync();
    expect(r).toMatchObject({ result: 'failed', errorCode: 'SOURCE_UNREACHABLE', imported: [] });
    expect(await getSyncStatus({ prisma: portal.app.db.prisma })).toMatchObject({ lastResult: 'failed', lastError: expect.stringContaining('ECONNREFUSED'), running: false });
    expect((await agent.checkin()).status).toBe(404); // still serving (kernel unknown yet)
    await upstream.up();
    expect(await sync()).toMatchObject({ result: 'ok', imported: [p.name] });
    expect((await agent.checkin()).level).toBe(1);
  });

  it('401: SOURCE_AUTH, not retried, and the password appears nowhere', async () => {
    await updateSourceSettings(deps(), { password: 'wrong-secret-123' });
    const before = upstream.requests.length;
    const r = await sync();
    expect(r).toMatchObject({ result: 'failed', errorCode: 'SOURCE_AUTH' });
    expect(upstream.requests.length - before).toBe(1);
    const status = JSON.stringify(await getSyncStatus({ prisma: portal.app.db.prisma }));
    for (const secret of ['wrong-secret-123', upstream.password]) expect(status + JSON.stringify(r)).not.toContain(secret);
    await updateSourceSettings(deps(), { password: upstream.password });
    expect((await sync()).result).toBe('ok');
  });

  it('500: retried with back-off, then failed; recovers', async () => {
    upstream.faults.status = 500;
    const before = upstream.requests.length;
    expect(await sync()).toMatchObject({ result: 'failed', errorCode: 'SOURCE_HTTP', error: 'index.json: HTTP 500' });
    expect(upstream.requests.length - before).toBe(FAST_TUNING.attempts);
    upstream.faults = {};
    expect((await sync()).result).toBe('ok');
  });

  it('slow download: agents check in normally while it runs', async () => {
    const p = await publishNext(192 * 1024);
    upstream.faults.bytesPerSecond = Math.ceil(p.size / 3); // about 3 s
    const tracker = new SyncTracker();
    const running = sync({ tracker });
    while (!(tracker.current?.patchsets[0]?.received)) await new Promise((r) => setTimeout(r, 10));
    expect((await getSyncStatus({ prisma: portal.app.db.prisma, tracker })).running).toBe(true);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect((await agent.checkin()).level).toBe(1);
      times.push(performance.now() - t0);
    }
    expect(tracker.current, 'the sync should still be running').not.toBeNull();
    // generous for a loaded CI machine: a blocking sync would hold them for seconds
    expect(Math.max(...times)).toBeLessThan(1000);
    expect(await running).toMatchObject({ result: 'ok', imported: [p.name] });
    expect((await agent.checkin()).level).toBe(2);
  });

  it('connections dropped mid-file are resumed with Range; nothing is downloaded twice', async () => {
    const p = await publishNext(64 * 1024);
    upstream.faults.drop = { bytes: Math.floor(p.size / 3), times: 2 };
    const r = await sync();
    expect(r).toMatchObject({ result: 'ok', imported: [p.name], bytesDownloaded: p.size });
    const third = Math.floor(p.size / 3);
    expect(upstream.archiveRequests(p.name).map((q) => q.range)).toEqual([null, `bytes=${third}-`, `bytes=${2 * third}-`]);
    expect(parts()).toEqual([]);
  });

  it('a stalled body times out and resumes; a server ignoring Range restarts the file', async () => {
    const p = await publishNext(64 * 1024);
    upstream.faults.stall = { bytes: 5000, times: 1 };
    expect(await sync()).toMatchObject({ result: 'ok', imported: [p.name], bytesDownloaded: p.size });
    expect(upstream.archiveRequests(p.name).map((q) => q.range)).toEqual([null, 'bytes=5000-']);
    const q = await publishNext(64 * 1024);
    upstream.faults = { drop: { bytes: 7000, times: 1 }, noRange: true };
    expect(await sync()).toMatchObject({ result: 'ok', imported: [q.name], bytesDownloaded: q.size + 7000 });
  });

  it('truncated downloads past the retry budget fail, keep the partial file out of the store, and the next run resumes it', async () => {
    const p = await publishNext(64 * 1024);
    upstream.faults.drop = { bytes: 9000, times: FAST_TUNING.attempts };
    const r = await sync();
    expect(r).toMatchObject({ result: 'failed', errorCode: 'SOURCE_UNREACHABLE', failed: [{ name: p.name }] });
    expect(r.patchsets).toEqual([expect.objectContaining({ name: p.name, state: 'failed', errorCode: 'SOURCE_UNREACHABLE' })]);
    await expectNoTrace(p.name);
    expect(parts()).toHaveLength(1); // kept for resuming, outside the store
    const r2 = await sync();
    expect(r2).toMatchObject({ result: 'ok', imported: [p.name] });
    expect(upstream.archiveRequests(p.name).at(-1)?.range).toBe(`bytes=${9000 * FAST_TUNING.attempts}-`);
    expect(r2.bytesDownloaded).toBe(p.size - 9000 * FAST_TUNING.attempts);
  });

  it('a run stopped half-way reports SOURCE_ABORTED and the next one resumes where it stopped', async () => {
    const p = await publishNext(128 * 1024);
    upstream.faults.bytesPerSecond = Math.ceil(p.size / 2);
    const stop = new AbortController();
    const tracker = new SyncTracker();
    const running = runSync({ ...deps(), tracker }, { signal: stop.signal });
    while ((tracker.current?.patchsets[0]?.received ?? 0) < 32 * 1024) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    expect(await running).toMatchObject({ result: 'failed', errorCode: 'SOURCE_ABORTED' });
    await expectNoTrace(p.name);
    upstream.faults = {};
    const r = await sync();
    expect(r).toMatchObject({ result: 'ok', imported: [p.name] });
    expect(upstream.archiveRequests(p.name).at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/);
  });
});
