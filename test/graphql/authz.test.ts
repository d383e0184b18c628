// Authorization: every field declares its scope; read-only users can read
// everything and change nothing; anonymous callers get nothing but login.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../server/graphql/schema.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { startApiPortal } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let serverId = 0;

/** Mutations a signed-in read-only user may run: they touch only their own session and credentials. */
const SELF_SERVICE = ['login', 'logout', 'changeMyPassword', 'createApiToken', 'revokeApiToken'];
/** Mutations anyone may call. */
const PUBLIC = ['login', 'logout'];

/** One call of every other mutation, with arguments that would succeed for an admin. */
const ADMIN_MUTATIONS: Record<string, () => string> = {
  addUser: () => 'mutation { addUser(input: {username: "newbie", password: "a long password"}) { id } }',
  deleteUser: () => 'mutation { deleteUser(username: "admin") { id } }',
  setUserPassword: () => 'mutation { setUserPassword(username: "admin", password: "taken over now") { id } }',
  setUserReadOnly: () => 'mutation { setUserReadOnly(username: "viewer", readOnly: false) { id } }',
  createKey: () => 'mutation { createKey(input: {description: "x"}) { id } }',
  updateKey: () => 'mutation { updateKey(key: "authz-key", input: {description: "changed", serverLimit: 1}) { id } }',
  deleteKey: () => 'mutation { deleteKey(key: "authz-key") { key } }',
  deleteServers: () => `mutation { deleteServers(ids: [${serverId}]) { deleted } }`,
  setServerTags: () => `mutation { setServerTags(id: ${serverId}, tags: "env:prod") { id } }`,
  createFeed: () => 'mutation { createFeed(input: {name: "new-feed"}) { id } }',
  updateFeed: () => 'mutation { updateFeed(name: "authz-feed", input: {autoUpdate: true}) { id } }',
  deleteFeed: () => 'mutation { deleteFeed(name: "authz-feed") { name } }',
  deployUpTo: () => 'mutation { deployUpTo(feed: "default", patchset: "K20240101_01") { changed } }',
  rollBackFrom: () => 'mutation { rollBackFrom(feed: "authz-feed", patchset: "K20240101_01") { changed } }',
  updatePatchSourceSettings: () => 'mutation { updatePatchSourceSettings(input: {url: "https://patches.example/", password: "pw"}) { configured } }',
  syncPatchSource: () => 'mutation { syncPatchSource { running } }',
};

/** Everything a mutation could change, as one comparable value. */
async function snapshot() {
  const p = portal.app.db.prisma;
  const [users, keys, feeds, servers, tags, deployments, settings, tokens] = await Promise.all([
    p.user.findMany({ orderBy: { id: 'asc' } }),
    p.key.findMany({ orderBy: { id: 'asc' } }),
    p.feed.findMany({ orderBy: { id: 'asc' } }),
    p.server.findMany({ orderBy: { id: 'asc' } }),
    p.serverTag.findMany({ orderBy: [{ serverId: 'asc' }, { name: 'asc' }] }),
    p.deployment.findMany({ orderBy: [{ feedId: 'asc' }, { patchsetId: 'asc' }] }),
    p.setting.findMany({ orderBy: { name: 'asc' } }),
    p.apiToken.findMany({ orderBy: { id: 'asc' } }),
  ]);
  return JSON.stringify({ users: users.map(({ lastLoginAt: _l, ...u }) => u), keys, feeds, servers, tags, deployments, settings, tokens });
}

beforeAll(async () => {
  portal = await startApiPortal();
  const p = portal.app.db.prisma;
  const feed = await buildFeed(portal.app, { name: 'authz-feed' });
  const key = await buildKey(portal.app, { key: 'authz-key', feedId: feed.id });
  serverId = (await p.server.create({ data: { serverIdHash: 'a'.repeat(64), serverIdHint: 'aaaa', keyId: key.id, hostname: 'web1' } })).id;
  const ps = await p.patchset.create({ data: { name: 'K20240101_01', releasedAt: new Date('2024-01-01'), sha256: '0'.repeat(64), storeDir: 'K20240101_01' } });
  await p.deployment.create({ data: { feedId: feed.id, patchsetId: ps.id } });
});
afterAll(async () => {
  await portal.stop();
});

describe('scopes are declared on every field', () => {
  const scopesOf = (field: { extensions?: Record<string, unknown> | null }) =>
    (field.extensions?.pothosOptions as { authScopes?: Record<string, boolean> } | undefined)?.authScopes;

  it('every Query, Mutation and Subscription field has authScopes', () => {
    const missing: string[] = [];
    for (const type of [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!]) {
      for (const [name, field] of Object.entries(type.getFields())) {
        const scopes = scopesOf(field);
        if (!scopes || Object.keys(scopes).length === 0) missing.push(`${type.name}.${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every mutation but the self-service ones requires admin', () => {
    for (const [name, field] of Object.entries(schema.getMutationType()!.getFields())) {
      const scopes = scopesOf(field)!;
      if (PUBLIC.includes(name)) expect(scopes, name).toEqual({ public: true });
      else if (SELF_SERVICE.includes(name)) expect(scopes, name).toEqual({ user: true });
      else expect(scopes, name).toEqual({ admin: true });
    }
  });

  it('the table below covers every mutation (a new mutation must be added to it)', () => {
    const names = Object.keys(schema.getMutationType()!.getFields()).sort();
    expect([...SELF_SERVICE, ...Object.keys(ADMIN_MUTATIONS)].sort()).toEqual(names);
  });
});

describe('a read-only user', () => {
  it('tries every admin mutation: READ_ONLY each time, and nothing changes', async () => {
    const viewer = await portal.viewer();
    const before = await snapshot();
    for (const [name, doc] of Object.entries(ADMIN_MUTATIONS)) {
      const r = await viewer.request(doc());
      expect(r.code, name).toBe('READ_ONLY');
      expect(r.data, name).toBeNull();
    }
    expect(await snapshot()).toBe(before);
  });

  it('can read everything', async () => {
    const viewer = await portal.viewer();
    const r = await viewer.request(`{
      me { username readOnly } users { username } apiTokens { id }
      keys { key serverCount feed { name } } key(key: "authz-key") { key }
      servers { totalCount nodes { hostname tags { name } key { key } feed { name } outOfDate latestLevel active } }
      server(id: ${serverId}) { hostname }
      feeds { name keyCount deployedCount keys { key } } feed(name: "authz-feed") { name }
      patchsets { name cves feeds { deployed feed { name } } } patchset(name: "K20240101_01") { name }
      stats { totalServers checkedInLast48h keyInventory { key serverCount } }
      patchSource { settings { configured passwordSet } status { running } }
      portalSettings { sessionHours } health { ok }
    }`);
    expect(r.errors).toEqual([]);
    expect(r.data!.me).toEqual({ username: 'viewer', readOnly: true });
  });

  it('may manage only its own token and password', async () => {
    const viewer = await portal.viewer();
    const t = await viewer.request<{ createApiToken: { apiToken: { id: number } } }>('mutation { createApiToken(input: {name: "mine"}) { apiToken { id } } }');
    expect(t.errors).toEqual([]);
    expect((await viewer.request(`mutation { revokeApiToken(id: ${t.data!.createApiToken.apiToken.id}) { id } }`)).errors).toEqual([]);
  });
});

describe('an anonymous caller', () => {
  it('gets UNAUTHENTICATED from every mutation but login/logout, every query but me/health, and nothing changes', async () => {
    const anon = portal.anon();
    const before = await snapshot();
    for (const [name, doc] of Object.entries(ADMIN_MUTATIONS)) expect((await anon.request(doc())).code, name).toBe('UNAUTHENTICATED');
    expect((await anon.request('mutation { createApiToken(input: {name: "x"}) { token } }')).code).toBe('UNAUTHENTICATED');
    expect((await anon.request('mutation { changeMyPassword(currentPassword: "a", newPassword: "bbbbbbbbbb") { id } }')).code).toBe('UNAUTHENTICATED');
    for (const q of ['{ keys { key } }', '{ servers { totalCount } }', '{ stats { totalServers } }', '{ users { username } }', '{ patchSource { settings { url } } }']) {
      expect((await anon.request(q)).code, q).toBe('UNAUTHENTICATED');
    }
    expect((await anon.request('{ me { id } health { ok } }')).data).toEqual({ me: null, health: { ok: true } });
    expect(await snapshot()).toBe(before);
  });
});

describe('an admin', () => {
  it('runs the same mutations successfully', async () => {
    const admin = await portal.admin();
    for (const name of ['createKey', 'updateKey', 'setServerTags', 'updateFeed', 'deployUpTo', 'rollBackFrom', 'updatePatchSourceSettings', 'addUser', 'setUserReadOnly', 'deleteServers', 'deleteKey', 'deleteFeed']) {
      const r = await admin.request(ADMIN_MUTATIONS[name]!());
      expect(r.errors, name).toEqual([]);
    }
  });
});
