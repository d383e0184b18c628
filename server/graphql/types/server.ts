// A registered server (agent) with what its last check-in reported, plus the
// admin's actions on servers: delete, set tags.
import { deleteServers, setServerTags } from '../../commands/servers.js';
import { builder } from '../builder.js';
import { Feed, feedsById } from './feed.js';

builder.prismaObject('ServerTag', {
  description: 'A tag set by `kcarectl --tag` (name:value, or a bare name with a null value).',
  fields: (t) => ({
    name: t.exposeString('name'),
    value: t.exposeString('value', { nullable: true }),
  }),
});

/** The Server type. */
export const Server = builder.prismaObject('Server', {
  fields: (t) => ({
    id: t.exposeInt('id'),
    serverIdHint: t.exposeString('serverIdHint', { description: 'first characters of the server id (the id itself is a credential and is not stored)' }),
    hostname: t.exposeString('hostname'),
    ip: t.exposeString('ip'),
    key: t.relation('key', { nullable: true }),
    tags: t.relation('tags', { query: { orderBy: { name: 'asc' } } }),
    kernelId: t.exposeString('kernelId', { nullable: true, description: 'SHA-1 of /proc/version' }),
    effectiveKernel: t.exposeString('effectiveKernel', { nullable: true }),
    release: t.exposeString('release', { nullable: true }),
    machine: t.exposeString('machine', { nullable: true }),
    distro: t.exposeString('distro', { nullable: true }),
    distroVersion: t.exposeString('distroVersion', { nullable: true }),
    agentVersion: t.exposeString('agentVersion', { nullable: true }),
    patchLevel: t.exposeInt('patchLevel', { nullable: true, description: 'loaded patch level; null: no patch loaded' }),
    patchType: t.exposeString('patchType', { nullable: true }),
    uptime: t.exposeInt('uptime', { nullable: true }),
    virt: t.exposeString('virt', { nullable: true }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
    lastCheckinAt: t.expose('lastCheckinAt', { type: 'DateTime', nullable: true }),
    active: t.boolean({
      description: 'checked in within EPORTAL_INACTIVE_HOURS',
      resolve: (s, _args, ctx) => !!s.lastCheckinAt && s.lastCheckinAt.getTime() >= ctx.api.now() - ctx.api.config.inactiveHours * 3_600_000,
    }),
    feed: t.field({
      type: Feed,
      description: "its key's feed (no key: the default feed)",
      select: { key: { select: { feedId: true } } },
      resolve: async (s, _args, ctx) => {
        const feeds = await feedsById(ctx);
        const feed = s.key ? feeds.get(s.key.feedId) : [...feeds.values()].find((f) => f.isDefault);
        return feed!;
      },
    }),
    latestLevel: t.int({
      nullable: true,
      description: 'highest patch level its feed has deployed for its kernel (null: kernel unknown to the store)',
      select: { key: { select: { feedId: true } } },
      resolve: async (s, _args, ctx) => {
        if (!s.kernelId) return null;
        const feedId = s.key?.feedId ?? [...(await feedsById(ctx)).values()].find((f) => f.isDefault)!.id;
        return ctx.api.index.latest(feedId, s.kernelId)?.level ?? null;
      },
    }),
    outOfDate: t.boolean({
      description: 'its feed has a newer patch level for its kernel than it runs',
      select: { key: { select: { feedId: true } } },
      resolve: async (s, _args, ctx) => {
        if (!s.kernelId) return false;
        const feedId = s.key?.feedId ?? [...(await feedsById(ctx)).values()].find((f) => f.isDefault)!.id;
        return (s.patchLevel ?? 0) < (ctx.api.index.latest(feedId, s.kernelId)?.level ?? 0);
      },
    }),
  }),
});

const DeleteServersPayload = builder.objectRef<{ deleted: number }>('DeleteServersPayload').implement({
  fields: (t) => ({ deleted: t.exposeInt('deleted', { description: 'servers that existed and are gone' }) }),
});

builder.queryField('server', (t) =>
  t.prismaField({
    type: 'Server',
    nullable: true,
    authScopes: { user: true },
    args: { id: t.arg.int({ required: true }) },
    resolve: (query, _root, { id }, ctx) => ctx.prisma.server.findUnique({ ...query, where: { id } }),
  }),
);

builder.mutationFields((t) => ({
  deleteServers: t.field({
    type: DeleteServersPayload,
    description: 'Deletes servers (at most 1000 per call); their agents must register again (admin only).',
    authScopes: { admin: true },
    args: { ids: t.arg.intList({ required: true }) },
    resolve: async (_root, { ids }, ctx) => {
      const deleted = await deleteServers(ctx.prisma, ids);
      if (deleted) ctx.api.events.emit('serverUnregistered', { count: deleted });
      return { deleted };
    },
  }),
  setServerTags: t.prismaField({
    type: 'Server',
    description: "Replaces a server's tags with `name:value;bare` (empty: none) (admin only). SERVER_NOT_FOUND, INVALID_INPUT.",
    authScopes: { admin: true },
    args: { id: t.arg.int({ required: true }), tags: t.arg.string({ required: true }) },
    resolve: async (query, _root, { id, tags }, ctx) => {
      await setServerTags(ctx.prisma, id, tags);
      return ctx.prisma.server.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
