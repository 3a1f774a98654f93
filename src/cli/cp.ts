/** `kodama cp`: copy files to/from pods (tar over exec, in-process), or a local file into every matching pod with --all. */
import { setExitCode } from "./exit.ts";
import type { Command } from "@commander-js/extra-typings";
import { connectFromOpts, globalsOf, targetFrom, targetingOptions } from "./flags.ts";

export function register(program: Command) {
  const cmd = program.command("cp").description(
    "copy files between local paths and pods ([namespace/]pod:path), like kubectl cp",
  )
    .argument("<src>", "local path or [namespace/]pod:path")
    .argument("<dst>", "local path or [namespace/]pod:path (with --all: a path in every pod)")
    .option("-c, --container <name>", "container (default: the default-container annotation, else the first)")
    .option("--all", "copy the local SRC into every pod matched by the targeting flags")
    .option("--no-progress", "no progress bar");
  targetingOptions(cmd)
    .addHelpText(
      "after",
      `
Examples:
  kodama cp ./app.conf prod/api-7d9f:/etc/app/app.conf
  kodama cp -n prod api-7d9f:/var/log/app ./logs
  kodama cp -n load -m load --all ./fix.sh /tmp/        into every matching Running pod`,
    )
    .action(async (src, dst, opts, c) => {
      const g = globalsOf(c);
      const { cpCommand } = await import("../pods/cp_cmd.ts");
      const kube = await connectFromOpts(g);
      const code = await cpCommand(kube, targetFrom(c.optsWithGlobals()), src, dst, {
        container: opts.container,
        all: !!opts.all,
        progress: opts.progress !== false,
      });
      setExitCode(code);
    });
}
