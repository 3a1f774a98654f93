/**
 * The whole command tree made from the commands' tables (src/cli/spec.ts), without commander: what shell
 * completion walks on every Tab press (src/cli/complete.ts, src/cli/argv.ts). Its nodes answer the few
 * questions those modules ask of a command — name, aliases, description, options, arguments, parent,
 * subcommands — in commander's own words, so the same code reads a commander tree too (the help test
 * builds one for its checks). Loading it loads every command module, each only its table.
 */
import { COMMANDS } from "./commands.ts";
import { help } from "./help.ts";
import { completeArgs } from "./complete.ts";
import { type FlagParts, flagParts, GLOBAL_OPTIONS, type OptSpec } from "./optspec.ts";
import { type ArgSpec, type CommandSpec, specsOf } from "./spec.ts";

/** An option as commander's `Option` describes it (the fields completion and the line reader use). */
export interface OptLike {
  flags: string;
  short?: string;
  long?: string;
  required: boolean;
  optional: boolean;
  negate: boolean;
  variadic: boolean;
  hidden: boolean;
  description: string;
  defaultValue?: unknown;
  argChoices?: string[];
  attributeName(): string;
}

/** A positional argument as commander's `Argument` describes it. */
export interface ArgLike {
  name(): string;
  required: boolean;
  variadic: boolean;
}

/** A command as commander's `Command` describes it (the parts completion and the line reader use). */
export interface CmdLike {
  name(): string;
  aliases(): string[];
  description(): string;
  readonly commands: readonly CmdLike[];
  readonly options: readonly OptLike[];
  readonly parent: CmdLike | null;
  readonly registeredArguments: readonly ArgLike[];
}

class OptNode implements OptLike {
  readonly flags: string;
  readonly short?: string;
  readonly long?: string;
  readonly required: boolean;
  readonly optional: boolean;
  readonly negate: boolean;
  readonly variadic = false;
  readonly hidden: boolean;
  readonly description: string;
  readonly defaultValue?: unknown;
  readonly argChoices?: string[];
  readonly #parts: FlagParts;

  constructor(spec: OptSpec) {
    const p = this.#parts = flagParts(spec.flags);
    this.flags = spec.flags;
    this.short = p.short;
    this.long = p.long;
    this.required = p.required;
    this.optional = p.optional;
    this.negate = p.negate;
    this.hidden = !!spec.hidden;
    this.description = spec.description;
    // commander: a --no-x flag defaults x to true
    this.defaultValue = p.negate ? spec.default ?? true : spec.default;
    this.argChoices = spec.choices ? [...spec.choices] : undefined;
  }

  attributeName(): string {
    return this.#parts.attribute;
  }
}

class ArgNode implements ArgLike {
  readonly required: boolean;
  readonly variadic: boolean;
  constructor(readonly spec: ArgSpec) {
    this.required = spec.required;
    this.variadic = spec.variadic;
  }
  name(): string {
    return this.spec.name;
  }
}

/** A command of the tree; `_hidden` as commander keeps it (internal commands such as `__complete`). */
export class CmdNode implements CmdLike {
  readonly commands: CmdNode[] = [];
  readonly options: OptNode[];
  readonly registeredArguments: ArgNode[];
  _hidden = false;
  #description = "";

  constructor(readonly spec: CommandSpec, readonly parent: CmdNode | null) {
    this.options = (spec.options ?? []).map((o) => new OptNode(o));
    this.registeredArguments = (spec.args ?? []).map((a) => new ArgNode(a));
    help(this as never, spec.help); // its summary, group and `internal` (hidden), where help.ts keeps them
    if (spec.complete) completeArgs(this as never, ...spec.complete);
    for (const sub of spec.subcommands ?? []) this.commands.push(new CmdNode(sub, this));
  }

  name(): string {
    return this.spec.names[0];
  }
  aliases(): string[] {
    return this.spec.names.slice(1);
  }
  /** commander's description(): the text, or (with an argument) set it */
  description(text?: string): string {
    if (text !== undefined) this.#description = text;
    return this.#description;
  }
}

const ROOT: CommandSpec = {
  names: ["kodama"],
  help: { summary: "kodama", examples: [] },
  options: [{ flags: "-V, --version", description: "print the version" }, ...GLOBAL_OPTIONS],
};

/** Every command (every module loaded, in COMMANDS's order) under a root that holds the global flags. */
export async function commandTree(): Promise<CmdNode> {
  const root = new CmdNode(ROOT, null);
  const modules = await Promise.all(COMMANDS.map(([, load]) => load()));
  for (const m of modules) for (const spec of specsOf(m)) root.commands.push(new CmdNode(spec, root));
  return root;
}
