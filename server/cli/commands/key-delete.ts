// kc.eportal key delete KEY: deletes a key and the servers registered with it.
import { deleteKey } from '../../commands/keys.js';
import type { CliModule } from '../builder.js';
import { KEY_GROUP } from './key-options.js';

/** `key delete <key>` */
export const keyDeleteCommand: CliModule = {
  register(cli) {
    cli
      .group(...KEY_GROUP)
      .command('delete')
      .description('delete a key and every server registered with it')
      .argument('<key>', 'the key to delete')
      .action(async (key: string) => {
        const { serversDeleted: n } = await cli.ctx.withDatabase(({ prisma }) => deleteKey(prisma, key));
        cli.ctx.out(n === 0 ? `Key '${key}' deleted (it had no servers)` : `Key '${key}' deleted, and its ${n} server${n === 1 ? '' : 's'} with it`);
      });
  },
};
