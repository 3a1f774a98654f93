/**
 * kodama — one program, several names:
 *   kodama / kubectl-kodama   the full CLI
 *   kpod                      `kodama exec`
 *   kwekash                   `kodama run kwekash`
 * This file reads the command line and runs it. Each command is a table (src/cli/spec.ts) in a light module
 * (src/cli/commands.ts lists them) that imports its implementation only when it runs. A plain line is read
 * by src/cli/fast.ts from the command's table alone; commander (and with it Deno's Node layer: ~45 ms of
 * CPU) is loaded only for the lines it must read: help, and a line with something wrong in it, which it
 * words. `kodama --version` answers without either.
 */
import type { Command } from "@commander-js/extra-typings";
import { ExitCode, formatError, KodamaError } from "./src/errors.ts";
import type { AnyCommand } from "./src/cli/flags.ts";
import { VERSION } from "./src/version.ts";
import { mark, startTiming, timingLines, timingOn } from "./src/base/timing.ts";
import { warmTls } from "./src/kube/warm.ts";
import { flagParts, GLOBAL_OPTIONS } from "./src/cli/optspec.ts";
import { COMMANDS } from "./src/cli/commands.ts";
import { specsOf } from "./src/cli/spec.ts";

export { COMMANDS } from "./src/cli/commands.ts";

/** "complete" is `kubectl_complete-kodama`, which kubectl (1.26+) runs with the words to complete. */
export type InvokedAs = "kodama" | "kpod" | "kwekash" | "complete";

/** When compiled, the binary's own name tells which tool it is. */
function invokedAs(): InvokedAs {
  const base = Deno.execPath().split(/[\\/]/).pop()?.replace(/\.exe$/, "") ?? "";
  if (base === "kubectl_complete-kodama") return "complete";
  return base === "kpod" || base === "kwekash" ? base : "kodama";
}

const COMPLETE = ["__complete", "__completeNoDesc"];

export function argvFor(as: InvokedAs, args: string[]): string[] {
  if (as === "complete") return ["__complete", ...args];
  // `kpod __complete WORDS` completes `kodama __complete exec WORDS`
  if (COMPLETE.includes(args[0])) return [args[0], ...argvFor(as, args.slice(1))];
  if (as === "kpod") return ["exec", ...args];
  if (as === "kwekash") return ["run", "kwekash", ...args];
  return args;
}

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
  for (let i = 0; i < args.length && args[i] !== "--"; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help" || a === "--dry-run") return false;
    if (a.startsWith("-")) {
      if (VALUED_FLAGS.has(a)) i++;
    } else command ??= a;
  }
  return command !== undefined && CONNECTING.has(command);
}

/**
 * The command tree. Given the command line, and when its first operand names a command, only that
 * command's module is loaded (~20 ms less than all of them); without one — `kodama --help`, an unknown
 * command, completion — every command is there.
 */
export async function buildProgram(args?: string[]): Promise<Command> {
  const [
    { Command },
    { globalOptions, invocationOf, registerSpec, specOf },
    { help, useKubectlHelp },
    { parseLine },
  ] = await Promise.all([
    import("@commander-js/extra-typings"),
    import("./src/cli/flags.ts"),
    import("./src/cli/help.ts"),
    import("./src/cli/argv.ts"),
  ]);
  const program = help(new Command().name("kodama"), {
    summary:
      "kodama reaches the right Kubernetes pods fast, runs checked-in workflows against them, and works in them",
    long: "kodama is also `kubectl kodama`, `kpod` (= kodama exec) and `kwekash` (= kodama run kwekash).",
    examples: [
      [
        "Run a command in the pod whose name contains drive-1",
        "kodama exec -n weka-operator-system -m drive-1 -- weka version",
      ],
      ["The same command in every api pod at once", "kodama exec -n prod -l app=api --all -- hostname"],
      ["Run a checked-in workflow", "kodama run kwekash"],
    ],
    notes: `Exit codes: 0 ok, 1 failed remotely (fan-out: any pod), 2 usage, 3 not found / nothing matched,
            4 forbidden or auth, 5 timeout, 130 interrupted.`,
  })
    .version(`kodama ${VERSION}`, "-V, --version", "print the version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(oneErrorStyle(s)) });
  globalOptions(program);
  program.hook("preAction", async (_root, action) => {
    const { prepare } = await import("./src/cli/prepare.ts");
    await prepare(invocationOf(action as unknown as AnyCommand), specOf(action as unknown as AnyCommand));
  });
  const word = args && parseLine(program as unknown as AnyCommand, args).operands[0];
  const named = COMMANDS.filter(([names]) => word !== undefined && names.includes(word));
  const registered = named.length ? named : COMMANDS;
  const modules = await Promise.all(registered.map(([, load]) => load()));
  for (const m of modules) {
    for (const spec of specsOf(m)) registerSpec(program as unknown as AnyCommand, spec);
  }
  for (const c of program.commands) c.exitOverride();
  useKubectlHelp(program as unknown as Command);
  return program;
}

function debugEnabled(args: string[]): boolean {
  const i = args.indexOf("--log-level");
  return (i >= 0 && args[i + 1] === "debug") || args.includes("--log-level=debug");
}

/** Run the CLI; returns the exit code instead of exiting (tests call this in-process). */
export async function run(args: string[]): Promise<number> {
  // a detached port-forward (the `--daemon ID` process `port-forward --detach` starts) gets its credential
  // flags through the environment, not its command line; no other command reads the variable
  const detached = Deno.env.get("KODAMA_DETACHED_ARGS");
  if (detached !== undefined) Deno.env.delete("KODAMA_DETACHED_ARGS");
  if (detached && args.some((a) => a === "--daemon" || a.startsWith("--daemon="))) {
    try {
      const { detachedSecretArgs } = await import("./src/pods/pf_cmd.ts");
      args = [...args, ...detachedSecretArgs(detached)];
    } catch (e) {
      console.error(`error: ${formatError(e)}`);
      return e instanceof KodamaError ? e.code : ExitCode.FAILED;
    }
  }
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    // what commander prints for it, without loading commander
    const { stdoutSink } = await import("./src/base/sink.ts");
    stdoutSink.write(`kodama ${VERSION}\n`);
    return ExitCode.OK;
  }
  if (!COMPLETE.includes(args[0])) {
    // every command line is read from the command's option table without commander, when it is plain
    // (src/cli/fast.ts); help and anything wrong with the line go to commander, for its words
    const { fastLine } = await import("./src/cli/fast.ts");
    const line = await fastLine(args);
    if (line) {
      mark("command line read");
      return await settle(args, async () => {
        const { prepare } = await import("./src/cli/prepare.ts");
        await prepare(line.inv, line.spec);
        const { checkConflicts } = await import("./src/cli/optspec.ts");
        checkConflicts(line.spec.options, line.inv);
        await line.spec.run!(line.inv);
      });
    }
  }
  if (COMPLETE.includes(args[0])) {
    // every command's table, without commander: the words being completed are not kodama's flags
    const [{ commandTree }, { runComplete }] = await Promise.all([
      import("./src/cli/tree.ts"),
      import("./src/cli/completion.ts"),
    ]);
    const tree = await commandTree();
    mark("command tree built");
    return await runComplete(tree, args.slice(1), args[0] === "__complete");
  }
  if (args.includes("--help-all")) {
    // the whole help: every example, each option's description, the details (`--help` is the short one)
    (await import("./src/cli/help.ts")).setHelpAll(true);
    args = args.map((a) => a === "--help-all" ? "--help" : a);
  }
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

/**
 * Commander's error lines in kodama's style: `error: …; did you mean X?` on one line (its own puts the
 * suggestion on a line of its own, in parentheses), as kodama's own unknown-command error says it.
 */
export function oneErrorStyle(s: string): string {
  return s.replace(/\n\(Did you mean (?:one of )?([^)]*)\?\)/g, (_m, list: string) => {
    const names = list.split(/,\s*/);
    return `; did you mean ${
      names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0]
    }?`;
  });
}

/**
 * Run a parsed command line to its exit code: the code a command set, or the error it threw, printed the
 * one way every command shares. `known` turns a reader's own errors (commander's) into a code first.
 */
async function settle(
  args: string[],
  go: () => Promise<unknown>,
  known: (e: unknown) => number | undefined = () => undefined,
): Promise<number> {
  const { takeExitCode } = await import("./src/cli/exit.ts");
  try {
    await go();
    return takeExitCode();
  } catch (e) {
    const code = known(e);
    if (code !== undefined) return code;
    if (e instanceof Deno.errors.BrokenPipe) return ExitCode.OK; // `kodama pods | head`: the reader is done
    // Ctrl-C, Esc in the picker: the user stopped it and knows; end quietly with 130, as fzf and kubectl do —
    // unless the interruption has more to say (`interrupted: removed pod …; kept PVCs …` plus a hint)
    if (
      e instanceof KodamaError && e.code === ExitCode.INTERRUPTED && !e.hint && !e.message.includes(":") &&
      !debugEnabled(args)
    ) {
      return ExitCode.INTERRUPTED;
    }
    // a local file or directory that is missing, unreadable or of the wrong kind: one line and its own code
    const local = e instanceof KodamaError ? undefined : await localProblem(e);
    console.error(`error: ${formatError(local ?? e)}`);
    if (debugEnabled(args) && e instanceof Error && e.stack) console.error(e.stack);
    return local ? local.code : e instanceof KodamaError ? e.code : ExitCode.FAILED;
  }
}

/**
 * A local file-system error nobody caught (src/localfs.ts) in kodama's words, with its exit code (3 not
 * found, 4 permission denied, 2 the wrong kind); under kodama's config directory, the hint names the
 * variable that chose it.
 */
async function localProblem(e: unknown): Promise<KodamaError | undefined> {
  const { localFsError } = await import("./src/localfs.ts");
  const first = localFsError(e);
  if (!first) return undefined;
  const dirVar = ["KODAMA_CONFIG_DIR", "KODAMA_HOME"].find((v) => Deno.env.get(v));
  const dir = dirVar && Deno.env.get(dirVar)!.replace(/\/+$/, "");
  return dir && first.message.includes(` ${dir}/`)
    ? localFsError(
      e,
      undefined,
      `kodama's config directory is ${dirVar}=${dir}: point it at a directory you can write`,
    )
    : first;
}

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
async function unknownSubcommand(program: Command, args: string[]): Promise<string | undefined> {
  const [{ parseLine }, { suggest }] = await Promise.all([
    import("./src/cli/argv.ts"),
    import("./src/suggest.ts"),
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
async function unknownCommand(program: Command, args: string[]): Promise<string | undefined> {
  const [{ parseLine }, { suggest }] = await Promise.all([
    import("./src/cli/argv.ts"),
    import("./src/suggest.ts"),
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

/**
 * What nothing else caught — a rejected promise nobody awaited, an exception thrown in a timer or an event
 * callback — ends the process in kodama's style (`error: …`, an indented hint, its exit code), never in
 * Deno's (`error: Uncaught (in promise) Error: …` and a stack trace).
 */
export function lastWords(argv: string[], args: string[]): void {
  const end = (reason: unknown): never => {
    if (COMPLETE.includes(argv[0])) Deno.exit(ExitCode.OK); // completion never prints an error
    if (reason instanceof Deno.errors.BrokenPipe) Deno.exit(ExitCode.OK);
    console.error(`error: ${formatError(reason)}`);
    if (debugEnabled(args) && reason instanceof Error) console.error(reason.stack);
    Deno.exit(reason instanceof KodamaError ? reason.code : ExitCode.FAILED);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    end(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    end(ev.error ?? ev.message);
  });
}

export async function main(args: string[], as: InvokedAs = invokedAs()): Promise<never> {
  const argv = argvFor(as, args);
  if (debugEnabled(args)) startTiming();
  if (connectsSoon(argv)) warmTls();
  lastWords(argv, args);
  const code = await run(argv);
  if (timingOn()) {
    mark("done");
    const { log } = await import("./src/base/log.ts");
    for (const line of timingLines()) await log("debug", ["timing"], line);
  }
  Deno.exit(code);
}

if (import.meta.main) await main(Deno.args);
