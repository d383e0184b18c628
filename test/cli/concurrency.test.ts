// kc.eportal works on the database while another process (the running
// portal) has it open and keeps writing: SQLite WAL, a busy timeout, and no
// transaction that reads before it writes (those fail with SQLITE_BUSY when
// another connection commits in between, whatever the busy timeout).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../server/auth/password.js';
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/db/index.js';
import { kc } from '../support/cli.js';

// every test spawns the CLI several times; generous for loaded CI machines
const CLI_TIMEOUT = 120_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Inserts keyless servers in IMMEDIATE transactions that hold the write lock ~10 ms, back to back, until stdin closes. */
const WRITER = `
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
const db = new Database(process.env.DB_FILE);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 10000');
const insert = db.prepare('INSERT INTO Server (serverIdHash, serverIdHint, keyId, registeredAt) VALUES (?, ?, NULL, ?)');
let n = 0, commits = 0, stop = false;
process.stdin.on('end', () => (stop = true)).resume();
const deadline = Date.now() + 120000;
function tick() {
  if (stop || Date.now() > deadline) { db.close(); process.stdout.write('commits ' + commits + '\\n'); return; }
  db.exec('BEGIN IMMEDIATE');
  for (let i = 0; i < 20; i++) {
    const id = 'writer-' + process.pid + '-' + ++n;
    insert.run(createHash('sha256').update(id).digest('hex'), 'writ', Date.now());
  }
  const until = Date.now() + 10;
  while (Date.now() < until) {} // keeps the write lock, as a check-in flush does
  db.exec('COMMIT');
  if (++commits === 1) process.stdout.write('ready\\n');
  setTimeout(tick, 3);
}
tick();
`;


describe('kc.eportal next to a writing process', { timeout: CLI_TIMEOUT }, () => {
  let dir: string;
  let dbFile: string;
  let writer: ChildProcessWithoutNullStreams;
  let writerOut = '';

  const keylessServers = () => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM Server WHERE keyId IS NULL').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-cli-'));
    dbFile = path.join(dir, 'eportal.sqlite');
    const db = await openDatabase(loadConfig({ EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dir }));
    await db.close();
    writer = spawn(process.execPath, ['--input-type=module', '-e', WRITER], { cwd: ROOT, env: { ...process.env, DB_FILE: dbFile } });
    writer.stdout.setEncoding('utf8').on('data', (s: string) => (writerOut += s));
    writer.stderr.setEncoding('utf8').on('data', (s: string) => (writerOut += s));
    while (!writerOut.includes('ready')) {
      if (writer.exitCode !== null) throw new Error(`writer died: ${writerOut}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(async () => {
    if (writer && writer.exitCode === null) {
      writer.stdin.end();
      await Promise.race([once(writer, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      if (writer.exitCode === null) writer.kill();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every kind of command successfully while the writer commits', async () => {
    const before = keylessServers();
    const steps: [string[], string, RegExp | string][] = [
      [['-a', 'admin', '-p', 'AdminPassword'], '', "User 'admin' added\n"],
      [['-a', 'user'], 'UserPassword\n', "User 'user' added\n"],
      [['-r', 'user'], '', "User 'user' is now readonly\n"],
      [['-c', 'admin', '-p', 'NewPassword'], '', "Password of user 'admin' changed\n"],
      [['-l'], '', 'Num | Username\n--- + --------------------------------\n 1 | admin\n 2 | user\n'],
      [['key', 'create', '--key', 'k1', '--server-limit', '10'], '', 'k1\n'],
      [['key', 'create'], '', /^[A-Za-z0-9]{16}\n$/],
      [['key', 'update', 'k1', '--description', 'busy'], '', "Key 'k1' updated\n"],
      [['key', 'list'], '', /^Key .*\n.*\nk1 +\| +0 \| +10 \| default \| busy\n/],
      [['--list-servers'], '', /^Count \| Key\n----- \+ -+\n {4}0 \| k1\n {4}0 \| [A-Za-z0-9]{16}\n *\d+ \| \(no key\)\n$/],
      [['key', 'delete', 'k1'], '', "Key 'k1' deleted (it had no servers)\n"],
      [['--writable', 'user'], '', "User 'user' is no longer readonly\n"],
      [['-d', 'user'], '', "User 'user' deleted\n"],
    ];
    for (const [args, input, expected] of steps) {
      const res = await kc(dir, args, { input });
      expect({ args, code: res.code, stderr: res.stderr }).toEqual({ args, code: 0, stderr: '' });
      if (typeof expected === 'string') expect(res.stdout).toBe(expected);
      else expect(res.stdout).toMatch(expected);
    }
    // the writer really was writing all along, and the CLI's changes are there
    expect(writer.exitCode).toBeNull();
    expect(keylessServers()).toBeGreaterThan(before);
    const db = new Database(dbFile, { readonly: true });
    const admin = db.prepare("SELECT passwordHash FROM User WHERE username = 'admin'").get() as { passwordHash: string };
    db.close();
    expect(await verifyPassword(admin.passwordHash, 'NewPassword')).toBe(true);
  });
});
