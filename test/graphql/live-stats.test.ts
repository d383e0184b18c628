// The live counters keep running past their periodic recount, and stopping
// them never hangs (a recount queued from inside the queue once deadlocked
// both the counters and the shutdown after the first minute).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStats } from '../../server/graphql/live/stats.js';
import { PortalEvents } from '../../server/events.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';

let portal: TestPortal;
beforeAll(async () => {
  portal = await startTestPortal();
});
afterAll(async () => {
  await portal.stop();
});

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms))]);

describe('LiveStats timers', () => {
  it('recounts repeatedly, still counts afterwards, and stops promptly', async () => {
    const live = new LiveStats(
      { prisma: portal.app.db.prisma, events: new PortalEvents(), now: Date.now, log: pino({ level: 'silent' }) },
      { recountIntervalMs: 20, expiryIntervalMs: 15, pollIntervalMs: 25, publishIntervalMs: 10 },
    );
    await live.start();
    await new Promise((r) => setTimeout(r, 200)); // several recount and expiry ticks
    const key = await buildKey(portal.app);
    const agent = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl });
    await agent.register(key.key);
    await agent.checkin();
    portal.app.agent.checkins.flush();
    await within(live.recount(), 2000);
    expect(live.checkedIn).toBeGreaterThanOrEqual(1);
    await within(live.stop(), 2000);
  });
});
