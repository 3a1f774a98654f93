/** `kodama exec` (also `kpod`): run a command in the matching pod, in every matching pod, or in tmux panes. */
import { setExitCode } from "./exit.ts";
import { help } from "./help.ts";
import { notGiven, userConfig } from "./settings.ts";
import { type Command, Option } from "@commander-js/extra-typings";
import {
  connectAll,
  globalsOf,
  positiveInt,
  rawArgsOf,
  splitExecArgs,
  targetFrom,
  targetingOptions,
} from "./flags.ts";
import { pickerFlags, pickerOptions } from "./pick_flags.ts";

export function register(program: Command) {
  const cmd = help(program.command("exec"), {
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
        "A shell in an api pod; several matches on a terminal open the picker",
        "kpod -n prod -m api -it -- sh",
      ],
      [
        "Every matching pod in parallel: prefixed lines, then a summary",
        "kodama exec -n load --all -- sh -c 'uptime'",
      ],
      ["One JSON object per pod", "kodama exec -n prod -l app=api --all -o json -- hostname"],
      [
        "The same command in the api pods of two contexts (clusters); lines start with the context",
        "kodama exec --context admin,dev -n dev -l app=api --all -- hostname",
      ],
      [
        "Which pods have a different config file? Identical output is printed once, under its pods",
        "kodama exec -n load --all --group -- md5sum /etc/hosts",
      ],
      [
        "A tmux pane per pod, typing into all of them at once",
        "kodama exec -n prod -m api --tmux --sync-panes",
      ],
      ["Binary-safe stdin", "printf 'a\\0b' | kodama exec -n prod -i --pod api-6b7f9c8d4-k2x9p -- cat"],
    ],
    notes:
      "Fan-out exit codes: 0 all ok, 1 any pod failed or errored, 5 only per-pod timeouts, 130 Ctrl-C.\n" +
      "A command cut off (Ctrl-C, --timeout, --fail-fast, | head) is ended in its pod, and the summary says so.\n" +
      "On clusters older than 1.30 a command reading stdin (-i) runs over SPDY, as kubectl does.",
  })
    .argument("[target]", "TYPE/NAME (deploy/api, sts/db, svc/web, pod/x, job/y, session/s) or a pod name")
    .argument("[command...]", "the command to run (after --)")
    .option("-c, --container <name>", "container (default: the default-container annotation, else the first)")
    .option(
      "-i, --stdin",
      "pass local stdin to the command (binary-safe); with --all it is read once and sent to every pod",
    )
    .option(
      "-t, --tty",
      "allocate a TTY (raw local terminal, window size forwarded); automatic for a shell on a terminal",
    )
    .option("-T, --no-tty", "never allocate a TTY (not even for a shell on a terminal)")
    .option("--all", "run in every matching pod in parallel")
    .option("--first", "run in the first matching pod (by name)")
    .option("--max-parallel <n>", "fan-out: pods at a time", (v) => positiveInt(v, "--max-parallel"), 32)
    .option("--fail-fast", "fan-out: cancel the remaining pods on the first failure")
    .option(
      "--timeout <duration>",
      "fan-out: per-pod time limit, e.g. 30s, 2m (a pod over it fails; exit 5 if only timeouts failed)",
    )
    .option("--no-prefix", "fan-out: no `pod | ` prefix on output lines")
    .option(
      "--group",
      "fan-out: print each distinct output once, under the pods that printed it (like dshbak -c); = -o grouped",
    )
    .addOption(
      new Option(
        "-o, --output <format>",
        "fan-out output: text (prefixed lines), json (one object per pod) or grouped (= --group)",
      ).choices(["text", "json", "grouped"]).default("text"),
    )
    .option("--include-not-ready", "also consider pods that are not Running")
    .option("--tmux", "open one tmux pane per pod with an interactive exec")
    .option(
      "--layout <layout>",
      "with --tmux: tiled|even-horizontal|even-vertical|main-horizontal|main-vertical",
      "tiled",
    )
    .option("--sync-panes", "with --tmux: type into every pane at once");
  pickerOptions(targetingOptions(cmd))
    .action(async (first, rest, opts, c) => {
      const g = globalsOf(c);
      const { target, command } = splitExecArgs(first === undefined ? rest : [first, ...rest], rawArgsOf(c));
      const flags = targetFrom(c.optsWithGlobals(), target);
      const { execCommand } = await import("../pods/exec_cmd.ts");
      const [kubes, cfg] = await Promise.all([connectAll(g), userConfig()]);
      const code = await execCommand(kubes, {
        ...flags,
        includeNotReady: !!opts.includeNotReady,
      }, {
        command,
        container: opts.container ?? cfg?.exec.container,
        stdin: !!opts.stdin,
        // true (-t), false (-T), or undefined: a shell on a terminal gets one, as with docker compose exec
        tty: opts.tty as boolean | undefined,
        all: !!opts.all,
        first: !!opts.first,
        ...pickerFlags(opts),
        maxParallel: cfg && notGiven(c, "maxParallel") ? cfg.exec.maxParallel : opts.maxParallel,
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
    });
}
