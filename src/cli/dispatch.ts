/**
 * A command line to its exit code: a plain line is read by src/cli/fast.ts from the command's table alone
 * and run; completion walks the light tree (src/cli/tree.ts); help and anything wrong with the line go to
 * commander (src/cli/program.ts), for its words. `kodama --version` answers without either.
 */
import { ExitCode, formatError, KodamaError } from "../base/errors.ts";
import { VERSION } from "../base/version.ts";
import { mark } from "../base/timing.ts";
import { flagParts, GLOBAL_OPTIONS } from "./optspec.ts";
import { COMPLETE } from "./invoked.ts";
import { END_OF_OPTIONS, looksLikeFlag } from "./grammar.ts";
import { settle } from "./settle.ts";

/** Global flags that take a value: the word after one is not the command (from their declarations). */
const VALUED_FLAGS = new Set(
  GLOBAL_OPTIONS.map((o) => flagParts(o.flags)).filter((p) => p.required).flatMap((p) => [p.short, p.long]),
);

/** Commands that reach the cluster on every run (unless asked for --help; `run` unless --dry-run). */
const CONNECTING = new Set(["pods", "po", "exec", "logs", "cp", "wait", "pick", "run", "ui"]);

/**
 * Will this command line connect to the cluster? Then its TLS set-up starts at once (src/kube/warm.ts),
 * beside the module loading. A guess from the words before `--`; a miss only means the warm-up starts
 * later, when the client is made.
 */
export function connectsSoon(args: string[]): boolean {
  let command: string | undefined;
  for (let i = 0; i < args.length && args[i] !== END_OF_OPTIONS; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help" || a === "--dry-run") return false;
    if (looksLikeFlag(a)) {
      if (VALUED_FLAGS.has(a)) i++;
    } else command ??= a;
  }
  return command !== undefined && CONNECTING.has(command);
}

/** Run the CLI; returns the exit code instead of exiting (tests call this in-process). */
export async function run(args: string[]): Promise<number> {
  // a detached port-forward (the `--daemon ID` process `port-forward --detach` starts) gets its credential
  // flags through the environment, not its command line; no other command reads the variable
  const detached = Deno.env.get("KODAMA_DETACHED_ARGS");
  if (detached !== undefined) Deno.env.delete("KODAMA_DETACHED_ARGS");
  if (detached && args.some((a) => a === "--daemon" || a.startsWith("--daemon="))) {
    try {
      const { detachedSecretArgs } = await import("../pods/pf_cmd.ts");
      args = [...args, ...detachedSecretArgs(detached)];
    } catch (e) {
      console.error(`error: ${formatError(e)}`);
      return e instanceof KodamaError ? e.code : ExitCode.FAILED;
    }
  }
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    // what commander prints for it, without loading commander
    const { stdoutSink } = await import("../base/sink.ts");
    stdoutSink.write(`kodama ${VERSION}\n`);
    return ExitCode.OK;
  }
  if (!COMPLETE.includes(args[0])) {
    // every command line is read from the command's option table without commander, when it is plain
    // (src/cli/fast.ts); help and anything wrong with the line go to commander, for its words
    const { fastLine } = await import("./fast.ts");
    const line = await fastLine(args);
    if (line) {
      mark("command line read");
      return await settle(args, async () => {
        const { prepare } = await import("./prepare.ts");
        await prepare(line.inv, line.spec);
        const { checkConflicts } = await import("./optspec.ts");
        checkConflicts(line.spec.options, line.inv);
        await line.spec.run!(line.inv);
      });
    }
  }
  if (COMPLETE.includes(args[0])) {
    // every command's table, without commander: the words being completed are not kodama's flags
    const [{ commandTree }, { runComplete }] = await Promise.all([
      import("./tree.ts"),
      import("./completion.ts"),
    ]);
    const tree = await commandTree();
    mark("command tree built");
    return await runComplete(tree, args.slice(1), args[0] === "__complete");
  }
  if (args.includes("--help-all")) {
    // the whole help: every example, each option's description, the details (`--help` is the short one)
    (await import("./help.ts")).setHelpAll(true);
    args = args.map((a) => a === "--help-all" ? "--help" : a);
  }
  // commander's path only: help, or something wrong with the line
  const [{ buildProgram }, { unknownCommand, unknownSubcommand }] = await Promise.all([
    import("./program.ts"),
    import("./wrongcommand.ts"),
  ]);
  const program = await buildProgram(args);
  mark("command tree built");
  if (args.includes("--help") || args.includes("-h")) {
    // commander answers `kodama nosuch --help` with the top-level help and exit 0; an unknown command
    // is an error whatever flags follow it
    const unknown = await unknownCommand(program, args);
    if (unknown) {
      console.error(unknown);
      return ExitCode.USAGE;
    }
  }
  const wrong = await unknownCommand(program, args) ?? await unknownSubcommand(program, args);
  if (wrong) {
    console.error(wrong);
    return ExitCode.USAGE;
  }
  const { CommanderError } = await import("@commander-js/extra-typings");
  return await settle(args, () => program.parseAsync(args, { from: "user" }), (e) => {
    if (!(e instanceof CommanderError)) return undefined;
    if (["commander.helpDisplayed", "commander.version", "commander.help"].includes(e.code)) return 0;
    if (e.code === "commander.executeSubCommandAsync") return e.exitCode;
    // commander already printed "error: ..."; add where to look.
    console.error("  run 'kodama --help' or 'kodama <command> --help' for usage");
    return ExitCode.USAGE;
  });
}
