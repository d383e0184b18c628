// kc.eportal -r NAME / --writable NAME: sets or lifts a user's read-only flag.
import { setReadOnly } from '../../commands/users.js';
import type { CliModule } from '../builder.js';

/** `-r, --readonly <name>` and `--writable <name>` */
export const readOnlyCommand: CliModule = {
  register(cli) {
    cli.action('-r, --readonly <name>', 'make a user read-only: can see everything, change nothing', {
      run: async (ctx, name) => {
        const user = await ctx.withDatabase(({ prisma }) => setReadOnly(prisma, String(name), true));
        ctx.out(`User '${user.username}' is now readonly`);
      },
    });
    cli.action('--writable <name>', 'lift read-only from a user (e.g. an LDAP user, who starts read-only)', {
      run: async (ctx, name) => {
        const user = await ctx.withDatabase(({ prisma }) => setReadOnly(prisma, String(name), false));
        ctx.out(`User '${user.username}' is no longer readonly`);
      },
    });
  },
};
