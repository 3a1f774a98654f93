/**
 * sync_resolve, compare, adopt: the tools over #25's conflict resolution and #29's best of N. A
 * resolution discards one side's version of a path, so it is offered only with --allow-destructive;
 * adopt moves the local kodama/GROUP branch only forward in the default tier, and may overwrite it
 * (`force`) only with --allow-destructive.
 */
import { z } from "zod";
import { notFound } from "../base/errors.ts";
import { anyObject, capture, contextArg, namespaceArg, READS_CLUSTER, type Tool, tool } from "./tool.ts";
import type { Call } from "./env.ts";

async function kubeFor(call: Call, a: { context?: string; namespace?: string }) {
  const kube = await call.env.kube(a.context);
  if (a.namespace !== undefined) {
    (await import("../pods/target.ts")).validateTarget({ namespace: a.namespace });
  }
  return [kube, a.namespace ?? kube.namespace] as const;
}

export const syncResolve = tool({
  name: "sync_resolve",
  title: "Resolve sync conflicts",
  description:
    "Resolve a session's file-sync conflicts by keeping one side (`kodama sync resolve`): keep local or keep pod, " +
    "for the given paths or all. The other side's version of those paths is lost.",
  tier: "destructive",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: {
    name: z.string().min(1).describe("the session's name"),
    context: contextArg,
    namespace: namespaceArg,
    path: z.array(z.string().min(1)).optional().describe("the conflicting paths to resolve"),
    keep: z.enum(["local", "pod"]).describe("which version wins"),
    all: z.boolean().optional().describe("every conflict"),
  },
  output: { resolved: z.boolean(), conflictsLeft: z.number(), output: z.string() },
  async run(a, call) {
    const [kube] = await kubeFor(call, a);
    const out = capture(), err = capture();
    const { resolveCommand, statusCommand } = await import("../session/sync/commands.ts");
    const code = await resolveCommand(
      Object.create(kube, { namespace: { value: a.namespace ?? kube.namespace } }),
      a.name,
      a.path ?? [],
      { keep: a.keep, all: a.all },
      out,
      err,
    );
    const json = capture();
    await statusCommand(a.name, { output: "json" }, json).catch(() => 0);
    let left = 0;
    try {
      const s = JSON.parse(json.text()) as { conflicts?: unknown[] };
      left = s.conflicts?.length ?? 0;
    } catch { /* no status */ }
    const text = out.text() + err.text();
    return { data: { resolved: code === 0, conflictsLeft: left, output: text }, text };
  },
});

export const compare = tool({
  name: "compare",
  title: "Compare the replicas of a group",
  description:
    "The replicas of a best-of-N group side by side (`kodama compare GROUP`): agent state, duration, commits, " +
    "diffstat, check result, summary; when the group was judged (`compare GROUP --judge`), each one's rank and " +
    "reason. wait: until every agent (and its check) has ended.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: {
    name: z.string().min(1).describe("the group's name (the name given to start --replicas)"),
    context: contextArg,
    namespace: namespaceArg,
    wait: z.boolean().optional().describe("wait until every replica's agent and check have ended"),
    timeout: z.string().optional().describe("with wait: give up after this long, e.g. 30m"),
  },
  output: { replicas: z.array(anyObject), count: z.number() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const { gatherGroup, renderComparison, compareGroup, rankedGroup } = await import(
      "../agent/group/compare.ts"
    );
    let rows, judgement;
    if (a.wait) {
      const { parseDuration } = await import("../base/duration.ts");
      const out = capture();
      await compareGroup(kube, ns, a.name, {
        output: "json",
        wait: true,
        timeoutMs: a.timeout ? parseDuration(a.timeout, "timeout") : undefined,
        out,
        err: capture(),
        signal: call.signal,
      });
      rows = (JSON.parse(out.text()) as { items: Awaited<ReturnType<typeof gatherGroup>> }).items;
    } else ({ rows, judgement } = await rankedGroup(kube, ns, a.name));
    if (!rows.length) {
      throw notFound(
        `group ${a.name} has no replicas in namespace ${ns}`,
        "start one with `kodama start NAME --replicas N`; sessions_list shows the groups",
      );
    }
    const { judgeFooter } = await import("../agent/group/judgeview.ts");
    return {
      data: { replicas: rows as unknown as Record<string, unknown>[], count: rows.length },
      text: renderComparison(rows) + (judgement ? judgeFooter(judgement, rows) : ""),
    };
  },
});

function adoptTool(force: boolean): Tool {
  return tool({
    name: "adopt",
    title: "Adopt a replica's work",
    description:
      "Take one replica's work (`kodama adopt NAME-i`): its commits are fetched into the repository at cwd and the " +
      "local branch kodama/GROUP (or branch) points at them. The branch only moves forward, and never while " +
      "checked out in a work tree. best: name is the group, and the replica its judge ranked first is adopted" +
      (force
        ? "; force moves it even when it has commits the replica lacks (they stay in git's reflog)."
        : "."),
    tier: force ? "destructive" : "write",
    annotations: { readOnlyHint: false, destructiveHint: force, idempotentHint: true, openWorldHint: true },
    input: {
      name: z.string().min(1).describe("the replica's session name (GROUP-i); with best: the group"),
      context: contextArg,
      namespace: namespaceArg,
      best: z.boolean().optional().describe(
        "name is a group: adopt the replica its judge ranked first (compare GROUP --judge PRESET judged it)",
      ),
      branch: z.string().optional().describe("the local branch to point at it (default: kodama/GROUP)"),
      ...(force
        ? { force: z.boolean().optional().describe("move the branch even when it has other commits") }
        : {}),
      cwd: z.string().min(1).optional().describe(
        "the local repository (default: where the server was started)",
      ),
    },
    output: { branch: z.string(), output: z.string() },
    async run(
      a: {
        name: string;
        context?: string;
        namespace?: string;
        best?: boolean;
        branch?: string;
        force?: boolean;
        cwd?: string;
      },
      call,
    ) {
      const [kube, ns] = await kubeFor(call, a);
      const out = capture(), err = capture();
      const [{ adoptReplica }, { repoCwdOf }, { withDoorGit }] = await Promise.all([
        import("../agent/group/group.ts"),
        import("./sessions.ts"),
        import("../session/git/doorgit.ts"),
      ]);
      const cwd = await repoCwdOf(call, a);
      // best: the group's judge's rank 1, as `adopt GROUP --best` (judgecmd.ts: refused when it moved since)
      const name = a.best
        ? await (await import("../agent/group/judgecmd.ts")).adoptBestName(kube, ns, a.name, err)
        : a.name;
      // door git: the repository's config, hooks and includes are never read (src/session/git/doorgit.ts)
      await withDoorGit(
        cwd,
        () => adoptReplica(kube, ns, name, { branch: a.branch, force: force && !!a.force, cwd, out, err }),
      );
      return { data: { branch: out.text().trim(), output: err.text() }, text: out.text() + err.text() };
    },
  });
}

/** adopt twice: the forward-only one (write) and, with --allow-destructive, the one that may force. */
export const GROUP_TOOLS: Tool[] = [compare, adoptTool(false), adoptTool(true), syncResolve];
