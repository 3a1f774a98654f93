/** `kodama cp`: copy files to/from pods (tar over exec, in-process), or a local file into every matching pod with --all. */
import { opts } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import type { HelpSpec } from "./help.ts";
import { connectFromOpts, targetFrom } from "./connect.ts";
import { choiceOption, type Invocation, TARGETING_OPTIONS } from "./optspec.ts";
import { arg } from "./spec.ts";

export const names = ["cp"];

export const help: HelpSpec = {
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
    [
      "Copy a directory out of a pod [not in the demo: its pods have no /var/log]",
      "kodama cp -n prod api-6b7f9c8d4-k2x9p:/var/log ./logs",
    ],
    ["Copy a script into every matching Running pod", "kodama cp -n load -m load --all ./fix.sh /tmp/"],
  ],
};

export const args = [
  arg("<src>", "local path or [namespace/]pod:path"),
  arg("<dst>", "local path or [namespace/]pod:path (with --all: a path in every pod)"),
];

export const options = opts([
  {
    flags: "-c, --container <name>",
    description: "container (default: the default-container annotation, else the first)",
  },
  choiceOption("--all", "copy the local SRC into every pod matched by the targeting flags"),
  { flags: "--no-progress", description: "no progress bar" },
  ...TARGETING_OPTIONS,
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const [src, dst] = inv.args;
  const { cpCommand } = await import("../pods/cp_cmd.ts");
  const kube = await connectFromOpts(opts);
  const code = await cpCommand(kube, targetFrom(opts), src, dst, {
    container: opts.container,
    all: !!opts.all,
    progress: opts.progress !== false,
  });
  setExitCode(code);
}
