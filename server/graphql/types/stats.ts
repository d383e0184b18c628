// The start page: total servers, servers checked in within 48 hours, key
// inventory — as a query and live (subscription), plus coalesced server
// activity. All from counters (graphql/live/stats.ts), never a COUNT over
// Server per check-in.
import type { InventoryLine } from '../../commands/stats.js';
import { builder } from '../builder.js';
import type { ServerActivity } from '../live/activity.js';
import type { StatsSnapshot } from '../live/stats.js';

const KeyInventoryLine = builder.objectRef<InventoryLine>('KeyInventoryLine').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    serverCount: t.exposeInt('serverCount'),
  }),
});

const Stats = builder.objectRef<StatsSnapshot>('Stats').implement({
  description: 'Fleet numbers for the start page.',
  fields: (t) => ({
    totalServers: t.exposeInt('totalServers'),
    checkedInLast48h: t.exposeInt('checkedInLast48h', { description: 'servers that checked in within the last 48 hours' }),
    serversWithoutKey: t.exposeInt('serversWithoutKey'),
    keyInventory: t.field({ type: [KeyInventoryLine], description: 'every key, oldest first, with its number of servers', resolve: (s) => s.keyInventory }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ServerActivityRef = builder.objectRef<ServerActivity>('ServerActivity').implement({
  description: 'What agents did between `since` and `until` (summed while the subscriber was busy).',
  fields: (t) => ({
    checkins: t.exposeInt('checkins'),
    firstCheckins: t.exposeInt('firstCheckins'),
    newlyActive: t.exposeInt('newlyActive', { description: 'servers back within the 48-hour window' }),
    registered: t.exposeInt('registered'),
    unregistered: t.exposeInt('unregistered'),
    registeredServerIds: t.exposeIntList('registeredServerIds', { description: 'ids of servers registered in the span (at most 100)' }),
    since: t.expose('since', { type: 'DateTime' }),
    until: t.expose('until', { type: 'DateTime' }),
  }),
});

builder.queryField('stats', (t) =>
  t.field({
    type: Stats,
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => ctx.api.live.stats.snapshot(),
  }),
);

builder.subscriptionFields((t) => ({
  statsUpdated: t.field({
    type: Stats,
    description: 'The start page numbers: now, then whenever they change (at most 4 times a second).',
    authScopes: { user: true },
    subscribe: (_root, _args, ctx) => ctx.api.live.stats.subscribe(),
    resolve: (s) => s,
  }),
  serverActivity: t.field({
    type: ServerActivityRef,
    description: 'Check-ins and registrations, summed over half-second spans (at most 2 updates a second, whatever the check-in rate).',
    authScopes: { user: true },
    subscribe: (_root, _args, ctx) => ctx.api.live.activity.subscribe(),
    resolve: (a) => a,
  }),
}));
