// kc.eportal key create: prints the new key alone on one line, for scripts.
import { createKey } from '../../commands/keys.js';
import type { CliModule } from '../builder.js';
import { KEY_GROUP, parseServerLimit } from './key-options.js';

interface Options {
  key?: string;
  description?: string;
  serverLimit?: string;
  feed?: string;
}

/** `key create [--key K] [--description D] [--server-limit N] [--feed F]` */
export const keyCreateCommand: CliModule = {
  register(cli) {
    cli
      .group(...KEY_GROUP)
      .command('create')
      .description('create a key and print it')
      .option('--key <key>', 'the key (default: a random 16-character key)')
      .option('--description <text>', 'what the key is for')
      .option('--server-limit <n>', 'how many servers may register with it (default: none = no limit)')
      .option('--feed <name>', 'the feed its servers follow (default: the default feed)')
      .action(async (options: Options) => {
        const serverLimit = options.serverLimit === undefined ? null : parseServerLimit(options.serverLimit);
        const created = await cli.ctx.withDatabase(({ prisma }) =>
          createKey(prisma, { key: options.key, description: options.description, serverLimit, feed: options.feed }),
        );
        cli.ctx.out(created.key);
      });
  },
};
