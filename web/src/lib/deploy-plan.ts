// What "deploy this and all before it" / "roll back this and all after it"
// will change in a feed, computed like the server does (patches/deploy.ts):
// per product, in (releasedAt, name) order; blocked patchsets are skipped.
import type { Patchset } from './api/types.js';

function before(a: Patchset, b: Patchset): boolean {
  return a.releasedAt < b.releasedAt || (a.releasedAt === b.releasedAt && a.name <= b.name);
}

/** Whether a patchset is deployed in a feed. */
export function isDeployed(p: Patchset, feed: string): boolean {
  return p.feeds.some((f) => f.feed.name === feed && f.deployed);
}

/** Patchsets a deploy of `target` adds to `feed`, oldest first. */
export function deployPlan(all: Patchset[], target: Patchset, feed: string): Patchset[] {
  return all
    .filter((p) => p.product === target.product && before(p, target) && !p.blocked && !isDeployed(p, feed))
    .sort((a, b) => (before(a, b) ? -1 : 1));
}

/** Patchsets a rollback of `target` removes from `feed`, newest first. */
export function rollbackPlan(all: Patchset[], target: Patchset, feed: string): Patchset[] {
  return all
    .filter((p) => p.product === target.product && before(target, p) && isDeployed(p, feed))
    .sort((a, b) => (before(a, b) ? 1 : -1));
}
