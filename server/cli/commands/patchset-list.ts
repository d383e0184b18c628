// kc.eportal patchset list: the store in deploy order, with where each is deployed.
import type { CliModule } from '../builder.js';
import { formatTable } from '../table.js';

/** `patchset list` */
export const patchsetListCommand: CliModule = {
  register(cli) {
    cli.group('patchset', 'patchsets in the store').command('list').description('list patchsets in deploy order, with the feeds they are deployed in').action(async () => {
      const rows = await cli.ctx.withDatabase(({ prisma }) =>
        prisma.patchset.findMany({
          orderBy: [{ product: 'asc' }, { releasedAt: 'asc' }, { name: 'asc' }],
          include: { deployments: { include: { feed: { select: { name: true } } } }, _count: { select: { kernels: true } } },
        }),
      );
      const table = rows.map((p) => [p.name, p.product, p.releasedAt.toISOString().slice(0, 10), String(p._count.kernels), String(p.size), p.blocked ? 'BLOCKED' : p.deployments.map((d) => d.feed.name).sort().join(',') || '-']);
      for (const line of formatTable(['Patchset', 'Product', 'Released', 'Kernels', 'Bytes', 'Deployed in'], table)) cli.ctx.out(line);
    });
  },
};
