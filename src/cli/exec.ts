/** `kodama exec` (also `kpod`): run a command in the matching pod, in every matching pod, or in tmux panes. */
import type { Command } from "@commander-js/extra-typings";
import { help } from "./help.ts";
import { addOptions, invocationOf } from "./flags.ts";
import { EXEC_OPTIONS, execAction } from "./exec_action.ts";

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
    .argument("[command...]", "the command to run (after --)");
  addOptions(cmd, EXEC_OPTIONS).action((_first, _rest, _opts, c) => execAction(invocationOf(c)));
}
