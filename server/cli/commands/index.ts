// Every command file, in the order --help lists them. A new command is a new
// file here: `deploy ARCHIVE`, `--unroll NAME`, `--get-latest`, `--sync`, `feed ...`.
import type { CliModule } from '../builder.js';
import { addUserCommand } from './add-user.js';
import { changePasswordCommand } from './change-password.js';
import { cveCommand } from './cve.js';
import { deleteUserCommand } from './delete-user.js';
import { keyCreateCommand } from './key-create.js';
import { keyDeleteCommand } from './key-delete.js';
import { keyListCommand } from './key-list.js';
import { keyUpdateCommand } from './key-update.js';
import { listServersCommand } from './list-servers.js';
import { listUsersCommand } from './list-users.js';
import { passwordOption } from './password-option.js';
import { readOnlyCommand } from './readonly.js';
import { dbCommand } from './db.js';
import { deployCommand } from './deploy.js';
import { feedCommand } from './feed.js';
import { patchsetListCommand } from './patchset-list.js';
import { syncCommand } from './sync.js';
import { unrollCommand } from './unroll.js';

/** The CLI's command files, registered in this order. */
export const commands: CliModule[] = [
  listUsersCommand,
  addUserCommand,
  deleteUserCommand,
  changePasswordCommand,
  passwordOption,
  readOnlyCommand,
  listServersCommand,
  keyCreateCommand,
  keyListCommand,
  keyUpdateCommand,
  keyDeleteCommand,
  feedCommand,
  patchsetListCommand,
  cveCommand,
  deployCommand,
  unrollCommand,
  syncCommand,
  dbCommand,
];
