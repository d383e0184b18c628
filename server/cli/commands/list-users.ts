// kc.eportal -l: the users, numbered, exactly as the original tool prints them.
import { listUsers } from '../../commands/users.js';
import type { CliModule } from '../builder.js';

/** `-l, --list-users` */
export const listUsersCommand: CliModule = {
  register(cli) {
    cli.action('-l, --list-users', 'list all users', {
      run: (ctx) =>
        ctx.withDatabase(async ({ prisma }) => {
          const users = await listUsers(prisma);
          ctx.out('Num | Username');
          ctx.out('--- + --------------------------------');
          users.forEach((u, i) => ctx.out(`${String(i + 1).padStart(2)} | ${u.username}`));
        }),
    });
  },
};
