// kc.eportal's user options, run as the real executable against a fresh data
// directory. `npm test` builds dist/ first; without dist/ the executable runs
// the sources through tsx (slower, same behaviour).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../server/auth/password.js';
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/db/index.js';
import { kc } from '../support/cli.js';

// every test spawns the CLI several times; generous for loaded CI machines
const CLI_TIMEOUT = 120_000;
const dirs: string[] = [];


function freshDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-cli-'));
  dirs.push(dir);
  return dir;
}

let seedHash = '';
beforeAll(async () => {
  seedHash = await hashPassword('SeedPassword');
});

/** A data directory with the schema and these users (password 'SeedPassword'), made without running the CLI. */
async function seeded(users: { name: string; readOnly?: boolean; source?: string }[] = []): Promise<string> {
  const dir = freshDir();
  const db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }));
  try {
    const insert = db.sqlite!.prepare('INSERT INTO User (username, passwordHash, source, readOnly, description, createdAt) VALUES (?, ?, ?, ?, ?, ?)');
    for (const u of users) {
      const ldap = u.source === 'ldap';
      insert.run(u.name, ldap ? null : seedHash, u.source ?? 'local', u.readOnly ?? ldap ? 1 : 0, ldap ? 'LDAP' : '', Date.now());
    }
  } finally {
    await db.close();
  }
  return dir;
}

function userRow(dir: string, name: string): { passwordHash: string | null; readOnly: number; source: string } | undefined {
  const db = new Database(path.join(dir, 'eportal.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT passwordHash, readOnly, source FROM User WHERE username = ?').get(name) as never;
  } finally {
    db.close();
  }
}

function exec(dir: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path.join(dir, 'eportal.sqlite'));
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('kc.eportal users', { timeout: CLI_TIMEOUT }, () => {
  const LIST_HEADER = 'Num | Username\n--- + --------------------------------\n';

  it('adds and lists users exactly as the manual shows', async () => {
    const dir = freshDir();
    const add = await kc(dir, ['-a', 'admin', '-p', 'AdminPassword']);
    expect(add).toMatchObject({ code: 0, stdout: "User 'admin' added\n" });
    expect(add.stderr).toMatch(/creating it/); // first use of a data directory says where the database went
    expect(await kc(dir, ['--add-user', 'user', '--password', 'UserPassword'])).toEqual({ code: 0, stdout: "User 'user' added\n", stderr: '' });
    expect(await kc(dir, ['-l'])).toEqual({ code: 0, stdout: `${LIST_HEADER} 1 | admin\n 2 | user\n`, stderr: '' });
    const row = userRow(dir, 'admin')!;
    expect(row).toMatchObject({ source: 'local', readOnly: 0 });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(row.passwordHash, 'AdminPassword')).toBe(true);
    expect(await verifyPassword(userRow(dir, 'user')!.passwordHash, 'UserPassword')).toBe(true);
  });

  it('lists no users, and pads numbers past 9 like the original', async () => {
    expect(await kc(await seeded(), ['--list-users'])).toEqual({ code: 0, stdout: LIST_HEADER, stderr: '' });
    const dir = await seeded(Array.from({ length: 10 }, (_, i) => ({ name: `u${i + 1}` })));
    expect((await kc(dir, ['-l'])).stdout.split('\n').slice(-3)).toEqual([' 9 | u9', '10 | u10', '']);
  });

  it('makes a user read-only and lifts it again', async () => {
    const dir = await seeded([{ name: 'admin' }, { name: 'user' }]);
    expect(await kc(dir, ['-r', 'user'])).toEqual({ code: 0, stdout: "User 'user' is now readonly\n", stderr: '' });
    expect(userRow(dir, 'user')!.readOnly).toBe(1);
    // the list keeps exactly the manual's two columns
    expect((await kc(dir, ['-l'])).stdout).toBe(`${LIST_HEADER} 1 | admin\n 2 | user\n`);
    expect(await kc(dir, ['--readonly', 'user'])).toMatchObject({ code: 0, stdout: "User 'user' is now readonly\n" });
    expect(await kc(dir, ['--writable', 'user'])).toEqual({ code: 0, stdout: "User 'user' is no longer readonly\n", stderr: '' });
    expect(userRow(dir, 'user')!.readOnly).toBe(0);
    expect(await kc(dir, ['-r', 'nobody'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: user 'nobody' does not exist\n" });
  });

  it('changes a password: the new one verifies, the old one no longer does, sessions are revoked', async () => {
    const dir = await seeded([{ name: 'admin' }]);
    exec(
      dir,
      "INSERT INTO Session (tokenHash, userId, createdAt, expiresAt, lastSeenAt, ip, userAgent) VALUES ('t1', (SELECT id FROM User WHERE username = 'admin'), ?, ?, ?, '', '')",
      Date.now(),
      Date.now() + 3_600_000,
      Date.now(),
    );
    expect(await kc(dir, ['-c', 'admin', '-p', 'NewPassword'])).toEqual({ code: 0, stdout: "Password of user 'admin' changed\n", stderr: '' });
    const hash = userRow(dir, 'admin')!.passwordHash;
    expect(await verifyPassword(hash, 'NewPassword')).toBe(true);
    expect(await verifyPassword(hash, 'SeedPassword')).toBe(false);
    const db = new Database(path.join(dir, 'eportal.sqlite'), { readonly: true });
    expect((db.prepare("SELECT revokedAt FROM Session WHERE tokenHash = 't1'").get() as { revokedAt: number | null }).revokedAt).toBeGreaterThan(0);
    db.close();
    expect(await kc(dir, ['--change-password', 'nobody', '-p', 'NewPassword'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: user 'nobody' does not exist\n" });
  });

  it('refuses to set a password on an LDAP user, but lifts its read-only flag', async () => {
    const dir = await seeded([{ name: 'admin' }, { name: 'jdoe', source: 'ldap' }]);
    expect(await kc(dir, ['-c', 'jdoe', '-p', 'NewPassword'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "kc.eportal: user 'jdoe' signs in through LDAP: change the password in the directory\n",
    });
    expect(userRow(dir, 'jdoe')!.passwordHash).toBeNull();
    expect(await kc(dir, ['--writable', 'jdoe'])).toMatchObject({ code: 0, stdout: "User 'jdoe' is no longer readonly\n" });
  });

  it('reads the password from stdin when -p is omitted, and never prints it', async () => {
    const dir = await seeded();
    const add = await kc(dir, ['-a', 'piped'], { input: 'StdinPassword\nsecond line is ignored\n' });
    expect(add).toEqual({ code: 0, stdout: "User 'piped' added\n", stderr: '' });
    expect(await verifyPassword(userRow(dir, 'piped')!.passwordHash, 'StdinPassword')).toBe(true);
    // CRLF, and no final newline at all
    expect(await kc(dir, ['-c', 'piped'], { input: 'Changed-Password\r\n' })).toMatchObject({ code: 0, stderr: '' });
    expect(await verifyPassword(userRow(dir, 'piped')!.passwordHash, 'Changed-Password')).toBe(true);
    expect(await kc(dir, ['-c', 'piped'], { input: 'NoNewlineAtEnd' })).toMatchObject({ code: 0, stderr: '' });
    expect(await verifyPassword(userRow(dir, 'piped')!.passwordHash, 'NoNewlineAtEnd')).toBe(true);
  });

  it('fails when -p is omitted and stdin is empty, and checks the policy before touching the database', async () => {
    const dir = freshDir();
    expect(await kc(dir, ['-a', 'nopass'])).toEqual({ code: 1, stdout: '', stderr: 'kc.eportal: no password: give -p PASSWORD, or pipe it in on stdin\n' });
    expect(await kc(dir, ['-a', 'nopass'], { input: '\n' })).toEqual({ code: 1, stdout: '', stderr: 'kc.eportal: password is too short: use at least 8 characters\n' });
    expect(await kc(dir, ['-a', 'weak', '-p', 'short'])).toEqual({ code: 1, stdout: '', stderr: 'kc.eportal: password is too short: use at least 8 characters\n' });
    expect(await kc(dir, ['-c', 'long', '-p', 'x'.repeat(1025)])).toEqual({ code: 1, stdout: '', stderr: 'kc.eportal: password is too long: use at most 1024 characters\n' });
    expect(existsSync(path.join(dir, 'eportal.sqlite'))).toBe(false);
  });

  it('refuses a duplicate user and leaves its password alone', async () => {
    const dir = await seeded([{ name: 'admin' }]);
    expect(await kc(dir, ['-a', 'admin', '-p', 'OtherPassword'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: user 'admin' already exists\n" });
    expect(await verifyPassword(userRow(dir, 'admin')!.passwordHash, 'SeedPassword')).toBe(true);
  });

  it('refuses bad usernames', async () => {
    const dir = freshDir();
    const rule = 'use 1 to 64 characters from A-Z a-z 0-9 . _ @ -';
    expect(await kc(dir, ['-a', 'bad name', '-p', 'Password1'])).toEqual({ code: 1, stdout: '', stderr: `kc.eportal: invalid username 'bad name': ${rule}\n` });
    expect(await kc(dir, ['-a', '', '-p', 'Password1'])).toEqual({ code: 1, stdout: '', stderr: `kc.eportal: invalid username '': ${rule}\n` });
    expect(await kc(dir, ['-a', 'x'.repeat(65), '-p', 'Password1'])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid username') });
    expect(await kc(dir, ['-a', 'tab\there', '-p', 'Password1'])).toMatchObject({ code: 1, stderr: `kc.eportal: invalid username "tab\\there": ${rule}\n` });
    expect(await kc(dir, ['-a', 'ユーザ', '-p', 'Password1'])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid username') });
    expect(existsSync(path.join(dir, 'eportal.sqlite'))).toBe(false);
    // the allowed punctuation, and the longest name
    expect(await kc(dir, ['-a', 'first.last_name-2@example.com', '-p', 'Password1'])).toMatchObject({ code: 0 });
    expect(await kc(dir, ['-a', 'y'.repeat(64), '-p', 'Password1'])).toMatchObject({ code: 0 });
    expect((await kc(dir, ['-l'])).stdout).toBe(`${LIST_HEADER} 1 | first.last_name-2@example.com\n 2 | ${'y'.repeat(64)}\n`);
  });

  it('deletes users but keeps one who can make changes', async () => {
    const dir = await seeded([{ name: 'admin' }, { name: 'user', readOnly: true }]);
    expect(await kc(dir, ['-d', 'admin'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "kc.eportal: cannot delete user 'admin': no other user could make changes (add one first)\n",
    });
    expect(await kc(dir, ['-r', 'admin'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: cannot make user 'admin' read-only: no other user could make changes\n" });
    expect(await kc(dir, ['-d', 'user'])).toEqual({ code: 0, stdout: "User 'user' deleted\n", stderr: '' });
    expect(await kc(dir, ['--delete-user', 'user'])).toEqual({ code: 1, stdout: '', stderr: "kc.eportal: user 'user' does not exist\n" });
    expect(await kc(dir, ['-a', 'admin2', '-p', 'AdminPassword'])).toMatchObject({ code: 0 });
    expect(await kc(dir, ['-d', 'admin'])).toMatchObject({ code: 0, stdout: "User 'admin' deleted\n" });
    expect((await kc(dir, ['-l'])).stdout).toBe(`${LIST_HEADER} 1 | admin2\n`);
  });
});

describe('kc.eportal usage', { timeout: CLI_TIMEOUT }, () => {
  const dir = freshDir();

  it('prints help with -h and exits 0', async () => {
    const res = await kc(dir, ['-h']);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    for (const flag of ['-l, --list-users', '-a, --add-user <name>', '-d, --delete-user <name>', '-c, --change-password <name>', '-p, --password <password>', '-r, --readonly <name>', '--writable <name>', '--list-servers', '-h, --help', 'key']) {
      expect(res.stdout).toContain(flag);
    }
    expect((await kc(dir, ['--help'])).stdout).toBe(res.stdout);
  });

  it('exits 2 with the help on stderr when given nothing to do', async () => {
    const res = await kc(dir, []);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('Usage: kc.eportal');
  });

  it('exits 2 with a hint on unknown options and commands', async () => {
    const unknown = await kc(dir, ['--list-user']);
    expect(unknown).toEqual({
      code: 2,
      stdout: '',
      stderr: "kc.eportal: unknown option '--list-user'\n(Did you mean --list-users?)\nTry 'kc.eportal --help' for more information.\n",
    });
    expect(await kc(dir, ['-x'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown option '-x'") });
    expect(await kc(dir, ['frobnicate'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "kc.eportal: unknown command 'frobnicate' (commands: key, feed, patchset, cve, deploy, db)\nTry 'kc.eportal --help' for more information.\n",
    });
  });

  it('exits 2 on a missing option argument', async () => {
    expect(await kc(dir, ['-a'])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining("option '-a, --add-user <name>' argument missing") });
  });

  it('exits 2 when actions are combined or -p is used alone', async () => {
    expect(await kc(dir, ['-l', '-d', 'x'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "kc.eportal: --list-users and --delete-user cannot be used together\nTry 'kc.eportal --help' for more information.\n",
    });
    expect(await kc(dir, ['-p', 'Password1'])).toMatchObject({
      code: 2,
      stderr: "kc.eportal: --password is only used with --add-user or --change-password\nTry 'kc.eportal --help' for more information.\n",
    });
    expect(await kc(dir, ['-d', 'x', '-p', 'Password1'])).toMatchObject({ code: 2 });
  });

  it('reports a bad configuration and exits 1', async () => {
    const res = await kc(dir, ['-l'], { env: { EPORTAL_PORT: 'not-a-port' } });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^kc\.eportal: invalid configuration:\n {2}EPORTAL_PORT: /);
  });
});
