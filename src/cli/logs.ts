/** `kodama logs`: stern-like logs from every matching pod, prefixed and coloured; -f follows new pods too. */
import { setExitCode } from "./exit.ts";
import { notGiven, userConfig } from "./settings.ts";
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { connectFromOpts, globalsOf, positiveInt, targetFrom, targetingOptions } from "./flags.ts";

function nonNegInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError("must be a whole number (-1 = all)");
  return n;
}

export function register(program: Command) {
  const cmd = program.command("logs").description(
    "logs of every matching pod, prefixed pod[/container] (stern-like)",
  )
    .option("-c, --container <name>", "container (default: the default-container annotation, else the first)")
    .option("--all-containers", "every container of each pod")
    .option("-f, --follow", "keep streaming; pods that appear later are followed too")
    .option("--since <duration>", "only lines newer than this, e.g. 5m, 1h")
    .option("--tail <n>", "last N lines of each container (-1 = all)", nonNegInt)
    .option("--timestamps", "show each line's timestamp")
    .option("-p, --previous", "the previous (crashed) container instance")
    .option("--max-streams <n>", "most log streams open at once", (v) => positiveInt(v), 50)
    .option("--no-prefix", "no `pod | ` prefix");
  targetingOptions(cmd)
    .addHelpText(
      "after",
      `
Examples:
  kodama logs -n prod -l app=api -f                 both api pods, and any api pod created later
  kodama logs -n weka-operator-system -m drive --since 10m --tail 100
  kodama logs -A -m spark --all-containers --timestamps`,
    )
    .action(async (opts, c) => {
      const g = globalsOf(c);
      const { logsCommand } = await import("../pods/logs_cmd.ts");
      const [kube, cfg] = await Promise.all([connectFromOpts(g), userConfig()]);
      const code = await logsCommand(kube, targetFrom(c.optsWithGlobals()), {
        container: opts.container,
        allContainers: !!opts.allContainers,
        follow: !!opts.follow,
        since: opts.since,
        tail: opts.tail,
        timestamps: !!opts.timestamps || (cfg?.logs.timestamps ?? false),
        previous: !!opts.previous,
        maxStreams: cfg && notGiven(c, "maxStreams") ? cfg.logs.maxStreams : opts.maxStreams,
        prefix: opts.prefix !== false,
      });
      setExitCode(code);
    });
}
