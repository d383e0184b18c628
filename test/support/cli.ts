// Runs the real bin/kc.eportal against a data directory, as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/kc.eportal', import.meta.url));

export interface CliResult {
  code: number | null;
  /** set only when the process was killed by a signal */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** what stdin gets (it is closed right after) */
  input?: string;
  env?: Record<string, string>;
  /** called with the child as soon as it is spawned (kill tests) */
  started?: (child: ChildProcess) => void;
}

/** Runs kc.eportal with only EPORTAL_DATA_DIR (+ `env`) set, no config file, and `input` on stdin. */
export function kc(dataDir: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EPORTAL_')));
  Object.assign(env, { EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: dataDir, ...opts.env });
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    opts.started?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, stdout, stderr, ...(signal ? { signal } : {}) }));
    child.stdin.on('error', () => {}); // the CLI may exit before reading everything
    child.stdin.end(opts.input ?? '');
  });
}
