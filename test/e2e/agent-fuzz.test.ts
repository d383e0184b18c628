// Anything a client can send to the agent endpoints gets a protocol-format
// answer: never a 5xx, never a crash, never a partial or corrupted row.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { rawRequest } from '../support/raw-http.js';

let portal: TestPortal;
let port: number;
let key: string;
let registered: AgentSim;

beforeAll(async () => {
  portal = await startTestPortal();
  port = Number(new URL(portal.url).port);
  key = (await buildKey(portal.app, { serverLimit: 1000 })).key;
  registered = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl });
  await registered.register(key);
});
afterAll(async () => {
  await portal.stop();
});

const ENDPOINTS = ['register_server.plain', 'unregister_server.plain', 'tag_server.plain', 'check.plain', 'trial.plain', 'sticky_patch.plain', 'nagios/register_key.plain'];
const PARAMS = ['hostname', 'key', 'server_id', 'tag', 'x', ''];

const queryArb = fc.oneof(
  fc.string({ maxLength: 300 }).map((s) => encodeURIComponent(s)),
  fc.array(fc.tuple(fc.constantFrom(...PARAMS), fc.string({ unit: 'grapheme', maxLength: 200 })), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')),
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1').replace(/[\s#]/g, '%20')),
  fc.constantFrom('key=' + 'A'.repeat(10_000), 'tag=' + ';'.repeat(9000), 'hostname=%FF%FE&key=%C0%80', 'server_id=%00%00', '&&&==&='),
);

function assertPlain(status: number, body: string): void {
  expect(status).toBeLessThan(500);
  if (status === 200) expect(body).toMatch(/^(code|success): /m);
}

describe('registration endpoints under fuzz', () => {
  it('answer every query in the plain format, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), queryArb, async (endpoint, query) => {
        const r = await rawRequest(port, `/admin/api/kcare/${endpoint}?${query}`.replace(/[\r\n ]/g, '%20'));
        assertPlain(r.status, r.body.toString('utf8'));
      }),
      { numRuns: 400 },
    );
  });

  it('survive raw invalid bytes in the request target and headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.uint8Array({ maxLength: 200 }), async (pathBytes, authBytes) => {
        const target = Buffer.concat([Buffer.from('/admin/api/kcare/register_server.plain?key='), Buffer.from(pathBytes.filter((b) => b > 0x20 && b !== 0x7f))]);
        const r = await rawRequest(port, target, { Authorization: Buffer.from(authBytes.filter((b) => b >= 0x20 && b !== 0x7f)) });
        expect(r.status).toBeGreaterThan(0);
        expect(r.status).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});

describe('latest.v2 under fuzz', () => {
  it('any query string still answers the level (or 404), never 5xx, and records the check-in', async () => {
    const hexOf = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
    const literalArb = fc.oneof(
      fc.string({ maxLength: 500 }),
      fc.constantFrom("{'a': ", "{'node': 'x'" , '[' .repeat(5000), "{'patch_level': 1e999}", "{'uptime': __import__('os')}", "{'node': 'a' 'b'}", 'None', "{1: 2, (1,2): 3}"),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    const queryArb2 = fc.oneof(
      literalArb.map(hexOf),
      fc.string({ maxLength: 2000 }).map((s) => encodeURIComponent(s)),
      fc.uint8Array({ maxLength: 1000 }).map((b) => Buffer.from(b).toString('hex').toUpperCase()),
      fc.constantFrom('ABC', 'F', 'C0AF', 'ED A0 80'.replace(/ /g, ''), '0'.repeat(70_000)),
    );
    await fc.assert(
      fc.asyncProperty(queryArb2, async (q) => {
        const r = await rawRequest(port, `/${registered.khash}/latest.v2?${q}`, { Authorization: registered.authHeader()! });
        expect([404, 414, 431, 400]).toContain(r.status);
      }),
      { numRuns: 300 },
    );
  });

  it('odd paths, methods and credentials never reach a 5xx', async () => {
    const seg = fc.oneof(fc.constantFrom('..', '.', '%2e%2e', '%2F', 'latest.v2', 'kcare.ko', 'userspace', '1', '017', registered.khash, 'v2-new-version', '%00', 'toString', '__proto__', 'constructor', 'hasOwnProperty'), fc.string({ maxLength: 20 }).map(encodeURIComponent));
    await fc.assert(
      fc.asyncProperty(fc.array(seg, { maxLength: 8 }), fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'), fc.option(fc.string({ maxLength: 120 })), async (segs, method, auth) => {
        const headers: Record<string, string> = auth === null ? {} : { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
        const r = await rawRequest(port, '/' + segs.join('/'), headers, method);
        expect(r.status).toBeGreaterThan(0);
        expect(r.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});

describe('names of built-in object properties', () => {
  it('are ordinary unknown paths, answered at once', async () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      expect((await rawRequest(port, `/${name}`)).status).toBe(404);
      const plain = await rawRequest(port, `/admin/api/kcare/${name}`);
      expect(plain.status).toBe(404);
      expect(plain.body.toString()).toContain('code: -1');
    }
  });
});

describe('after the fuzzing', () => {
  it('the database is intact and holds no partial rows', async () => {
    portal.app.agent.checkins.flush();
    const db = portal.app.db.sqlite!;
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const bad = db.prepare(`SELECT COUNT(*) AS n FROM Server WHERE length(serverIdHash) != 64 OR serverIdHint = '' OR keyId IS NULL OR typeof(registeredAt) != 'integer'`).get() as { n: number };
    expect(bad.n).toBe(0);
    // the registered agent still works and its check-ins were recorded
    expect((await registered.check()).code).toBe(0);
    const row = db.prepare('SELECT lastCheckinAt FROM Server WHERE serverIdHash = ?').get(
      (await import('../../server/agent/server-id.js')).hashServerId(registered.serverId!),
    ) as { lastCheckinAt: number };
    expect(typeof row.lastCheckinAt).toBe('number');
    expect(portal.app.agent.checkins.stats.malformed).toBeGreaterThan(0);
    expect(portal.app.agent.checkins.stats.flushErrors).toBe(0);
  });

  it('concurrent registrations past a key limit stop exactly at the limit', async () => {
    const limited = await buildKey(portal.app, { serverLimit: 25 });
    const sims = Array.from({ length: 120 }, () => new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl }));
    const codes = await Promise.all(sims.map((s) => s.register(limited.key).then((r) => r.code)));
    expect(codes.filter((c) => c === 0)).toHaveLength(25);
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true);
    expect(await portal.app.db.prisma.server.count({ where: { keyId: limited.id } })).toBe(25);
  });
});
