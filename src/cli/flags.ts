/**
 * Commander, built from the commands' tables (src/cli/spec.ts) for what it still does: help text and the
 * wording of errors in a command line the fast reader (src/cli/fast.ts) leaves to it. Loaded only then.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { addNotes, help } from "./help.ts";
import type { CommandSpec } from "./spec.ts";
import { usageError } from "../base/errors.ts";
import { quote } from "../base/text/escape.ts";
import {
  checkConflicts,
  flagParts,
  GLOBAL_OPTIONS,
  type Invocation,
  OptionValueError,
  type OptSpec,
  valueParser,
} from "./optspec.ts";

/**
 * Any command. The helpers below take and return this loose type on purpose: letting TypeScript infer
 * the option types through generic helper chains made a cold `deno check` run for over ten minutes.
 */
// deno-lint-ignore no-explicit-any
export type AnyCommand<A extends unknown[] = any[]> = Command<A, any, any>;

/** Add declared options to a command, in order (as `.option()` calls would). */
export function addOptions<A extends unknown[]>(
  cmd: AnyCommand<A>,
  specs: readonly OptSpec[],
): AnyCommand<A> {
  for (const s of specs) {
    const o = new Option(s.flags, s.description);
    if (s.choices) o.choices(s.choices);
    const parse = valueParser(s);
    if (parse) {
      o.argParser((value: string, previous: unknown) => {
        try {
          return parse(value, previous);
        } catch (e) {
          // in kodama's words, as a command's own checks say it: `invalid --since "": use a duration …`
          if (!(e instanceof OptionValueError)) throw e;
          throw usageError(`invalid ${flagParts(s.flags).long ?? s.flags} ${quote(value)}: ${e.message}`);
        }
      });
    }
    if ("default" in s) o.default(s.default);
    if (s.hidden) o.hideHelp();
    cmd.addOption(o);
  }
  return cmd;
}

/** Global flags with kubectl's meaning; they may appear before or after the subcommand. */
export function globalOptions<A extends unknown[]>(program: AnyCommand<A>): AnyCommand<A> {
  return addOptions(program, GLOBAL_OPTIONS);
}

/** The whole command line as the root command received it (commander keeps it, untyped). */
function rawArgsOf(cmd: { parent: unknown }): string[] {
  let c = cmd as { parent?: unknown; rawArgs?: string[] };
  while (c.parent) c = c.parent as typeof c;
  return c.rawArgs ?? [];
}

/** The parsed command line of the command being run, as actions shared with src/cli/fast.ts take it. */
export function invocationOf(cmd: AnyCommand): Invocation {
  return {
    opts: cmd.optsWithGlobals() as Record<string, unknown>,
    args: [...cmd.args],
    rawArgs: rawArgsOf(cmd),
    given: (key) => {
      const src = cmd.getOptionValueSourceWithGlobals(key);
      return src !== undefined && src !== "default";
    },
  };
}

const specs = new WeakMap<AnyCommand, CommandSpec>();

/** The spec a commander command was registered from (registerSpec). */
export function specOf(cmd: AnyCommand): CommandSpec | undefined {
  return specs.get(cmd);
}

/**
 * A command declared as data (src/cli/spec.ts) as a commander command under `parent`, with its subcommands:
 * commander reads the lines src/cli/fast.ts leaves to it (help, errors) and renders help.
 */
export function registerSpec(parent: AnyCommand, spec: CommandSpec): AnyCommand {
  const [name, ...aliases] = spec.names;
  const cmd = help(parent.command(name), spec.help) as AnyCommand;
  specs.set(cmd, spec);
  if (aliases.length) cmd.aliases(aliases);
  for (const a of spec.args ?? []) {
    const term = `${a.name}${a.variadic ? "..." : ""}`;
    cmd.argument(a.required ? `<${term}>` : `[${term}]`, a.description);
  }
  addOptions(cmd, spec.options ?? []);
  if (spec.unknownOptions) cmd.allowUnknownOption();
  for (const sub of spec.subcommands ?? []) registerSpec(cmd, sub);
  const more = spec.moreNotes;
  if (more) {
    parent.hook("preSubcommand", async (_p, sub) => {
      if (sub === cmd) addNotes(cmd, await more());
    });
  }
  const run = spec.run;
  if (run) {
    cmd.action((...a: unknown[]) => {
      const inv = invocationOf(a[a.length - 1] as AnyCommand);
      checkConflicts(spec.options, inv);
      return run(inv);
    });
  }
  return cmd;
}
