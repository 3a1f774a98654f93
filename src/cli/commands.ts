/**
 * Every command module, with the top-level names (and aliases) it declares. Add one line per new
 * `src/cli/<name>.ts` (src/cli/spec.ts says what it exports); `kodama --help` lists commands by their help's
 * group, in this order. A command line that names one of them loads only that module
 * (tests/unit/cli/lazy_commands_test.ts checks the names against each module's specs).
 */
import type { CommandModule } from "./spec.ts";

export const COMMANDS: [names: string[], load: () => Promise<CommandModule>][] = [
  [["pods", "po"], () => import("./pods.ts")],
  [["exec"], () => import("./exec.ts")],
  [["pick"], () => import("./pick.ts")],
  [["logs"], () => import("./logs.ts")],
  [["cp"], () => import("./cp.ts")],
  [["port-forward", "pf"], () => import("./portforward.ts")],
  [["wait"], () => import("./wait.ts")],
  [["run"], () => import("./run.ts")],
  [["workflow", "wf"], () => import("./workflow.ts")],
  [["config"], () => import("./config.ts")],
  [["completion", "__complete"], () => import("./completion.ts")],
  [["doctor"], () => import("./doctor.ts")],
  [["version"], () => import("./version.ts")],
  [["options"], () => import("./options.ts")],
  [
    ["session", "start", "list", "ls", "attach", "stop", "resume", "delete", "gc"],
    () => import("./session.ts"),
  ],
  [["compare", "adopt"], () => import("./group.ts")],
  [["agent"], () => import("./agent.ts")],
  [["template", "templates"], () => import("./template.ts")],
  [["snapshot", "snapshots", "restore", "clone"], () => import("./snapshot.ts")],
  [["share", "unshare"], () => import("./share.ts")],
  [["pool"], () => import("./pool.ts")],
  [["gateway", "gw"], () => import("./gateway.ts")],
  [["sync"], () => import("./sync.ts")],
  [["ui"], () => import("./ui.ts")],
  [["mcp"], () => import("./mcp.ts")],
];

/** The module that declares top-level command `word`, if any. */
export function moduleFor(
  word: string | undefined,
): (() => Promise<CommandModule>) | undefined {
  return word === undefined ? undefined : COMMANDS.find(([names]) => names.includes(word))?.[1];
}
