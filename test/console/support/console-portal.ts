// A portal for console tests: the web build checked first, an admin and a
// read-only user.
import { addUser } from '../../../server/commands/users.js';
import { startTestPortal, type TestPortal } from '../../support/portal.js';
import { ensureWebBuild } from './web-build.js';

export const ADMIN = { username: 'admin', password: 'admin password 1' };
export const VIEWER = { username: 'viewer', password: 'viewer password 1' };

/** Starts a portal with the built console, an admin and a read-only user. */
export async function startConsolePortal(): Promise<TestPortal> {
  await ensureWebBuild();
  const portal = await startTestPortal();
  await addUser(portal.app.db.prisma, ADMIN.username, ADMIN.password);
  await addUser(portal.app.db.prisma, VIEWER.username, VIEWER.password, { readOnly: true });
  return portal;
}
