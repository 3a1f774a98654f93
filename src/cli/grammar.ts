/**
 * The words of kodama's command-line grammar (commander's, lib/command.js `parseOptions`), once, for every
 * reader of a line: the fast reader that runs it (src/cli/fast.ts), the lenient one completion and the
 * wrong-command lines use (src/cli/argv.ts), and main's guess whether a line connects (src/cli/dispatch.ts).
 * What a word is — the end of options, a flag, `--flag=value`, a group of short flags `-abc`, a negative
 * number — is decided here; each reader decides only what to do with a flag it does not know.
 */

/** `--`: every word after it is an operand. */
export const END_OF_OPTIONS = "--";

/** commander's `maybeOption`: a word that starts with `-` and is more than that (`-` alone is an operand). */
export function looksLikeFlag(word: string): boolean {
  return word.length > 1 && word[0] === "-";
}

/** A negative number (`-1`, `-.5`, `-2e3`): an operand of a command without subcommands, as in commander. */
export function isNegativeNumber(word: string): boolean {
  return /^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$/.test(word);
}

/** `--flag=value` as its flag and value; undefined for any other word. */
export function splitAssign(word: string): { flag: string; value: string } | undefined {
  if (!/^--[^=]+=/.test(word)) return undefined;
  const eq = word.indexOf("=");
  return { flag: word.slice(0, eq), value: word.slice(eq + 1) };
}

/** `-abc` as its first short flag and the rest of the word (`-a`, `bc`); undefined unless a group. */
export function splitGroup(word: string): { flag: string; rest: string } | undefined {
  if (word.length <= 2 || word[0] !== "-" || word[1] === "-") return undefined;
  return { flag: `-${word[1]}`, rest: word.slice(2) };
}
