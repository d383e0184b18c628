// List pages cost a fixed number of SQL statements, whatever the number of
// rows: proved by counting the statements of a Prisma client with query
// events, behind a second GraphQL endpoint over the same database.
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../server/generated/prisma/client.js';
import { createApiToken } from '../../server/commands/tokens.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { Gql, startApiPortal, startExtraGraphQL } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let extra: Awaited<ReturnType<typeof startExtraGraphQL>>;
/** A client of its own whose every SQL statement emits a query event. */
function countingClient(dbFile: string) {
  const adapter = new PrismaBetterSqlite3({ url: `file:${dbFile}`, timeout: 10_000 }, { timestampFormat: 'unixepoch-ms' });
  return new PrismaClient({ adapter, log: [{ emit: 'event' as const, level: 'query' as const }] });
}
let counting: ReturnType<typeof countingClient>;
let client: Gql;
let statements: string[] = [];

async function seed(prefix: string, n: number) {
  const p = portal.app.db.prisma;
  const feed = await buildFeed(portal.app, { name: `${prefix}-feed` });
  for (let i = 0; i < n; i++) {
    const key = await buildKey(portal.app, { key: `${prefix}-key-${i}`, feedId: i % 2 ? feed.id : undefined });
    const s = await p.server.create({ data: { serverIdHash: `${prefix}-${i}-`.padEnd(64, "0"), serverIdHint: 'x', keyId: key.id, hostname: `${prefix}-${i}`, kernelId: 'f'.repeat(40), patchLevel: 1 } });
    await p.serverTag.createMany({ data: [{ serverId: s.id, name: 'env', value: 'prod' }, { serverId: s.id, name: 'rack', value: `${i}` }] });
    const ps = await p.patchset.create({ data: { name: `K20${prefix === 'small' ? 10 : 11}${String(i).padStart(4, '0')}_01`, releasedAt: new Date(Date.UTC(2010, 0, 1 + i)), sha256: '0'.repeat(64), storeDir: `${prefix}${i}` } });
    await p.patchsetCve.create({ data: { patchsetId: ps.id, kernelId: 'f'.repeat(40), cve: `CVE-2020-${1000 + i}` } });
    await p.deployment.create({ data: { feedId: feed.id, patchsetId: ps.id } });
  }
}

async function count(query: string): Promise<number> {
  statements = [];
  const r = await client.request(query);
  expect(r.errors).toEqual([]);
  return statements.length;
}

beforeAll(async () => {
  portal = await startApiPortal();
  counting = countingClient(portal.app.config.dbFile!);
  counting.$on('query', (e) => void statements.push(e.query));
  extra = await startExtraGraphQL(portal.app, { db: { ...portal.app.db, prisma: counting as unknown as PrismaClient } });
  const admin = await portal.app.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
  client = new Gql(extra.url);
  client.apiKey = (await createApiToken(portal.app.db.prisma, admin.id, { name: 'n+1' })).token;
  await client.request('{ me { id } }'); // the token's lastUsedAt write happens once
});
afterAll(async () => {
  await extra.close();
  await counting.$disconnect();
  await portal.stop();
});

const SERVERS = (prefix: string) => `{ servers(first: 100, filter: { hostname: "${prefix}-*" }) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id hostname tags { name value } key { key serverCount feed { name keyCount } } feed { name } outOfDate latestLevel active } }
  nodes { id ip }
} }`;
const KEYS = '{ keys { key description serverCount feed { name isDefault keyCount deployedCount } } }';
const PATCHSETS = '{ patchsets(first: 500) { name cves kernelCount channels feeds { feed { name } deployed deployedAt deployedBy } } }';
const FEEDS = '{ feeds { name keyCount deployedCount keys { key serverCount } } }';
const STATS = '{ stats { totalServers checkedInLast48h keyInventory { key serverCount } } }';

describe('no N+1 on list pages', () => {
  it('the same number of statements for 3 rows and for 60 rows', async () => {
    await seed('small', 3);
    const small = { servers: await count(SERVERS('small')), keys: await count(KEYS), patchsets: await count(PATCHSETS), feeds: await count(FEEDS), stats: await count(STATS) };
    await seed('big', 60);
    const big = { servers: await count(SERVERS('big')), keys: await count(KEYS), patchsets: await count(PATCHSETS), feeds: await count(FEEDS), stats: await count(STATS) };
    expect(big).toEqual(small);
    // and few in absolute terms (auth, page of ids, rows + relations, counters, feeds)
    for (const [name, n] of Object.entries(big)) expect(n, `${name}: ${statements.join('\n')}`).toBeLessThanOrEqual(12);
  });
});
