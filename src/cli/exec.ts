/** `kodama exec` (also `kpod`): run a command in the matching pod, in every matching pod, or in tmux panes. */
import type { HelpSpec } from "./help.ts";
import { arg } from "./spec.ts";
import { setExitCode } from "./exit.ts";
import { userConfig } from "./settings.ts";
import { connectAll, splitExecArgs, targetFrom } from "./connect.ts";
import { opts } from "./opttypes.ts";
import {
  choiceOption,
  type Invocation,
  PICKER_OPTIONS,
  pickerFlags,
  positiveCount,
  TARGETING_OPTIONS,
} from "./optspec.ts";

export const names = ["exec"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "Run a command in one matching pod, in all of them, or in tmux panes",
  usage:
    "[TYPE/NAME | POD | -m MATCH | --regex RE | -l SELECTOR] [-c CONTAINER] [--all | --tmux] [flags] -- COMMAND [args...]",
  examples: [
    [
      "Run 'weka version' in the pod whose name contains drive-1 (kpod is the same as kodama exec)",
      "kodama exec -n weka-operator-system -m drive-1 -- weka version",
    ],
    [
      "Run in the pod of a Deployment that kubectl would pick (also sts/, ds/, rs/, job/, svc/, session/)",
      "kodama exec -n prod deploy/api -- hostname",
    ],
    ["Run in every pod of the Deployment", "kodama exec -n prod deploy/api --all -- hostname"],
    [
      "A shell in an api pod; several matches on a terminal open the picker [interactive]",
      "kpod -n prod -m api -it -- sh",
    ],
    [
      "Every matching pod in parallel: prefixed lines, then a summary",
      "kodama exec -n load --all -- sh -c 'uptime'",
    ],
    ["One JSON object per pod", "kodama exec -n prod -l app=api --all -o json -- hostname"],
    [
      "The same command in the api pods of two contexts (clusters); lines start with the context [not in the demo]",
      "kodama exec --context admin,dev -n dev -l app=api --all -- hostname",
    ],
    [
      "Which pods have a different config file? Identical output is printed once, under its pods",
      "kodama exec -n load --all --group -- md5sum /etc/hosts",
    ],
    [
      "A tmux pane per pod, typing into all of them at once [interactive]",
      "kodama exec -n prod -m api --tmux --sync-panes",
    ],
    ["Binary-safe stdin", "printf 'a\\0b' | kodama exec -n prod -i --pod api-6b7f9c8d4-k2x9p -- cat"],
  ],
  notes: "Fan-out exit codes: 0 all ok, 1 any pod failed or errored, 5 only per-pod timeouts, 130 Ctrl-C.\n" +
    "A command cut off (Ctrl-C, --timeout, --fail-fast, | head) is ended in its pod, and the summary says so.\n" +
    "On clusters older than 1.30 a command reading stdin (-i) runs over SPDY, as kubectl does.",
};

export const args = [
  arg("[target]", "TYPE/NAME (deploy/api, sts/db, svc/web, pod/x, job/y, session/s) or a pod name"),
  arg("[command...]", "the command to run (after --)"),
];

/** exec's options, in the order `kodama exec --help` lists them. */
export const options = opts([
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
  choiceOption("--all", "run in every matching pod in parallel"),
  choiceOption("--first", "run in the first matching pod (by name)"),
  {
    flags: "--max-parallel <n>",
    description: "fan-out: pods at a time",
    parse: (v) => positiveCount(v),
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
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const { target, command } = splitExecArgs(inv.args, inv.rawArgs);
  const flags = targetFrom(opts, target);
  const { execCommand } = await import("../pods/exec_cmd.ts");
  const [kubes, cfg] = await Promise.all([connectAll(opts), userConfig()]);
  const code = await execCommand(kubes, {
    ...flags,
    includeNotReady: !!opts.includeNotReady,
  }, {
    command,
    container: opts.container ?? cfg?.exec.container,
    stdin: !!opts.stdin,
    // true (-t), false (-T), or undefined: a shell on a terminal gets one, as with docker compose exec
    tty: opts.tty,
    all: !!opts.all,
    first: !!opts.first,
    ...pickerFlags(opts),
    maxParallel: cfg && !inv.given("maxParallel") ? cfg.exec.maxParallel : opts.maxParallel,
    failFast: !!opts.failFast,
    timeout: opts.timeout,
    prefix: opts.prefix !== false,
    json: opts.output === "json",
    group: !!opts.group || opts.output === "grouped",
    tmux: !!opts.tmux,
    layout: opts.layout,
    syncPanes: !!opts.syncPanes,
  });
  setExitCode(code);
}
