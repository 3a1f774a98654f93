/** `kodama pods`: list pods with the shared targeting flags; -w/--watch-only keep printing changes. */
import type { Command } from "@commander-js/extra-typings";
import { help } from "./help.ts";
import { addOptions, invocationOf } from "./flags.ts";
import { PODS_OPTIONS, podsAction } from "./pods_action.ts";

export function register(program: Command) {
  const cmd = help(program.command("pods").alias("po"), {
    group: "Pods",
    summary: "List pods, filtered like every pod command",
    usage: "[TYPE/NAME | NAME] [-m MATCH | --regex RE | -l SELECTOR] [-n NS | -A] [-o FORMAT] [-w] [flags]",
    examples: [
      ['Pods whose name contains "drive"', "kodama pods -n weka-operator-system -m drive"],
      [
        "The pods of a Deployment (also sts/, ds/, rs/, job/, svc/, session/)",
        "kodama pods -n prod deploy/api",
      ],
      ["Every api pod in every namespace, with node, IP and containers", "kodama pods -A -l app=api -o wide"],
      [
        "Only the names of pods matching a regular expression",
        "kodama pods -n prod --regex '^api-[0-9a-f]+' -o name",
      ],
      ["The list, then a row per change until Ctrl-C", "kodama pods -n prod -w"],
      [
        "The api pods of two contexts (clusters), with a CONTEXT column",
        "kodama pods --context admin,dev -A -l app=api",
      ],
      [
        "Only changes, with an ADDED/MODIFIED/DELETED column",
        "kodama pods -A -m drive --watch-only --output-watch-events",
      ],
    ],
  })
    .argument(
      "[target]",
      "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): its pods; or a pod name",
    );
  addOptions(cmd, PODS_OPTIONS).action((_target, _opts, c) => podsAction(invocationOf(c)));
}
