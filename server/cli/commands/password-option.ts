// -p, --password: the modifier -a and -c take.
import type { CliModule } from '../builder.js';

/** Attribute name of `-p, --password`, for an action's `uses`. */
export const PASSWORD = 'password';

/** `-p, --password <password>` */
export const passwordOption: CliModule = {
  register(cli) {
    cli.modifier('-p, --password <password>', 'the password for -a/-c; when omitted it is asked for, or read from the first line of stdin');
  },
};
