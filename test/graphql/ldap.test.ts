// LDAP login against a real slapd started by the test (plain, StartTLS and
// ldaps with a throw-away CA): first login creates a read-only "LDAP" user,
// local users come first and never touch the directory, user names are
// escaped, and a dead or silent directory never holds up local logins.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindDn, escapeDnValue, ldapBind } from '../../server/auth/ldap.js';
import type { LdapConfig } from '../../server/config.js';
import { startSlapd, type Slapd } from '../support/slapd.js';
import { Gql, PASSWORD, startApiPortal, startExtraGraphQL } from './helpers.js';

let slapd: Slapd;
let portal: Awaited<ReturnType<typeof startApiPortal>>;
const prisma = () => portal.app.db.prisma;

const DIRECTORY = [
  { uid: 'alice', password: 'alice ldap password' },
  { uid: 'bob', password: 'bob ldap password' },
  { uid: 'admin', password: 'the directory admin password' },
  { uid: 'o,brien', password: 'obrien password' },
];

const ldapConfig = (over: Partial<LdapConfig> = {}): LdapConfig => ({
  url: slapd.url,
  dnTemplate: slapd.dnTemplate,
  startTls: false,
  connectTimeoutMs: 1000,
  timeoutMs: 1000,
  tlsVerify: true,
  ...over,
});

const login = (c: Gql, u: string, p: string) => c.request<{ login: { user: { username: string; readOnly: boolean; source: string; description: string } } }>(
  'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { username readOnly source description } } }',
  { u, p },
);

beforeAll(async () => {
  slapd = await startSlapd(DIRECTORY);
  portal = await startApiPortal({ EPORTAL_LDAP_URL: slapd.url, EPORTAL_LDAP_DN_TEMPLATE: slapd.dnTemplate });
});
afterAll(async () => {
  await portal?.stop();
  await slapd?.stop();
});

describe('LDAP login', () => {
  it('the first login creates a read-only user described "LDAP"; an admin can lift read-only; later logins reuse it', async () => {
    const alice = new Gql(portal.url);
    const first = await login(alice, 'alice', 'alice ldap password');
    expect(first.errors).toEqual([]);
    expect(first.data!.login.user).toEqual({ username: 'alice', readOnly: true, source: 'ldap', description: 'LDAP' });
    expect((await alice.request('mutation { createKey(input: {}) { key } }')).code).toBe('READ_ONLY');

    const admin = await portal.admin();
    expect((await admin.request('mutation { setUserReadOnly(username: "alice", readOnly: false) { readOnly } }')).data).toEqual({ setUserReadOnly: { readOnly: false } });
    expect((await alice.request('mutation { createKey(input: {description: "by alice"}) { description } }')).data).toEqual({ createKey: { description: 'by alice' } });

    const again = await login(new Gql(portal.url), 'ALICE', 'alice ldap password'); // directories match names case-insensitively
    expect(again.data!.login.user).toMatchObject({ username: 'alice', readOnly: false });
    expect(await prisma().user.count({ where: { username: { in: ['alice', 'ALICE'] } } })).toBe(1);
    const row = await prisma().user.findUniqueOrThrow({ where: { username: 'alice' } });
    expect(row.passwordHash).toBeNull();
  });

  it('a wrong password or an unknown name fails and creates nobody', async () => {
    expect((await login(new Gql(portal.url), 'bob', 'wrong password')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(new Gql(portal.url), 'carol', 'whatever password')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(new Gql(portal.url), 'bob', '')).code).toBe('INVALID_CREDENTIALS'); // an empty password would be an anonymous bind
    expect(await prisma().user.count({ where: { username: { in: ['bob', 'carol'] } } })).toBe(0);
  });

  it('local users are checked first: a directory entry with the same name is no way into a local account', async () => {
    expect((await login(new Gql(portal.url), 'admin', 'the directory admin password')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(new Gql(portal.url), 'ADMIN', 'the directory admin password')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(new Gql(portal.url), 'admin', PASSWORD)).data!.login.user).toMatchObject({ username: 'admin', source: 'local' });
  });

  it('LDAP injection in user names gets nowhere', async () => {
    for (const name of ['*', 'alice)(uid=*', '*)(|(uid=*', 'alice,ou=people', 'uid=alice,ou=people,dc=example,dc=com', 'alice\\', ' alice', '#alice', 'alice\u0000', 'al*', 'alice+cn=x']) {
      const r = await login(new Gql(portal.url), name, 'alice ldap password');
      expect(r.code, name).toBe('INVALID_CREDENTIALS');
    }
    expect(await prisma().user.count({ where: { source: 'ldap' } })).toBe(1); // alice only
  });

  it('escapes names per RFC 4514 against the real directory', async () => {
    expect(await ldapBind(ldapConfig(), 'o,brien', 'obrien password')).toBe('ok'); // the comma is escaped, so this entry is found
    expect(await ldapBind(ldapConfig(), 'alice,ou=people', 'alice ldap password')).toBe('invalid');
    expect(await ldapBind(ldapConfig(), '*', 'alice ldap password')).toBe('invalid');
    expect(await ldapBind(ldapConfig(), 'alice)(uid=*', 'alice ldap password')).toBe('invalid');
    expect(bindDn('uid=%s,dc=x', 'a,b+c"d\\e<f>g;h=i')).toBe('uid=a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i,dc=x');
    expect(escapeDnValue(' #lead trail ')).toBe('\\ #lead trail\\ ');
    expect(escapeDnValue('#x')).toBe('\\#x');
    expect(escapeDnValue('a\u0000b\nc')).toBe('a\\00b\\0ac');
  });

  it('an LDAP user cannot set a password here', async () => {
    const bob = new Gql(portal.url);
    await login(bob, 'bob', 'bob ldap password');
    expect((await bob.request('mutation { changeMyPassword(currentPassword: "bob ldap password", newPassword: "something else") { id } }')).code).toBe('LDAP_USER');
    const admin = await portal.admin();
    expect((await admin.request('mutation { setUserPassword(username: "bob", password: "something else") { id } }')).code).toBe('LDAP_USER');
  });
});

describe('TLS to the directory', () => {
  it('binds over ldaps:// and StartTLS with the configured CA, and refuses a certificate it cannot verify', async () => {
    expect(await ldapBind(ldapConfig({ url: slapd.ldapsUrl, caFile: slapd.caFile }), 'alice', 'alice ldap password')).toBe('ok');
    expect(await ldapBind(ldapConfig({ url: slapd.url.replace('127.0.0.1', 'localhost'), startTls: true, caFile: slapd.caFile }), 'alice', 'alice ldap password')).toBe('ok');
    expect(await ldapBind(ldapConfig({ url: slapd.ldapsUrl }), 'alice', 'alice ldap password')).toBe('unavailable');
    expect(await ldapBind(ldapConfig({ url: slapd.url.replace('127.0.0.1', 'localhost'), startTls: true }), 'alice', 'alice ldap password')).toBe('unavailable');
  });

  it('logs in through the API over ldaps://', async () => {
    const extra = await startExtraGraphQL(portal.app, { config: { ...portal.app.config, ldap: ldapConfig({ url: slapd.ldapsUrl, caFile: slapd.caFile }) } });
    try {
      expect((await login(new Gql(extra.url), 'bob', 'bob ldap password')).data!.login.user.username).toBe('bob');
    } finally {
      await extra.close();
    }
  });
});

describe('a dead or silent directory', () => {
  it('a closed port answers LDAP_UNAVAILABLE; local logins work', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const extra = await startExtraGraphQL(portal.app, { config: { ...portal.app.config, ldap: ldapConfig({ url: `ldap://127.0.0.1:${closed}` }) } });
    try {
      expect((await login(new Gql(extra.url), 'carol', 'some password')).code).toBe('LDAP_UNAVAILABLE');
      expect((await login(new Gql(extra.url), 'admin', PASSWORD)).errors).toEqual([]);
    } finally {
      await extra.close();
    }
  });

  it('a directory that accepts and never answers does not hold up local logins; the LDAP login gives up after its timeout', async () => {
    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    const { port } = blackhole.address() as net.AddressInfo;
    const extra = await startExtraGraphQL(portal.app, { config: { ...portal.app.config, ldap: ldapConfig({ url: `ldap://127.0.0.1:${port}`, timeoutMs: 1500 }) } });
    try {
      const t0 = Date.now();
      const pending = login(new Gql(extra.url), 'carol', 'some password');
      await new Promise((r) => setTimeout(r, 100));
      const t1 = Date.now();
      expect((await login(new Gql(extra.url), 'admin', PASSWORD)).errors).toEqual([]);
      expect(Date.now() - t1).toBeLessThan(1000);
      expect((await pending).code).toBe('LDAP_UNAVAILABLE');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      await extra.close();
      for (const s of sockets) s.destroy();
      blackhole.close();
    }
  });
});
