/** `kodama logs`: stern-like logs from every matching pod, prefixed and coloured; -f follows new pods too. */
import { setExitCode } from "./exit.ts";
import { help } from "./help.ts";
import { notGiven, userConfig } from "./settings.ts";
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  collect,
  connectAll,
  globalsOf,
  positiveInt,
  reconnectOption,
  targetFrom,
  targetingOptions,
} from "./flags.ts";

function nonNegInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError("must be a whole number (-1 = all)");
  return n;
}

export function register(program: Command) {
  const cmd = help(program.command("logs"), {
    group: "Pods",
    summary: "Stream the logs of every matching pod (stern-like)",
    long:
      "Each line is prefixed pod[/container], coloured per pod on a terminal; with -f, pods that appear later are followed too.",
    usage: "[TYPE/NAME | POD | -m MATCH | --regex RE | -l SELECTOR] [-c CONTAINER] [-f] [flags]",
    examples: [
      ["Both api pods, and any api pod created later", "kodama logs -n prod -l app=api -f"],
      [
        "Every pod of a Deployment (kubectl shows one), following new ones",
        "kodama logs -n prod deploy/api -f",
      ],
      [
        "The api pods of every context whose name starts with prod",
        "kodama logs --context 'prod*' -l app=api -f",
      ],
      [
        "The last 100 lines of the last 10 minutes of the drive pods",
        "kodama logs -n weka-operator-system -m drive --since 10m --tail 100",
      ],
      [
        "Every container of the spark pods, with timestamps",
        "kodama logs -A -m spark --all-containers --timestamps",
      ],
      [
        "Only error/warn lines, without health checks",
        "kodama logs -n prod -m api -i 'error|warn' -e healthz",
      ],
      [
        "One JSON object per line, for jq",
        "kodama logs -n prod -m api -o json --timestamps | jq -r '.timestamp + \" \" + .pod'",
      ],
      ["Just the lines, no prefix (= --no-prefix)", "kodama logs -n prod -m web -o raw > web.log"],
    ],
    notes:
      "Filters (-i/-e) are JavaScript regular expressions matched against each whole line (without the timestamp).",
  })
    .argument(
      "[target]",
      "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): all its pods; or a pod name",
    )
    .option("-c, --container <name>", "container (default: the default-container annotation, else the first)")
    .option("--all-containers", "every container of each pod")
    .option("-f, --follow", "keep streaming; pods that appear later are followed too")
    .option("--since <duration>", "only lines newer than this, e.g. 5m, 1h")
    .option("--tail <n>", "last N lines of each container (-1 = all)", nonNegInt)
    .option("--timestamps", "show each line's timestamp")
    .option("-p, --previous", "the previous (crashed) container instance")
    .option("--max-streams <n>", "most log streams open at once", (v) => positiveInt(v), 50)
    .option("--no-prefix", "no `pod | ` prefix (same as -o raw)")
    .option(
      "-i, --include <regex>",
      "show only lines matching REGEX (repeatable: any may match); matches are highlighted on a terminal",
      collect,
      [] as string[],
    )
    .option(
      "-e, --exclude <regex>",
      "drop lines matching REGEX (repeatable; wins over --include)",
      collect,
      [] as string[],
    )
    .addOption(
      new Option(
        "-o, --output <mode>",
        "default: pod | line; raw: just the line; json: one {namespace,pod,container,message[,timestamp]} per line",
      ).choices(["default", "raw", "json"]),
    );
  reconnectOption(targetingOptions(cmd))
    .action(async (target, opts, c) => {
      const g = globalsOf(c);
      const [{ logsCommand }, { compileLineFilter, resolveOutput }] = await Promise.all([
        import("../pods/logs_cmd.ts"),
        import("../pods/log_filter.ts"),
      ]);
      // usage errors before connecting: a bad regex or -o json with --no-prefix
      resolveOutput(opts.output, opts.prefix === false);
      compileLineFilter(opts.include, opts.exclude);
      const [kubes, cfg] = await Promise.all([connectAll(g), userConfig()]);
      const code = await logsCommand(kubes, targetFrom(c.optsWithGlobals(), target), {
        container: opts.container,
        allContainers: !!opts.allContainers,
        follow: !!opts.follow,
        since: opts.since,
        tail: opts.tail,
        timestamps: !!opts.timestamps || (cfg?.logs.timestamps ?? false),
        previous: !!opts.previous,
        maxStreams: cfg && notGiven(c, "maxStreams") ? cfg.logs.maxStreams : opts.maxStreams,
        prefix: opts.prefix !== false,
        output: opts.output,
        include: opts.include,
        exclude: opts.exclude,
        reconnectTimeout: opts.reconnectTimeout,
      });
      setExitCode(code);
    });
}
