import { builder } from '../builder.js';

const Health = builder.objectRef<{ ok: boolean; uptimeSeconds: number; pendingCheckins: number; database: boolean }>('Health').implement({
  description: 'Liveness of the portal, for load balancers and monitoring.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    database: t.exposeBoolean('database', { description: 'the database answered' }),
    uptimeSeconds: t.exposeInt('uptimeSeconds'),
    pendingCheckins: t.exposeInt('pendingCheckins', { description: 'check-ins buffered, not yet written' }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: Health,
    authScopes: { public: true },
    resolve: async (_root, _args, ctx) => {
      const database = await ctx.prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false);
      return { ok: database, database, uptimeSeconds: Math.floor((Date.now() - ctx.startedAt) / 1000), pendingCheckins: ctx.checkins.size };
    },
  }),
);
