/** `kodama pods`: list pods with the shared targeting flags. */
import type { Command } from "@commander-js/extra-typings";
import { connectFromOpts, globalsOf, outputOption, targetFrom, targetingOptions } from "./flags.ts";

export function register(program: Command) {
  const cmd = program.command("pods").alias("po").description("list pods, filtered like every pod command")
    .option("--running", "only Running pods");
  outputOption(targetingOptions(cmd))
    .addHelpText(
      "after",
      `
Examples:
  kodama pods -n weka-operator-system -m drive       pods whose name contains "drive"
  kodama pods -A -l app=api -o wide                  every api pod, with node, IP and containers
  kodama pods -n prod --regex '^api-[0-9a-f]+' -o name`,
    )
    .action(async (_opts, command) => {
      const opts = globalsOf(command);
      const { listPodsCommand } = await import("../pods/list.ts");
      const kube = await connectFromOpts(opts);
      const o = command.opts();
      await listPodsCommand(
        kube,
        { ...targetFrom(command.optsWithGlobals()), includeNotReady: !o.running },
        o.output,
      );
    });
}
