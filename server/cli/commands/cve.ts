// kc.eportal cve CVE-2024-1234 [--state exposed|fix-not-deployed|fixed] [--limit N]:
// which servers are still exposed to a CVE (counts, then one state's servers).
import { cveCounts, cvePlan, cveServerPage, type CveState } from '../../commands/cves.js';
import { MAX_PAGE_SIZE } from '../../commands/servers.js';
import type { CliModule } from '../builder.js';
import { UsageError } from '../context.js';
import { formatTable } from '../table.js';
import { NO_KEY_LABEL } from './list-servers.js';

interface Options {
  state?: string;
  limit?: string;
}

const STATES: Record<string, CveState> = { exposed: 'EXPOSED', 'fix-not-deployed': 'FIX_NOT_DEPLOYED', fixed: 'FIXED' };

/** `cve <id>` */
export const cveCommand: CliModule = {
  register(cli) {
    cli.program
      .command('cve')
      .description('show which servers are exposed to a CVE, have it fixed, or have no fix deployed in their feed')
      .argument('<id>', 'the CVE id, e.g. CVE-2024-1086')
      .option('--state <state>', 'servers to list: exposed, fix-not-deployed or fixed', 'exposed')
      .option('--limit <n>', `servers to list, at most ${MAX_PAGE_SIZE}`, '50')
      .action(async (id: string, options: Options) => {
        const state = STATES[(options.state ?? 'exposed').toLowerCase()];
        if (!state) throw new UsageError('--state takes exposed, fix-not-deployed or fixed');
        const limit = options.limit ?? '50';
        if (!/^\d{1,3}$/.test(limit) || Number(limit) > MAX_PAGE_SIZE) throw new UsageError(`--limit takes a number from 0 to ${MAX_PAGE_SIZE}`);
        await cli.ctx.withDatabase(async ({ prisma }) => {
          const plan = await cvePlan(prisma, id);
          if (!plan) {
            cli.ctx.out(`${id.trim().toUpperCase()}: no patchset in the store fixes it`);
            return;
          }
          const [counts, page] = await Promise.all([cveCounts(prisma, plan), cveServerPage(prisma, plan, { state, first: Number(limit) })]);
          cli.ctx.out(`${plan.cve}: ${plan.kernels.length} kernel${plan.kernels.length === 1 ? '' : 's'}, patchsets ${plan.patchsets.map((p) => p.name).join(', ')}`);
          cli.ctx.out(`exposed: ${counts.exposed}, fix not deployed: ${counts.fixNotDeployed}, fixed: ${counts.fixed}`);
          cli.ctx.out('');
          const rows = page.rows.map((r) => [r.hostname, r.ip, r.key ?? NO_KEY_LABEL, r.patchLevel === null ? '-' : String(r.patchLevel), r.fixingLevel === null ? '-' : String(r.fixingLevel)]);
          for (const line of formatTable(['Hostname', 'IP', 'Key', 'Kernel level', 'Fixed at'], rows)) cli.ctx.out(line);
          if (page.hasNextPage) cli.ctx.out(`(more than ${limit} servers; raise --limit or use the GraphQL API)`);
        });
      });
  },
};
