/** `kodama cp`: copy files to/from pods (tar over exec, in-process), or a local file into every matching pod with --all. */
import { setExitCode } from "./exit.ts";
import { help } from "./help.ts";
import type { Command } from "@commander-js/extra-typings";
import { connectFromOpts, globalsOf, targetFrom, targetingOptions } from "./flags.ts";

export function register(program: Command) {
  const cmd = help(program.command("cp"), {
    group: "Pods",
    summary: "Copy files to and from pods, like kubectl cp",
    long:
      `SRC and DST are local paths or [namespace/]pod:path; files travel as tar over exec (the pod needs tar).
With --all, the local SRC is copied to the path DST in every pod the targeting flags match.`,
    usage: "SRC DST [-c CONTAINER] [flags]  |  LOCAL_SRC POD_PATH --all (-m MATCH | -l SELECTOR) [flags]",
    examples: [
      [
        "Copy a local file into a pod (namespace/pod:path)",
        "kodama cp ./app.conf prod/api-6b7f9c8d4-k2x9p:/tmp/app.conf",
      ],
      ["Copy a directory out of a pod", "kodama cp -n prod api-6b7f9c8d4-k2x9p:/var/log ./logs"],
      ["Copy a script into every matching Running pod", "kodama cp -n load -m load --all ./fix.sh /tmp/"],
    ],
  })
    .argument("<src>", "local path or [namespace/]pod:path")
    .argument("<dst>", "local path or [namespace/]pod:path (with --all: a path in every pod)")
    .option("-c, --container <name>", "container (default: the default-container annotation, else the first)")
    .option("--all", "copy the local SRC into every pod matched by the targeting flags")
    .option("--no-progress", "no progress bar");
  targetingOptions(cmd)
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
