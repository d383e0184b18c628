// `kc.eportal --get-latest` after its sync: deploy the newest patchsets to a
// feed (the default one unless named). It follows the auto-update walk without
// the deploy-after-hours wait: the feed's channel is respected, blocked sets
// are skipped, and nothing past a patchset that upstream lists but the store
// lacks is deployed (the feed stays a prefix of the order).
import type { PrismaClient } from '../../generated/prisma/client.js';
import { resolveFeed } from '../../commands/feeds.js';
import { deployUpTo } from '../deploy.js';
import { barriers, candidatesByProduct, newestEligible } from './auto-update.js';
import { readSyncState } from './status.js';

/** What deployLatest did. */
export interface DeployLatestResult {
  feed: string;
  /** newest patchset the feed now has, per product */
  newest: { product: string; name: string }[];
  deployed: string[];
}

/** Deploys the newest eligible patchset of each product (and everything before it) to the feed. */
export async function deployLatest(prisma: PrismaClient, feedName?: string | null, by = 'kc.eportal --get-latest'): Promise<DeployLatestResult> {
  const feed = await resolveFeed(prisma, feedName);
  const stops = barriers((await readSyncState(prisma)).pending);
  const result: DeployLatestResult = { feed: feed.name, newest: [], deployed: [] };
  for (const [product, ordered] of await candidatesByProduct(prisma)) {
    const target = newestEligible(ordered, feed.channel, null, stops.get(product));
    if (!target) continue;
    result.newest.push({ product, name: target.name });
    result.deployed.push(...(await deployUpTo(prisma, feed.id, target.name, by)).changed);
  }
  return result;
}
