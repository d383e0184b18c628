// Runs the built portal (dist/server/main.js) as its own process, the way
// systemd would, for signal, crash and start-up tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ChildPortal {
  proc: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Spawns the portal and waits until it answers /healthz. */
export async function spawnPortal(env: Record<string, string> = {}, dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-child-'))): Promise<ChildPortal> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['dist/server/main.js'], {
    env: { PATH: process.env.PATH, EPORTAL_DATA_DIR: dataDir, EPORTAL_HOST: '127.0.0.1', EPORTAL_PORT: String(port), EPORTAL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`portal exited during start-up:\n${out}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`portal did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, url, port, dataDir, output: () => out, exited };
}
