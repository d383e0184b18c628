// kc.eportal -a NAME [-p PASSWORD]: adds a local user.
import { validatePassword } from '../../auth/password.js';
import { DomainError } from '../../commands/errors.js';
import { addUser, validateUsername } from '../../commands/users.js';
import type { CliModule } from '../builder.js';
import { readPassword } from '../password-input.js';
import { PASSWORD } from './password-option.js';

/** `-a, --add-user <name>` with `-p` */
export const addUserCommand: CliModule = {
  register(cli) {
    cli.action('-a, --add-user <name>', 'add a user', {
      uses: [PASSWORD],
      run: async (ctx, name, options) => {
        const username = String(name);
        const bad = validateUsername(username);
        if (bad) throw new DomainError('INVALID_INPUT', bad);
        const password = (options[PASSWORD] as string | undefined) ?? (await readPassword(ctx.io, { confirm: true }));
        const weak = validatePassword(password);
        if (weak) throw new DomainError('INVALID_INPUT', weak);
        await ctx.withDatabase(({ prisma }) => addUser(prisma, username, password));
        ctx.out(`User '${username}' added`);
      },
    });
  },
};
