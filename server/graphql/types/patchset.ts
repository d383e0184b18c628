// Patchsets in the store with their status per feed, and deploy / roll back:
// deploying X deploys every older one too, rolling back X rolls back every
// newer one (order enforced by patches/deploy.ts).
import { resolveFeed } from '../../commands/feeds.js';
import { deployUpTo, rollBackFrom, type DeployResult } from '../../patches/deploy.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import type { DeploymentChange, DeploymentChanges } from '../live/patches.js';
import { Feed, feedsById } from './feed.js';

type FeedRow = Awaited<ReturnType<typeof feedsById>> extends Map<number, infer F> ? F : never;

const PatchsetFeedStatus = builder.objectRef<{ feed: FeedRow; deployedAt: Date | null; deployedBy: string | null }>('PatchsetFeedStatus').implement({
  fields: (t) => ({
    feed: t.field({ type: Feed, resolve: (s) => s.feed }),
    deployed: t.boolean({ resolve: (s) => s.deployedAt !== null }),
    deployedAt: t.expose('deployedAt', { type: 'DateTime', nullable: true }),
    deployedBy: t.exposeString('deployedBy', { nullable: true }),
  }),
});

builder.prismaObject('Patchset', {
  fields: (t) => ({
    id: t.exposeInt('id'),
    name: t.exposeString('name'),
    product: t.exposeString('product', { description: 'kernel or libcare' }),
    releasedAt: t.expose('releasedAt', { type: 'DateTime' }),
    appearedAt: t.expose('appearedAt', { type: 'DateTime', description: 'when it reached this portal (deploy-after-hours counts from here)' }),
    size: t.exposeInt('size', { description: 'bytes unpacked' }),
    sha256: t.exposeString('sha256'),
    channels: t.stringList({ resolve: (p) => p.channels.split(',').filter(Boolean) }),
    blocked: t.exposeBoolean('blocked', { description: 'blocked upstream: cannot be deployed' }),
    changelog: t.exposeString('changelog'),
    origin: t.exposeString('origin', { description: '"upstream" (patch source) or "file" (imported by hand)' }),
    removedUpstreamAt: t.expose('removedUpstreamAt', { type: 'DateTime', nullable: true }),
    kernelCount: t.relationCount('kernels'),
    cves: t.stringList({
      description: 'CVEs fixed (from kpatch-cve: lines)',
      select: { cves: { select: { cve: true } } },
      resolve: (p) => [...new Set(p.cves.map((c) => c.cve))].sort(),
    }),
    feeds: t.field({
      type: [PatchsetFeedStatus],
      description: 'its status in every feed',
      select: { deployments: { select: { feedId: true, deployedAt: true, deployedBy: true } } },
      resolve: async (p, _args, ctx) => {
        const byFeed = new Map(p.deployments.map((d) => [d.feedId, d]));
        return [...(await feedsById(ctx)).values()]
          .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name))
          .map((feed) => ({ feed, deployedAt: byFeed.get(feed.id)?.deployedAt ?? null, deployedBy: byFeed.get(feed.id)?.deployedBy ?? null }));
      },
    }),
  }),
});

builder.queryFields((t) => ({
  patchsets: t.prismaField({
    type: ['Patchset'],
    description: 'Patchsets in the store, newest first.',
    authScopes: { user: true },
    args: { product: t.arg.string({ required: false }), first: t.arg.int({ required: false, defaultValue: 200 }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.patchset.findMany({
        ...query,
        where: args.product ? { product: args.product } : {},
        orderBy: [{ releasedAt: 'desc' }, { name: 'desc' }],
        take: Math.min(Math.max(args.first ?? 200, 0), 1000),
      }),
  }),
  patchset: t.prismaField({
    type: 'Patchset',
    nullable: true,
    authScopes: { user: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, { name }, ctx) => ctx.prisma.patchset.findUnique({ ...query, where: { name } }),
  }),
}));

const DeployPayload = builder.objectRef<DeployResult>('DeployPayload').implement({
  fields: (t) => ({
    feed: t.exposeString('feed'),
    changed: t.exposeStringList('changed', { description: 'patchsets deployed or rolled back by this call, in order' }),
  }),
});

async function change(ctx: GraphQLContext, action: 'deploy' | 'rollback', feedName: string, patchset: string): Promise<DeployResult> {
  const feed = await resolveFeed(ctx.prisma, feedName);
  const by = ctx.user!.username;
  const result = action === 'deploy' ? await deployUpTo(ctx.prisma, feed.id, patchset, by) : await rollBackFrom(ctx.prisma, feed.id, patchset);
  if (result.changed.length) {
    await ctx.api.index.reload(); // agents of this process see it now, others within a second
    ctx.api.events.emit('deploymentsChanged', { feedId: feed.id, action, patchsets: result.changed, by });
  }
  return result;
}

builder.mutationFields((t) => ({
  deployUpTo: t.field({
    type: DeployPayload,
    description: 'Deploys a patchset and every one before it in a feed (admin only). FEED_NOT_FOUND, PATCHSET_NOT_FOUND, PATCHSET_BLOCKED.',
    authScopes: { admin: true },
    args: { feed: t.arg.string({ required: true }), patchset: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => change(ctx, 'deploy', args.feed, args.patchset),
  }),
  rollBackFrom: t.field({
    type: DeployPayload,
    description: 'Rolls back a patchset and every one after it in a feed (admin only). FEED_NOT_FOUND, PATCHSET_NOT_FOUND.',
    authScopes: { admin: true },
    args: { feed: t.arg.string({ required: true }), patchset: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => change(ctx, 'rollback', args.feed, args.patchset),
  }),
}));

const DeploymentChangeRef = builder.objectRef<DeploymentChange>('DeploymentChange').implement({
  fields: (t) => ({
    feed: t.field({ type: Feed, nullable: true, resolve: (c, _args, ctx) => (c.feedId === null ? null : ctx.prisma.feed.findUnique({ where: { id: c.feedId } })) }),
    action: t.exposeString('action', { description: 'deploy, rollback or auto' }),
    patchsets: t.exposeStringList('patchsets'),
    by: t.exposeString('by'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const DeploymentChangesRef = builder.objectRef<DeploymentChanges>('DeploymentChanges').implement({
  fields: (t) => ({ changes: t.field({ type: [DeploymentChangeRef], resolve: (c) => c.changes }) }),
});

builder.subscriptionField('deploymentsChanged', (t) =>
  t.field({
    type: DeploymentChangesRef,
    description: 'Deploys and rollbacks as they happen (changes that pile up while you are busy arrive together).',
    authScopes: { user: true },
    subscribe: (_root, _args, ctx) => ctx.api.live.patches.subscribeDeployments(),
    resolve: (c) => c,
  }),
);
