// kc.eportal key update KEY: changes a key's description, limit, feed or the key itself.
import { updateKey, type UpdateKeyInput } from '../../commands/keys.js';
import type { CliModule } from '../builder.js';
import { UsageError } from '../context.js';
import { KEY_GROUP, parseServerLimit } from './key-options.js';

interface Options {
  rename?: string;
  description?: string;
  serverLimit?: string;
  feed?: string;
}

/** `key update <key> [--rename K] [--description D] [--server-limit N|none] [--feed F]` */
export const keyUpdateCommand: CliModule = {
  register(cli) {
    cli
      .group(...KEY_GROUP)
      .command('update')
      .description('change a key (its servers stay with it)')
      .argument('<key>', 'the key to change')
      .option('--rename <key>', 'a new key string; servers registered with the old one stay registered')
      .option('--description <text>', 'what the key is for')
      .option('--server-limit <n>', 'how many servers may register with it; none = no limit')
      .option('--feed <name>', 'the feed its servers follow')
      .action(async (key: string, options: Options) => {
        const input: UpdateKeyInput = {};
        if (options.rename !== undefined) input.key = options.rename;
        if (options.description !== undefined) input.description = options.description;
        if (options.serverLimit !== undefined) input.serverLimit = parseServerLimit(options.serverLimit);
        if (options.feed !== undefined) input.feed = options.feed;
        if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give --rename, --description, --server-limit or --feed');
        const updated = await cli.ctx.withDatabase(({ prisma }) => updateKey(prisma, key, input));
        cli.ctx.out(`Key '${updated.key}' updated`);
      });
  },
};
