// The CVE index through GraphQL, end to end: real archives whose kpatch.info
// carry kpatch-cve: lines, deployed per feed, agents checking in with their
// loaded patch levels; then "which servers are still exposed to CVE-X".
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPatchset } from '../../server/patches/store.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels, type FixtureKernel } from '../support/patchset-fixtures.js';
import { Gql, startApiPortal } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let admin: Gql;
let fixtures: string;
const [kA, kB, kC, kOther] = makeKernels(4, 21);

// CVE-2024-1111: K20240110_01 (level 1 of kA, kB) and K20240210_01 (level 2 of kA, kB, kC):
// the fixing level is 1 for kA and kB, 2 for kC.
// CVE-2024-2222: only K20240210_01 (level 2 of kA, kB, kC).
// default feed: both deployed; "lagging": only the first; "empty": nothing.
const AGENTS: { host: string; key: string; kernel: FixtureKernel; level: number | null }[] = [
  { host: 'def-none', key: 'cve-def', kernel: kA!, level: null },
  { host: 'def-one', key: 'cve-def', kernel: kA!, level: 1 },
  { host: 'def-two', key: 'cve-def', kernel: kB!, level: 2 },
  { host: 'lag-one', key: 'cve-lag', kernel: kA!, level: 1 },
  { host: 'empty-none', key: 'cve-empty', kernel: kB!, level: null },
  { host: 'def-other', key: 'cve-def', kernel: kOther!, level: 3 },
  ...[0, 1, 2, 3, 4].map((i) => ({ host: `def-c${i}`, key: 'cve-def', kernel: kC!, level: i % 2 ? 1 : null })),
];

beforeAll(async () => {
  portal = await startApiPortal();
  admin = await portal.admin();
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-cve-'));
  const store = path.join(portal.dataDir, 'patches');
  const p1 = await buildPatchset({ name: 'K20240110_01', kernels: [kA!, kB!], level: 1, cves: ['CVE-2024-1111'], outDir: fixtures });
  const p2 = await buildPatchset({ name: 'K20240210_01', kernels: [kA!, kB!, kC!], level: 2, cves: ['CVE-2024-1111', 'CVE-2024-2222'], outDir: fixtures });
  for (const p of [p1, p2]) await importPatchset(portal.app.db.prisma, store, p.archivePath, { name: p.name, expectedSha256: p.sha256 });
  const lagging = await buildFeed(portal.app, { name: 'lagging' });
  const empty = await buildFeed(portal.app, { name: 'empty' });
  await buildKey(portal.app, { key: 'cve-def' });
  await buildKey(portal.app, { key: 'cve-lag', feedId: lagging.id });
  await buildKey(portal.app, { key: 'cve-empty', feedId: empty.id });
  for (const [feed, ps] of [['default', 'K20240210_01'], ['lagging', 'K20240110_01']]) {
    const r = await admin.request(`mutation { deployUpTo(feed: "${feed}", patchset: "${ps}") { changed } }`);
    expect(r.errors).toEqual([]);
  }
  for (const a of AGENTS) {
    const sim = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: a.host, procVersion: a.kernel.procVersion, patchLevel: a.level });
    expect((await sim.register(a.key)).code).toBe(0);
    await sim.checkin();
  }
  portal.app.agent.checkins.flush();
  const p = portal.app.db.prisma;
  for (let i = 0; i < 100 && (await p.server.count({ where: { lastCheckinAt: { not: null } } })) < AGENTS.length; i++) await new Promise((r) => setTimeout(r, 20));
}, 60_000);

afterAll(async () => {
  await portal.stop();
  rmSync(fixtures, { recursive: true, force: true });
});

type Row = { cursor: string; fixingLevel: number | null; node: { hostname: string; patchLevel: number | null } };
type CveAnswer = { cve: { id: string; kernels: string[]; patchsets: { name: string }[]; counts: { exposed: number; fixNotDeployed: number; fixed: number }; servers: { edges: Row[]; nodes: { hostname: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null };

const QUERY = `query($id: String!, $state: CveServerState, $first: Int, $after: String) {
  cve(id: $id) { id kernels patchsets { name } counts { exposed fixNotDeployed fixed }
    servers(state: $state, first: $first, after: $after) { edges { cursor fixingLevel node { hostname patchLevel } } nodes { hostname } pageInfo { hasNextPage endCursor } } } }`;

async function hosts(gql: Gql, id: string, state: string): Promise<string[]> {
  const r = await gql.request<CveAnswer>(QUERY, { id, state, first: 500 });
  expect(r.errors).toEqual([]);
  return r.data!.cve!.servers.nodes.map((n) => n.hostname).sort();
}

describe('cve(id)', () => {
  it('sorts servers into exposed, fixed and fix-not-deployed; other kernels are not listed', async () => {
    const r = await admin.request<CveAnswer>(QUERY, { id: 'CVE-2024-1111', state: 'EXPOSED' });
    expect(r.errors).toEqual([]);
    const cve = r.data!.cve!;
    expect(cve.id).toBe('CVE-2024-1111');
    expect(cve.kernels).toEqual([kA!.khash, kB!.khash, kC!.khash].sort());
    expect(cve.patchsets.map((p) => p.name)).toEqual(['K20240110_01', 'K20240210_01']);
    // the lowest deployed level carrying it: 1 for kA/kB (default and lagging feed), 2 for kC
    expect(cve.counts).toEqual({ exposed: 6, fixNotDeployed: 1, fixed: 3 });
    expect(cve.servers.edges.map((e) => [e.node.hostname, e.node.patchLevel, e.fixingLevel])).toEqual([
      ['def-none', null, 1],
      ['def-c0', null, 2],
      ['def-c1', 1, 2], // level 1 does not fix it on kC
      ['def-c2', null, 2],
      ['def-c3', 1, 2],
      ['def-c4', null, 2],
    ]);
    expect(await hosts(admin, 'CVE-2024-1111', 'FIXED')).toEqual(['def-one', 'def-two', 'lag-one']);
    expect(await hosts(admin, 'CVE-2024-1111', 'FIX_NOT_DEPLOYED')).toEqual(['empty-none']);
    for (const state of ['EXPOSED', 'FIXED', 'FIX_NOT_DEPLOYED']) expect(await hosts(admin, 'CVE-2024-1111', state)).not.toContain('def-other');
  });

  it('a fix only in a newer patchset: below its level is exposed, a feed without it is fix-not-deployed', async () => {
    const r = await admin.request<CveAnswer>(QUERY, { id: 'cve-2024-2222', state: 'FIXED' });
    expect(r.data!.cve!.counts).toEqual({ exposed: 7, fixNotDeployed: 2, fixed: 1 });
    expect(r.data!.cve!.servers.edges.map((e) => [e.node.hostname, e.fixingLevel])).toEqual([['def-two', 2]]);
    expect(await hosts(admin, 'CVE-2024-2222', 'EXPOSED')).toEqual(['def-c0', 'def-c1', 'def-c2', 'def-c3', 'def-c4', 'def-none', 'def-one']);
    const fnd = await admin.request<CveAnswer>(QUERY, { id: 'CVE-2024-2222', state: 'FIX_NOT_DEPLOYED' });
    expect(fnd.data!.cve!.servers.edges.map((e) => [e.node.hostname, e.fixingLevel]).sort()).toEqual([['empty-none', null], ['lag-one', null]]);
  });

  it('pages by server id with first/after', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r: Awaited<ReturnType<typeof admin.request<CveAnswer>>> = await admin.request<CveAnswer>(QUERY, { id: 'CVE-2024-2222', state: 'EXPOSED', first: 3, after });
      expect(r.errors).toEqual([]);
      const s = r.data!.cve!.servers;
      expect(s.edges.length).toBeLessThanOrEqual(3);
      seen.push(...s.edges.map((e) => e.node.hostname));
      pages++;
      if (!s.pageInfo.hasNextPage) break;
      after = s.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['def-none', 'def-one', 'def-c0', 'def-c1', 'def-c2', 'def-c3', 'def-c4']); // registration (id) order
    expect((await admin.request(QUERY, { id: 'CVE-2024-2222', after: 'bogus' })).code).toBe('INVALID_INPUT');
    expect((await admin.request(QUERY, { id: 'CVE-2024-2222', first: 501 })).code).toBe('INVALID_INPUT');
  });

  it('a read-only user can ask; anonymous callers cannot; bad ids are INVALID_INPUT; unknown CVEs are null', async () => {
    const viewer = await portal.viewer();
    expect(await hosts(viewer, 'CVE-2024-1111', 'FIX_NOT_DEPLOYED')).toEqual(['empty-none']);
    expect((await portal.anon().request(QUERY, { id: 'CVE-2024-1111' })).code).toBe('UNAUTHENTICATED');
    for (const id of ['CVE-24-1', 'CVE-2024-12', 'x', "CVE-2024-1111' OR 1=1"]) expect((await viewer.request(QUERY, { id })).code).toBe('INVALID_INPUT');
    const unknown = await viewer.request<CveAnswer>(QUERY, { id: 'CVE-2019-9999' });
    expect(unknown.errors).toEqual([]);
    expect(unknown.data!.cve).toBeNull();
  });
});

describe('cves', () => {
  it('lists known CVE ids with how many kernels and patchsets carry them; search narrows', async () => {
    const r = await admin.request<{ cves: { id: string; kernelCount: number; patchsetCount: number }[] }>('{ cves { id kernelCount patchsetCount } }');
    expect(r.errors).toEqual([]);
    expect(r.data!.cves).toEqual([
      { id: 'CVE-2024-2222', kernelCount: 3, patchsetCount: 1 },
      { id: 'CVE-2024-1111', kernelCount: 3, patchsetCount: 2 },
    ]);
    const s = await (await portal.viewer()).request<{ cves: { id: string }[] }>('{ cves(search: "-1111", first: 10) { id } }');
    expect(s.data!.cves).toEqual([{ id: 'CVE-2024-1111' }]);
    expect((await admin.request('{ cves(first: -1) { id } }')).code).toBe('INVALID_INPUT');
  });
});
