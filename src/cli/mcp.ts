/** `kodama mcp`: serve kodama's pods, sessions and workflows to a coding agent over MCP (stdio). */
import { opts } from "./opttypes.ts";
import type { HelpSpec } from "./help.ts";
import { setExitCode } from "./exit.ts";
import { collect, type Invocation, OptionValueError } from "./optspec.ts";
import { usageError } from "../base/errors.ts";

export const names = ["mcp"];

export const help: HelpSpec = {
  group: "Other",
  summary: "Serve pods, sessions and workflows to a coding agent over MCP (stdio)",
  long:
    "A Model Context Protocol server on stdin/stdout for Claude Code, Codex, Cursor and other agents. Tools: " +
    "pods_list, pods_exec, pods_logs; sessions_list, session_status, session_start (replicas: best of N), " +
    "session_stop, session_resume, session_delete, session_fetch; agent_run, agent_logs; sync_status, " +
    "sync_resolve; compare, adopt; workflows_list, workflow_run. The default tier changes things but never " +
    "destroys work; --read-only offers only tools that change nothing; --allow-destructive adds the ones that " +
    "may (session_delete, sync_resolve, adopt with force). --context pins the contexts the server may use " +
    "(also: mcp.contexts in ~/.kodama/config.yaml). Workflows run only when you have trusted them yourself: no " +
    "tool can grant trust. Local paths a client names (cwd, sync, envFile, a repository) must lead inside the " +
    "project the server was started in, or a directory you grant with --allow-path; never ~/.kodama, your home " +
    "or its hidden files.",
  usage: "[--read-only | --allow-destructive] [--context NAME[,NAME...]] [flags]",
  examples: [
    ["The server an agent starts (it reads requests on stdin until the agent closes it)", "kodama mcp"],
    ["A server that can only look: list, logs, status", "kodama mcp --read-only"],
    ["Pinned to two contexts (the first is the default)", "kodama mcp --context admin,dev"],
    [
      "Also offer what may destroy work: session_delete, sync_resolve, adopt with force",
      "kodama mcp --allow-destructive",
    ],
    ["Keep up to 256 KiB of output per pod", "kodama mcp --max-output 256KiB"],
    ["Also let the agent name local paths under ~/src/shared", "kodama mcp --allow-path ~/src/shared"],
  ],
  notes: "Register it with your agent: claude mcp add kodama -- kodama mcp\n" +
    'Other agents: {"mcpServers": {"kodama": {"command": "kodama", "args": ["mcp"]}}}\n' +
    "The server ends when its client closes stdin. docs/mcp.md lists every tool and its arguments.",
};

/** `64KiB`, `1MiB`, `65536`: a byte count. */
export function parseSize(v: string): number {
  const m = /^(\d+)\s*(B|K|KB|KiB|M|MB|MiB)?$/i.exec(v.trim());
  if (!m) throw new OptionValueError("give a size such as 64KiB, 1MiB or a byte count");
  const unit = (m[2] ?? "B").toUpperCase();
  const n = Number(m[1]) * (unit.startsWith("M") ? 1 << 20 : unit.startsWith("K") ? 1024 : 1);
  if (n < 1024) throw new OptionValueError("at least 1KiB");
  return n;
}

export const options = opts([
  { flags: "--read-only", description: "offer only the tools that change nothing" },
  {
    flags: "--allow-destructive",
    description: "also offer the tools that may destroy work (session_delete, sync_resolve, adopt --force)",
  },
  {
    flags: "--max-output <size>",
    description: "output kept per pod in a result; the rest is left out, marked",
    parse: parseSize,
    default: 64 * 1024,
  },
  {
    flags: "--allow-path <dir>",
    description: "a directory (besides the project) whose files a client may name (repeatable)",
    parse: collect,
  },
  {
    flags: "--call-timeout <duration>",
    description: "the longest one tool call may take; what it started in pods is ended",
    default: "10m",
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const o = inv.opts;
  if (o.readOnly && o.allowDestructive) {
    throw usageError("--read-only and --allow-destructive contradict each other", "give one of them");
  }
  const [{ parseDuration }, { kubeOptionsFrom }, { userConfig }, { McpEnv }, { mcpCommand }, { TOOLS }, {
    tiersFor,
  }, { Door }] = await Promise.all([
    import("../base/duration.ts"),
    import("./connect.ts"),
    import("./settings.ts"),
    import("../mcp/env.ts"),
    import("../mcp/server.ts"),
    import("../mcp/tools.ts"),
    import("../mcp/tool.ts"),
    import("../config/doors.ts"),
  ]);
  // the door every local path a client names goes through (src/config/doors.ts)
  const door = await Door.open({
    who: "an MCP client",
    started: Deno.cwd(),
    allow: o.allowPath ?? [],
    flag: "kodama mcp --allow-path",
  });
  const callTimeoutMs = parseDuration(String(o.callTimeout), "--call-timeout", { timer: true });
  const ko = await kubeOptionsFrom({ ...o, context: undefined });
  const cfg = await userConfig();
  // the pinned contexts: --context (names, a,b, globs), else mcp.contexts; the first is the default
  const spec = o.context ??
    (cfg?.mcp.contexts.length ? cfg.mcp.contexts.join(",") : undefined);
  let pinned: string[] | undefined;
  let defaultContext = ko.context;
  if (spec) {
    const [{ expandContexts }, { readKubeConfig }] = await Promise.all([
      import("../kube/contexts.ts"),
      import("../kube/config.ts"),
    ]);
    const known = (await readKubeConfig({ ...ko, context: undefined })).getContexts().map((c) => c.name);
    pinned = expandContexts(spec, known);
    if (!pinned.length) throw usageError(`--context ${spec} names no context of the kubeconfig`);
    defaultContext = pinned[0];
  }
  const env = new McpEnv({
    kube: { ...ko, context: undefined },
    pinned,
    defaultContext,
    maxOutput: o.maxOutput,
    callTimeoutMs,
    cwd: Deno.cwd(),
    door,
  });
  const code = await mcpCommand({
    tiers: tiersFor({ readOnly: !!o.readOnly, allowDestructive: !!o.allowDestructive }),
    env,
    tools: TOOLS,
  });
  if (code) setExitCode(code);
}
