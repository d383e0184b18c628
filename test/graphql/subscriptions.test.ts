// Live updates over graphql-ws on the portal's own port: authentication
// (cookie on the upgrade, token in connection parameters), the start page's
// numbers, coalescing under a check-in storm, deploy and sync progress, and
// sockets closed when their credentials die.
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SyncReport } from '../../server/patches/source/status.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { collect, eventually, Gql, startApiPortal, wsClient } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let admin: Gql;
const clients: Client[] = [];
const open = (opts: Parameters<typeof wsClient>[1]) => {
  const c = wsClient(portal.url, opts);
  clients.push(c);
  return c;
};

interface Stats {
  statsUpdated: { totalServers: number; checkedInLast48h: number; keyInventory: { key: string; serverCount: number }[] };
}

/** Subscribes and resolves with how the subscription ended: a close code, or the errors sent. */
function outcome(client: Client, query: string): Promise<{ closeCode?: number; errors?: unknown; values: unknown[] }> {
  const values: unknown[] = [];
  return new Promise((resolve) => {
    client.subscribe({ query }, {
      next: (v) => values.push(v),
      error: (e) => resolve(Array.isArray(e) ? { errors: e, values } : { closeCode: (e as { code?: number }).code, values }),
      complete: () => resolve({ values }),
    });
  });
}

beforeAll(async () => {
  portal = await startApiPortal();
  admin = await portal.admin();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
afterAll(async () => {
  await portal.stop();
});

describe('WebSocket authentication', () => {
  it('closes an unauthenticated connection with 4403 and a bad token too', async () => {
    expect((await outcome(open({}), '{ me { id } }')).closeCode).toBe(4403);
    expect((await outcome(open({ connectionParams: { apiKey: `ekp_${'x'.repeat(43)}` } }), 'subscription { statsUpdated { totalServers } }')).closeCode).toBe(4403);
    expect((await outcome(open({ cookie: 'eportal_session=forged' }), 'subscription { statsUpdated { totalServers } }')).closeCode).toBe(4403);
  });

  it('refuses an upgrade from a foreign Origin', async () => {
    const ws = new WebSocket(`${portal.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { cookie: admin.cookie!, origin: 'https://evil.example' } });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
  });

  it('accepts the session cookie on the upgrade request and a token in connectionParams; read-only users may subscribe', async () => {
    const viaCookie = await collect<{ me: { username: string } }>(open({ cookie: admin.cookie }), '{ me { username } }', (v) => v.length >= 1);
    expect(viaCookie[0]!.me.username).toBe('admin');
    const viewer = await portal.viewer();
    const { token } = (await viewer.request<{ createApiToken: { token: string } }>('mutation { createApiToken(input: {name: "ws"}) { token } }')).data!.createApiToken;
    const viaToken = await collect<Stats>(open({ connectionParams: { apiKey: token } }), 'subscription { statsUpdated { totalServers } }', (v) => v.length >= 1);
    expect(viaToken[0]!.statsUpdated.totalServers).toBeGreaterThanOrEqual(0);
    const bearer = await collect<{ me: { username: string } }>(open({ connectionParams: { Authorization: `Bearer ${token}` } }), '{ me { username } }', (v) => v.length >= 1);
    expect(bearer[0]!.me.username).toBe('viewer');
    // mutations over the socket follow the same rules
    const refused = await outcome(open({ connectionParams: { apiKey: token } }), 'mutation { createKey(input: {}) { key } }');
    expect(JSON.stringify(refused.values)).toContain('READ_ONLY');
  });

  it('closes the socket (4401) when its session logs out or its token is revoked', async () => {
    const session = await portal.admin();
    const bySession = outcome(open({ cookie: session.cookie }), 'subscription { statsUpdated { totalServers } }');
    const { token, apiToken } = (await admin.request<{ createApiToken: { token: string; apiToken: { id: number } } }>('mutation { createApiToken(input: {name: "ws2"}) { token apiToken { id } } }')).data!.createApiToken;
    const byToken = outcome(open({ connectionParams: { apiKey: token } }), 'subscription { statsUpdated { totalServers } }');
    await new Promise((r) => setTimeout(r, 200)); // both connected
    await session.request('mutation { logout }');
    await admin.request(`mutation { revokeApiToken(id: ${apiToken.id}) { id } }`);
    expect((await bySession).closeCode).toBe(4401);
    expect((await byToken).closeCode).toBe(4401);
  });
});

describe('live start page', () => {
  it('statsUpdated sends the current numbers, then registrations, check-ins and key changes as they happen', async () => {
    const key = await buildKey(portal.app, { key: 'live-key' });
    const client = open({ cookie: admin.cookie });
    const agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: 'live-1' });
    const seen: Stats['statsUpdated'][] = [];
    const done = collect<Stats>(client, 'subscription { statsUpdated { totalServers checkedInLast48h keyInventory { key serverCount } } }', (v) => {
      seen.push(v.at(-1)!.statsUpdated);
      const last = v.at(-1)!.statsUpdated;
      return last.checkedInLast48h >= 1 && last.keyInventory.some((k) => k.key === 'live-key' && k.serverCount === 1);
    });
    await eventually(() => seen.length >= 1);
    const first = seen[0]!;
    const query = (await admin.request<{ stats: Stats['statsUpdated'] }>('{ stats { totalServers checkedInLast48h keyInventory { key serverCount } } }')).data!.stats;
    expect(first).toEqual(query);
    expect((await agent.register(key.key)).code).toBe(0);
    await agent.checkin();
    const values = await done;
    const last = values.at(-1)!.statsUpdated;
    expect(last.totalServers).toBe(first.totalServers + 1);
    expect(last.checkedInLast48h).toBe(first.checkedInLast48h + 1);
  });

  it('coalesces a check-in storm: a handful of updates per second per subscriber, with every check-in counted', async () => {
    const stats = open({ cookie: admin.cookie });
    const activity = open({ cookie: admin.cookie });
    let statUpdates = 0;
    const activities: { checkins: number }[] = [];
    const s1 = stats.subscribe({ query: 'subscription { statsUpdated { checkedInLast48h } }' }, { next: () => void statUpdates++, error: () => {}, complete: () => {} });
    const s2 = activity.subscribe<{ serverActivity: { checkins: number } }>({ query: 'subscription { serverActivity { checkins registered } }' }, { next: (v) => void activities.push(v.data!.serverActivity), error: () => {}, complete: () => {} });
    await eventually(() => statUpdates >= 1);
    statUpdates = 0;
    // 4,000 check-in batches in 2 s, each bringing one server back into the 48-hour window
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 100; j++) portal.app.events.emit('checkins', { count: 10, firstOfServers: 0, newlyActive: 1 });
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(() => activities.reduce((n, a) => n + a.checkins, 0) >= 40_000, 10_000);
    const seconds = (Date.now() - t0) / 1000;
    s1();
    s2();
    const total = activities.reduce((n, a) => n + a.checkins, 0);
    expect(total).toBeGreaterThanOrEqual(40_000); // plus the odd real check-in of the test before
    expect(total).toBeLessThan(40_010);
    // 4,000 changes became at most one snapshot per 250 ms and one summary per 500 ms (+1 for the edges)
    expect(statUpdates).toBeGreaterThanOrEqual(2);
    expect(statUpdates).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 1);
    expect(activities.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 1);
    await portal.app.graphql.live.stats.recount(); // back to the truth
  });
});

describe('deploy and sync progress', () => {
  it('deploymentsChanged reports deploys and rollbacks with their feed and patchsets', async () => {
    const p = portal.app.db.prisma;
    await p.patchset.create({ data: { name: 'K20240501_01', releasedAt: new Date('2024-05-01'), sha256: 'e'.repeat(64), storeDir: 'K20240501_01' } });
    const client = open({ cookie: admin.cookie });
    const got = collect<{ deploymentsChanged: { changes: { feed: { name: string }; action: string; patchsets: string[]; by: string }[] } }>(
      client,
      'subscription { deploymentsChanged { changes { feed { name } action patchsets by } } }',
      (v) => v.flatMap((x) => x.deploymentsChanged.changes).length >= 2,
    );
    await new Promise((r) => setTimeout(r, 200));
    await admin.request('mutation { deployUpTo(feed: "default", patchset: "K20240501_01") { changed } }');
    await admin.request('mutation { rollBackFrom(feed: "default", patchset: "K20240501_01") { changed } }');
    const changes = (await got).flatMap((x) => x.deploymentsChanged.changes);
    expect(changes).toEqual([
      { feed: { name: 'default' }, action: 'deploy', patchsets: ['K20240501_01'], by: 'admin' },
      { feed: { name: 'default' }, action: 'rollback', patchsets: ['K20240501_01'], by: 'admin' },
    ]);
  });

  it('syncProgress sends the sync state now and as the sync moves', async () => {
    const client = open({ cookie: admin.cookie });
    const got = collect<{ syncProgress: { running: boolean; phase: string | null; patchsets: { name: string; received: number; state: string }[]; lastResult: string | null } }>(
      client,
      'subscription { syncProgress { running phase patchsets { name received state } lastResult } }',
      (v) => v.at(-1)!.syncProgress.lastResult === 'ok',
    );
    await new Promise((r) => setTimeout(r, 200));
    const ev = portal.app.events;
    ev.emit('patchSync', { type: 'started', startedAt: new Date().toISOString() });
    ev.emit('patchSync', { type: 'phase', phase: 'download' });
    ev.emit('patchSync', { type: 'patchset', patchset: { name: 'K1', product: 'kernel', size: 10, received: 5, state: 'downloading', error: null, errorCode: null }, bytesDownloaded: 5 });
    await new Promise((r) => setTimeout(r, 300));
    const report: SyncReport = {
      startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), durationMs: 1, result: 'ok', error: null, errorCode: null, bytesDownloaded: 10,
      upstreamPatchsets: 1, imported: ['K1'], failed: [], badEntries: [], removedUpstream: [], changedUpstream: [], blockedButDeployed: [], autoDeployed: [], warnings: [],
      patchsets: [{ name: 'K1', product: 'kernel', size: 10, received: 10, state: 'imported', error: null, errorCode: null }],
    };
    ev.emit('patchSync', { type: 'finished', report });
    const values = (await got).map((v) => v.syncProgress);
    expect(values[0]!.running).toBe(false);
    expect(values.some((v) => v.running && v.patchsets.some((p) => p.name === 'K1' && p.received === 5))).toBe(true);
    expect(values.at(-1)).toMatchObject({ running: false, lastResult: 'ok', patchsets: [{ name: 'K1', received: 10, state: 'imported' }] });
  });
});
