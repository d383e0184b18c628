// kc.eportal key ... and --list-servers, run as the real executable against a
// fresh data directory (`npm test` builds dist/ first).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/db/index.js';
import { kc } from '../support/cli.js';

// every test spawns the CLI several times; generous for loaded CI machines
const CLI_TIMEOUT = 120_000;
const dirs: string[] = [];


/** A data directory with the schema, the default feed, these extra feeds and keys (in the default feed), made without the CLI. */
async function seeded({ feeds = [], keys = [] }: { feeds?: string[]; keys?: string[] } = {}): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-cli-'));
  dirs.push(dir);
  const db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }));
  try {
    const sql = db.sqlite!;
    for (const name of feeds) sql.prepare("INSERT INTO Feed (name, isDefault, autoUpdate, deployAfterHours, channel, createdAt) VALUES (?, 0, 0, 0, 'default', ?)").run(name, Date.now());
    for (const key of keys) sql.prepare("INSERT INTO Key (key, description, feedId, createdAt) VALUES (?, '', (SELECT id FROM Feed WHERE isDefault = 1), ?)").run(key, Date.now());
  } finally {
    await db.close();
  }
  return dir;
}

/** Opens the data directory's database with better-sqlite3, as a second process would. */
function sqlite(dir: string): Database.Database {
  const db = new Database(path.join(dir, 'eportal.sqlite'));
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

let serverSeq = 0;
/** Inserts `n` registered servers for a key (null: no key) straight into the database. */
function addServers(dir: string, key: string | null, n: number): void {
  const db = sqlite(dir);
  try {
    const keyId = key === null ? null : (db.prepare('SELECT id FROM Key WHERE key = ?').get(key) as { id: number }).id;
    const insert = db.prepare('INSERT INTO Server (serverIdHash, serverIdHint, keyId, registeredAt) VALUES (?, ?, ?, ?)');
    const tag = db.prepare("INSERT INTO ServerTag (serverId, name, value) VALUES (?, 'env', 'prod')");
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const id = `test-${process.pid}-${++serverSeq}`;
        const { lastInsertRowid } = insert.run(createHash('sha256').update(id).digest('hex'), id.slice(0, 4), keyId, Date.now());
        tag.run(lastInsertRowid);
      }
    })();
  } finally {
    db.close();
  }
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('kc.eportal key', { timeout: CLI_TIMEOUT }, () => {
  it('creates a generated 16-character key and prints only the key', async () => {
    const dir = await seeded();
    const a = await kc(dir, ['key', 'create']);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/^[A-Za-z0-9]{16}\n$/);
    const b = await kc(dir, ['key', 'create', '--key', '']); // blank means generated too
    expect(b.stdout).toMatch(/^[A-Za-z0-9]{16}\n$/);
    expect(b.stdout).not.toBe(a.stdout);
    const db = sqlite(dir);
    const rows = db.prepare('SELECT k.key, k.serverLimit, k.description, f.name AS feed FROM Key k JOIN Feed f ON f.id = k.feedId ORDER BY k.id').all();
    db.close();
    expect(rows).toEqual([
      { key: a.stdout.trim(), serverLimit: null, description: '', feed: 'default' },
      { key: b.stdout.trim(), serverLimit: null, description: '', feed: 'default' },
    ]);
  });

  it('creates a key with a server limit, a description and a feed, and lists it', async () => {
    const dir = await seeded({ feeds: ['test'] });
    expect(await kc(dir, ['key', 'create', '--key', 'web_servers-1', '--description', 'web farm', '--server-limit', '5', '--feed', 'test'])).toEqual({
      code: 0,
      stdout: 'web_servers-1\n',
      stderr: '',
    });
    expect(await kc(dir, ['key', 'create', '--key', 'db', '--server-limit', '0'])).toMatchObject({ code: 0, stdout: 'db\n' });
    expect(await kc(dir, ['key', 'create', '--key', 'any', '--server-limit', 'none'])).toMatchObject({ code: 0, stdout: 'any\n' });
    addServers(dir, 'web_servers-1', 3);
    expect(await kc(dir, ['key', 'list'])).toEqual({
      code: 0,
      stdout: [
        'Key           | Servers | Limit | Feed    | Description',
        '------------- + ------- + ----- + ------- + -----------',
        'web_servers-1 |       3 |     5 | test    | web farm',
        'db            |       0 |     0 | default |',
        'any           |       0 |     - | default |',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('lists no keys as a bare header', async () => {
    expect(await kc(await seeded(), ['key', 'list'])).toEqual({
      code: 0,
      stdout: 'Key | Servers | Limit | Feed | Description\n--- + ------- + ----- + ---- + -----------\n',
      stderr: '',
    });
  });

  it('lists descriptions on one line, without terminal control characters', async () => {
    const dir = await seeded({ keys: ['k'] });
    const db = sqlite(dir);
    db.prepare("UPDATE Key SET description = ? WHERE key = 'k'").run('\u001b[31mred\nsecond  line\u0007');
    db.close();
    expect((await kc(dir, ['key', 'list'])).stdout.split('\n')[2]).toBe('k   |       0 |     - | default | ?[31mred second line?');
  });

  it('refuses an unknown feed, a bad limit, a bad or duplicate key (exit 1)', async () => {
    const dir = await seeded();
    expect(await kc(dir, ['key', 'create', '--feed', 'nope'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: feed 'nope' does not exist\n" });
    expect(await kc(dir, ['key', 'create', '--server-limit', '-1'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'kc.eportal: server limit must be 0 or more (or none for no limit)\n',
    });
    expect(await kc(dir, ['key', 'create', '--server-limit', 'ten'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "kc.eportal: invalid server limit 'ten': give a whole number, or none for no limit\n",
    });
    expect(await kc(dir, ['key', 'create', '--key', 'has space'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "kc.eportal: invalid key 'has space': use 1 to 64 characters from A-Z a-z 0-9 _ -\n",
    });
    expect(await kc(dir, ['key', 'create', '--key', 'k'.repeat(65)])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid key') });
    expect(await kc(dir, ['key', 'create', '--key', 'k'.repeat(64)])).toMatchObject({ code: 0, stdout: `${'k'.repeat(64)}\n` });
    expect(await kc(dir, ['key', 'create', '--key', 'k'.repeat(64)])).toEqual({ code: 1, stdout: '', stderr: `kc.eportal: key '${'k'.repeat(64)}' already exists\n` });
    const db = sqlite(dir);
    expect(db.prepare('SELECT count(*) AS n FROM Key').get()).toEqual({ n: 1 });
    db.close();
  });

  it('updates a key; its servers stay with it', async () => {
    const dir = await seeded({ feeds: ['test'], keys: ['old'] });
    addServers(dir, 'old', 2);
    expect(await kc(dir, ['key', 'update', 'old', '--rename', 'new', '--server-limit', 'none', '--feed', 'test', '--description', 'renamed'])).toEqual({
      code: 0,
      stdout: "Key 'new' updated\n",
      stderr: '',
    });
    expect((await kc(dir, ['key', 'list'])).stdout.split('\n')[2]).toBe('new |       2 |     - | test | renamed');
    expect(await kc(dir, ['key', 'update', 'old', '--description', 'x'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: key 'old' does not exist\n" });
    expect(await kc(dir, ['key', 'update', 'new', '--feed', 'nope'])).toMatchObject({ code: 1, stderr: "kc.eportal: feed 'nope' does not exist\n" });
    expect(await kc(dir, ['key', 'update', 'new'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Try 'kc.eportal key update --help'") });
  });

  it('deletes a key and, by the foreign key cascade, its servers and their tags', async () => {
    const dir = await seeded({ keys: ['doomed', 'kept', 'single', 'empty'] });
    addServers(dir, 'doomed', 3);
    addServers(dir, 'kept', 2);
    addServers(dir, 'single', 1);
    addServers(dir, null, 1);
    expect(await kc(dir, ['key', 'delete', 'doomed'])).toEqual({ code: 0, stdout: "Key 'doomed' deleted, and its 3 servers with it\n", stderr: '' });
    expect(await kc(dir, ['key', 'delete', 'single'])).toMatchObject({ code: 0, stdout: "Key 'single' deleted, and its 1 server with it\n" });
    expect(await kc(dir, ['key', 'delete', 'empty'])).toMatchObject({ code: 0, stdout: "Key 'empty' deleted (it had no servers)\n" });
    expect(await kc(dir, ['key', 'delete', 'doomed'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: key 'doomed' does not exist\n" });
    const db = sqlite(dir);
    expect(db.prepare('SELECT k.key, count(s.id) AS n FROM Server s LEFT JOIN Key k ON k.id = s.keyId GROUP BY s.keyId ORDER BY k.key').all()).toEqual([
      { key: null, n: 1 },
      { key: 'kept', n: 2 },
    ]);
    expect(db.prepare('SELECT count(*) AS n FROM ServerTag').get()).toEqual({ n: 3 });
    db.close();
  });

  it('exits 2 on key usage errors', async () => {
    const dir = await seeded();
    expect(await kc(dir, ['key', 'create', '--bogus'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "kc.eportal: unknown option '--bogus'\nTry 'kc.eportal key create --help' for more information.\n",
    });
    expect(await kc(dir, ['key', 'delete'])).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'key'") });
    expect(await kc(dir, ['key', 'frob'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frob'") });
    const bare = await kc(dir, ['key']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: kc.eportal key');
    const help = await kc(dir, ['key', 'create', '--help']);
    expect(help.code).toBe(0);
    for (const opt of ['--key <key>', '--description <text>', '--server-limit <n>', '--feed <name>']) expect(help.stdout).toContain(opt);
  });
});

describe('kc.eportal --list-servers', { timeout: CLI_TIMEOUT }, () => {
  const HEADER = 'Count | Key\n----- + --------------------------------\n';

  it('counts servers per key, keys without servers included, oldest key first', async () => {
    const dir = await seeded({ keys: ['2shcolu7Y1x6885Q', '6J89aS44j6OmTr05'] });
    addServers(dir, '6J89aS44j6OmTr05', 2);
    expect(await kc(dir, ['--list-servers'])).toEqual({ code: 0, stdout: `${HEADER}    0 | 2shcolu7Y1x6885Q\n    2 | 6J89aS44j6OmTr05\n`, stderr: '' });
  });

  it('adds a row for servers without a key, and right-aligns large counts', async () => {
    const dir = await seeded({ keys: ['big'] });
    addServers(dir, 'big', 12345);
    addServers(dir, null, 3);
    expect(await kc(dir, ['--list-servers'])).toEqual({ code: 0, stdout: `${HEADER}12345 | big\n    3 | (no key)\n`, stderr: '' });
  });

  it('prints only the header on an empty portal', async () => {
    expect(await kc(await seeded(), ['--list-servers'])).toEqual({ code: 0, stdout: HEADER, stderr: '' });
  });
});
