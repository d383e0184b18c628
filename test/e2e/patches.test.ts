// Patch store → feeds → agents: import real archives, deploy and roll back per
// feed, and check what an agent simulator sees and downloads, byte for byte.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployUpTo, rollBackFrom } from '../../server/patches/deploy.js';
import { importPatchset } from '../../server/patches/store.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { buildMaliciousArchive, buildPatchset, makeKernels, MALICIOUS_KINDS, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';

let portal: TestPortal;
let fixtures: string;
const kernels = makeKernels(3, 42);
const sets: BuiltPatchset[] = [];
const storeDir = () => path.join(portal.dataDir, 'patches');

async function importBuilt(p: BuiltPatchset, extra: { blocked?: boolean } = {}) {
  const r = await importPatchset(portal.app.db.prisma, storeDir(), p.archivePath, { name: p.name, expectedSha256: p.sha256, ...extra });
  await portal.app.agent.index.reload();
  return r;
}

async function refresh() {
  await portal.app.agent.index.reload();
}

const agentFor = (k = kernels[0]!, opts: Partial<ConstructorParameters<typeof AgentSim>[0]> = {}) =>
  new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, procVersion: k.procVersion, ...opts });

beforeAll(async () => {
  portal = await startTestPortal();
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-fixtures-'));
  const formats = ['gz', 'bz2', 'zst'] as const;
  for (let i = 0; i < 3; i++) {
    sets.push(await buildPatchset({
      name: `K2024${String(i + 1).padStart(2, '0')}01_01`, kernels, level: i + 1, format: formats[i], types: ['default', 'extra'], withFixups: i === 1,
      cves: [`CVE-2024-${1000 + i}`], outDir: fixtures,
    }));
  }
  for (const s of sets) await importBuilt(s);
});
afterAll(async () => {
  await portal.stop();
});

describe('serving deployed patchsets to agents', () => {
  it('an agent gets its feed level, every file byte for byte, and sees rollbacks at once', async () => {
    const feed = await buildFeed(portal.app, { name: 'servers-a' });
    const key = await buildKey(portal.app, { feedId: feed.id });
    const agent = agentFor(kernels[0], { hostname: 'agent-a' });
    expect((await agent.register(key.key)).code).toBe(0);
    expect((await agent.checkin()).text).toBe('0'); // known kernel, nothing deployed in this feed

    await deployUpTo(portal.app.db.prisma, feed.id, sets[1]!.name);
    await refresh();
    expect((await agent.checkin()).level).toBe(2);

    const prefix = `${kernels[0]!.khash}/`;
    const mine = [...sets[1]!.files].filter(([p]) => p.startsWith(prefix));
    expect(mine.length).toBeGreaterThan(8);
    for (const [rel, bytes] of mine) {
      const r = await agent.fetch(rel);
      expect(r.status, rel).toBe(200);
      expect(Buffer.compare(r.body, bytes), rel).toBe(0);
      expect(Number(r.headers['content-length'])).toBe(bytes.length);
    }
    // level 1 (deployed with it) is served from its own patchset; level 3 is not deployed
    const l1 = [...sets[0]!.files].find(([p]) => p === `${prefix}1/kpatch.bin`)!;
    expect(Buffer.compare((await agent.fetch(l1[0])).body, l1[1])).toBe(0);
    expect((await agent.fetch(`${prefix}3/kpatch.bin`)).status).toBe(404);

    const info = await agent.latestPatchInfo();
    expect(info.info?.text).toContain('kpatch-cve: CVE-2024-1001');

    await rollBackFrom(portal.app.db.prisma, feed.id, sets[1]!.name);
    await refresh();
    expect((await agent.checkin()).level).toBe(1);
    expect((await agent.fetch(`${prefix}2/kpatch.bin`)).status).toBe(404);
  });

  it('unregistered agents get the default feed; unknown ids get 403', async () => {
    const def = portal.app.agent.store.defaultFeedId();
    await deployUpTo(portal.app.db.prisma, def, sets[0]!.name);
    await refresh();
    const anon = agentFor(kernels[1]);
    expect((await anon.checkin()).level).toBe(1);
    expect((await anon.fetchKernelFile('1/kpatch.bin')).status).toBe(200);
    const stranger = agentFor(kernels[1], { serverId: 'Zzzzzzzzzzzzzzzz' });
    expect((await stranger.fetchKernelFile('1/kpatch.bin')).status).toBe(403);
    expect((await stranger.checkin()).status).toBe(403);
    await rollBackFrom(portal.app.db.prisma, def, sets[0]!.name);
    await refresh();
  });

  it('supports HEAD, Range, ETag and If-None-Match', async () => {
    const feed = await buildFeed(portal.app);
    await deployUpTo(portal.app.db.prisma, feed.id, sets[2]!.name);
    await refresh();
    const key = await buildKey(portal.app, { feedId: feed.id });
    const agent = agentFor(kernels[2]);
    await agent.register(key.key);
    const url = `${portal.url}/${kernels[2]!.khash}/3/kpatch.bin`;
    const bytes = sets[2]!.files.get(`${kernels[2]!.khash}/3/kpatch.bin`)!;
    const auth = { Authorization: agent.authHeader()! };
    const head = await fetch(url, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    const etag = head.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const part = await fetch(url, { headers: { ...auth, Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${bytes.length}`);
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), bytes.subarray(10, 20))).toBe(0);
    const tail = await fetch(url, { headers: { ...auth, Range: `bytes=${bytes.length - 5}-` } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 5));
    expect((await fetch(url, { headers: { ...auth, Range: `bytes=${bytes.length}-` } })).status).toBe(416);
    expect((await fetch(url, { headers: { ...auth, 'If-None-Match': etag } })).status).toBe(304);
  });

  it('serves only looked-up paths: traversal and odd names are 404', async () => {
    const k = kernels[0]!.khash;
    const anon = agentFor();
    for (const p of [`${k}/1/../../../etc/passwd`, `${k}/1/%2e%2e/kpatch.bin`, `${k}/1/kpatch.bin/`, `${k}/01/kpatch.bin`, `${k}/1/kpatch.exe`, `${k}/1/random.txt`, `../${k}/latest.v2`, `${k.toUpperCase()}/latest.v2`]) {
      const r = await anon.fetch(p);
      expect([403, 404], p).toContain(r.status);
    }
  });

  it('serves fixups files listed by the level, and only those', async () => {
    const feed = await buildFeed(portal.app);
    await deployUpTo(portal.app.db.prisma, feed.id, sets[1]!.name);
    await refresh();
    const key = await buildKey(portal.app, { feedId: feed.id });
    const agent = agentFor(kernels[0]);
    await agent.register(key.key);
    const prefix = `${kernels[0]!.khash}/2/`;
    const fixups = [...sets[1]!.files.keys()].filter((p) => p.startsWith(prefix) && !/\/kpatch[^/]*$/.test(p));
    expect(fixups.length).toBeGreaterThan(0);
    for (const f of fixups) expect((await agent.fetch(f)).status, f).toBe(200);
  });

  it('v2-new-version answers 404 and userspace bundles 404 when none', async () => {
    const anon = agentFor();
    expect((await anon.fetch('v2-new-version')).status).toBe(404);
    expect((await anon.fetch('userspace/libc/0123456789abcdef/kpatch.tgz')).status).toBe(404);
  });
});

describe('deploy and rollback', () => {
  it('refuses to deploy a blocked patchset, and skips it when deploying a later one', async () => {
    const blocked = await buildPatchset({ name: 'K20240415_01', kernels, level: 4, outDir: fixtures });
    const after = await buildPatchset({ name: 'K20240501_01', kernels, level: 5, outDir: fixtures });
    await importBuilt(blocked, { blocked: true });
    await importBuilt(after);
    const feed = await buildFeed(portal.app);
    await expect(deployUpTo(portal.app.db.prisma, feed.id, blocked.name)).rejects.toMatchObject({ code: 'PATCHSET_BLOCKED' });
    const r = await deployUpTo(portal.app.db.prisma, feed.id, after.name);
    expect(r.changed).toEqual([...sets.map((s) => s.name), after.name]);
    await rollBackFrom(portal.app.db.prisma, feed.id, sets[0]!.name);
    expect(await portal.app.db.prisma.deployment.count({ where: { feedId: feed.id } })).toBe(0);
  });

  it('keeps the deployed set a prefix under concurrent deploys and rollbacks from two clients', async () => {
    const feed = await buildFeed(portal.app);
    const names = (await portal.app.db.prisma.patchset.findMany({ where: { blocked: false, product: 'kernel' }, orderBy: [{ releasedAt: 'asc' }, { name: 'asc' }] })).map((p) => p.name);
    const ops = (seed: number) => JSON.stringify(Array.from({ length: 15 }, (_, i) => [(i + seed) % 3 === 0 ? 'rollback' : 'deploy', names[(i * 7 + seed) % names.length]]));
    const worker = (seed: number) => new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/deploy-worker.ts', portal.dataDir, String(feed.id), ops(seed)], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('exit', (code) => resolve(code ?? -1));
    });
    const watch = (async () => {
      const seen: string[][] = [];
      for (let i = 0; i < 40; i++) {
        seen.push((await portal.app.db.prisma.deployment.findMany({ where: { feedId: feed.id }, include: { patchset: true } })).map((d) => d.patchset.name));
        await new Promise((r) => setTimeout(r, 25));
      }
      return seen;
    })();
    expect(await Promise.all([worker(1), worker(2)])).toEqual([0, 0]);
    const final = (await portal.app.db.prisma.deployment.findMany({ where: { feedId: feed.id }, include: { patchset: true } })).map((d) => d.patchset.name);
    for (const deployed of [...(await watch), final]) {
      expect(new Set(deployed), `not a prefix: ${deployed}`).toEqual(new Set(names.slice(0, deployed.length)));
    }
  }, 60_000);
});

describe('monitoring endpoints', () => {
  it('nagios reports up to date, then OUTOFDATE when a newer level is deployed; patchset JSON lists servers', async () => {
    const feed = await buildFeed(portal.app, { name: 'monitored' });
    const key = await buildKey(portal.app, { feedId: feed.id });
    await deployUpTo(portal.app.db.prisma, feed.id, sets[0]!.name);
    await refresh();
    const agent = agentFor(kernels[0], { hostname: 'mon-1' });
    await agent.register(key.key);
    agent.patchLevel = 1;
    await agent.checkin();
    portal.app.agent.checkins.flush();
    const nagios = async () => (await fetch(`${portal.regUrl}/nagios/${key.key}`)).text();
    expect(await nagios()).toBe('KernelCare OK - all servers are up to date!|uptodate=1;outofdate=0;unsupported=0;inactive=0\n');

    await deployUpTo(portal.app.db.prisma, feed.id, sets[1]!.name);
    await refresh();
    expect(await nagios()).toBe(`1 machine is OUTOFDATE!|uptodate=0;outofdate=1;unsupported=0;inactive=0\nmon-1 (127.0.0.1) is OUTOFDATE\n`);

    const unsupported = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: 'odd-kernel', procVersion: 'Linux version 9.9.9-custom\n' });
    await unsupported.register(key.key);
    await unsupported.checkin();
    portal.app.agent.checkins.flush();
    const text = await nagios();
    expect(text.split('\n')[0]).toBe('1 machine is OUTOFDATE!|uptodate=0;outofdate=1;unsupported=1;inactive=0');
    expect(text).toContain('odd-kernel (127.0.0.1) is UNSUPPORTED');

    expect(await (await fetch(`${portal.regUrl}/nagios/no-such-key`)).text()).toBe('Servers not found for key no-such-key\n');
    const json = await (await fetch(`${portal.regUrl}/patchset/${key.key}`)).json();
    expect(json.data).toContainEqual(['127.0.0.1', kernels[0]!.khash, 1]);
    expect(json.data).toHaveLength(2);
  });
});

describe('hostile archives', () => {
  it.each(MALICIOUS_KINDS)('refuses %s and leaves store and database unchanged', async (kind) => {
    const archive = await buildMaliciousArchive(kind, mkdtempSync(path.join(os.tmpdir(), `evil-${kind}-`)));
    const before = { rows: await portal.app.db.prisma.patchset.count(), dirs: readdirSync(storeDir()).sort() };
    await expect(importPatchset(portal.app.db.prisma, storeDir(), archive, { name: `K20991231_${kind.replace(/\W/g, '')}` })).rejects.toMatchObject({ code: expect.stringMatching(/^ARCHIVE_/) });
    expect(await portal.app.db.prisma.patchset.count()).toBe(before.rows);
    expect(readdirSync(storeDir()).sort()).toEqual(before.dirs);
    expect(readdirSync(path.join(storeDir(), '.staging'))).toEqual([]);
  });

  it('refuses a wrong checksum', async () => {
    await expect(importPatchset(portal.app.db.prisma, storeDir(), sets[0]!.archivePath, { name: 'K20990101_01', expectedSha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'ARCHIVE_CHECKSUM' });
    expect(await portal.app.db.prisma.patchset.findUnique({ where: { name: 'K20990101_01' } })).toBeNull();
  });
});
