// Sessions, API tokens, login throttling and CSRF defences, over real HTTP.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../server/commands/users.js';
import { Gql, PASSWORD, startApiPortal, startExtraGraphQL } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
const prisma = () => portal.app.db.prisma;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  portal = await startApiPortal({ EPORTAL_SESSION_HOURS: '5' });
});
afterAll(async () => {
  await portal.stop();
});

describe('cookie sessions', () => {
  it('login sets an HttpOnly SameSite=Strict cookie whose token is stored only as a hash, expiring after EPORTAL_SESSION_HOURS', async () => {
    const c = new Gql(portal.url);
    const before = Date.now();
    const r = await c.request<{ login: { user: { username: string; readOnly: boolean }; expiresAt: string } }>(
      'mutation { login(username: "admin", password: "correct horse battery") { user { username readOnly } expiresAt } }',
    );
    expect(r.errors).toEqual([]);
    expect(r.data!.login.user).toEqual({ username: 'admin', readOnly: false });
    const setCookie = r.headers.getSetCookie().find((h) => h.startsWith('eportal_session='))!;
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; Max-Age=18000/);
    const token = c.cookie!.split('=')[1]!;
    expect(token).toHaveLength(43);
    const rows = await prisma().session.findMany({ where: { user: { username: 'admin' } } });
    expect(rows.some((s) => s.tokenHash === sha256(token))).toBe(true);
    expect(rows.some((s) => s.tokenHash.includes(token))).toBe(false);
    const expires = new Date(r.data!.login.expiresAt).getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 5 * 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 5 * 3_600_000 + 1000);
    expect((await c.request('{ me { username } }')).data).toEqual({ me: { username: 'admin' } });
  });

  it('a wrong password and an unknown user fail alike, and set no cookie', async () => {
    const c = new Gql(portal.url);
    const wrong = await c.request('mutation { login(username: "admin", password: "not the password") { user { id } } }');
    const unknown = await c.request('mutation { login(username: "nobody", password: "not the password") { user { id } } }');
    expect(wrong.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.code).toBe('INVALID_CREDENTIALS');
    expect(wrong.errors[0]!.message).toBe(unknown.errors[0]!.message);
    expect(c.cookie).toBeUndefined();
  });

  it('logout revokes the session: the old cookie no longer works', async () => {
    const c = await portal.admin();
    const stolen = c.cookie!;
    const r = await c.request<{ logout: boolean }>('mutation { logout }');
    expect(r.data).toEqual({ logout: true });
    expect(r.headers.getSetCookie().some((h) => /^eportal_session=;.*Max-Age=0/.test(h))).toBe(true);
    const replay = new Gql(portal.url);
    replay.cookie = stolen;
    expect((await replay.request('{ me { username } }')).data).toEqual({ me: null });
    expect((await replay.request('{ keys { key } }')).code).toBe('UNAUTHENTICATED');
    const row = await prisma().session.findFirst({ where: { tokenHash: sha256(stolen.split('=')[1]!) } });
    expect(row?.revokedAt).toBeInstanceOf(Date);
  });

  it('an expired session is signed out (and the cookie cleared)', async () => {
    const c = await portal.admin();
    await prisma().session.update({ where: { tokenHash: sha256(c.cookie!.split('=')[1]!) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const r = await c.request('{ keys { key } }');
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(c.cookie).toBeUndefined();
  });

  it('garbage cookies are just "signed out"', async () => {
    for (const value of ['x', 'a'.repeat(43), '../../etc/passwd', '']) {
      const c = new Gql(portal.url);
      c.cookie = `eportal_session=${value}`;
      expect((await c.request('{ me { id } }')).data).toEqual({ me: null });
    }
  });

  it('a password change signs the user out everywhere else', async () => {
    await addUser(prisma(), 'changer', PASSWORD);
    const a = await new Gql(portal.url).login('changer', PASSWORD);
    const b = await new Gql(portal.url).login('changer', PASSWORD);
    const r = await a.request('mutation { changeMyPassword(currentPassword: "correct horse battery", newPassword: "another long password") { username } }');
    expect(r.errors).toEqual([]);
    expect((await a.request('{ me { username } }')).data).toEqual({ me: { username: 'changer' } });
    expect((await b.request('{ me { username } }')).data).toEqual({ me: null });
    await new Gql(portal.url).login('changer', 'another long password');
  });

  it('login over a session rotates it (the old token dies)', async () => {
    const c = await portal.viewer();
    const old = c.cookie!;
    await c.login('viewer', PASSWORD);
    expect(c.cookie).not.toBe(old);
    const replay = new Gql(portal.url);
    replay.cookie = old;
    expect((await replay.request('{ me { id } }')).data).toEqual({ me: null });
  });
});

describe('CSRF defences on cookie sessions', () => {
  it('refuses text/plain and form bodies (the bodies a cross-site form or simple fetch can send)', async () => {
    const c = await portal.admin();
    const body = JSON.stringify({ query: 'mutation { createKey(input: {description: "csrf"}) { key } }' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await c.request('', undefined, { headers: { 'content-type': type }, body });
      expect(r.status).toBe(415);
      expect(r.code).toBe('CSRF');
    }
    expect(await prisma().key.count({ where: { description: 'csrf' } })).toBe(0);
  });

  it('refuses a foreign Origin, accepts its own', async () => {
    const c = await portal.admin();
    const evil = await c.request('mutation { createKey(input: {description: "csrf"}) { key } }', undefined, { headers: { origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.code).toBe('CSRF');
    const nullOrigin = await c.request('{ me { id } }', undefined, { headers: { origin: 'null' } });
    expect(nullOrigin.status).toBe(403);
    const own = await c.request('{ me { username } }', undefined, { headers: { origin: portal.url } });
    expect(own.data).toEqual({ me: { username: 'admin' } });
    expect(await prisma().key.count({ where: { description: 'csrf' } })).toBe(0);
  });

  it('refuses a cookie session over GET; anonymous and token GETs are plain queries', async () => {
    const c = await portal.admin();
    const q = encodeURIComponent('{ me { username } }');
    const viaCookie = await fetch(`${portal.url}/graphql?query=${q}`, { headers: { cookie: c.cookie! } });
    expect(viaCookie.status).toBe(403);
    const anon = await fetch(`${portal.url}/graphql?query=${q}`);
    expect(await anon.json()).toEqual({ data: { me: null } });
    const created = await c.request<{ createApiToken: { token: string } }>('mutation { createApiToken(input: {name: "get"}) { token } }');
    const viaToken = await fetch(`${portal.url}/graphql?query=${q}`, { headers: { 'x-api-key': created.data!.createApiToken.token } });
    expect(await viaToken.json()).toEqual({ data: { me: { username: 'admin' } } });
    const mutationViaGet = await fetch(`${portal.url}/graphql?query=${encodeURIComponent('mutation { logout }')}`, { headers: { 'x-api-key': created.data!.createApiToken.token } });
    expect(mutationViaGet.status).toBe(405);
    const refused = (await mutationViaGet.json()) as { data?: unknown; errors?: { message: string }[] };
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.message).toMatch(/mutation operation from a POST/);
  });

  it('does not answer CORS preflights and sends no CORS headers', async () => {
    const pre = await fetch(`${portal.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBeGreaterThanOrEqual(400);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const c = await portal.admin();
    const r = await c.request('{ me { id } }');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('API tokens', () => {
  it('are shown once, stored hashed, listed by prefix, and work as X-Api-Key or Bearer with the owner\'s role', async () => {
    const admin = await portal.admin();
    const created = await admin.request<{ createApiToken: { token: string; apiToken: { id: number; prefix: string; name: string } } }>(
      'mutation { createApiToken(input: {name: "ci"}) { token apiToken { id prefix name } } }',
    );
    const { token, apiToken } = created.data!.createApiToken;
    expect(token).toMatch(/^ekp_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(apiToken.prefix)).toBe(true);
    const row = await prisma().apiToken.findUniqueOrThrow({ where: { id: apiToken.id } });
    expect(row.tokenHash).toBe(sha256(token));
    const list = await admin.request<{ apiTokens: Record<string, unknown>[] }>('{ apiTokens { id name prefix } }');
    expect(list.data!.apiTokens).toContainEqual({ id: apiToken.id, name: 'ci', prefix: apiToken.prefix });
    expect(JSON.stringify(list.data)).not.toContain(token);

    const bot = new Gql(portal.url);
    bot.apiKey = token;
    expect((await bot.request('{ me { username } }')).data).toEqual({ me: { username: 'admin' } });
    const bearer = await new Gql(portal.url).request('mutation { createKey(input: {description: "by token"}) { description } }', undefined, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.data).toEqual({ createKey: { description: 'by token' } });
    // a token is not a cookie session: no CSRF rule for it, and logout does nothing
    expect((await bot.request('mutation { logout }')).data).toEqual({ logout: false });
  });

  it('a read-only user\'s token is read-only', async () => {
    const viewer = await portal.viewer();
    const { token } = (await viewer.request<{ createApiToken: { token: string } }>('mutation { createApiToken(input: {name: "ro"}) { token } }')).data!.createApiToken;
    const bot = new Gql(portal.url);
    bot.apiKey = token;
    expect((await bot.request('{ keys { key } }')).errors).toEqual([]);
    expect((await bot.request('mutation { createKey(input: {}) { key } }')).code).toBe('READ_ONLY');
  });

  it('revoked, expired and unknown tokens get 401 UNAUTHENTICATED', async () => {
    const admin = await portal.admin();
    const make = async (extra = '') =>
      (await admin.request<{ createApiToken: { token: string; apiToken: { id: number } } }>(`mutation { createApiToken(input: {name: "t"${extra}}) { token apiToken { id } } }`)).data!.createApiToken;
    const revoked = await make();
    const rv = await admin.request<{ revokeApiToken: { revokedAt: string | null } }>(`mutation { revokeApiToken(id: ${revoked.apiToken.id}) { revokedAt } }`);
    expect(rv.data!.revokeApiToken.revokedAt).not.toBeNull();
    const expiring = await make(`, expiresAt: "${new Date(Date.now() + 60_000).toISOString()}"`);
    await prisma().apiToken.update({ where: { id: expiring.apiToken.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    for (const token of [revoked.token, expiring.token, `ekp_${'A'.repeat(43)}`, 'garbage']) {
      const bot = new Gql(portal.url);
      bot.apiKey = token;
      const r = await bot.request('{ me { id } }');
      expect(r.status).toBe(401);
      expect(r.code).toBe('UNAUTHENTICATED');
    }
  });

  it('an expiry in the past is refused; nobody else can revoke your token', async () => {
    const admin = await portal.admin();
    const past = await admin.request(`mutation { createApiToken(input: {name: "old", expiresAt: "${new Date(Date.now() - 1000).toISOString()}"}) { token } }`);
    expect(past.code).toBe('INVALID_INPUT');
    const mine = (await admin.request<{ createApiToken: { apiToken: { id: number } } }>('mutation { createApiToken(input: {name: "mine"}) { apiToken { id } } }')).data!.createApiToken.apiToken.id;
    const viewer = await portal.viewer();
    expect((await viewer.request(`mutation { revokeApiToken(id: ${mine}) { id } }`)).code).toBe('TOKEN_NOT_FOUND');
    expect((await prisma().apiToken.findUniqueOrThrow({ where: { id: mine } })).revokedAt).toBeNull();
  });
});

describe('login throttling (in memory, per user name and per IP)', () => {
  it('locks a user name after repeated failures, even for the right password, without locking others', async () => {
    const extra = await startExtraGraphQL(portal.app, { loginLimits: { windowMs: 60_000, perUser: 3, perIp: 100, maxTracked: 100 } });
    try {
      const c = new Gql(extra.url);
      for (let i = 0; i < 3; i++) expect((await c.request('mutation { login(username: "viewer", password: "wrong password") { user { id } } }')).code).toBe('INVALID_CREDENTIALS');
      const locked = await c.request(`mutation { login(username: "viewer", password: "${PASSWORD}") { user { id } } }`);
      expect(locked.code).toBe('RATE_LIMITED');
      expect(locked.errors[0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      expect((await c.request(`mutation { login(username: "admin", password: "${PASSWORD}") { user { username } } }`)).errors).toEqual([]);
    } finally {
      await extra.close();
    }
  });

  it('locks an IP that guesses across many user names', async () => {
    const extra = await startExtraGraphQL(portal.app, { loginLimits: { windowMs: 60_000, perUser: 100, perIp: 4, maxTracked: 100 } });
    try {
      const c = new Gql(extra.url);
      for (let i = 0; i < 4; i++) await c.request(`mutation { login(username: "guess${i}", password: "wrong password") { user { id } } }`);
      expect((await c.request(`mutation { login(username: "admin", password: "${PASSWORD}") { user { id } } }`)).code).toBe('RATE_LIMITED');
    } finally {
      await extra.close();
    }
  });
});
