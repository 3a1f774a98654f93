/**
 * The everyday command lines — `exec` (and so `kpod`), `pods` and `run` (and so `kwekash`) — read without
 * commander. Commander is
 * CommonJS and brings Deno's Node layer with it (node:fs, node:process, node:child_process): ~45 ms of CPU
 * in every process, a third of what `kodama exec POD -- true` costs. This reader follows commander's own
 * algorithm (lib/command.js `parseOptions`: the root reads its options anywhere before `--`, the first
 * unknown flag sends the rest on to the subcommand, `-abc` groups, `--flag=value`, `--no-x`, defaults,
 * choices, repeatable flags) over the same option declarations (src/cli/optspec.ts), and gives up —
 * returns undefined — on anything else: help, --version, an unknown flag, a missing or invalid value, too
 * many operands. Commander then reads the line again and says what is wrong in its usual words, so an
 * error never depends on which reader saw it first. tests/unit/cli/fast_test.ts checks that both readers
 * agree on a corpus of lines.
 */
import { type FlagParts, flagParts, GLOBAL_OPTIONS, type Invocation, type OptSpec } from "./optspec.ts";
import { EXEC_OPTIONS, execAction } from "./exec_action.ts";
import { PODS_OPTIONS, podsAction } from "./pods_action.ts";
import { RUN_OPTIONS, runAction } from "./run_action.ts";

export interface FastCommand {
  /** the command's name and aliases (as main.ts's COMMANDS lists them) */
  names: string[];
  options: readonly OptSpec[];
  /** how many operands it takes: at least (its required arguments), at most (commander refuses more) */
  minArgs: number;
  maxArgs: number;
  run(inv: Invocation): Promise<void>;
}

export const FAST_COMMANDS: readonly FastCommand[] = [
  {
    names: ["exec"],
    options: EXEC_OPTIONS,
    minArgs: 0,
    maxArgs: Infinity,
    run: execAction,
  },
  {
    names: ["pods", "po"],
    options: PODS_OPTIONS,
    minArgs: 0,
    maxArgs: 1,
    run: podsAction,
  },
  {
    names: ["run"],
    options: RUN_OPTIONS,
    minArgs: 1,
    maxArgs: Infinity,
    run: runAction,
  },
];

/** A line commander would read differently or refuse: leave it to commander. */
class GiveUp extends Error {}

interface Declared {
  spec: OptSpec;
  parts: FlagParts;
}

/** One command's options and the values the line gives them (commander keeps these on each Command). */
class Level {
  readonly declared: Declared[] = [];
  readonly values: Record<string, unknown> = {};
  readonly sources = new Map<string, "default" | "cli">();

  constructor(specs: readonly OptSpec[]) {
    for (const spec of specs) {
      const parts = flagParts(spec.flags);
      // commander: a lone --no-x defaults x to true; after a declared --x it sets no default
      const positive = parts.negate && this.find(parts.long!.replace(/^--no-/, "--"));
      this.declared.push({ spec, parts });
      if (parts.negate && !positive) this.setValue(parts.attribute, spec.default ?? true, "default");
      else if (!parts.negate && spec.default !== undefined) {
        this.setValue(parts.attribute, spec.default, "default");
      }
    }
  }

  find(flag: string): Declared | undefined {
    return this.declared.find((d) => d.parts.short === flag || d.parts.long === flag);
  }

  private setValue(key: string, value: unknown, source: "default" | "cli"): void {
    this.values[key] = value;
    this.sources.set(key, source);
  }

  /** The flag was given, with `value` when it takes one. */
  give(d: Declared, value?: string): void {
    const key = d.parts.attribute;
    if (value === undefined) return this.setValue(key, !d.parts.negate, "cli");
    if (d.spec.choices && !d.spec.choices.includes(value)) throw new GiveUp();
    let parsed: unknown = value;
    if (d.spec.parse) {
      try {
        parsed = d.spec.parse(value, this.values[key]);
      } catch {
        throw new GiveUp();
      }
    }
    this.setValue(key, parsed, "cli");
  }

  /** commander's parseOptions: this level's flags are read; operands, and everything from the first unknown flag on, are returned. */
  parse(args: readonly string[], leaf: boolean): { operands: string[]; unknown: string[] } {
    const operands: string[] = [];
    const unknown: string[] = [];
    let dest = operands;
    const maybeOption = (a: string) => a.length > 1 && a[0] === "-";
    const negativeNumber = (a: string) => /^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$/.test(a);
    let group: string | undefined;
    let i = 0;
    while (i < args.length || group !== undefined) {
      const arg = group ?? args[i++];
      group = undefined;
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...args.slice(i));
        break;
      }
      if (maybeOption(arg)) {
        const d = this.find(arg);
        if (d) {
          if (d.parts.required) {
            if (i >= args.length) throw new GiveUp(); // missing value
            this.give(d, args[i++]);
          } else this.give(d);
          continue;
        }
      }
      if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
        const d = this.find(`-${arg[1]}`);
        if (d) {
          if (d.parts.required) this.give(d, arg.slice(2));
          else {
            this.give(d);
            group = `-${arg.slice(2)}`;
          }
          continue;
        }
      }
      if (/^--[^=]+=/.test(arg)) {
        const eq = arg.indexOf("=");
        const d = this.find(arg.slice(0, eq));
        if (d && d.parts.required) {
          this.give(d, arg.slice(eq + 1));
          continue;
        }
      }
      // a negative number is an operand of a command without subcommands, an unknown flag above one
      if (dest === operands && maybeOption(arg) && !(leaf && negativeNumber(arg))) dest = unknown;
      dest.push(arg);
    }
    return { operands, unknown };
  }
}

/** The command and its invocation, when this reader is sure how commander would read `args`. */
export function fastLine(args: readonly string[]): { command: FastCommand; inv: Invocation } | undefined {
  try {
    const root = new Level(GLOBAL_OPTIONS);
    const top = root.parse(args, false);
    const command = FAST_COMMANDS.find((c) => c.names.includes(top.operands[0]));
    if (!command) return undefined;
    const leaf = new Level(command.options);
    const own = leaf.parse(top.unknown, true);
    if (own.unknown.length) return undefined; // an unknown flag, -h/--help, -V/--version
    const operands = [...top.operands.slice(1), ...own.operands];
    if (operands.length < command.minArgs || operands.length > command.maxArgs) return undefined;
    const inv: Invocation = {
      opts: { ...root.values, ...leaf.values },
      args: operands,
      rawArgs: [...args],
      given: (key) => (root.sources.get(key) ?? leaf.sources.get(key)) === "cli",
    };
    return { command, inv };
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
}
