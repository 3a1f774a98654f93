/**
 * A command as data: every `src/cli/<command>.ts` exports `names`, `help`, `options` (an OptSpec table),
 * `args` and `run` — or `commands`, a list of such specs, when one file holds several top-level names
 * (the session verbs). Nothing here loads commander: src/cli/fast.ts reads command lines against these
 * tables, src/cli/tree.ts makes the light tree shell completion walks, and src/cli/flags.ts turns them into
 * commander commands only for what commander is still good at (help text, error wording).
 *
 * Adding a command: a new `src/cli/<name>.ts` exporting the fields below, one line in src/cli/commands.ts.
 * Adding a flag: one row in the command's `options` (`opts([...])`; its action takes
 * `Invocation<typeof options>`, the values typed from the rows: src/cli/opttypes.ts). Its `run` imports what it needs with `import()`, so
 * reading a table never loads the Kubernetes client.
 */
import type { HelpSpec } from "./help.ts";
import type { Invocation, OptSpec } from "./optspec.ts";
import { opt } from "./opttypes.ts";

/** What a positional argument completes to (src/cli/complete.ts), when its name does not say it. */
export type ArgKind =
  | "namespaces"
  | "contexts"
  | "clusters"
  | "users"
  | "pods"
  | "containers"
  | "labels"
  | "targets"
  | "sessions"
  | "workflows"
  | "templates"
  | "params"
  | "config-keys"
  | "config-values"
  | "cp-path"
  | "files"
  | "yaml-files"
  | "none";

/** One positional argument, as commander's `.argument("<name>", description)` takes it. */
export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
}

/** `-o table|json|name`: the output of a `list` subcommand (templates, workflows). */
export const LIST_OUTPUT = opt({
  flags: "-o, --output <format>",
  description: "output format",
  choices: ["table", "json", "name"],
  default: "table",
});

/** `arg("<name>", "…")`, `arg("[cmd...]", "…")`: commander's argument syntax. */
export function arg(term: string, description = ""): ArgSpec {
  const m = /^([<[])([^>\]]+?)(\.\.\.)?[>\]]$/.exec(term);
  if (!m) throw new Error(`bad argument term: ${term}`);
  return { name: m[2], description, required: m[1] === "<", variadic: !!m[3] };
}

export interface CommandSpec {
  /** the name, then its aliases */
  readonly names: readonly string[];
  readonly help: HelpSpec;
  readonly args?: readonly ArgSpec[];
  /** the command's own flags, in the order its help lists them */
  readonly options?: readonly OptSpec[];
  readonly subcommands?: readonly CommandSpec[];
  /** what it does; a command with subcommands and no `run` prints its help */
  run?(inv: Invocation): Promise<void>;
  /** what each positional argument completes to, in order (the last repeats); default: from its name */
  readonly complete?: readonly ArgKind[];
  /** accept any flag (`__complete WORDS…`: the words are another line's) */
  readonly unknownOptions?: boolean;
  /** text added to the help's notes when it is shown (computed only then) */
  readonly moreNotes?: () => Promise<string>;
  /**
   * runs when a config file does not validate (the `config` commands that show or repair it: the fix
   * an error names must run); every other command refuses to start with that error
   */
  readonly withBrokenConfig?: boolean;
}

/** A command module: one command's fields, or a list of commands. */
export type CommandModule = CommandSpec | { readonly commands: readonly CommandSpec[] };

export function specsOf(m: CommandModule): readonly CommandSpec[] {
  return "commands" in m ? m.commands : [m];
}

/** The least and most operands a command takes (commander refuses fewer or more). */
export function operandRange(spec: CommandSpec): { min: number; max: number } {
  const args = spec.args ?? [];
  return {
    min: args.filter((a) => a.required).length,
    max: args.some((a) => a.variadic) ? Infinity : args.length,
  };
}
