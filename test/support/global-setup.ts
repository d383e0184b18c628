// Runs once before the suite: brings dist/ up to date (CLI and process tests
// run the built code, and a stale build would test old code), and makes sure
// nothing in the suite can reach outside 127.0.0.1 by accident.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  process.env.EPORTAL_LOG_LEVEL ??= 'silent';
  // Outbound proxies from the developer's shell must not leak into tests.
  for (const v of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'PROXY', 'ALL_PROXY', 'all_proxy']) delete process.env[v];
  // incremental: a no-op when npm test has just built
  // (type errors still emit JS; `npm test` fails on them in its typecheck step)
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'pipe' });
  } catch (err) {
    console.warn(`global-setup: tsc reported errors; dist/ was still emitted\n${String((err as { stdout?: Buffer }).stdout ?? '').slice(0, 2000)}`);
  }
}
