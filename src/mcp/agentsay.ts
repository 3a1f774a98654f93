/**
 * The MCP doors to a running agent (issue 65): `agent_say`, `agent_interrupt` (write tier) and `agent_wait`
 * (read tier, bounded by its `timeout` and the server's call deadline). The same feature functions as the
 * CLI (src/agent/runs/say.ts); a message is text of at most 64 KiB, sent to the pod on an exec's stdin.
 */
import { z } from "zod";
import { durationValueMs } from "../base/duration.ts";
import { contextArg, durationArg, namespaceArg, READS_CLUSTER, type Tool, tool } from "./tool.ts";
import { kubeFor, settings } from "./sessions.ts";
import { cwdOf } from "./sessions.ts";

const target = {
  name: z.string().min(1).describe("the session's name, or a best-of-N group's (every running replica)"),
  context: contextArg,
  namespace: namespaceArg,
};
const WRITES = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };

export const agentSayTool = tool({
  name: "agent_say",
  title: "Say something to a running agent",
  description:
    "Add a user message to a session's running agent run (`kodama agent say`), never lost: `how` says " +
    "`sent` once it is in the running conversation (Claude Code echoed it back), else `queued` (its next turn " +
    "or the next run carries it); Codex and Gemini get it as the next turn of the same conversation when the current " +
    "one ends; when the latest run has ended it starts a --continue run with it. A group's name sends it to " +
    "every replica whose run is running. At most 64 KiB.",
  tier: "write",
  annotations: WRITES,
  input: {
    ...target,
    message: z.string().min(1).describe("the message (text, at most 64 KiB)"),
    cwd: z.string().min(1).optional().describe(
      "the directory whose .kodama.yaml applies (a new run's agent)",
    ),
  },
  output: {
    results: z.array(z.object({
      session: z.string(),
      run: z.string(),
      how: z.enum(["sent", "queued", "started"]),
      message: z.string(),
    })),
  },
  async run(a, call) {
    const { agentSay, checkMessage } = await import("../agent/runs/say.ts");
    checkMessage(a.message);
    const [kube, ns] = await kubeFor(call, a);
    const cfg = await settings(await cwdOf(call, a));
    const { capture } = await import("./tool.ts");
    const err = capture();
    const results = await agentSay(kube, ns, a.name, a.message, { cfg, err });
    const text = results.map((r) => `${r.session}: ${r.message}`).join("\n") + "\n" + err.text();
    return { data: { results }, text };
  },
});

export const agentInterruptTool = tool({
  name: "agent_interrupt",
  title: "Interrupt a running agent's turn",
  description:
    "End the current turn of a session's running agent (`kodama agent interrupt`), keeping its conversation: " +
    "the run ends as interrupted and the next agent_say continues it. A group's name: every running replica.",
  tier: "write",
  annotations: WRITES,
  input: target,
  output: {
    results: z.array(z.object({ session: z.string(), run: z.string(), interrupted: z.boolean() })),
  },
  async run(a, call) {
    const { agentInterrupt } = await import("../agent/runs/say.ts");
    const [kube, ns] = await kubeFor(call, a);
    const results = await agentInterrupt(kube, ns, a.name);
    const text = results.map((r) =>
      `${r.session}: run ${r.run} ${r.interrupted ? "interrupted (conversation kept)" : "had already ended"}`
    ).join("\n") + "\n";
    return { data: { results }, text };
  },
});

export const agentWaitTool = tool({
  name: "agent_wait",
  title: "Wait for an agent run to end",
  description: "Wait until a session's latest agent run (every running replica's, for a group) has ended " +
    "(`kodama agent wait`) and return each outcome; gives up after `timeout` (default 5m; the server's call " +
    "timeout bounds it too) with a timeout error, the runs going on.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: { ...target, timeout: durationArg.optional().describe("how long to wait at most (default 5m)") },
  output: {
    ok: z.boolean().describe("every run succeeded"),
    results: z.array(z.object({
      session: z.string(),
      run: z.string(),
      state: z.string(),
      outcome: z.string(),
      text: z.string(),
      exitCode: z.number().optional(),
      replaced: z.string().optional().describe("the session's pod was replaced by the cluster meanwhile"),
    })),
  },
  async run(a, call) {
    const { agentWait, waitExitCode } = await import("../agent/runs/say.ts");
    const [kube, ns] = await kubeFor(call, a);
    const timeoutMs = Math.min(
      durationValueMs(a.timeout ?? "5m", "timeout", { timer: true }),
      call.env.o.callTimeoutMs,
    );
    const results = await agentWait(kube, ns, a.name, { timeoutMs, signal: call.signal });
    const text = results.map((r) =>
      `${r.replaced ? `${r.replaced}\n` : ""}${r.session}: run ${r.run} ${r.text}`
    )
      .join("\n") + "\n";
    return { data: { ok: waitExitCode(results) === 0, results }, text };
  },
});

export const AGENT_SAY_TOOLS: Tool[] = [agentSayTool, agentInterruptTool, agentWaitTool];
