// The server list: filters (wildcards, key, feed, tag, check-in age,
// out-of-date, kernel), sorting, and cursor pagination (Relay-style
// connection). One page costs a fixed number of queries: the page of ids, the
// rows with their key and tags, and totalCount only when asked for.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { countServers, findServerPage, MAX_PAGE_SIZE, SERVER_SORT_FIELDS, type ServerFilter as Filter } from '../../commands/servers.js';
import { serverCountsByKey } from '../../commands/stats.js';
import type { Server as ServerRow } from '../../generated/prisma/client.js';
import { builder } from '../builder.js';
import { Server } from './server.js';

const ServerFilter = builder.inputType('ServerFilter', {
  description: 'Every given field must match. Text fields accept * and ? wildcards.',
  fields: (t) => ({
    hostname: t.string({ required: false }),
    ip: t.string({ required: false }),
    search: t.string({ required: false, description: 'hostname or IP' }),
    key: t.string({ required: false, description: 'servers of this key' }),
    withoutKey: t.boolean({ required: false, description: 'true: servers that belong to no key' }),
    feed: t.string({ required: false, description: "servers whose key's feed is this one" }),
    tag: t.string({ required: false, description: '`name` or `name:value`' }),
    checkedInWithinHours: t.int({ required: false }),
    notCheckedInForHours: t.int({ required: false, description: 'inactive for at least this long (never checked in included)' }),
    outOfDate: t.boolean({ required: false, description: 'runs an older patch level than its feed has deployed' }),
    kernel: t.string({ required: false, description: 'effective kernel (wildcards) or kernel id' }),
  }),
});

const ServerSortField = builder.enumType('ServerSortField', { values: SERVER_SORT_FIELDS });
const SortDirection = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });

const ServerSort = builder.inputType('ServerSort', {
  fields: (t) => ({
    field: t.field({ type: ServerSortField, required: true }),
    direction: t.field({ type: SortDirection, required: false, defaultValue: 'ASC' }),
  }),
});

interface ServerPage {
  rows: ServerRow[];
  cursors: string[];
  hasNextPage: boolean;
  filter: Filter | null;
}

const PageInfo = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'pass as `after` for the next page' }),
  }),
});

const ServerEdge = builder.objectRef<{ node: ServerRow; cursor: string }>('ServerEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: Server, resolve: (e) => e.node }),
  }),
});

function isEmpty(filter: Filter | null): boolean {
  return !filter || Object.values(filter).every((v) => v === null || v === undefined);
}

const ServerConnection = builder.objectRef<ServerPage>('ServerConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [ServerEdge], resolve: (p) => p.rows.map((node, i) => ({ node, cursor: p.cursors[i]! })) }),
    nodes: t.field({ type: [Server], resolve: (p) => p.rows }),
    pageInfo: t.field({ type: PageInfo, resolve: (p) => ({ hasNextPage: p.hasNextPage, endCursor: p.cursors.at(-1) ?? null }) }),
    totalCount: t.int({
      description: 'servers matching the filter (no filter: read from counters; with one: a COUNT, so ask only when needed)',
      resolve: async (p, _args, ctx) => {
        if (!isEmpty(p.filter)) return countServers(ctx.prisma, p.filter, ctx.api.now());
        let total = 0;
        for (const n of (await serverCountsByKey(ctx.prisma)).values()) total += n;
        return total;
      },
    }),
  }),
});

builder.queryField('servers', (t) =>
  t.field({
    type: ServerConnection,
    description: `Servers, filtered and sorted, ${MAX_PAGE_SIZE} at most per page.`,
    authScopes: { user: true },
    args: {
      filter: t.arg({ type: ServerFilter, required: false }),
      sort: t.arg({ type: ServerSort, required: false }),
      first: t.arg.int({ required: false, defaultValue: 50 }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx, info) => {
      const filter = (args.filter ?? null) as Filter | null;
      const page = await findServerPage(
        ctx.prisma,
        { filter, sort: args.sort ? { field: args.sort.field, direction: args.sort.direction ?? 'ASC' } : null, first: args.first ?? 50, after: args.after },
        ctx.api.now(),
      );
      const result: ServerPage = { rows: [], cursors: [], hasNextPage: page.hasNextPage, filter };
      if (page.ids.length === 0) return result;
      // the columns and relations the selection under edges.node / nodes needs, in one findMany
      const query = queryFromInfo({ context: ctx, info, typeName: 'Server', paths: [['edges', 'node'], ['nodes']] });
      const found = (await ctx.prisma.server.findMany({ ...query, where: { id: { in: page.ids } } })) as ServerRow[];
      const byId = new Map(found.map((r) => [r.id, r]));
      page.ids.forEach((id, i) => {
        const row = byId.get(id); // gone if deleted between the two queries
        if (!row) return;
        result.rows.push(row);
        result.cursors.push(page.cursors[i]!);
      });
      return result;
    },
  }),
);
