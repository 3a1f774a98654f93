/**
 * Command lines read without commander, from the commands' option tables (src/cli/spec.ts). Commander is
 * CommonJS and brings Deno's Node layer with it (node:fs, node:process, node:child_process): ~45 ms of CPU
 * in every process, a third of what `kodama exec POD -- true` costs. This reader follows commander's own
 * algorithm (lib/command.js `parseOptions` and `_parseCommand`: the root reads its options anywhere before
 * `--`, the first unknown flag sends the rest on to the subcommand, each level of subcommands reads its
 * own, `-abc` groups, `--flag=value`, `--no-x`, `[optional]` values, defaults, choices, repeatable flags)
 * over the same tables, and gives up — returns undefined — on anything else: help, --version, an unknown
 * flag or command, a missing or invalid value, too few or too many operands. Commander then reads the line
 * again and says what is wrong in its usual words, so an error never depends on which reader saw it first.
 * tests/unit/cli/fast_test.ts checks that both readers agree on a corpus of lines.
 */
import {
  type FlagParts,
  flagParts,
  GLOBAL_OPTIONS,
  type Invocation,
  type OptSpec,
  valueParser,
} from "./optspec.ts";
import { type CommandSpec, operandRange, specsOf } from "./spec.ts";
import { moduleFor } from "./commands.ts";
import { END_OF_OPTIONS, isNegativeNumber, looksLikeFlag, splitAssign, splitGroup } from "./grammar.ts";

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
    const parse = valueParser(d.spec);
    if (parse) {
      try {
        parsed = parse(value, this.values[key]);
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
    let group: string | undefined;
    let i = 0;
    while (i < args.length || group !== undefined) {
      const arg = group ?? args[i++];
      group = undefined;
      if (arg === END_OF_OPTIONS) {
        if (dest === unknown) dest.push(arg);
        dest.push(...args.slice(i));
        break;
      }
      if (looksLikeFlag(arg)) {
        const d = this.find(arg);
        if (d) {
          if (d.parts.required) {
            if (i >= args.length) throw new GiveUp(); // missing value
            this.give(d, args[i++]);
          } else if (d.parts.optional && i < args.length && !looksLikeFlag(args[i])) this.give(d, args[i++]);
          else this.give(d);
          continue;
        }
      }
      const short = splitGroup(arg);
      const sd = short && this.find(short.flag);
      if (short && sd) {
        if (sd.parts.required || sd.parts.optional) this.give(sd, short.rest);
        else {
          this.give(sd);
          group = `-${short.rest}`;
        }
        continue;
      }
      const assign = splitAssign(arg);
      const ad = assign && this.find(assign.flag);
      if (assign && ad && (ad.parts.required || ad.parts.optional)) {
        this.give(ad, assign.value);
        continue;
      }
      // a negative number is an operand of a command without subcommands, an unknown flag above one
      if (dest === operands && looksLikeFlag(arg) && !(leaf && isNegativeNumber(arg))) dest = unknown;
      dest.push(arg);
    }
    return { operands, unknown };
  }
}

/** A command line read: the command it reaches (`path`: its names from the top) and its invocation. */
export interface FastLine {
  spec: CommandSpec;
  path: string[];
  inv: Invocation;
}

/**
 * The command `args` reach and their invocation, when this reader is sure how commander would read them
 * (undefined: leave the line to commander). Loads the one command module the line names.
 */
export async function fastLine(args: readonly string[]): Promise<FastLine | undefined> {
  try {
    const levels = [new Level(GLOBAL_OPTIONS)];
    const top = levels[0].parse(args, false);
    const word = top.operands[0];
    const load = moduleFor(word);
    if (!load) return undefined;
    const m = await load();
    let spec = specsOf(m).find((s) => s.names.includes(word))!;
    const path = [spec.names[0]];
    let operands = top.operands.slice(1);
    let unknown = top.unknown;
    for (;;) {
      // commander's _parseCommand: this level reads its flags from what the one above left unknown
      const subs = spec.subcommands ?? [];
      const level = new Level(spec.options ?? []);
      levels.push(level);
      const own = level.parse(unknown, subs.length === 0);
      operands = [...operands, ...own.operands];
      unknown = own.unknown;
      const sub = subs.find((s) => s.names.includes(operands[0]));
      if (sub) {
        spec = sub;
        path.push(sub.names[0]);
        operands = operands.slice(1);
        continue;
      }
      if (subs.length && (operands[0] === "help" || !spec.run)) return undefined; // help, or an unknown command
      break;
    }
    if (!spec.run || spec.unknownOptions) return undefined;
    if (unknown.length) return undefined; // an unknown flag, -h/--help, -V/--version
    const { min, max } = operandRange(spec);
    if (operands.length < min || operands.length > max) return undefined;
    // commander's optsWithGlobals(): the levels above overwrite the command's own
    const opts: Record<string, unknown> = {};
    for (const l of [...levels].reverse()) Object.assign(opts, l.values);
    const inv: Invocation = {
      opts,
      args: operands,
      rawArgs: [...args],
      given: (key) => levels.find((l) => l.sources.has(key))?.sources.get(key) === "cli",
    };
    return { spec, path, inv };
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
}
