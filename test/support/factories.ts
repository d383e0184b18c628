// Test data through the same Prisma client the portal uses.
import type { App } from '../../server/app.js';

let seq = 0;

/** Creates a key (default feed unless `feedId`), returns its row. */
export async function buildKey(app: App, opts: { key?: string; serverLimit?: number | null; feedId?: number; description?: string } = {}) {
  const feedId = opts.feedId ?? app.agent.store.defaultFeedId();
  return app.db.prisma.key.create({
    data: { key: opts.key ?? `testkey${Date.now().toString(36)}${++seq}`, serverLimit: opts.serverLimit ?? null, feedId, description: opts.description ?? '' },
  });
}

/** Creates a feed. */
export async function buildFeed(app: App, opts: { name?: string; autoUpdate?: boolean; deployAfterHours?: number } = {}) {
  return app.db.prisma.feed.create({ data: { name: opts.name ?? `feed${++seq}`, autoUpdate: opts.autoUpdate ?? false, deployAfterHours: opts.deployAfterHours ?? 0 } });
}
