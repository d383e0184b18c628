// The shipped nginx configuration, for real: agents through HTTP and HTTPS,
// the client IP taken from X-Forwarded-For only because the portal trusts its
// proxy, and a spoofed X-Forwarded-For ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashServerId } from '../../server/agent/server-id.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { agentFrom, startNginx, type TestNginx } from '../support/nginx.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { addUser } from '../../server/commands/users.js';
import { collect, Gql, wsClient } from '../graphql/helpers.js';

let portal: TestPortal;
let nginx: TestNginx;

beforeAll(async () => {
  portal = await startTestPortal({ EPORTAL_TRUST_PROXY: '127.0.0.1' });
  nginx = await startNginx(Number(new URL(portal.url).port));
});
afterAll(async () => {
  await nginx?.stop();
  await portal?.stop();
});

async function recordedIp(serverId: string): Promise<string | undefined> {
  portal.app.agent.checkins.flush();
  return (await portal.app.db.prisma.server.findUnique({ where: { serverIdHash: hashServerId(serverId) } }))?.ip;
}

describe('behind the shipped nginx config', () => {
  it('registers and checks in over HTTP, recording the client address nginx saw', async () => {
    const key = await buildKey(portal.app);
    const base = `http://127.0.0.1:${nginx.httpPort}`;
    // connect from 127.0.0.3 so the recorded address cannot be nginx's own
    const agent = new AgentSim({ patchServer: `${base}/`, registrationUrl: `${base}/admin/api/kcare`, dispatcher: await agentFrom('127.0.0.3'), extraHeaders: { 'X-Forwarded-For': '6.6.6.6' } });
    const r = await agent.register(key.key);
    expect(r.code).toBe(0);
    expect(await recordedIp(r.serverId!)).toBe('127.0.0.3');
    const c = await agent.checkin();
    expect(c.status).toBe(404);
    expect(await recordedIp(r.serverId!)).toBe('127.0.0.3');
    expect(agent.serverErrors).toEqual([]);
  });

  it('serves agents over HTTPS with the example TLS config', async () => {
    const key = await buildKey(portal.app);
    const base = `https://127.0.0.1:${nginx.httpsPort}`;
    const agent = new AgentSim({ patchServer: `${base}/`, registrationUrl: `${base}/admin/api/kcare`, dispatcher: await agentFrom('127.0.0.4', nginx.caCert) });
    const r = await agent.register(key.key);
    expect(r.code).toBe(0);
    expect((await agent.check()).code).toBe(0);
    expect((await agent.checkin()).status).toBe(404);
    expect(await recordedIp(r.serverId!)).toBe('127.0.0.4');
  });

  it('without trusting the proxy, the portal ignores X-Forwarded-For', async () => {
    const direct = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, extraHeaders: { 'X-Forwarded-For': '6.6.6.6' }, dispatcher: await agentFrom('127.0.0.5') });
    const other = await startTestPortal();
    try {
      const key = await buildKey(other.app);
      const sim = new AgentSim({ patchServer: `${other.url}/`, registrationUrl: other.regUrl, extraHeaders: { 'X-Forwarded-For': '6.6.6.6' } });
      const r = await sim.register(key.key);
      other.app.agent.checkins.flush();
      expect((await other.app.db.prisma.server.findUnique({ where: { serverIdHash: hashServerId(r.serverId!) } }))?.ip).toBe('127.0.0.1');
    } finally {
      await other.stop();
    }
    // and a trusted proxy's own peer address is not taken from a client-supplied header either
    const key = await buildKey(portal.app);
    const r = await direct.register(key.key);
    expect(await recordedIp(r.serverId!)).toBe('127.0.0.5');
  });

  it('carries console logins and GraphQL subscriptions (WebSocket upgrade) through /graphql', async () => {
    await addUser(portal.app.db.prisma, 'nginx-admin', 'a long enough password');
    const base = `http://127.0.0.1:${nginx.httpPort}`;
    const admin = await new Gql(base).login('nginx-admin', 'a long enough password');
    expect(admin.cookie).toMatch(/^eportal_session=/);
    const client = wsClient(base, { cookie: admin.cookie! });
    try {
      const values = await collect<{ statsUpdated: { totalServers: number } }>(client, 'subscription { statsUpdated { totalServers } }', (v) => v.length >= 1);
      expect(values[0]!.statsUpdated.totalServers).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
  });
});
