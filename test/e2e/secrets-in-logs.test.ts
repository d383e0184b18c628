// Server ids are credentials: at the most verbose log level, a registration,
// check-ins, tags, a failing request and the monitoring endpoints never write
// an id in full.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';

describe('logs', () => {
  it('never contain a server id in full', async () => {
    let out = '';
    const sink = new Writable({ write(chunk, _enc, done) { out += String(chunk); done(); } });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eportal-logs-'));
    const config = loadConfig({ EPORTAL_DATA_DIR: dataDir, EPORTAL_HOST: '127.0.0.1', EPORTAL_PORT: '0', EPORTAL_SYNC_CRON: 'off' });
    const app = await buildApp(config, { logger: pino({ level: 'trace' }, sink) });
    const { url } = await app.start();
    try {
      const key = await buildKey(app);
      const agent = new AgentSim({ patchServer: `${url}/`, registrationUrl: `${url}/admin/api/kcare`, hostname: 'logged-host' });
      const id = (await agent.register(key.key)).serverId!;
      await agent.tag('env:prod');
      await agent.checkin();
      await agent.checkin({ rawQuery: 'NOT-HEX' });
      await agent.fetchKernelFile('1/kpatch.bin');
      await agent.check();
      await fetch(`${url}/admin/api/kcare/nagios/${key.key}`);
      await agent.unregister();
      await new AgentSim({ patchServer: `${url}/`, registrationUrl: `${url}/admin/api/kcare`, serverId: id }).checkin();
      app.agent.checkins.flush();
      expect(out).toContain('server registered'); // the log is really captured
      expect(out).toContain('logged-host');
      expect(out).not.toContain(id);
      expect(out).not.toContain(Buffer.from(`${id}:kernelcare`).toString('base64'));
    } finally {
      await app.stop();
    }
  });
});
