// Starts a real portal on 127.0.0.1 with a fresh temporary data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';

export interface TestPortal {
  app: App;
  url: string;
  /** REGISTRATION_URL for agents */
  regUrl: string;
  dataDir: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

/** A portal on an ephemeral port; pass env overrides as EPORTAL_* strings. */
export async function startTestPortal(env: Record<string, string> = {}, opts: { dataDir?: string; now?: () => number } = {}): Promise<TestPortal> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'eportal-test-'));
  const config = loadConfig({ EPORTAL_DATA_DIR: dataDir, EPORTAL_HOST: '127.0.0.1', EPORTAL_PORT: '0', EPORTAL_LOG_LEVEL: 'silent', EPORTAL_CHECKIN_FLUSH_MS: '50',
    // no scheduled sync ticking into unrelated tests; sync tests turn it on
    EPORTAL_SYNC_CRON: 'off', ...env });
  const app = await buildApp(config, { now: opts.now });
  const { url } = await app.start();
  return {
    app,
    url,
    regUrl: `${url}/admin/api/kcare`,
    dataDir,
    async stop({ keepData = false } = {}) {
      await app.stop();
      if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
