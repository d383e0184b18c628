// kc.eportal: the portal's command-line tool, option-compatible with the
// original (`-l`, `-a NAME -p PASS`, `-d`, `-c`, `-r`, `--list-servers`) plus
// subcommands (`key ...`). bin/kc.eportal runs run(); so does
// `node dist/server/cli/main.js`.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { DomainError } from '../commands/errors.js';
import { ConfigError } from '../config.js';
import { CliBuilder } from './builder.js';
import { commands } from './commands/index.js';
import { CliContext, CliError, UsageError, type CliIO } from './context.js';

/** The program name used in usage and messages. */
export const PROGRAM = 'kc.eportal';

const HELP_FOOTER = `
Examples:
  kc.eportal -a admin -p AdminPassword     add a user
  kc.eportal -a admin                      add a user; the password is asked for,
                                           or read from the first line of stdin
  kc.eportal -c admin -p NewPassword       change a user's password
  kc.eportal -r user                       make a user read-only (--writable user lifts it)
  kc.eportal --list-servers                servers per key
  kc.eportal key create --server-limit 100 --feed test
  kc.eportal key --help                    the key subcommands

The tool works on the portal's own database, also while the portal runs; the
portal's settings apply (EPORTAL_DATA_DIR, EPORTAL_DATABASE_URL, EPORTAL_CONFIG,
EPORTAL_ENV_DIR, /etc/eportal/eportal.conf).

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

/** The process's own streams and environment. */
export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Builds the command tree: every command file registers itself on it. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command(PROGRAM)
    .description('Manage the live-patch portal: users, registration keys and servers.')
    .usage('[option] | <command> [options]')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, `${PROGRAM}: `)),
    })
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', HELP_FOOTER);
  const cli = new CliBuilder(program, ctx);
  for (const command of commands) command.register(cli);
  // operands the root action gets are unknown commands: dispatch() says so
  program.allowExcessArguments(true).action((options: Record<string, unknown>, self: Command) => cli.dispatch(options, self.args));
  for (const command of allCommands(program)) {
    command.showHelpAfterError(`Try '${commandPath(command)} --help' for more information.`);
  }
  program.hook('preAction', (_self, action) => {
    ctx.commandPath = commandPath(action);
  });
  return program;
}

/** Runs the CLI with `argv` (the arguments after the program name); resolves with the exit status. */
export async function run(argv: string[], io: CliIO = processIO()): Promise<number> {
  const ctx = new CliContext(io);
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return report(ctx, err);
  }
}

function report(ctx: CliContext, err: unknown): number {
  // commander has printed its own message (or the help) already
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof UsageError) {
    ctx.warn(err.message);
    ctx.io.stderr.write(`Try '${ctx.commandPath} --help' for more information.\n`);
    return 2;
  }
  if (err instanceof CliError) {
    if (err.message) ctx.warn(err.message);
    return err.exitCode;
  }
  if (err instanceof DomainError || err instanceof ConfigError) {
    ctx.warn(err.message);
    return 1;
  }
  ctx.warn(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

function* allCommands(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* allCommands(sub);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await run(process.argv.slice(2));
