// A read-only user sees every console page and no control that would change
// anything; pages for making things send them back; and the server refuses
// their mutations anyway.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import { importPatchset } from '../../server/patches/store.js';
import { buildFeed, buildKey } from '../support/factories.js';
import { buildPatchset, makeKernels } from '../support/patchset-fixtures.js';
import type { TestPortal } from '../support/portal.js';
import { launchBrowser, signIn, type TestBrowser } from './support/browser.js';
import { startConsolePortal, VIEWER } from './support/console-portal.js';

let portal: TestPortal;
let browser: TestBrowser;
let page: Page;
let fixtures: string;

beforeAll(async () => {
  [portal, browser] = await Promise.all([startConsolePortal(), launchBrowser()]);
  page = browser.page;
  await buildKey(portal.app, { key: 'ro-key', description: 'seen, not touched' });
  await buildFeed(portal.app, { name: 'ro-feed' });
  const sim = new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname: 'ro-host' });
  expect((await sim.register('ro-key')).code).toBe(0);
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'eportal-console-ro-'));
  const built = await buildPatchset({ name: 'K20240101_01', kernels: makeKernels(1, 3), level: 1, outDir: fixtures });
  await importPatchset(portal.app.db.prisma, path.join(portal.dataDir, 'patches'), built.archivePath, { name: built.name });
  await signIn(page, portal.url, VIEWER.username, VIEWER.password);
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`browser errors:\n${browser.errors.join('\n')}`);
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  if (fixtures) rmSync(fixtures, { recursive: true, force: true });
});

/** Buttons and links on the page whose name says they change something. */
async function editControls(): Promise<string[]> {
  const main = page.locator('main');
  const names = await main.locator('button:visible, a.button:visible').evaluateAll((els) => els.map((e) => (e.getAttribute('aria-label') ?? e.textContent ?? '').trim()));
  return names.filter((n) => /^(Create|Add|Edit|Delete|Save|Deploy|Roll back|Remove|Change password)/i.test(n));
}

describe('console as a read-only user', () => {
  it('marks the user read-only in the header', async () => {
    expect(await page.locator('header').textContent()).toContain('read-only');
  });

  it('shows keys, servers, feeds, patchsets, users and source settings without edit controls', async () => {
    const pages: [string, string][] = [
      ['/admin/keys', 'ro-key'],
      ['/admin/keys/ro-key/servers', 'ro-host'],
      ['/admin/keys/ro-key/edit', 'Back to keys'],
      ['/admin/servers', 'ro-host'],
      ['/admin/settings/feeds', 'ro-feed'],
      ['/admin/settings/feeds/ro-feed/edit', 'Back to feeds'],
      ['/admin/settings/users', 'viewer'],
      ['/admin/patches', 'K20240101_01'],
      ['/admin/patches/source', 'Patch source settings'],
    ];
    for (const [path, visible] of pages) {
      await page.goto(`${portal.url}${path}`);
      await page.locator('main').getByText(visible).first().waitFor();
      expect({ path, controls: await editControls() }).toEqual({ path, controls: [] });
    }
    // the changelog is there to read
    await page.goto(`${portal.url}/admin/patches`);
    await page.getByRole('button', { name: 'Changelog of K20240101_01' }).waitFor();
    // no selection boxes or toggles, and forms are disabled
    await page.goto(`${portal.url}/admin/settings/users`);
    await page.locator('tr[data-user="viewer"]').waitFor();
    expect(await page.locator('main input[type="checkbox"]').count()).toBe(0);
    await page.goto(`${portal.url}/admin/servers`);
    await page.locator('tr[data-hostname="ro-host"]').waitFor();
    expect(await page.locator('[data-testid="servers-table"] input[type="checkbox"]').count()).toBe(0);
    await page.goto(`${portal.url}/admin/keys/ro-key/edit`);
    await expect.poll(() => page.getByLabel('Description').isDisabled()).toBe(true);
    await page.goto(`${portal.url}/admin/patches/source`);
    await expect.poll(() => page.getByLabel('URL').isDisabled()).toBe(true);
  });

  it('is sent back from pages that only create things', async () => {
    await page.goto(`${portal.url}/admin/keys/new`);
    await page.waitForURL(/\/admin\/keys$/);
    await page.goto(`${portal.url}/admin/settings/feeds/new`);
    await page.waitForURL(/\/admin\/settings\/feeds$/);
  });

  it('is refused by the server when it tries a mutation anyway', async () => {
    const answer = await page.evaluate(async () => {
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: 'mutation { deleteKey(key: "ro-key") { key } }' }),
      });
      return (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    });
    expect(answer.errors?.[0]?.extensions?.code).toBe('READ_ONLY');
    expect(await portal.app.db.prisma.key.count({ where: { key: 'ro-key' } })).toBe(1);
    expect(browser.errors).toEqual([]);
  });
});
