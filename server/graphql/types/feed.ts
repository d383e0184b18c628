// Feeds: which patchsets the servers of a key get. The default feed always
// exists; deleting a feed moves its keys to the default feed.
import { createFeed, deleteFeed, resolveFeed, updateFeed } from '../../commands/feeds.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';

/** The Feed type. */
export const Feed = builder.prismaObject('Feed', {
  fields: (t) => ({
    id: t.exposeInt('id'),
    name: t.exposeString('name'),
    isDefault: t.exposeBoolean('isDefault'),
    autoUpdate: t.exposeBoolean('autoUpdate', { description: 'deploy new patchsets automatically' }),
    deployAfterHours: t.exposeInt('deployAfterHours', { description: 'auto-update waits this long after a patchset appeared (0: at once)' }),
    channel: t.exposeString('channel'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    keyCount: t.relationCount('keys'),
    deployedCount: t.relationCount('deployments', { description: 'patchsets deployed in this feed' }),
    keys: t.relation('keys', { query: { orderBy: { id: 'asc' } } }),
  }),
});

/** Every feed, loaded once per request (feeds are few; list fields look them up by id). */
export function feedsById(ctx: Pick<GraphQLContext, 'prisma' | 'memo'>) {
  return ctx.memo.once('feedsById', async () => new Map((await ctx.prisma.feed.findMany()).map((f) => [f.id, f])));
}

const FeedChannel = builder.enumType('FeedChannel', { values: ['default', 'stable', 'test', 'unstable'] as const });

const FeedInput = builder.inputType('FeedInput', {
  fields: (t) => ({
    name: t.string({ required: false }),
    autoUpdate: t.boolean({ required: false }),
    deployAfterHours: t.int({ required: false }),
    channel: t.field({ type: FeedChannel, required: false, description: 'upstream channel whose patchsets auto-update takes' }),
  }),
});

const DeleteFeedPayload = builder.objectRef<{ name: string; movedKeys: number }>('DeleteFeedPayload').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    movedKeys: t.exposeInt('movedKeys', { description: 'keys moved to the default feed' }),
  }),
});

builder.queryFields((t) => ({
  feeds: t.prismaField({
    type: ['Feed'],
    description: 'Every feed, the default one first.',
    authScopes: { user: true },
    resolve: (query, _root, _args, ctx) => ctx.prisma.feed.findMany({ ...query, orderBy: [{ isDefault: 'desc' }, { name: 'asc' }] }),
  }),
  feed: t.prismaField({
    type: 'Feed',
    nullable: true,
    authScopes: { user: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, { name }, ctx) => ctx.prisma.feed.findUnique({ ...query, where: { name } }),
  }),
}));

function clean<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

builder.mutationFields((t) => ({
  createFeed: t.prismaField({
    type: 'Feed',
    description: 'Creates a feed (admin only). FEED_EXISTS, INVALID_INPUT.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: FeedInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const feed = await createFeed(ctx.prisma, { ...clean(input), name: input.name ?? '' });
      return ctx.prisma.feed.findUniqueOrThrow({ ...query, where: { id: feed.id } });
    },
  }),
  updateFeed: t.prismaField({
    type: 'Feed',
    description: "Changes a feed's settings or name (admin only). FEED_NOT_FOUND, FEED_EXISTS.",
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }), input: t.arg({ type: FeedInput, required: true }) },
    resolve: async (query, _root, { name, input }, ctx) => {
      const feed = await updateFeed(ctx.prisma, name, clean(input));
      return ctx.prisma.feed.findUniqueOrThrow({ ...query, where: { id: feed.id } });
    },
  }),
  deleteFeed: t.field({
    type: DeleteFeedPayload,
    description: 'Deletes a feed; its keys move to the default feed (admin only). FEED_IS_DEFAULT, FEED_NOT_FOUND.',
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, { name }, ctx) => {
      const feed = await resolveFeed(ctx.prisma, name);
      const { movedKeys } = await deleteFeed(ctx.prisma, feed.name);
      await ctx.api.index.reload();
      ctx.api.events.emit('deploymentsChanged', { feedId: feed.id, action: 'rollback', patchsets: [], by: ctx.user!.username });
      return { name: feed.name, movedKeys };
    },
  }),
}));
