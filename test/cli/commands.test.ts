// The commands the CLI and the GraphQL API share, called in-process: error
// codes, validation, and the query shapes (no N+1) the key inventory relies on.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../server/auth/password.js';
import { DOMAIN_ERROR_CODES, DomainError, isDomainError } from '../../server/commands/errors.js';
import { createKey, deleteKey, getKey, keyInventory, listKeys, updateKey } from '../../server/commands/keys.js';
import { addUser, changePassword, deleteUser, getUser, listUsers, setReadOnly } from '../../server/commands/users.js';
import { loadConfig } from '../../server/config.js';
import { openDatabase, type Database } from '../../server/db/index.js';
import { PrismaClient } from '../../server/generated/prisma/client.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-cmd-'));
  db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }));
});

afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the DomainError code `p` rejects with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  throw new Error('expected a DomainError');
}

let seq = 0;
function addServers(keyId: number | null, n: number): void {
  const insert = db.sqlite!.prepare('INSERT INTO Server (serverIdHash, serverIdHint, keyId, registeredAt) VALUES (?, ?, ?, ?)');
  for (let i = 0; i < n; i++) insert.run(createHash('sha256').update(`cmd-${++seq}`).digest('hex'), 'cmd-', keyId, Date.now());
}

describe('DomainError', () => {
  it('carries a stable code and a message', () => {
    const err = new DomainError('KEY_EXISTS', "key 'x' already exists");
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'DomainError', code: 'KEY_EXISTS', message: "key 'x' already exists" });
    expect(isDomainError(err)).toBe(true);
    expect(isDomainError(err, 'KEY_EXISTS', 'KEY_NOT_FOUND')).toBe(true);
    expect(isDomainError(err, 'USER_EXISTS')).toBe(false);
    expect(isDomainError(new Error('x'))).toBe(false);
    expect(DOMAIN_ERROR_CODES).toEqual(expect.arrayContaining(['USER_EXISTS', 'USER_NOT_FOUND', 'KEY_EXISTS', 'KEY_NOT_FOUND', 'FEED_NOT_FOUND', 'INVALID_INPUT', 'LAST_ADMIN']));
  });
});

describe('user commands', () => {
  it('add, get, list; never return the hash', async () => {
    const u = await addUser(db.prisma, 'cmd-admin', 'Password-1', { description: 'first' });
    expect(u).toMatchObject({ username: 'cmd-admin', readOnly: false, source: 'local', description: 'first', lastLoginAt: null });
    expect(u.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(u.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(u).not.toHaveProperty('passwordHash');
    const ro = await addUser(db.prisma, 'cmd-viewer', 'Password-2', { readOnly: true });
    expect(ro.readOnly).toBe(true);
    expect(await getUser(db.prisma, 'cmd-viewer')).toEqual(ro);
    expect((await listUsers(db.prisma)).map((x) => x.username)).toEqual(['cmd-admin', 'cmd-viewer']);
  });

  it('maps failures to codes', async () => {
    expect(await codeOf(addUser(db.prisma, 'cmd-admin', 'Password-3'))).toBe('USER_EXISTS');
    expect(await codeOf(addUser(db.prisma, 'bad name', 'Password-3'))).toBe('INVALID_INPUT');
    expect(await codeOf(addUser(db.prisma, 'short-pw', 'short'))).toBe('INVALID_INPUT');
    expect(await codeOf(addUser(db.prisma, 'long-desc', 'Password-3', { description: 'x'.repeat(1025) }))).toBe('INVALID_INPUT');
    expect(await codeOf(addUser(db.prisma, 'extra', 'Password-3', { admin: true } as never))).toBe('INVALID_INPUT');
    expect(await codeOf(getUser(db.prisma, 'nobody'))).toBe('USER_NOT_FOUND');
    expect(await codeOf(deleteUser(db.prisma, 'nobody'))).toBe('USER_NOT_FOUND');
    expect(await codeOf(setReadOnly(db.prisma, 'nobody', true))).toBe('USER_NOT_FOUND');
    expect(await codeOf(setReadOnly(db.prisma, 'nobody', false))).toBe('USER_NOT_FOUND');
    expect(await codeOf(changePassword(db.prisma, 'nobody', 'Password-3'))).toBe('USER_NOT_FOUND');
  });

  it('keeps at least one user who can make changes', async () => {
    expect(await codeOf(setReadOnly(db.prisma, 'cmd-admin', true))).toBe('LAST_ADMIN');
    expect(await codeOf(deleteUser(db.prisma, 'cmd-admin'))).toBe('LAST_ADMIN');
    expect((await setReadOnly(db.prisma, 'cmd-viewer', true)).readOnly).toBe(true); // already read-only: no-op
    expect((await setReadOnly(db.prisma, 'cmd-viewer', false)).readOnly).toBe(false);
    expect((await setReadOnly(db.prisma, 'cmd-admin', true)).readOnly).toBe(true);
    expect(await codeOf(deleteUser(db.prisma, 'cmd-viewer'))).toBe('LAST_ADMIN');
    expect((await deleteUser(db.prisma, 'cmd-admin')).username).toBe('cmd-admin'); // read-only users can always go
    expect((await listUsers(db.prisma)).map((x) => x.username)).toEqual(['cmd-viewer']);
  });

  it('changes passwords, revoking sessions except the one to keep; refuses LDAP users', async () => {
    const { id } = await getUser(db.prisma, 'cmd-viewer');
    const mk = (tokenHash: string) => db.prisma.session.create({ data: { tokenHash, userId: id, expiresAt: new Date(Date.now() + 3_600_000) } });
    const [keep, drop] = [await mk('keep'), await mk('drop')];
    await changePassword(db.prisma, 'cmd-viewer', 'Changed-Password', { keepSessionId: keep.id });
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id } });
    expect(await verifyPassword(row.passwordHash, 'Changed-Password')).toBe(true);
    expect(await verifyPassword(row.passwordHash, 'Password-2')).toBe(false);
    expect((await db.prisma.session.findUniqueOrThrow({ where: { id: keep.id } })).revokedAt).toBeNull();
    expect((await db.prisma.session.findUniqueOrThrow({ where: { id: drop.id } })).revokedAt).toBeInstanceOf(Date);

    await db.prisma.user.create({ data: { username: 'ldap-user', source: 'ldap', readOnly: true, description: 'LDAP' } });
    expect(await codeOf(changePassword(db.prisma, 'ldap-user', 'Password-4'))).toBe('LDAP_USER');
    expect((await db.prisma.user.findUniqueOrThrow({ where: { username: 'ldap-user' } })).passwordHash).toBeNull();
  });
});

describe('key commands', () => {
  it('creates keys in the default feed or a named one', async () => {
    const feed = await db.prisma.feed.create({ data: { name: 'cmd-feed' } });
    const a = await createKey(db.prisma);
    expect(a).toMatchObject({ description: '', serverLimit: null, feed: 'default' });
    expect(a.key).toMatch(/^[A-Za-z0-9]{16}$/);
    const b = await createKey(db.prisma, { key: '  cmd-key  ', description: 'd', serverLimit: 0, feed: feed.name });
    expect(b).toMatchObject({ key: 'cmd-key', description: 'd', serverLimit: 0, feed: 'cmd-feed' });
    expect((await createKey(db.prisma, { key: null, feed: null, description: null, serverLimit: null })).feed).toBe('default');
  });

  it('maps failures to codes', async () => {
    expect(await codeOf(createKey(db.prisma, { key: 'cmd-key' }))).toBe('KEY_EXISTS');
    expect(await codeOf(createKey(db.prisma, { feed: 'nope' }))).toBe('FEED_NOT_FOUND');
    expect(await codeOf(createKey(db.prisma, { key: 'a/b' }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { serverLimit: -1 }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { serverLimit: 1.5 }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { serverLimit: 2 ** 31 }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { serverLimit: '5' as never }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { description: 'x'.repeat(1025) }))).toBe('INVALID_INPUT');
    expect(await codeOf(createKey(db.prisma, { owner: 'me' } as never))).toBe('INVALID_INPUT');
    expect(await codeOf(getKey(db.prisma, 'nope'))).toBe('KEY_NOT_FOUND');
    expect(await codeOf(updateKey(db.prisma, 'nope', { description: 'x' }))).toBe('KEY_NOT_FOUND');
    expect(await codeOf(deleteKey(db.prisma, 'nope'))).toBe('KEY_NOT_FOUND');
  });

  it('updates a key: rename, limit, feed, description', async () => {
    const k = await createKey(db.prisma, { key: 'cmd-rename' });
    addServers(k.id, 2);
    const u = await updateKey(db.prisma, 'cmd-rename', { key: 'cmd-renamed', serverLimit: 7, feed: 'cmd-feed', description: 'moved' });
    expect(u).toMatchObject({ id: k.id, key: 'cmd-renamed', serverLimit: 7, feed: 'cmd-feed', description: 'moved' });
    expect(await getKey(db.prisma, 'cmd-renamed')).toMatchObject({ servers: 2, serverLimit: 7 });
    expect((await updateKey(db.prisma, 'cmd-renamed', { serverLimit: null })).serverLimit).toBeNull();
    expect((await updateKey(db.prisma, 'cmd-renamed', {})).key).toBe('cmd-renamed');
    expect(await codeOf(updateKey(db.prisma, 'cmd-renamed', { key: 'cmd-key' }))).toBe('KEY_EXISTS');
    expect(await codeOf(updateKey(db.prisma, 'cmd-renamed', { key: '' }))).toBe('INVALID_INPUT');
    expect(await codeOf(updateKey(db.prisma, 'cmd-renamed', { feed: 'nope' }))).toBe('FEED_NOT_FOUND');
  });

  it('lists keys with server counts in a fixed number of queries', async () => {
    for (let i = 0; i < 30; i++) addServers((await createKey(db.prisma, { key: `bulk-${i}` })).id, i % 3);
    addServers(null, 4);
    // a second client on the same file, logging its queries
    const prisma = new PrismaClient({
      adapter: new PrismaBetterSqlite3({ url: `file:${path.join(dir, 'eportal.sqlite')}` }, { timestampFormat: 'unixepoch-ms' }),
      log: [{ emit: 'event', level: 'query' }],
    });
    let queries = 0;
    prisma.$on('query', () => queries++);
    try {
      const keys = await listKeys(prisma);
      const listQueries = queries;
      expect(keys.find((k) => k.key === 'bulk-29')).toMatchObject({ servers: 2, feed: 'default' });
      expect(keys.find((k) => k.key === 'cmd-renamed')).toMatchObject({ servers: 2, feed: 'cmd-feed' });
      expect(keys.filter((k) => k.key.startsWith('bulk-')).map((k) => k.servers)).toEqual(Array.from({ length: 30 }, (_, i) => i % 3));
      queries = 0;
      const inv = await keyInventory(prisma);
      expect(listQueries).toBeLessThanOrEqual(3);
      expect(queries).toBeLessThanOrEqual(2);
      expect(inv.withoutKey).toBe(4);
      expect(inv.keys).toHaveLength(keys.length);
      expect(inv.keys.map((k) => k.key)).toEqual(keys.map((k) => k.key)); // oldest first, the same order
      expect(inv.keys.find((k) => k.key === 'bulk-0')).toEqual({ key: 'bulk-0', count: 0 });
    } finally {
      await prisma.$disconnect();
    }
  });

  it('deletes a key with its servers (and their tags) through the cascade', async () => {
    const k = await createKey(db.prisma, { key: 'cmd-doomed' });
    addServers(k.id, 3);
    const sid = (db.sqlite!.prepare('SELECT id FROM Server WHERE keyId = ? LIMIT 1').get(k.id) as { id: number }).id;
    db.sqlite!.prepare("INSERT INTO ServerTag (serverId, name, value) VALUES (?, 'env', 'prod')").run(sid);
    const before = await db.prisma.server.count();
    expect(await deleteKey(db.prisma, 'cmd-doomed')).toEqual({ key: 'cmd-doomed', serversDeleted: 3 });
    expect(await db.prisma.server.count()).toBe(before - 3);
    expect(await db.prisma.serverTag.count({ where: { serverId: sid } })).toBe(0);
    expect(await codeOf(getKey(db.prisma, 'cmd-doomed'))).toBe('KEY_NOT_FOUND');
  });
});
