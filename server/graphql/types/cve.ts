// The CVE index: `cve(id)` answers "which servers are still exposed to
// CVE-X" (counts per state and a paged list per state, reusing the Server
// type), `cves` lists the CVE ids the store knows. The SQL is in
// commands/cves.ts: fixing levels per (feed, kernel) first, then one query
// over Server per page.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { CVE_STATES, cveCounts, cvePlan, cveServerPage, listCves, type CvePlan, type CveServerRow, type CveSummary, type CveCounts as Counts } from '../../commands/cves.js';
import type { Server as ServerRow } from '../../generated/prisma/client.js';
import { builder } from '../builder.js';
import { Server } from './server.js';

const CveServerState = builder.enumType('CveServerState', {
  description: 'EXPOSED: a fix is deployed in the feed but the server runs a lower level; FIX_NOT_DEPLOYED: the store has a fix for its kernel, its feed has none deployed; FIXED: runs the fixing level or later.',
  values: CVE_STATES,
});

const CveCounts = builder.objectRef<Counts>('CveCounts').implement({
  fields: (t) => ({
    exposed: t.exposeInt('exposed'),
    fixNotDeployed: t.exposeInt('fixNotDeployed'),
    fixed: t.exposeInt('fixed'),
  }),
});

interface Edge {
  node: ServerRow;
  cursor: string;
  fixingLevel: number | null;
}

interface Page {
  edges: Edge[];
  hasNextPage: boolean;
}

const CveServerEdge = builder.objectRef<Edge>('CveServerEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: Server, resolve: (e) => e.node }),
    fixingLevel: t.exposeInt('fixingLevel', { nullable: true, description: "lowest level fixing the CVE deployed in the server's feed for its kernel" }),
  }),
});

const CveServerConnection = builder.objectRef<Page>('CveServerConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [CveServerEdge], resolve: (p) => p.edges }),
    nodes: t.field({ type: [Server], resolve: (p) => p.edges.map((e) => e.node) }),
    // the server list's PageInfo type, by name
    pageInfo: t.field({
      type: 'PageInfo' as never,
      resolve: (p) => ({ hasNextPage: p.hasNextPage, endCursor: p.edges.at(-1)?.cursor ?? null }) as never,
    }),
  }),
});

const Cve = builder.objectRef<CvePlan>('Cve').implement({
  description: 'A CVE some patchset in the store fixes (from kpatch-cve: lines).',
  fields: (t) => ({
    id: t.exposeString('cve'),
    kernels: t.stringList({ description: 'kernel ids a patchset fixes it for', resolve: (c) => c.kernels }),
    patchsets: t.prismaField({
      type: ['Patchset'],
      description: 'patchsets carrying it, in deploy order',
      resolve: async (query, c, _args, ctx) => {
        const rows = await ctx.prisma.patchset.findMany({ ...query, where: { id: { in: c.patchsets.map((p) => p.id) } } });
        const order = new Map(c.patchsets.map((p, i) => [p.id, i]));
        return rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      },
    }),
    counts: t.field({ type: CveCounts, description: 'servers per state (one pass over the servers of its kernels)', resolve: (c, _args, ctx) => cveCounts(ctx.prisma, c) }),
    servers: t.field({
      type: CveServerConnection,
      description: 'servers in one state, by id',
      args: {
        state: t.arg({ type: CveServerState, required: false, defaultValue: 'EXPOSED' }),
        first: t.arg.int({ required: false, defaultValue: 50 }),
        after: t.arg.string({ required: false }),
      },
      resolve: async (c, args, ctx, info) => {
        const page = await cveServerPage(ctx.prisma, c, { state: args.state ?? 'EXPOSED', first: args.first ?? 50, after: args.after });
        const result: Page = { edges: [], hasNextPage: page.hasNextPage };
        if (page.rows.length === 0) return result;
        const query = queryFromInfo({ context: ctx, info, typeName: 'Server', paths: [['edges', 'node'], ['nodes']] });
        const found = (await ctx.prisma.server.findMany({ ...query, where: { id: { in: page.rows.map((r) => r.id) } } })) as ServerRow[];
        const byId = new Map(found.map((r) => [r.id, r]));
        for (const r of page.rows as CveServerRow[]) {
          const node = byId.get(r.id); // gone if deleted between the two queries
          if (node) result.edges.push({ node, cursor: r.cursor, fixingLevel: r.fixingLevel });
        }
        return result;
      },
    }),
  }),
});

const CveSummaryRef = builder.objectRef<CveSummary>('CveSummary').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    kernelCount: t.exposeInt('kernelCount'),
    patchsetCount: t.exposeInt('patchsetCount'),
  }),
});

builder.queryFields((t) => ({
  cve: t.field({
    type: Cve,
    nullable: true,
    description: 'One CVE (INVALID_INPUT unless the id looks like CVE-2024-1234); null when no patchset in the store fixes it.',
    authScopes: { user: true },
    args: { id: t.arg.string({ required: true }) },
    resolve: (_root, { id }, ctx) => cvePlan(ctx.prisma, id),
  }),
  cves: t.field({
    type: [CveSummaryRef],
    description: 'CVE ids the store knows, highest first; search matches part of the id.',
    authScopes: { user: true },
    args: { search: t.arg.string({ required: false }), first: t.arg.int({ required: false, defaultValue: 100 }) },
    resolve: (_root, args, ctx) => listCves(ctx.prisma, { search: args.search, first: args.first }),
  }),
}));
