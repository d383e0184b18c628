// kc.eportal key list: every key with its servers, limit, feed and description.
import { listKeys } from '../../commands/keys.js';
import type { CliModule } from '../builder.js';
import { formatTable } from '../table.js';
import { KEY_GROUP } from './key-options.js';

/** `key list` */
export const keyListCommand: CliModule = {
  register(cli) {
    cli
      .group(...KEY_GROUP)
      .command('list')
      .description('list the keys with their number of servers')
      .action(async () => {
        const keys = await cli.ctx.withDatabase(({ prisma }) => listKeys(prisma));
        const rows = keys.map((k) => [k.key, String(k.servers), k.serverLimit === null ? '-' : String(k.serverLimit), k.feed, oneLine(k.description)]);
        for (const line of formatTable(['Key', 'Servers', 'Limit', 'Feed', 'Description'], rows, ['left', 'right', 'right', 'left', 'left'])) {
          cli.ctx.out(line);
        }
      });
  },
};

/** One line, and no control characters that could move a terminal's cursor or change its colours. */
function oneLine(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .trim();
}
