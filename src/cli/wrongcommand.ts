/**
 * A word that names no command, in kubectl's words: `error: unknown command "status" for "kodama session";
 * did you mean get?` — for the top level and for a command with subcommands.
 */
import type { Command } from "@commander-js/extra-typings";

/** Words people type for a verb kodama spells otherwise (as kubectl's users do: `status` for get). */
const SYNONYMS: Record<string, string[]> = {
  status: ["get", "status"],
  show: ["view", "get"],
  describe: ["get"],
  info: ["get"],
  ls: ["list"],
  rm: ["delete"],
  remove: ["delete"],
  del: ["delete"],
  create: ["start"],
  new: ["start"],
  kill: ["stop"],
  restart: ["resume"],
  continue: ["resume"],
  cat: ["view", "get"],
};

/**
 * One line, as kubectl says it, when a command with subcommands is given a word that names none of them
 * (and it takes no operands of its own): `error: unknown command "status" for "kodama session"; did you
 * mean get?`. Undefined when the line is not that case.
 */
export async function unknownSubcommand(program: Command, args: string[]): Promise<string | undefined> {
  const [{ parseLine }, { suggest }] = await Promise.all([
    import("./argv.ts"),
    import("../base/text/suggest.ts"),
  ]);
  const line = parseLine(program as unknown as Parameters<typeof parseLine>[0], args);
  const cmd = line.command as unknown as Command;
  if (line.path.length < 2 || cmd.commands.length === 0 || line.operands.length === 0) return undefined;
  const own = (cmd as unknown as { registeredArguments: { variadic: boolean }[] }).registeredArguments;
  if (own.some((a) => a.variadic) || line.operands.length <= own.length) return undefined;
  const word = line.operands[0];
  const names = cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]).filter((n) => !n.startsWith("_"));
  if (names.includes(word)) return undefined;
  const near = (SYNONYMS[word.toLowerCase()] ?? []).find((n) => names.includes(n)) ?? suggest(word, names);
  return `error: unknown command "${word}" for "${["kodama", ...line.path.slice(1)].join(" ")}"${
    near
      ? `; did you mean ${near}?`
      : `; run 'kodama ${line.path.slice(1).join(" ")} --help' for its commands`
  }`;
}

/**
 * The same line for the top level: `error: unknown command "get" for "kodama"; did you mean session get?`
 * (a word that names a session verb points there). Undefined when the first operand is a command.
 */
export async function unknownCommand(program: Command, args: string[]): Promise<string | undefined> {
  const [{ parseLine }, { suggest }] = await Promise.all([
    import("./argv.ts"),
    import("../base/text/suggest.ts"),
  ]);
  const line = parseLine(program as unknown as Parameters<typeof parseLine>[0], args);
  if (line.path.length > 1 || line.operands.length === 0) return undefined;
  const word = line.operands[0];
  if (word === "help") return undefined; // commander's own `kodama help CMD`
  const namesOf = (c: Command) =>
    c.commands.flatMap((s) => [s.name(), ...s.aliases()]).filter((n) => !n.startsWith("_"));
  const names = namesOf(program);
  const session = program.commands.find((c) => c.name() === "session");
  const verbs = session ? namesOf(session as unknown as Command) : [];
  const meant = SYNONYMS[word.toLowerCase()] ?? [word.toLowerCase()];
  const near = meant.find((n) => names.includes(n)) ??
    (meant.find((n) => verbs.includes(n)) ? `session ${meant.find((n) => verbs.includes(n))}` : undefined) ??
    suggest(word, names);
  return `error: unknown command "${word}" for "kodama"${
    near ? `; did you mean ${near}?` : "; run 'kodama --help' for the commands"
  }`;
}
