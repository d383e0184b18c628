// Registration keys: list (with the number of servers: the key inventory),
// create (blank key: a generated one), edit, delete (with its servers).
import { createKey, deleteKey, updateKey } from '../../commands/keys.js';
import { serverCountsByKey } from '../../commands/stats.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';

function countsOf(ctx: GraphQLContext) {
  return ctx.memo.once('serverCountsByKey', () => serverCountsByKey(ctx.prisma));
}

/** The Key type. */
export const Key = builder.prismaObject('Key', {
  fields: (t) => ({
    id: t.exposeInt('id'),
    key: t.exposeString('key', { description: 'what agents register with (kcarectl --register KEY)' }),
    description: t.exposeString('description'),
    serverLimit: t.exposeInt('serverLimit', { nullable: true, description: 'null: no limit' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    feed: t.relation('feed'),
    serverCount: t.int({
      description: 'servers registered with this key',
      resolve: async (key, _args, ctx) => (await countsOf(ctx)).get(key.id) ?? 0,
    }),
  }),
});

const CreateKeyInput = builder.inputType('CreateKeyInput', {
  fields: (t) => ({
    key: t.string({ required: false, description: 'blank or omitted: a generated 16-character key' }),
    description: t.string({ required: false }),
    serverLimit: t.int({ required: false, description: 'omitted or null: no limit' }),
    feed: t.string({ required: false, description: 'feed name; omitted: the default feed' }),
  }),
});

const UpdateKeyInput = builder.inputType('UpdateKeyInput', {
  fields: (t) => ({
    key: t.string({ required: false, description: 'a new key string (servers stay with the key)' }),
    description: t.string({ required: false }),
    serverLimit: t.int({ required: false, description: 'null: no limit; omitted: unchanged' }),
    feed: t.string({ required: false }),
  }),
});

const DeleteKeyPayload = builder.objectRef<{ key: string; serversDeleted: number }>('DeleteKeyPayload').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    serversDeleted: t.exposeInt('serversDeleted'),
  }),
});

builder.queryFields((t) => ({
  keys: t.prismaField({
    type: ['Key'],
    description: 'Every key, oldest first.',
    authScopes: { user: true },
    resolve: (query, _root, _args, ctx) => ctx.prisma.key.findMany({ ...query, orderBy: { id: 'asc' } }),
  }),
  key: t.prismaField({
    type: 'Key',
    nullable: true,
    authScopes: { user: true },
    args: { key: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.key.findUnique({ ...query, where: { key: args.key } }),
  }),
}));

builder.mutationFields((t) => ({
  createKey: t.prismaField({
    type: 'Key',
    description: 'Creates a registration key (admin only). KEY_EXISTS, FEED_NOT_FOUND, INVALID_INPUT.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateKeyInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const key = await createKey(ctx.prisma, input);
      ctx.api.events.emit('keysChanged', { keyId: key.id });
      return ctx.prisma.key.findUniqueOrThrow({ ...query, where: { id: key.id } });
    },
  }),
  updateKey: t.prismaField({
    type: 'Key',
    description: "Changes a key's string, description, server limit or feed (admin only). KEY_NOT_FOUND, KEY_EXISTS, FEED_NOT_FOUND.",
    authScopes: { admin: true },
    args: { key: t.arg.string({ required: true }), input: t.arg({ type: UpdateKeyInput, required: true }) },
    resolve: async (query, _root, { key, input }, ctx) => {
      const patch = {
        key: input.key ?? undefined,
        description: input.description ?? undefined,
        feed: input.feed ?? undefined,
        // null clears the limit; absent leaves it
        ...('serverLimit' in input ? { serverLimit: input.serverLimit ?? null } : {}),
      };
      const updated = await updateKey(ctx.prisma, key, patch);
      ctx.api.events.emit('keysChanged', { keyId: updated.id });
      return ctx.prisma.key.findUniqueOrThrow({ ...query, where: { id: updated.id } });
    },
  }),
  deleteKey: t.field({
    type: DeleteKeyPayload,
    description: 'Deletes a key and every server registered with it (admin only). KEY_NOT_FOUND.',
    authScopes: { admin: true },
    args: { key: t.arg.string({ required: true }) },
    resolve: async (_root, { key }, ctx) => {
      const result = await deleteKey(ctx.prisma, key);
      ctx.api.events.emit('keysChanged', { keyId: null });
      return result;
    },
  }),
}));
