// How command files plug into the CLI. The original tool is option-driven
// (`kc.eportal -a NAME -p PASS`), newer parts are subcommands
// (`kc.eportal key create`); a command file registers either kind here.
import { Command, Option } from 'commander';
import { CliContext, CliError, UsageError } from './context.js';

/** What a root action does with its option's value and all parsed root options. */
export type RootActionRun = (ctx: CliContext, value: string | true, options: Record<string, unknown>) => Promise<void>;

/** A command file: registers its options or subcommands. */
export interface CliModule {
  register(cli: CliBuilder): void;
}

interface RootAction {
  option: Option;
  /** attribute names of the modifiers this action accepts */
  uses: string[];
  run: RootActionRun;
}

/** Collects root actions, their modifiers and subcommand groups while the command files register. */
export class CliBuilder {
  private readonly actions: RootAction[] = [];
  private readonly modifiers = new Map<string, Option>();
  private readonly groups = new Map<string, Command>();

  constructor(
    readonly program: Command,
    readonly ctx: CliContext,
  ) {}

  /**
   * A root option that selects what this run does, such as `-l, --list-users`
   * or `-a, --add-user <name>`. One action per run; `uses` names the modifiers
   * (see modifier()) it accepts.
   */
  action(flags: string, description: string, spec: { uses?: string[]; run: RootActionRun }): void {
    const option = new Option(flags, description);
    this.program.addOption(option);
    this.actions.push({ option, uses: spec.uses ?? [], run: spec.run });
  }

  /** A root option that qualifies actions, such as `-p, --password <password>`; registering it twice is fine. Returns its attribute name. */
  modifier(flags: string, description: string): string {
    const option = new Option(flags, description);
    const name = option.attributeName();
    if (!this.modifiers.has(name)) {
      this.modifiers.set(name, option);
      this.program.addOption(option);
    }
    return name;
  }

  /** A subcommand group such as `key` or `feed`, created by whichever file asks first. */
  group(name: string, description: string): Command {
    let group = this.groups.get(name);
    if (!group) {
      group = this.program.command(name).description(description);
      this.groups.set(name, group);
    }
    return group;
  }

  /** Runs the root action the parsed options select; usage errors when none, several, or stray modifiers. */
  async dispatch(options: Record<string, unknown>, operands: string[]): Promise<void> {
    if (operands.length) {
      const commands = this.program.commands.map((c) => c.name()).filter((n) => n !== 'help');
      throw new UsageError(`unknown command '${operands[0]}' (commands: ${commands.join(', ')})`);
    }
    const selected = this.actions.filter((a) => options[a.option.attributeName()] !== undefined);
    if (selected.length > 1) {
      throw new UsageError(`${selected.map((a) => optionName(a.option)).join(' and ')} cannot be used together`);
    }
    const action = selected[0];
    for (const [name, option] of this.modifiers) {
      if (options[name] === undefined || action?.uses.includes(name)) continue;
      const users = this.actions.filter((a) => a.uses.includes(name)).map((a) => optionName(a.option));
      throw new UsageError(`${optionName(option)} is only used with ${users.join(' or ')}`);
    }
    if (!action) {
      // nothing asked for: the help is the message
      this.program.outputHelp({ error: true });
      throw new CliError('', 2);
    }
    await action.run(this.ctx, options[action.option.attributeName()] as string | true, options);
  }
}

function optionName(option: Option): string {
  return option.long ?? option.short ?? option.flags;
}
