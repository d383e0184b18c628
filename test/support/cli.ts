// Runs the real bin/kc.eportal against a data directory, as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/kc.eportal', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts kc.eportal with only EPORTAL_DATA_DIR (+ `env`) set; `started` exposes the child (for kill tests). */
export function kc(dataDir: string, args: string[], opts: { env?: Record<string, string>; started?: (child: ChildProcess) => void } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EPORTAL_')));
  Object.assign(env, { EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir, ...opts.env });
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    opts.started?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
