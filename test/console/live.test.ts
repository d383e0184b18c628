// The console in a real Chromium, live: the start page's counters follow
// agents registering and checking in without a reload (statsUpdated over
// graphql-ws), and patchsets are deployed and rolled back per feed from the
// Patch Source page.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importPatchset } from '../../server/patches/store.js';
import { AgentSim } from '../support/agent-sim.js';
import { buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels } from '../support/patchset-fixtures.js';
import type { TestPortal } from '../support/portal.js';
import { launchBrowser, signIn, type TestBrowser } from './support/browser.js';
import { ADMIN, startConsolePortal } from './support/console-portal.js';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const kernels = makeKernels(1, 7);

let portal: TestPortal;
let browser: TestBrowser;
let page: Page;
let fixtures: string;

beforeAll(async () => {
  [portal, browser] = await Promise.all([startConsolePortal(), launchBrowser()]);
  page = browser.page;
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-console-fixtures-'));
  await signIn(page, portal.url, ADMIN.username, ADMIN.password);
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`browser errors:\n${browser.errors.join('\n')}`);
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  if (fixtures) rmSync(fixtures, { recursive: true, force: true });
});

const counter = (id: string) => page.getByTestId(id).textContent();

function agent(hostname: string): AgentSim {
  return new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname, procVersion: kernels[0]!.procVersion });
}

describe('console, live', () => {
  it('updates the start page counters as agents register and check in, without a reload', async () => {
    const key = await buildKey(portal.app, { key: 'live-key' });
    portal.app.events.emit('keysChanged', { keyId: key.id });
    await page.goto(`${portal.url}/admin`);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Live' }).count()).toBe(1);
    await expect.poll(() => counter('total-servers')).toBe('0');
    await expect.poll(() => page.locator('[data-testid="key-inventory"] tr', { hasText: 'live-key' }).count()).toBe(1);
    // a mark on the window: a reload would lose it
    await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 42));
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    const first = agent('live-1');
    expect((await first.register('live-key')).code).toBe(0);
    await expect.poll(() => counter('total-servers')).toBe('1');
    expect(await counter('checked-in-48h')).toBe('0');
    await first.checkin();
    await expect.poll(() => counter('checked-in-48h')).toBe('1');

    const second = agent('live-2');
    expect((await second.register('live-key')).code).toBe(0);
    await second.checkin();
    await expect.poll(() => counter('total-servers')).toBe('2');
    await expect.poll(() => counter('checked-in-48h')).toBe('2');
    const line = page.locator('[data-testid="key-inventory"] tr', { hasText: 'live-key' });
    await expect.poll(() => line.getByTestId('inventory-count').textContent()).toBe('2');

    expect(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(42);
    expect(navigations).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'start.png'), fullPage: true });
  });

  it('deploys a patchset and all before it, and rolls back a patchset and all after it, per feed', async () => {
    const names = ['K20240101_01', 'K20240201_01', 'K20240301_01'];
    const store = path.join(portal.dataDir, 'patches');
    for (const [i, name] of names.entries()) {
      const built = await buildPatchset({ name, kernels, level: i + 1, outDir: fixtures, cves: [`CVE-2024-000${i + 1}`] });
      await importPatchset(portal.app.db.prisma, store, built.archivePath, { name, expectedSha256: built.sha256, changelog: `changes of ${name}\n` });
    }
    await portal.app.db.prisma.feed.create({ data: { name: 'canary' } });

    await page.goto(`${portal.url}/admin/patches`);
    const status = (ps: string, feed: string) => page.locator(`tr[data-patchset="${ps}"] td[data-feed-status="${feed}"]`).textContent();
    await expect.poll(() => status('K20240301_01', 'default')).toContain('—');

    // the changelog
    await page.getByRole('button', { name: 'Changelog of K20240201_01' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('changes of K20240201_01');
    expect(await dialog.textContent()).toContain('CVE-2024-0002');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // deploy the middle one in the default feed: it and the one before
    const middle = page.locator('tr[data-patchset="K20240201_01"]');
    await middle.getByRole('button', { name: 'Deploy this patch, and all before it' }).click();
    await expect.poll(() => dialog.textContent()).toContain('K20240101_01');
    expect(await dialog.textContent()).not.toContain('K20240301_01');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => status('K20240201_01', 'default')).toContain('deployed');
    expect(await status('K20240101_01', 'default')).toContain('deployed');
    expect(await status('K20240301_01', 'default')).toContain('—');
    expect(await status('K20240101_01', 'canary')).toContain('—');

    const deployed = async (feed: string) =>
      (await portal.app.db.prisma.deployment.findMany({ where: { feed: { name: feed } }, select: { patchset: { select: { name: true } } } }))
        .map((d) => d.patchset.name)
        .sort();
    expect(await deployed('default')).toEqual(['K20240101_01', 'K20240201_01']);

    // an agent on that kernel now gets level 2, and level 3 makes it out of date later
    const sim = agent('patched-1');
    expect((await sim.register('live-key')).code).toBe(0);
    expect((await sim.checkin()).level).toBe(2);

    // the other feed, chosen in the feed menu: deploy everything
    await page.getByLabel('Feed').selectOption('canary');
    await page.waitForURL(/feed=canary/);
    await page.locator('tr[data-patchset="K20240301_01"]').getByRole('button', { name: 'Deploy this patch, and all before it' }).click();
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => status('K20240101_01', 'canary')).toContain('deployed');
    expect(await deployed('canary')).toEqual(names);

    // roll back the middle one in canary: it and the one after it go
    await middle.getByRole('button', { name: 'Roll back this patch, and all after it' }).click();
    await expect.poll(() => dialog.textContent()).toContain('K20240301_01');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await expect.poll(() => status('K20240201_01', 'canary')).toContain('—');
    expect(await deployed('canary')).toEqual(['K20240101_01']);
    expect(await deployed('default')).toEqual(['K20240101_01', 'K20240201_01']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'patches.png'), fullPage: true });

    // the server list's out-of-date filter: every agent runs no patch while its feed has level 2
    await page.goto(`${portal.url}/admin/servers?outdated=1`);
    await expect.poll(() => page.locator('[data-testid="servers-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-hostname')).sort())).toEqual([
      'live-1',
      'live-2',
      'patched-1',
    ]);
    expect(browser.errors).toEqual([]);
  });
});
