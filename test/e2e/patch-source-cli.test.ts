// kc.eportal --sync / --get-latest, driven through the CLI's own builder with
// captured streams, against a running portal's data directory and the test
// upstream configured by EPORTAL_PATCH_SOURCE_* (the unattended-install
// path). The running server picks up what the CLI imported and deployed.
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliBuilder } from '../../server/cli/builder.js';
import { syncCommand } from '../../server/cli/commands/sync.js';
import { CliContext, CliError } from '../../server/cli/context.js';
import { DomainError } from '../../server/commands/errors.js';
import { humanBytes } from '../../server/patches/source/cli-progress.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildPatchset, makeKernels, type BuiltPatchset } from '../support/patchset-fixtures.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';
import { startUpstream, type TestUpstream } from '../support/upstream-server.js';

const kernels = makeKernels(1, 31);
let portal: TestPortal;
let upstream: TestUpstream;
let fixtures: string;
let seq = 0;

interface Run { code: number; stdout: string; stderr: string }

/** Runs `kc.eportal ARGS` in-process with the sync command registered, as main.ts would. */
async function kc(args: string[], env: Record<string, string | undefined> = {}, tty = false): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (onData: (s: string) => void) => new Writable({ write(chunk: Buffer, _enc, cb) { onData(chunk.toString()); cb(); } });
  const out = Object.assign(sink((s) => (stdout += s)), { isTTY: tty });
  const vars = { EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: portal.dataDir, EPORTAL_PATCH_SOURCE_URL: upstream.url, EPORTAL_PATCH_SOURCE_USER: upstream.user, EPORTAL_PATCH_SOURCE_PASSWORD: upstream.password, ...env };
  const ctx = new CliContext({ stdin: process.stdin, stdout: out, stderr: sink((s) => (stderr += s)), env: Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) });
  const program = new Command('kc.eportal').exitOverride().enablePositionalOptions().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  const cli = new CliBuilder(program, ctx);
  syncCommand.register(cli);
  program.allowExcessArguments(true).action((options: Record<string, unknown>, self: Command) => cli.dispatch(options, self.args));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (!(err instanceof CliError || err instanceof DomainError)) throw err;
    if (err.message) ctx.warn(err.message);
    return { code: err instanceof CliError ? err.exitCode : 1, stdout, stderr };
  }
}

async function publishNext(meta: { channels?: string[] } = {}): Promise<BuiltPatchset> {
  const level = ++seq;
  const p = await buildPatchset({ name: `K202504${String(level).padStart(2, '0')}_01`, kernels, level, outDir: fixtures, binSize: 64 * 1024 });
  await upstream.publish(p, meta);
  return p;
}

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-source-cli-'));
  portal = await startTestPortal({ EPORTAL_SYNC_CRON: 'off' });
  upstream = await startUpstream();
});
afterAll(async () => {
  await portal?.stop();
  await upstream?.close();
});

describe('kc.eportal --sync / --get-latest', () => {
  it('--sync downloads with plain progress lines when not on a terminal, deploys nothing by itself', async () => {
    const p = await publishNext();
    const r = await kc(['--sync']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining([`downloading ${p.name} (${humanBytes(p.size)})`, `importing ${p.name}`, `imported ${p.name}`, 'upstream lists 1 patchset(s)']));
    expect(r.stdout).toMatch(new RegExp(`sync ok: 1 imported \\(${p.name}\\), ${humanBytes(p.size).replace('.', '\\.')} downloaded in [\\d.]+ s\\n$`));
    expect(r.stdout).not.toContain('\r');
    expect(await portal.app.db.prisma.deployment.count()).toBe(0);
  });

  it('--get-latest syncs, deploys the newest to the default feed, and the running server serves it', async () => {
    const agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, procVersion: kernels[0]!.procVersion });
    const p = await publishNext();
    const r = await kc(['--get-latest'], {}, true);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deployed to feed 'default': K20250401_01, ${p.name}`);
    expect(r.stdout).toMatch(/\r\x1b\[K.* \[#+-*\] +\d+% /); // the terminal progress bar
    const deadline = Date.now() + 5000;
    while ((await agent.checkin()).level !== 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect((await agent.checkin()).level).toBe(2); // the server's feed index followed the CLI's change
    expect((await kc(['--get-latest'])).stdout).toContain(`feed 'default' already has the newest: ${p.name}`);
  });

  it('--get-latest --feed F respects the feed channel', async () => {
    await portal.app.db.prisma.feed.create({ data: { name: 'testers', channel: 'test' } });
    const t = await publishNext({ channels: ['test'] });
    const r = await kc(['--get-latest', '--feed', 'testers']);
    expect(r.stdout).toContain(`deployed to feed 'testers': K20250401_01, K20250402_01, ${t.name}`);
    expect((await kc(['--get-latest'])).stdout).toContain("feed 'default' already has the newest: K20250402_01");
  });

  it('exits 1 with the reason when the upstream refuses the login, never printing the password', async () => {
    const r = await kc(['--sync'], { EPORTAL_PATCH_SOURCE_PASSWORD: 'hunter2-wrong' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('kc.eportal: index.json: the patch source refused the login (401); check the login and password\n');
    expect(r.stdout + r.stderr).not.toMatch(/hunter2|mirror-pass/);
  });

  it('exits 1 when no patch source is configured, and rejects stray options', async () => {
    const r = await kc(['--sync'], { EPORTAL_PATCH_SOURCE_URL: undefined, EPORTAL_PATCH_SOURCE_USER: undefined, EPORTAL_PATCH_SOURCE_PASSWORD: undefined });
    expect(r).toMatchObject({ code: 1, stderr: 'kc.eportal: no patch source URL is set\n' });
    expect((await kc(['--sync', '--feed', 'x'])).code).toBe(2);
  });
});
