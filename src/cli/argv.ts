/**
 * A command line read against the command tree the way commander reads it, without running anything:
 * which (sub)command it reaches, which flags it sets (and to what), its operands, and what is wrong with it.
 * Shell completion uses it to know where the cursor is; the help test uses it to check that every example
 * in `--help` names real flags. Pure: no I/O. Lenient where the fast reader (src/cli/fast.ts) is exact: it
 * reads a half-typed or wrong line to its end (unknown flags noted, a flag still waiting for its value), over
 * the same words (src/cli/grammar.ts).
 */
import type { CmdLike as AnyCommand, OptLike as Option } from "./tree.ts";
import { END_OF_OPTIONS, looksLikeFlag, splitAssign } from "./grammar.ts";

export interface FoundOption {
  option: Option;
  /** the command that declares it (the root for global flags) */
  owner: AnyCommand;
}

export interface ParsedLine {
  /** the deepest command the words reach */
  command: AnyCommand;
  /** its names from the root, e.g. ["kodama", "config", "set"] */
  path: string[];
  /** flag values by commander attribute name (repeatable flags collect) */
  values: Record<string, string[]>;
  /** operands before `--` (subcommand names excluded) */
  operands: string[];
  /** words after `--`, when there is one */
  afterDash?: string[];
  /** flags the command does not know */
  unknown: string[];
  /** a value given to a flag with choices that is not one of them */
  badChoices: string[];
  /** the last word was a flag that still waits for its value */
  pending?: FoundOption;
}

/** The option `flag` (`-n`, `--namespace`, `--no-color`) on `cmd` or an ancestor. */
export function findOption(cmd: AnyCommand, flag: string): FoundOption | undefined {
  for (let c: AnyCommand | null = cmd; c; c = c.parent) {
    const option = c.options.find((o) => o.short === flag || o.long === flag);
    if (option) return { option, owner: c };
  }
  return undefined;
}

export function findSubcommand(cmd: AnyCommand, name: string): AnyCommand | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

const takesValue = (o: Option) => o.required || o.optional;

/** Read `words` (without the program name) against the tree rooted at `root`. */
export function parseLine(root: AnyCommand, words: string[]): ParsedLine {
  let command = root;
  const path = [root.name()];
  const p: ParsedLine = { command, path, values: {}, operands: [], unknown: [], badChoices: [] };
  const set = (f: FoundOption, value: string) => {
    const key = f.option.attributeName();
    (p.values[key] ??= []).push(value);
    const choices = (f.option as unknown as { argChoices?: string[] }).argChoices;
    if (choices && !choices.includes(value)) p.badChoices.push(`${f.option.long ?? f.option.short}=${value}`);
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === END_OF_OPTIONS) {
      p.afterDash = words.slice(i + 1);
      break;
    }
    if (w.startsWith("--") && w.length > 2) {
      const assign = splitAssign(w);
      const name = assign?.flag ?? w;
      const f = findOption(command, name);
      if (!f) {
        p.unknown.push(name);
        continue;
      }
      if (assign) set(f, assign.value);
      else if (takesValue(f.option)) {
        if (i + 1 < words.length) set(f, words[++i]);
        else p.pending = f;
      } else set(f, f.option.negate ? "false" : "true");
      continue;
    }
    if (looksLikeFlag(w) && !/^-\d/.test(w)) {
      // -abc: short flags bundled; the first one that takes a value takes the rest of the word (or the next)
      for (let j = 1; j < w.length; j++) {
        const f = findOption(command, `-${w[j]}`);
        if (!f) {
          p.unknown.push(`-${w[j]}`);
          break;
        }
        if (takesValue(f.option)) {
          const rest = w.slice(j + 1);
          if (rest) set(f, rest);
          else if (i + 1 < words.length) set(f, words[++i]);
          else p.pending = f;
          break;
        }
        set(f, "true");
      }
      continue;
    }
    const sub = p.operands.length === 0 ? findSubcommand(command, w) : undefined;
    if (sub) {
      command = sub;
      path.push(sub.name());
      continue;
    }
    p.operands.push(w);
  }
  p.command = command;
  return p;
}
