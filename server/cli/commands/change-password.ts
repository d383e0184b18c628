// kc.eportal -c NAME [-p PASSWORD]: sets a local user's password.
import { validatePassword } from '../../auth/password.js';
import { DomainError } from '../../commands/errors.js';
import { changePassword } from '../../commands/users.js';
import type { CliModule } from '../builder.js';
import { readPassword } from '../password-input.js';
import { PASSWORD } from './password-option.js';

/** `-c, --change-password <name>` with `-p` */
export const changePasswordCommand: CliModule = {
  register(cli) {
    cli.action('-c, --change-password <name>', "change a user's password (signs the user out everywhere)", {
      uses: [PASSWORD],
      run: async (ctx, name, options) => {
        const username = String(name);
        const password = (options[PASSWORD] as string | undefined) ?? (await readPassword(ctx.io, { confirm: true, prompt: 'New password: ' }));
        const weak = validatePassword(password);
        if (weak) throw new DomainError('INVALID_INPUT', weak);
        await ctx.withDatabase(({ prisma }) => changePassword(prisma, username, password));
        ctx.out(`Password of user '${username}' changed`);
      },
    });
  },
};
