// kc.eportal --unroll NAME [--feed F]: rolls NAME and every newer patchset
// back from the default feed (or F).
import { resolveFeed } from '../../commands/feeds.js';
import { rollBackFrom } from '../../patches/deploy.js';
import type { CliModule } from '../builder.js';

/** `--unroll <name> [--feed F]` */
export const unrollCommand: CliModule = {
  register(cli) {
    const feed = cli.modifier('--feed <name>', 'the feed for --get-latest/--unroll (default: the default feed)');
    cli.action('--unroll <name>', 'roll a patchset, and every one after it, back from the default feed (or --feed)', {
      uses: [feed],
      run: async (ctx, name, options) => {
        await ctx.withDatabase(async ({ prisma }) => {
          const f = await resolveFeed(prisma, options[feed] as string | undefined);
          const r = await rollBackFrom(prisma, f.id, String(name));
          ctx.out(r.changed.length ? `rolled back from feed '${r.feed}': ${r.changed.join(', ')}` : `${String(name)} was not deployed in feed '${r.feed}'`);
        });
      },
    });
  },
};
