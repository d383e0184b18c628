// kc.eportal -d NAME: deletes a user.
import { deleteUser } from '../../commands/users.js';
import type { CliModule } from '../builder.js';

/** `-d, --delete-user <name>` */
export const deleteUserCommand: CliModule = {
  register(cli) {
    cli.action('-d, --delete-user <name>', 'delete a user', {
      run: async (ctx, name) => {
        const user = await ctx.withDatabase(({ prisma }) => deleteUser(prisma, String(name)));
        ctx.out(`User '${user.username}' deleted`);
      },
    });
  },
};
