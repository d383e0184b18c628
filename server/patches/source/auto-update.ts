// Auto-update after each sync: every feed with autoUpdate deploys, in order,
// each patchset that is due (appearedAt + deployAfterHours has passed) and
// published on a channel the feed takes.
//
// Channel rule (nested, like the vendor's channels): default = stable ⊂ test
// ⊂ unstable. A feed on channel C takes a patchset when one of the
// patchset's channels ranks at or below C: a `test` feed takes patchsets
// published on default/stable or test; an `unstable` feed takes all three; a
// `default`/`stable` feed takes only default/stable ones. A channel name the
// portal does not know is taken by no feed.
//
// Deployment stays a prefix of the (releasedAt, name) order: the walk stops
// at the first patchset that is not due, not on the feed's channel, or still
// missing from the store (upstream lists it but it has not arrived — a
// failed download must not be skipped over). Blocked patchsets are skipped,
// as deployUpTo skips them. This is autoDeploy of deploy.ts plus the channel
// and missing-patchset stops.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from '../../log.js';
import { deployUpTo } from '../deploy.js';
import type { PendingPatchset } from './status.js';

const RANK: Record<string, number> = { default: 0, stable: 0, test: 1, unstable: 2 };

/** Whether a feed on `feedChannel` takes a patchset published on `channels` (see the rule above). */
export function channelAccepts(feedChannel: string, channels: readonly string[]): boolean {
  const feedRank = RANK[feedChannel] ?? 0;
  return channels.some((c) => c in RANK && RANK[c]! <= feedRank);
}

/** A patchset as the walk needs it. */
export interface Candidate {
  id: number;
  name: string;
  product: string;
  releasedAt: Date;
  appearedAt: Date;
  blocked: boolean;
  channels: string;
}

/** The newest patchset the feed may deploy (its whole prefix eligible); `dueBefore` null ignores the hours. */
export function newestEligible(ordered: readonly Candidate[], channel: string, dueBefore: number | null, barrier: PendingPatchset | undefined): Candidate | null {
  let last: Candidate | null = null;
  for (const p of ordered) {
    if (barrier && !before(p, barrier)) break;
    if (p.blocked) continue;
    if (dueBefore !== null && p.appearedAt.getTime() > dueBefore) break;
    if (!channelAccepts(channel, p.channels.split(','))) break;
    last = p;
  }
  return last;
}

/** The first pending patchset of each product in deploy order. */
export function barriers(pending: readonly PendingPatchset[]): Map<string, PendingPatchset> {
  const out = new Map<string, PendingPatchset>();
  for (const p of pending) {
    const cur = out.get(p.product);
    if (!cur || before({ releasedAt: new Date(p.released), name: p.name }, cur)) out.set(p.product, p);
  }
  return out;
}

function before(p: { releasedAt: Date; name: string }, b: PendingPatchset): boolean {
  const t = p.releasedAt.getTime();
  const bt = new Date(b.released).getTime();
  return t < bt || (t === bt && p.name < b.name);
}

/** Every patchset in deploy order, grouped by product. */
export async function candidatesByProduct(prisma: PrismaClient): Promise<Map<string, Candidate[]>> {
  const all = await prisma.patchset.findMany({
    orderBy: [{ releasedAt: 'asc' }, { name: 'asc' }],
    select: { id: true, name: true, product: true, releasedAt: true, appearedAt: true, blocked: true, channels: true },
  });
  const out = new Map<string, Candidate[]>();
  for (const p of all) out.set(p.product, [...(out.get(p.product) ?? []), p]);
  return out;
}

/** What auto-update did to one feed. */
export interface AutoUpdateResult {
  feedId: number;
  feed: string;
  changed: string[];
  error?: string;
}

/** Runs auto-update for every feed with autoUpdate on; one feed's failure does not stop the others. */
export async function autoUpdateFeeds(prisma: PrismaClient, now: Date, pending: readonly PendingPatchset[], log?: Logger): Promise<AutoUpdateResult[]> {
  const feeds = await prisma.feed.findMany({ where: { autoUpdate: true }, orderBy: { id: 'asc' } });
  if (!feeds.length) return [];
  const byProduct = await candidatesByProduct(prisma);
  const stops = barriers(pending);
  const results: AutoUpdateResult[] = [];
  for (const feed of feeds) {
    const result: AutoUpdateResult = { feedId: feed.id, feed: feed.name, changed: [] };
    try {
      const deployed = new Set((await prisma.deployment.findMany({ where: { feedId: feed.id }, select: { patchsetId: true } })).map((d) => d.patchsetId));
      for (const [product, ordered] of byProduct) {
        const target = newestEligible(ordered, feed.channel, now.getTime() - feed.deployAfterHours * 3_600_000, stops.get(product));
        // deployed sets are prefixes: the target deployed means nothing to do (saves a write per feed and poll)
        if (!target || deployed.has(target.id)) continue;
        result.changed.push(...(await deployUpTo(prisma, feed.id, target.name, 'auto-update')).changed);
      }
      if (result.changed.length) log?.info({ feed: feed.name, patchsets: result.changed }, 'auto-update deployed patchsets');
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log?.error({ err, feed: feed.name }, 'auto-update failed for a feed');
    }
    results.push(result);
  }
  return results;
}
