// kc.eportal feed list|create|update|delete
import { createFeed, deleteFeed, listFeeds, updateFeed, type FeedInput } from '../../commands/feeds.js';
import type { CliModule } from '../builder.js';
import { UsageError } from '../context.js';
import { formatTable } from '../table.js';

const FEED_GROUP = ['feed', 'manage feeds (which patchsets the servers of a key get)'] as const;

interface Options {
  rename?: string;
  autoUpdate?: string;
  deployAfter?: string;
  channel?: string;
}

function settings(o: Options): Partial<FeedInput> {
  const out: Partial<FeedInput> = {};
  if (o.rename !== undefined) out.name = o.rename;
  if (o.autoUpdate !== undefined) {
    if (!/^(on|off|yes|no|true|false)$/i.test(o.autoUpdate)) throw new UsageError('--auto-update takes on or off');
    out.autoUpdate = /^(on|yes|true)$/i.test(o.autoUpdate);
  }
  if (o.deployAfter !== undefined) {
    if (!/^\d{1,5}$/.test(o.deployAfter)) throw new UsageError('--deploy-after takes a number of hours');
    out.deployAfterHours = Number(o.deployAfter);
  }
  if (o.channel !== undefined) out.channel = o.channel as FeedInput['channel'];
  return out;
}

/** `feed list|create|update|delete` */
export const feedCommand: CliModule = {
  register(cli) {
    const group = cli.group(...FEED_GROUP);
    group.command('list').description('list feeds').action(async () => {
      const feeds = await cli.ctx.withDatabase(({ prisma }) => listFeeds(prisma));
      const rows = feeds.map((f) => [f.name + (f.isDefault ? ' (default)' : ''), f.autoUpdate ? 'on' : 'off', String(f.deployAfterHours), f.channel, String(f.keyCount), String(f.deployedCount)]);
      for (const line of formatTable(['Feed', 'Auto update', 'Deploy after (h)', 'Channel', 'Keys', 'Deployed'], rows)) cli.ctx.out(line);
    });
    const withSettings = (c: ReturnType<typeof group.command>) =>
      c.option('--auto-update <on|off>', 'deploy new patchsets automatically')
        .option('--deploy-after <hours>', 'hours after a patchset appears before auto update deploys it')
        .option('--channel <name>', 'default, stable, test or unstable');
    withSettings(group.command('create').description('create a feed').argument('<name>')).action(async (name: string, o: Options) => {
      const f = await cli.ctx.withDatabase(({ prisma }) => createFeed(prisma, { ...settings(o), name }));
      cli.ctx.out(`Feed '${f.name}' created`);
    });
    withSettings(group.command('update').description('change a feed').argument('<name>').option('--rename <new>', 'new name')).action(async (name: string, o: Options) => {
      const f = await cli.ctx.withDatabase(({ prisma }) => updateFeed(prisma, name, settings(o)));
      cli.ctx.out(`Feed '${f.name}' updated`);
    });
    group.command('delete').description('delete a feed; its keys move to the default feed').argument('<name>').action(async (name: string) => {
      const r = await cli.ctx.withDatabase(({ prisma }) => deleteFeed(prisma, name));
      cli.ctx.out(`Feed '${name}' deleted; ${r.movedKeys} key${r.movedKeys === 1 ? '' : 's'} moved to the default feed`);
    });
  },
};
