/** `tmux`: one tmux pane per pod of a target, each an interactive shell (or `command`). */
import type { StepKind } from "../types.ts";
import { argvText, describePods, wholeKube } from "./common.ts";
import { assertChildrenCanConnect } from "../../kube/overrides.ts";

export interface TmuxSpec {
  target: string;
  command?: string[];
  layout?: string;
  sync?: boolean;
}

export const tmux: StepKind<TmuxSpec> = {
  name: "tmux",
  summary: "open one tmux pane per pod of a target",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      command: z.array(z.string()).optional().describe("argv run in each pane (default: the pod's shell)"),
      layout: z.enum(["tiled", "even-horizontal", "even-vertical", "main-horizontal", "main-vertical"])
        .optional(),
      sync: z.boolean().optional().describe("type into every pane at once (synchronize-panes)"),
    }).strict(),
  targets: (s) => [s.target],
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    return `tmux: one pane per pod running ${s.command ? argvText(s.command) : "a shell"} in ${
      describePods(t)
    }`;
  },
  async run(s, ctx) {
    const t = await ctx.run.target(s.target);
    const kube = await wholeKube(ctx.run, "a tmux step");
    const { tmuxFanout, paneEnv } = await import("../../pods/tmux.ts");
    const { selfCommand } = await import("../../base/proc/proc.ts");
    // each pane is a new kodama process, possibly started by a tmux server with another environment
    // and cwd: hand it the same cluster (the run's --kubeconfig, made absolute by `kodama run`, this
    // run's context, and paneEnv's KUBECONFIG/KODAMA_HOME/proxy settings)
    assertChildrenCanConnect(kube.options);
    const flags = [...ctx.run.globalFlags];
    if (!flags.includes("--context")) flags.push("--context", kube.contextName);
    let session = "";
    const code = await tmuxFanout(t.pods, {
      command: s.command ?? [],
      layout: s.layout,
      syncPanes: s.sync,
      container: t.container,
      kodamaArgv: selfCommand(),
      globalFlags: flags,
      env: paneEnv(),
      tmux: await ctx.run.tool("tmux"),
      // without a terminal the new session is left detached: its name is data (stdout) and an output
      print: (line) => {
        session = line;
        ctx.out.write(line + "\n");
      },
    });
    return {
      ok: code === 0,
      exitCode: code,
      error: code === 0 ? undefined : `tmux exited with ${code}`,
      outputs: { exitCode: code, session, pods: t.pods.map((p) => p.metadata?.name) },
    };
  },
};
