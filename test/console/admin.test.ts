// The console in a real Chromium, as an admin: sign-in and sign-out, keys
// (each save button, delete with its servers), the server list's filters,
// feeds, users and API tokens. Every change is checked in the database too.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentSim } from '../support/agent-sim.js';
import type { TestPortal } from '../support/portal.js';
import { launchBrowser, signIn, signOut, type TestBrowser } from './support/browser.js';
import { ADMIN, startConsolePortal } from './support/console-portal.js';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');

let portal: TestPortal;
let browser: TestBrowser;
let page: Page;
// a patch source that refuses every login: a sync started from the console fails at once
let upstream: http.Server;
let upstreamUrl: string;

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="patches"' }).end());
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/patches/`;
  [portal, browser] = await Promise.all([startConsolePortal(), launchBrowser()]);
  page = browser.page;
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`browser errors:\n${browser.errors.join('\n')}`);
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  await new Promise((r) => upstream?.close(r));
});

const prisma = () => portal.app.db.prisma;
const toast = (text: string | RegExp) => page.getByRole('status').filter({ hasText: text }).or(page.getByRole('alert').filter({ hasText: text })).first();

function agent(hostname: string): AgentSim {
  return new AgentSim({ patchServer: `${portal.url}/`, registrationUrl: portal.regUrl, hostname });
}

describe('console as an admin', () => {
  it('refuses a wrong password, signs in, goes back where it was sent from, and signs out', async () => {
    await page.goto(`${portal.url}/admin/keys`);
    await page.waitForURL(/\/admin\/login\?next=%2Fadmin%2Fkeys/);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-problem').textContent()).toContain('Wrong username or password');

    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/keys$/);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Keys');

    await signOut(page);
    // the cookie is gone: a console page sends the browser back to sign in
    await page.goto(`${portal.url}/admin/settings/feeds`);
    await page.waitForURL(/\/admin\/login\?next=/);
    await signIn(page, portal.url, ADMIN.username, ADMIN.password);
  });

  it('creates keys with Save, Save and add another, Save and continue editing, and leaves with Cancel', async () => {
    await page.goto(`${portal.url}/admin/keys`);
    await page.getByRole('link', { name: 'Create key' }).click();
    await page.waitForURL(/\/admin\/keys\/new$/);

    // Save: back to the list
    await page.getByLabel('Key', { exact: true }).fill('alpha-key');
    await page.getByLabel('Description').fill('web servers');
    await page.getByLabel('Server limit').fill('10');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\/admin\/keys$/);
    const alpha = page.locator('tr[data-key="alpha-key"]');
    await expect.poll(() => alpha.textContent()).toContain('web servers');
    expect(await alpha.textContent()).toContain('10');

    // Save and add another: stays on an empty form
    await page.goto(`${portal.url}/admin/keys/new`);
    await page.getByLabel('Key', { exact: true }).fill('beta-key');
    await page.getByLabel('Description').fill('databases');
    await page.getByRole('button', { name: 'Save and add another' }).click();
    await toast('Key beta-key created.').waitFor();
    expect(page.url()).toMatch(/\/admin\/keys\/new$/);
    expect(await page.getByLabel('Key', { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel('Description').inputValue()).toBe('');

    // Save and continue editing: the new key's edit page, twice
    await page.getByLabel('Key', { exact: true }).fill('gamma-key');
    await page.getByLabel('Description').fill('first words');
    await page.getByRole('button', { name: 'Save and continue editing' }).click();
    await page.waitForURL(/\/admin\/keys\/gamma-key\/edit$/);
    await expect.poll(() => page.getByLabel('Description').inputValue()).toBe('first words');
    await page.getByLabel('Description').fill('second words');
    await page.getByLabel('Server limit').fill('');
    await page.getByRole('button', { name: 'Save and continue editing' }).click();
    await toast('Key gamma-key saved.').waitFor();
    expect(page.url()).toMatch(/\/admin\/keys\/gamma-key\/edit$/);

    // Cancel: back to the list, nothing else saved
    await page.getByLabel('Description').fill('never saved');
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL(/\/admin\/keys$/);

    const keys = await prisma().key.findMany({ orderBy: { id: 'asc' }, select: { key: true, description: true, serverLimit: true } });
    expect(keys).toEqual([
      { key: 'alpha-key', description: 'web servers', serverLimit: 10 },
      { key: 'beta-key', description: 'databases', serverLimit: null },
      { key: 'gamma-key', description: 'second words', serverLimit: null },
    ]);
    // a blank key gets a generated one
    await page.goto(`${portal.url}/admin/keys/new`);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\/admin\/keys$/);
    expect(await prisma().key.count()).toBe(4);
  });

  it('deletes a key after a confirmation that says its servers go too', async () => {
    const sim = agent('doomed-1');
    expect((await sim.register('beta-key')).code).toBe(0);
    await page.goto(`${portal.url}/admin/keys`);
    await expect.poll(() => page.locator('tr[data-key="beta-key"] [data-testid="server-count"]').textContent()).toBe('1');

    await page.getByRole('button', { name: 'Delete key beta-key' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('also deletes its 1 server');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await prisma().key.count({ where: { key: 'beta-key' } })).toBe(1);

    await page.getByRole('button', { name: 'Delete key beta-key' }).click();
    await dialog.getByRole('button', { name: 'Delete key and 1 server' }).click();
    await toast('Key beta-key deleted with 1 server.').waitFor();
    await expect.poll(() => page.locator('tr[data-key="beta-key"]').count()).toBe(0);
    expect(await prisma().server.count({ where: { hostname: 'doomed-1' } })).toBe(0);
  });

  it('filters and pages the server list, and deletes a server', async () => {
    const sims = [
      ['web-1', 'alpha-key', 'env:prod;ubuntu'],
      ['web-2', 'alpha-key', 'env:dev'],
      ['db-1', 'gamma-key', 'env:prod'],
    ] as const;
    for (const [host, key, tags] of sims) {
      const sim = agent(host);
      expect((await sim.register(key)).code).toBe(0);
      expect((await sim.tag(tags)).code).toBe(0);
      await sim.checkin();
    }
    await page.goto(`${portal.url}/admin/servers`);
    const rows = page.locator('[data-testid="servers-table"] tbody tr');
    const hosts = async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-hostname')))).sort();
    await expect.poll(hosts).toEqual(['db-1', 'web-1', 'web-2']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'servers.png'), fullPage: true });

    await page.getByLabel('Hostname or IP').fill('web-*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/q=web-\*/);
    await expect.poll(hosts).toEqual(['web-1', 'web-2']);

    await page.getByLabel('Hostname or IP').fill('');
    await page.getByLabel('Tag').fill('env:prod');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(hosts).toEqual(['db-1', 'web-1']);

    await page.getByLabel('Key', { exact: true }).selectOption('gamma-key');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(hosts).toEqual(['db-1']);

    await page.getByLabel('Checked in').selectOption('stale-48');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.getByTestId('server-total').textContent()).toContain('No servers match');

    // sorted by hostname, one per page: cursor pagination forward and back
    await page.goto(`${portal.url}/admin/servers?sort=HOSTNAME&size=1`);
    await expect.poll(hosts).toEqual(['db-1']);
    const next = page.getByRole('button', { name: 'Next →' });
    const previous = page.getByRole('button', { name: '← Previous' });
    await next.click();
    await expect.poll(hosts).toEqual(['web-1']);
    await next.click();
    await expect.poll(hosts).toEqual(['web-2']);
    expect(await next.isDisabled()).toBe(true);
    expect(await page.getByTestId('server-total').textContent()).toContain('Showing 3–3 of 3');
    await previous.click();
    await expect.poll(hosts).toEqual(['web-1']);
    await previous.click();
    await expect.poll(hosts).toEqual(['db-1']);
    expect(await previous.isDisabled()).toBe(true);
    await page.getByRole('columnheader', { name: 'Hostname' }).getByRole('button').click();
    await page.waitForURL(/dir=DESC/);
    await expect.poll(hosts).toEqual(['web-2']);

    await page.goto(`${portal.url}/admin/keys/alpha-key/servers?sort=HOSTNAME`);
    await expect.poll(hosts).toEqual(['web-1', 'web-2']);
    await expect.poll(() => page.getByText('Servers of key alpha-key').count()).toBe(1);

    // delete one from the key's list
    await page.getByRole('button', { name: 'Delete server web-2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete server' }).click();
    await expect.poll(hosts).toEqual(['web-1']);
    expect(await prisma().server.count({ where: { hostname: 'web-2' } })).toBe(0);
  });

  it('creates, edits and deletes a feed (Settings → Feeds)', async () => {
    await page.goto(`${portal.url}/admin`);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/admin\/settings\/feeds$/);
    await page.getByRole('link', { name: 'Add feed' }).click();
    await page.getByLabel('Name').fill('staging');
    await page.getByLabel('Auto update').check();
    await page.getByLabel('Deploy after X hours').fill('12');
    await page.getByLabel('Channel').selectOption('test');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/admin\/settings\/feeds$/);
    const row = page.locator('tr[data-feed="staging"]');
    await expect.poll(() => row.textContent()).toContain('12 h');
    expect(await prisma().feed.findUnique({ where: { name: 'staging' }, select: { autoUpdate: true, deployAfterHours: true, channel: true } })).toEqual({
      autoUpdate: true,
      deployAfterHours: 12,
      channel: 'test',
    });

    // a key on the feed moves to the default feed when the feed goes
    await page.goto(`${portal.url}/admin/keys/gamma-key/edit`);
    await page.getByLabel('Feed').selectOption('staging');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\/admin\/keys$/);
    await page.goto(`${portal.url}/admin/settings/feeds`);
    await page.getByRole('button', { name: 'Delete feed staging' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('moves to the default feed');
    await dialog.getByRole('button', { name: 'Delete feed' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await prisma().feed.count({ where: { name: 'staging' } })).toBe(0);
    const gamma = await prisma().key.findUnique({ where: { key: 'gamma-key' }, include: { feed: true } });
    expect(gamma?.feed.isDefault).toBe(true);
    // the default feed has no delete button
    expect(await page.locator('tr[data-feed="default"]').getByRole('button', { name: /Delete/ }).count()).toBe(0);
  });

  it('adds a user, makes them read-only, changes their password and deletes them', async () => {
    await page.goto(`${portal.url}/admin/settings/users`);
    await page.getByLabel('Username', { exact: true }).fill('operator');
    await page.getByLabel('Password', { exact: true }).fill('operator password');
    await page.getByRole('button', { name: 'Add user' }).click();
    const row = page.locator('tr[data-user="operator"]');
    await row.waitFor();
    await row.getByLabel('operator is read-only').check();
    await expect.poll(async () => (await prisma().user.findUnique({ where: { username: 'operator' } }))?.readOnly).toBe(true);

    await row.getByRole('button', { name: 'Change password of operator' }).click();
    await page.getByLabel('New password').fill('another password');
    await page.getByRole('dialog').getByRole('button', { name: 'Change password' }).click();
    await toast('Password of operator changed').waitFor();

    await row.getByRole('button', { name: 'Delete user operator' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await prisma().user.count({ where: { username: 'operator' } })).toBe(0);
  });

  it('creates an API token shown once, and revokes it', async () => {
    await page.goto(`${portal.url}/admin/settings/tokens`);
    await page.getByLabel('Name').fill('ansible');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('new-token').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    // the token works for automation
    const res = await fetch(`${portal.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': secret }, body: JSON.stringify({ query: '{ me { username } }' }) });
    expect(((await res.json()) as { data: { me: { username: string } } }).data.me.username).toBe('admin');

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-token').count()).toBe(0);
    const row = page.locator('tr[data-token="ansible"]');
    expect(await row.textContent()).not.toContain(secret);
    await row.getByRole('button', { name: 'Revoke token ansible' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
  });

  it('saves the patch source settings and never shows the password back', async () => {
    await page.goto(`${portal.url}/admin/patches`);
    await page.getByRole('link', { name: 'Source settings' }).click();
    await page.getByLabel('URL').fill(upstreamUrl);
    await page.getByLabel('Login').fill('mirror');
    await page.getByLabel('Password', { exact: true }).fill('s3cret-source-password');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast('Patch source settings saved').waitFor();
    await expect.poll(() => page.getByTestId('password-state').textContent()).toContain('password set');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await page.reload();
    await expect.poll(() => page.getByLabel('Login').inputValue()).toBe('mirror');
    expect(await page.getByLabel('URL').inputValue()).toBe(upstreamUrl);
    expect(await page.content()).not.toContain('s3cret-source-password');

    // saving again without typing it keeps the stored password
    await page.getByLabel('Login').fill('mirror2');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast('Patch source settings saved').waitFor();
    await expect.poll(() => page.getByTestId('password-state').textContent()).toContain('password set');

    // "Sync now": the source refuses the login, so the run fails at once and says why
    await page.goto(`${portal.url}/admin/patches`);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect.poll(() => page.getByTestId('sync-status').textContent()).toContain('Last error');
    expect(await page.getByTestId('sync-status').textContent()).toContain('failed');
  });

  it('sends the browser to sign in when its session ends under it, and back afterwards', async () => {
    await page.goto(`${portal.url}/admin/keys`);
    await page.locator('[data-testid="keys-table"]').waitFor();
    await prisma().session.deleteMany({});
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Servers' }).click();
    await page.waitForURL(/\/admin\/login\?next=%2Fadmin%2Fservers/);
    await toast('Your session has ended').waitFor();
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/servers$/);
  });

  it('takes a screenshot of the keys page', async () => {
    await page.goto(`${portal.url}/admin/keys`);
    await page.locator('[data-testid="keys-table"]').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'keys.png'), fullPage: true });
    expect(browser.errors).toEqual([]);
  });
});
