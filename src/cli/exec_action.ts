/**
 * `kodama exec`'s options and what it does with them, without commander: src/cli/exec.ts declares the
 * command (help, examples) from these, and src/cli/fast.ts runs it straight from the command line.
 */
import { setExitCode } from "./exit.ts";
import { userConfig } from "./settings.ts";
import { connectAll, type GlobalOptions, splitExecArgs, targetFrom } from "./connect.ts";
import {
  type Invocation,
  type OptSpec,
  PICKER_OPTIONS,
  pickerFlags,
  positiveCount,
  TARGETING_OPTIONS,
} from "./optspec.ts";

/** exec's options, in the order `kodama exec --help` lists them. */
export const EXEC_OPTIONS: readonly OptSpec[] = [
  {
    flags: "-c, --container <name>",
    description: "container (default: the default-container annotation, else the first)",
  },
  {
    flags: "-i, --stdin",
    description:
      "pass local stdin to the command (binary-safe); with --all it is read once and sent to every pod",
  },
  {
    flags: "-t, --tty",
    description:
      "allocate a TTY (raw local terminal, window size forwarded); automatic for a shell on a terminal",
  },
  { flags: "-T, --no-tty", description: "never allocate a TTY (not even for a shell on a terminal)" },
  { flags: "--all", description: "run in every matching pod in parallel" },
  { flags: "--first", description: "run in the first matching pod (by name)" },
  {
    flags: "--max-parallel <n>",
    description: "fan-out: pods at a time",
    parse: (v) => positiveCount(v, "--max-parallel"),
    default: 32,
  },
  { flags: "--fail-fast", description: "fan-out: cancel the remaining pods on the first failure" },
  {
    flags: "--timeout <duration>",
    description:
      "fan-out: per-pod time limit, e.g. 30s, 2m (a pod over it fails; exit 5 if only timeouts failed)",
  },
  { flags: "--no-prefix", description: "fan-out: no `pod | ` prefix on output lines" },
  {
    flags: "--group",
    description:
      "fan-out: print each distinct output once, under the pods that printed it (like dshbak -c); = -o grouped",
  },
  {
    flags: "-o, --output <format>",
    description: "fan-out output: text (prefixed lines), json (one object per pod) or grouped (= --group)",
    choices: ["text", "json", "grouped"],
    default: "text",
  },
  { flags: "--include-not-ready", description: "also consider pods that are not Running" },
  { flags: "--tmux", description: "open one tmux pane per pod with an interactive exec" },
  {
    flags: "--layout <layout>",
    description: "with --tmux: tiled|even-horizontal|even-vertical|main-horizontal|main-vertical",
    default: "tiled",
  },
  { flags: "--sync-panes", description: "with --tmux: type into every pane at once" },
  ...TARGETING_OPTIONS,
  ...PICKER_OPTIONS,
];

export async function execAction(inv: Invocation): Promise<void> {
  const opts = inv.opts;
  const { target, command } = splitExecArgs(inv.args, inv.rawArgs);
  const flags = targetFrom(opts, target);
  const { execCommand } = await import("../pods/exec_cmd.ts");
  const [kubes, cfg] = await Promise.all([connectAll(opts as GlobalOptions), userConfig()]);
  const code = await execCommand(kubes, {
    ...flags,
    includeNotReady: !!opts.includeNotReady,
  }, {
    command,
    container: (opts.container as string | undefined) ?? cfg?.exec.container,
    stdin: !!opts.stdin,
    // true (-t), false (-T), or undefined: a shell on a terminal gets one, as with docker compose exec
    tty: opts.tty as boolean | undefined,
    all: !!opts.all,
    first: !!opts.first,
    ...pickerFlags(opts),
    maxParallel: cfg && !inv.given("maxParallel") ? cfg.exec.maxParallel : opts.maxParallel as number,
    failFast: !!opts.failFast,
    timeout: opts.timeout as string | undefined,
    prefix: opts.prefix !== false,
    json: opts.output === "json",
    group: !!opts.group || opts.output === "grouped",
    tmux: !!opts.tmux,
    layout: opts.layout as string,
    syncPanes: !!opts.syncPanes,
  });
  setExitCode(code);
}
