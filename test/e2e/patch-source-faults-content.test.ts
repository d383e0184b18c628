// Content, disk and concurrency faults of the patch source: bad checksums,
// corrupted bytes, malformed/enormous index.json, bad index entries, hostile
// archives, a disk that fills (an injected free-space check, and an injected
// ENOSPC write failure mid-file), and the cross-process lock. Each time the
// status says what went wrong, no partial patchset is left, auto-update does
// not skip past a missing patchset, and the next run recovers.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { updateSourceSettings } from '../../server/patches/source/index.js';
import { SYNC_LOCK } from '../../server/patches/source/lock.js';
import { runSync, type SyncDeps } from '../../server/patches/source/sync.js';
import { buildMaliciousArchive, buildPatchset, makeKernels, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { FAST_TUNING, startUpstream, type TestUpstream } from '../support/upstream-server.js';

const kernels = makeKernels(2, 29);
let portal: TestPortal;
let upstream: TestUpstream;
let fixtures: string;
let feedId: number;
let seq = 0;

const deps = (extra: Partial<SyncDeps> = {}): SyncDeps => ({
  prisma: portal.app.db.prisma, dataDir: portal.dataDir, config: portal.app.config, log: portal.app.log,
  now: Date.now, events: portal.app.events, index: portal.app.agent.index, tuning: FAST_TUNING, ...extra,
});
const sync = (extra: Partial<SyncDeps> = {}) => runSync(deps(extra));

async function build(): Promise<BuiltPatchset> {
  const level = ++seq;
  return buildPatchset({ name: `K202503${String(level).padStart(2, '0')}_01`, kernels, level, outDir: fixtures, binSize: 16 * 1024 });
}

async function expectNoTrace(name: string) {
  expect(await portal.app.db.prisma.patchset.findUnique({ where: { name } })).toBeNull();
  const store = path.join(portal.dataDir, 'patches');
  expect(readdirSync(store)).not.toContain(name);
  if (existsSync(path.join(store, '.staging'))) expect(readdirSync(path.join(store, '.staging'))).toEqual([]);
  const downloads = path.join(portal.dataDir, 'downloads');
  if (existsSync(downloads)) expect(readdirSync(downloads).filter((f) => f.includes(name))).toEqual([]);
}

const deployed = async () => (await portal.app.db.prisma.deployment.findMany({ where: { feedId }, include: { patchset: true } })).map((d) => d.patchset.name).sort();

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-source-content-'));
  portal = await startTestPortal({ EPORTAL_SYNC_CRON: 'off' });
  upstream = await startUpstream();
  await updateSourceSettings(deps(), { url: upstream.url, user: upstream.user, password: upstream.password });
  feedId = (await portal.app.db.prisma.feed.create({ data: { name: 'auto', autoUpdate: true, deployAfterHours: 0 } })).id;
});
beforeEach(() => {
  upstream.faults = {};
});
afterAll(async () => {
  await portal?.stop();
  await upstream?.close();
});

describe('checksums', () => {
  it('a wrong sha256 in the index: nothing kept, later patchsets not auto-deployed past it, recovers when fixed', async () => {
    const a = await build();
    const b = await build();
    await upstream.publish(a, { sha256: 'ab'.repeat(32) });
    await upstream.publish(b);
    const r = await sync();
    expect(r).toMatchObject({ result: 'partial', imported: [b.name], failed: [{ name: a.name, code: 'SOURCE_CHECKSUM' }], errorCode: 'SOURCE_CHECKSUM' });
    await expectNoTrace(a.name);
    expect(await deployed()).toEqual([]); // b waits for a: deployment stays a prefix
    upstream.update(a.name, { sha256: a.sha256 });
    expect(await sync()).toMatchObject({ result: 'ok', imported: [a.name], autoDeployed: [{ feed: 'auto', patchsets: [a.name, b.name] }] });
  });

  it('bytes corrupted in transit: failed, nothing kept; recovers', async () => {
    const c = await build();
    await upstream.publish(c);
    upstream.faults.corrupt = [c.name];
    expect(await sync()).toMatchObject({ result: 'failed', failed: [{ name: c.name, code: 'SOURCE_CHECKSUM' }] });
    await expectNoTrace(c.name);
    upstream.faults = {};
    expect((await sync()).imported).toEqual([c.name]);
  });
});

describe('index.json', () => {
  it.each([
    ['not JSON', '<html>maintenance</html>'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['no patchsets array', '{"patchsets": 5}'],
    ['a bare array', '[]'],
  ])('%s: SOURCE_INDEX_INVALID, nothing changes', async (_label, body) => {
    upstream.faults.indexBody = body;
    const before = await portal.app.db.prisma.patchset.count();
    expect(await sync()).toMatchObject({ result: 'failed', errorCode: 'SOURCE_INDEX_INVALID' });
    expect(await portal.app.db.prisma.patchset.count()).toBe(before);
  });

  it('larger than 10 MB: SOURCE_INDEX_TOO_BIG', async () => {
    upstream.faults.indexBody = `{"patchsets":[${'{"name":"K20990101_01"},'.repeat(460_000)}{}]}`;
    expect(Buffer.byteLength(upstream.faults.indexBody)).toBeGreaterThan(10 * 1024 * 1024);
    expect(await sync()).toMatchObject({ result: 'failed', errorCode: 'SOURCE_INDEX_TOO_BIG' });
  });

  it('bad entries are reported and skipped, good ones still sync', async () => {
    const good = await build();
    await upstream.publish(good);
    const listed = upstream.index().patchsets;
    const evil = { ...listed.at(-1)!, name: 'K20990101_01', archive: '../../etc/passwd' };
    upstream.faults.indexBody = JSON.stringify({ patchsets: [...listed, evil, { name: 'K20990102_01', released: 'yesterday' }, listed.at(-1), 'junk'] });
    const r = await sync();
    expect(r).toMatchObject({ result: 'partial', imported: [good.name], failed: [] });
    expect(r.badEntries.map((b) => [b.name, b.error.split(':')[0]])).toEqual([
      ['K20990101_01', 'archive'], ['K20990102_01', 'released'], [good.name, 'duplicate name (the first entry wins)'], [null, 'value'],
    ]);
    expect(upstream.requests.some((q) => q.path.includes('passwd'))).toBe(false);
  });
});

describe('refused archives and a full disk', () => {
  it('a hostile archive with a matching sha256 is refused once and not downloaded again until upstream changes it', async () => {
    const file = await buildMaliciousArchive('traversal', fixtures);
    const changelogPath = path.join(fixtures, 'evil.changelog');
    writeFileSync(changelogPath, 'evil\n');
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    const evil = { name: 'K20990201_01', archivePath: file, sha256, size: 0, changelogPath, files: new Map(), levels: new Map() };
    await upstream.publish(evil, { released: '2099-02-01T00:00:00Z' });
    const r = await sync();
    expect(r.failed).toEqual([{ name: evil.name, code: 'ARCHIVE_TRAVERSAL', error: expect.any(String) }]);
    await expectNoTrace(evil.name);
    const fetched = upstream.archiveRequests('malicious').length;
    const r2 = await sync();
    expect(r2.warnings.join('\n')).toContain(`${evil.name}: not downloaded again`);
    expect(upstream.archiveRequests('malicious')).toHaveLength(fetched);
    upstream.unpublish(evil.name);
    expect((await sync()).result).toBe('ok');
  });

  it('not enough free space (injected statfs): SOURCE_DISK_FULL before any byte is fetched; recovers', async () => {
    const p = await build();
    await upstream.publish(p);
    const before = upstream.archiveRequests().length;
    const r = await sync({ freeBytes: async () => 10_000 });
    expect(r).toMatchObject({ result: 'failed', failed: [{ name: p.name, code: 'SOURCE_DISK_FULL' }] });
    expect(upstream.archiveRequests()).toHaveLength(before);
    await expectNoTrace(p.name);
    expect((await sync()).imported).toEqual([p.name]);
  });

  it('the disk fills mid-download (injected ENOSPC): the partial file is deleted; recovers', async () => {
    const p = await build();
    await upstream.publish(p);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const r = await sync({ onWrite: (_name, written) => { if (written > 4096) throw enospc; } });
    expect(r).toMatchObject({ result: 'failed', failed: [{ name: p.name, code: 'SOURCE_DISK_FULL' }] });
    await expectNoTrace(p.name);
    expect((await sync()).imported).toEqual([p.name]);
  });
});

describe('one sync at a time', () => {
  const holder = (expiresAt: number) => JSON.stringify({ owner: 'other', pid: 1, host: 'elsewhere', since: Date.now(), expiresAt });

  it('skips while another live process holds the lock, takes over an expired one', async () => {
    await portal.app.db.prisma.setting.create({ data: { name: SYNC_LOCK, value: holder(Date.now() + 60_000) } });
    expect(await sync()).toMatchObject({ result: 'skipped', errorCode: 'SYNC_BUSY', error: expect.stringContaining('elsewhere pid 1') });
    await portal.app.db.prisma.setting.update({ where: { name: SYNC_LOCK }, data: { value: holder(Date.now() - 1) } });
    expect((await sync()).result).toBe('ok');
    expect(await portal.app.db.prisma.setting.findUnique({ where: { name: SYNC_LOCK } })).toBeNull();
  });

  it('two concurrent runs: one syncs, the other is skipped or waits for it', async () => {
    const p = await build();
    await upstream.publish(p);
    const [a, b] = await Promise.all([sync(), sync()]);
    expect([a.result, b.result].sort()).toEqual(['ok', 'skipped']);
    expect([...a.imported, ...b.imported]).toEqual([p.name]);
    const q = await build();
    await upstream.publish(q);
    const [c, d] = await Promise.all([runSync(deps()), runSync(deps(), { waitForLockMs: 10_000 })]);
    expect([c.result, d.result]).toEqual(['ok', 'ok']);
    expect([...c.imported, ...d.imported]).toEqual([q.name]);
  });
});
