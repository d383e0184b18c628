// kc.eportal --list-servers: registered servers per key.
import { keyInventory } from '../../commands/keys.js';
import type { CliModule } from '../builder.js';

/** Shown in the Key column for servers that belong to no key (no key can contain parentheses). */
export const NO_KEY_LABEL = '(no key)';

/** `--list-servers` */
export const listServersCommand: CliModule = {
  register(cli) {
    cli.action('--list-servers', 'show the number of registered servers per key', {
      run: (ctx) =>
        ctx.withDatabase(async ({ prisma }) => {
          const inventory = await keyInventory(prisma);
          ctx.out('Count | Key');
          ctx.out('----- + --------------------------------');
          for (const { key, count } of inventory.keys) ctx.out(`${String(count).padStart(5)} | ${key}`);
          if (inventory.withoutKey > 0) ctx.out(`${String(inventory.withoutKey).padStart(5)} | ${NO_KEY_LABEL}`);
        }),
    });
  },
};
