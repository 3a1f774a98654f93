/** `tmux`: one tmux pane per pod of a target, each an interactive shell (or `command`). */
import { z } from "zod";
import type { StepKind } from "../types.ts";
import { argvText, describePods } from "./common.ts";

export interface TmuxSpec {
  target: string;
  command?: string[];
  layout?: string;
  sync?: boolean;
}

export const tmux: StepKind<TmuxSpec> = {
  name: "tmux",
  summary: "open one tmux pane per pod of a target",
  spec: () =>
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
    const { tmuxFanout } = await import("../../pods/tmux.ts");
    const { selfCommand } = await import("../../pods/self.ts");
    const code = await tmuxFanout(t.pods, {
      command: s.command ?? [],
      layout: s.layout,
      syncPanes: s.sync,
      container: t.container,
      kodamaArgv: selfCommand(),
      globalFlags: ctx.run.globalFlags,
    });
    return {
      ok: code === 0,
      exitCode: code,
      outputs: { exitCode: code, pods: t.pods.map((p) => p.metadata?.name) },
    };
  },
};
