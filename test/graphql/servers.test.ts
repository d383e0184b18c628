// The server list through GraphQL, end to end over HTTP: filters (wildcards,
// key, feed, tag, check-in age, kernel, out of date), sorting, cursor
// pagination (property-tested against every sort order), tags and deletion.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../server/generated/prisma/client.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { Gql, startApiPortal } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let admin: Gql;
const prisma = () => portal.app.db.prisma;

beforeAll(async () => {
  portal = await startApiPortal();
  admin = await portal.admin();
});
afterAll(async () => {
  await portal.stop();
});

describe('servers', () => {
  const KERNEL = 'c'.repeat(40);
  let feedId = 0;

  async function seed(p: PrismaClient) {
    const feed = await buildFeed(portal.app, { name: 'srv-feed' });
    feedId = feed.id;
    const a = await buildKey(portal.app, { key: 'srv-a' });
    const b = await buildKey(portal.app, { key: 'srv-b', feedId: feed.id });
    const now = Date.now();
    const rows = [];
    for (let i = 0; i < 36; i++) {
      const group = i % 3; // web (key a), db (key b), orphan (no key)
      rows.push({
        serverIdHash: `${i}`.padStart(64, 'f'),
        serverIdHint: `h${i}`,
        keyId: group === 0 ? a.id : group === 1 ? b.id : null,
        hostname: `${['web', 'db', 'orphan'][group]}${String(i).padStart(2, '0')}.example.com`,
        ip: `10.0.${group}.${i}`,
        kernelId: i % 4 === 0 ? KERNEL : `${i % 4}`.repeat(40),
        effectiveKernel: i % 2 ? '5.14.0-362.el9.x86_64' : '4.18.0-477.el8.x86_64',
        patchLevel: i % 5 === 0 ? null : i % 5,
        lastCheckinAt: i % 6 === 0 ? null : new Date(now - i * 3_600_000 * 3),
        registeredAt: new Date(now - i * 60_000),
      });
    }
    await p.server.createMany({ data: rows });
    const ps = await p.patchset.create({ data: { name: 'K20240301_01', releasedAt: new Date('2024-03-01'), sha256: '1'.repeat(64), storeDir: 'K20240301_01' } });
    await p.patchsetKernel.create({ data: { patchsetId: ps.id, kernelId: KERNEL, level: 3 } });
    const defaultFeed = await p.feed.findFirstOrThrow({ where: { isDefault: true } });
    await p.deployment.create({ data: { feedId: defaultFeed.id, patchsetId: ps.id } });
    await portal.app.agent.index.reload();
    const tagged = await p.server.findFirstOrThrow({ where: { hostname: 'web03.example.com' } });
    await p.serverTag.createMany({ data: [{ serverId: tagged.id, name: 'env', value: 'prod' }, { serverId: tagged.id, name: 'pci', value: null }] });
  }

  beforeAll(async () => {
    await seed(prisma());
  });

  const names = async (filter: string, extra = '') => {
    const r = await admin.request<{ servers: { totalCount: number; nodes: { hostname: string }[] } }>(`{ servers(first: 500, filter: ${filter}${extra}) { totalCount nodes { hostname } } }`);
    expect(r.errors).toEqual([]);
    expect(r.data!.servers.totalCount).toBe(r.data!.servers.nodes.length);
    return r.data!.servers.nodes.map((n) => n.hostname.split('.')[0]!);
  };

  it('filters by hostname and IP with wildcards, key, no key, feed, tag, check-in age, kernel, out of date', async () => {
    expect(await names('{ hostname: "web0?.example.com" }')).toEqual(['web00', 'web03', 'web06', 'web09']);
    expect(await names('{ hostname: "*3*.example.com", key: "srv-a" }')).toEqual(['web03', 'web30', 'web33']);
    expect(await names('{ ip: "10.0.1.1*" }')).toEqual(['db01', 'db10', 'db13', 'db16', 'db19']);
    expect(await names('{ search: "10.0.2.2?" }')).toEqual(['orphan20', 'orphan23', 'orphan26', 'orphan29']);
    expect(await names('{ hostname: "web%" }')).toEqual([]); // % and _ are literal, not LIKE wildcards
    expect((await names('{ withoutKey: true }')).every((n) => n.startsWith('orphan'))).toBe(true);
    expect((await names('{ feed: "srv-feed" }')).every((n) => n.startsWith('db'))).toBe(true);
    expect(await names('{ tag: "env:prod" }')).toEqual(['web03']);
    expect(await names('{ tag: "pci" }')).toEqual(['web03']);
    expect(await names('{ tag: "env:dev" }')).toEqual([]);
    // i*3 hours ago, i % 6 != 0 checked in
    expect(await names('{ checkedInWithinHours: 10 }')).toEqual(['db01', 'orphan02', 'web03']);
    expect(await names('{ notCheckedInForHours: 99, key: "srv-a" }')).toEqual(['web00', 'web06', 'web12', 'web18', 'web24', 'web30', 'web33']);
    expect((await names('{ kernel: "5.14*" }')).length).toBe(18);
    expect(await names(`{ kernel: "${KERNEL}", key: "srv-a" }`)).toEqual(['web00', 'web12', 'web24']);
    // KERNEL has level 3 deployed in the default feed only; patch level i % 5 (0 → none)
    const outOfDate = await names('{ outOfDate: true }');
    expect(outOfDate).toEqual(['web00', 'web12', 'orphan20', 'orphan32']); // db* are in srv-feed, where nothing is deployed
    const r = await admin.request<{ servers: { nodes: { outOfDate: boolean; latestLevel: number | null; patchLevel: number | null }[] } }>(
      '{ servers(filter: { outOfDate: true }) { nodes { outOfDate latestLevel patchLevel } } }',
    );
    expect(r.data!.servers.nodes.every((n) => n.outOfDate && n.latestLevel === 3 && (n.patchLevel ?? 0) < 3)).toBe(true);
    expect((await admin.request('{ servers(filter: { key: "nope" }) { totalCount } }')).code).toBe('KEY_NOT_FOUND');
    expect((await admin.request('{ servers(filter: { tag: "a;b" }) { totalCount } }')).code).toBe('INVALID_INPUT');
    expect((await admin.request('{ servers(first: 501) { totalCount } }')).code).toBe('INVALID_INPUT');
  });

  it('pages through any sort order with cursors: every server once, in order (property)', async () => {
    const all = await prisma().server.findMany({ where: { hostname: { endsWith: '.example.com' } } });
    const fields = { ID: 'id', HOSTNAME: 'hostname', IP: 'ip', REGISTERED_AT: 'registeredAt', LAST_CHECKIN_AT: 'lastCheckinAt', PATCH_LEVEL: 'patchLevel', KERNEL: 'effectiveKernel' } as const;
    const value = (s: (typeof all)[number], f: keyof typeof fields) => {
      const v = s[fields[f]];
      return v instanceof Date ? v.getTime() : v;
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...(Object.keys(fields) as (keyof typeof fields)[])), fc.constantFrom('ASC', 'DESC'), fc.integer({ min: 1, max: 13 }), async (field, dir, size) => {
        const expected = [...all]
          .sort((x, y) => {
            const a = value(x, field);
            const b = value(y, field);
            const c = a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;
            return (c || x.id - y.id) * (dir === 'ASC' ? 1 : -1);
          })
          .map((s) => s.id);
        const got: number[] = [];
        let after: string | null = null;
        for (let page = 0; page < 100; page++) {
          const r: Awaited<ReturnType<typeof admin.request<{ servers: { edges: { node: { id: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>>> = await admin.request(
            `query($after: String) { servers(first: ${size}, after: $after, filter: { hostname: "*.example.com" }, sort: { field: ${field}, direction: ${dir} }) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
            { after },
          );
          expect(r.errors).toEqual([]);
          got.push(...r.data!.servers.edges.map((e) => e.node.id));
          if (!r.data!.servers.pageInfo.hasNextPage) break;
          after = r.data!.servers.pageInfo.endCursor;
        }
        expect(got).toEqual(expected);
      }),
      { numRuns: 15 },
    );
  });

  it('rejects cursors from another sort order or forged ones', async () => {
    const first = await admin.request<{ servers: { pageInfo: { endCursor: string } } }>('{ servers(first: 1, sort: { field: HOSTNAME }) { pageInfo { endCursor } } }');
    const cursor = first.data!.servers.pageInfo.endCursor;
    expect((await admin.request(`{ servers(after: "${cursor}", sort: { field: IP }) { totalCount } }`)).code).toBe('INVALID_INPUT');
    for (const bad of ['garbage', Buffer.from('["HOSTNAME","ASC",{"x":1},1]').toString('base64url'), Buffer.from('["HOSTNAME","ASC","a","1 OR 1=1"]').toString('base64url')]) {
      expect((await admin.request(`{ servers(after: "${bad}", sort: { field: HOSTNAME }) { totalCount } }`)).code).toBe('INVALID_INPUT');
    }
  });

  it('shows key, feed, tags of each server; sets tags; deletes servers', async () => {
    const web3 = await prisma().server.findFirstOrThrow({ where: { hostname: 'web03.example.com' } });
    const db1 = await prisma().server.findFirstOrThrow({ where: { hostname: 'db01.example.com' } });
    const one = await admin.request<{ server: Record<string, unknown> }>(`{ server(id: ${db1.id}) { hostname key { key } feed { name } tags { name value } active } }`);
    expect(one.data!.server).toEqual({ hostname: 'db01.example.com', key: { key: 'srv-b' }, feed: { name: 'srv-feed' }, tags: [], active: true });
    const tagged = await admin.request<{ setServerTags: { tags: { name: string; value: string | null }[] } }>(`mutation { setServerTags(id: ${db1.id}, tags: "env:staging;gpu") { tags { name value } } }`);
    expect(tagged.data!.setServerTags.tags).toEqual([{ name: 'env', value: 'staging' }, { name: 'gpu', value: null }]);
    expect((await admin.request('mutation { setServerTags(id: 999999, tags: "a") { id } }')).code).toBe('SERVER_NOT_FOUND');
    expect((await admin.request(`mutation { setServerTags(id: ${db1.id}, tags: "${'x'.repeat(70)}") { id } }`)).code).toBe('INVALID_INPUT');
    const before = (await admin.request<{ stats: { totalServers: number } }>('{ stats { totalServers } }')).data!.stats.totalServers;
    const del = await admin.request<{ deleteServers: { deleted: number } }>(`mutation { deleteServers(ids: [${web3.id}, ${db1.id}, 999999]) { deleted } }`);
    expect(del.data!.deleteServers.deleted).toBe(2);
    expect((await admin.request<{ stats: { totalServers: number } }>('{ stats { totalServers } }')).data!.stats.totalServers).toBe(before - 2);
    expect(await prisma().serverTag.count({ where: { serverId: web3.id } })).toBe(0);
    expect(feedId).toBeGreaterThan(0);
  });
});
