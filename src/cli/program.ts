/**
 * The commander tree, for the lines the fast reader (src/cli/fast.ts) leaves to commander: help, and a line
 * with something wrong in it, which commander words. Commander is loaded (with `import()`) only then.
 */
import type { Command } from "@commander-js/extra-typings";
import type { AnyCommand } from "./flags.ts";
import { VERSION } from "../base/version.ts";
import { COMMANDS } from "./commands.ts";
import { specsOf } from "./spec.ts";

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
    import("./flags.ts"),
    import("./help.ts"),
    import("./argv.ts"),
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
    const { prepare } = await import("./prepare.ts");
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
