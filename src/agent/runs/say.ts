/**
 * Talking to a running agent (issue 65): `agent say`, `agent interrupt`, `agent wait`, the same feature
 * functions for the CLI, the MCP tools and the web UI (untrusted doors: a message is text, at most
 * MAX_MESSAGE_BYTES, and goes to the pod as JSON on an exec's stdin, never in a process's arguments).
 *
 * A message goes into the run's inbox (pod/say.sh); the pod's runner (pod/runner.js) takes it: to the
 * running conversation where the CLI takes live input (Claude Code's `--input-format stream-json`), else
 * queued as the next turn of the same conversation, which the runner starts when the CLI ends. A message is
 * never lost (issue 84): it is "delivered" only once the CLI echoed it back (it is in the conversation);
 * until then it is queued, and what the CLI never took is the next turn's prompt, or the next run's. To a session
 * whose latest run has ended, a message starts a `--continue` run with it as the prompt. An interrupt ends
 * the current turn (Claude: its interrupt control request; others: the CLI is ended) and the run ends as
 * `interrupted`, its conversation kept for the next say. `agent wait` waits on the pod (pod/wait.sh) and
 * reports each run's end to its `onEnded` option, the one place a notification hooks in.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects, KubeSessions, KubeStreams } from "../../kube/seam.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode, KodamaError, timeoutError, usageError } from "../../base/errors.ts";
import { execCapture, listRuns, runningPod, startRun, withResumeCauses } from "./agentrun.ts";
import { runningPodOnceBack } from "../../session/access/podexec.ts";
import { type AgentRun, podRunId, PROLOGUE } from "./agent.ts";
import { quote } from "../../base/text/escape.ts";
import { outcomeOf, runOutcome } from "../outcome/runtruth.ts";
import { isGroupOnly } from "../group/groupcontinue.ts";
import { groupMembers } from "../group/group.ts";
import type { Sink } from "../../base/sink.ts";
import SAY_SH from "../pod/say.sh" with { type: "text" };
import WAIT_SH from "../pod/wait.sh" with { type: "text" };
import { lookAgain, PodTracker } from "../../session/state/replaced.ts";
import { notAttachable } from "../../session/access/attach.ts";
import { realClock } from "../../base/clock.ts";
import { byPreset } from "../adapters/index.ts";

/** The largest message `agent say` sends (UTF-8 bytes). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

const SAY_SCRIPT = [...PROLOGUE, SAY_SH].join("\n");
const WAIT_SCRIPT = [...PROLOGUE, WAIT_SH].join("\n");

/** The message as given, checked: text, not empty, at most MAX_MESSAGE_BYTES. */
export function checkMessage(text: unknown): string {
  if (typeof text !== "string") throw usageError("the message must be text");
  if (!text.trim()) throw usageError("the message is empty");
  const n = new TextEncoder().encode(text).length;
  if (n > MAX_MESSAGE_BYTES) {
    throw usageError(`the message is ${n} bytes: at most ${MAX_MESSAGE_BYTES} (64 KiB) are sent to an agent`);
  }
  if (text.includes("\0")) throw usageError("the message has a NUL byte: it must be text");
  return text;
}

/** How a message reached a session: `sent` live, `queued` for the run's next turn, `started` a new run. */
export type SayHow = "sent" | "queued" | "started";

export interface SayResult {
  session: string;
  /** the run it went to, or the run it started */
  run: string;
  how: SayHow;
  /** one line for a person */
  message: string;
}

/** Put `msg` into a run's inbox (pod/say.sh); the runner's answer and the run. */
async function deliver(
  kube: KubeObjects & KubeStreams,
  pod: V1Pod,
  msg: { kind: "say" | "interrupt"; text?: string },
) {
  const body = new TextEncoder().encode(JSON.stringify(msg));
  const r = await execCapture(kube, pod, [
    "sh",
    "-c",
    SAY_SCRIPT,
    "kodama-say",
    "latest",
    String(body.length),
  ], {
    stdin: body,
  });
  if (r.code === 3) return { how: "none", run: "", agent: undefined };
  if (r.code !== 0) {
    throw new KodamaError(`cannot reach the agent's run: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
  return sayAnswer(r.stdout);
}

/** What say.sh answers, as the pod's programs answer it: anything else is the agent's forgery (exit 1). */
const HOWS = ["sent", "pending", "queued", "kept", "waiting", "ended", "nomessages"];

/**
 * say.sh's last line `HOW ID [AGENT]`, checked (pure): HOW one of its words, ID a run id of kodama's shape
 * (agent.ts podRunId), AGENT a preset's name or nothing — never text the pod chose shown as it came.
 */
export function sayAnswer(stdout: string): { how: string; run: string; agent?: string } {
  const [how, run, agent] = (stdout.trim().split("\n").at(-1) ?? "").split(" ");
  if (!HOWS.includes(how)) {
    throw new KodamaError(`cannot reach the agent's run: the pod answered ${quote(how.slice(0, 40))}`);
  }
  return {
    how,
    run: podRunId(run, "cannot reach the agent's run"),
    agent: /^[a-z]+$/.test(agent ?? "") ? agent : undefined,
  };
}

/** What a CLI that takes no input while it runs is called, in `say`'s words (its adapter's). */
const HEADLESS: Record<string, string> = byPreset((a) => a.headless);

const LIVE_NOTE = "delivered in the running conversation (the agent took it in)";
/** Written to a live CLI, not taken in yet: its next turn takes it, else the runner's next turn or run. */
const PENDING_NOTE = "queued: not in the conversation yet; the agent's next turn takes it, " +
  "else the next run carries it (agent status shows it until then)";

/** `agent say NAME`: one session. */
export async function sayToSession(
  kube: KubeSessions,
  namespace: string,
  name: string,
  text: string,
  o: { cfg: Config; err: Sink; pod?: V1Pod },
): Promise<SayResult> {
  checkMessage(text);
  const pod = o.pod ?? await runningPod(kube, namespace, name);
  const d = await deliver(kube, pod, { kind: "say", text });
  if (d.how === "sent") {
    return { session: name, run: d.run, how: "sent", message: `run ${d.run}: ${LIVE_NOTE}` };
  }
  if (d.how === "pending") {
    return { session: name, run: d.run, how: "queued", message: `run ${d.run}: ${PENDING_NOTE}` };
  }
  if (d.how === "kept") {
    return {
      session: name,
      run: d.run,
      how: "queued",
      message:
        `run ${d.run} ended meanwhile: queued for the next run (kodama agent run ${name} --continue carries it)`,
    };
  }
  if (d.how === "queued" || d.how === "waiting") {
    const agent = HEADLESS[d.agent ?? ""] ?? "the agent";
    return {
      session: name,
      run: d.run,
      how: "queued",
      message:
        `run ${d.run}: queued for the next turn: ${agent} takes no input while it runs (the turn starts when it ends)`,
    };
  }
  if (d.how === "nomessages") {
    throw new KodamaError(
      `run ${d.run} of session ${name} takes no messages while it runs (a custom agent.command, or an image without Node)`,
      ExitCode.USAGE,
      `wait for it (kodama agent wait ${name}), then: kodama agent run ${name} --continue --prompt "…"`,
    );
  }
  if (d.how === "none") {
    throw new KodamaError(
      `no agent runs in session ${name} yet: nothing to continue`,
      ExitCode.NOT_FOUND,
      `start one: kodama agent run ${name} --prompt "…"`,
    );
  }
  // the run had ended: the message continues its conversation in a new run
  const run = await startRun(kube, namespace, name, {
    pod,
    prompt: text,
    cfg: o.cfg,
    continues: true,
    stallTimeout: o.cfg.agent.stallTimeout,
    out: o.err,
    err: o.err,
  });
  return {
    session: name,
    run,
    how: "started",
    message:
      `run ${d.run} had ended: started run ${run} with the message (--continue: the same conversation)`,
  };
}

/** The sessions NAME means: itself, or every replica of group NAME. */
/**
 * A session, or a group's replicas that are running. `andRestarting`: also a replica whose pod the cluster
 * is bringing back (issue 80), with no pod yet: a wait takes it up on its new pod.
 */
export async function targets(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  andRestarting = false,
) {
  if (!await isGroupOnly(kube, namespace, name)) return { group: false, members: [{ name, pod: undefined }] };
  const members = await groupMembers(kube, namespace, name);
  return {
    group: true,
    members: members.flatMap((m) =>
      m.status === "Running" && m.pod && !m.restart
        ? [{ name: m.name, pod: m.pod as V1Pod | undefined }]
        : andRestarting && m.restart
        ? [{ name: m.name, pod: undefined }]
        : []
    ),
  };
}

/** `agent say NAME|GROUP TEXT`: a session, or every replica of a group whose latest run is running. */
export async function agentSay(
  kube: KubeSessions,
  namespace: string,
  name: string,
  text: string,
  o: { cfg: Config; err: Sink },
): Promise<SayResult[]> {
  checkMessage(text);
  const t = await targets(kube, namespace, name);
  if (!t.group) return [await sayToSession(kube, namespace, name, text, o)];
  const out: SayResult[] = [];
  for (const m of t.members) {
    const last = (await listRuns(kube, m.pod!)).at(-1);
    if (last?.state !== "running") {
      o.err.write(`${m.name}: left alone (${last ? `run ${last.id} ${runOutcome(last)}` : "no run"})\n`);
      continue;
    }
    out.push(await sayToSession(kube, namespace, m.name, text, { ...o, pod: m.pod }));
  }
  if (!out.length) {
    throw new KodamaError(
      `group ${name}: no replica has a running run`,
      ExitCode.NOT_FOUND,
      `kodama compare ${name}`,
    );
  }
  return out;
}

export interface InterruptResult {
  session: string;
  run: string;
  /** false: the run had already ended (nothing to interrupt) */
  interrupted: boolean;
}

/** `agent interrupt NAME|GROUP`: end the current turn of each running run, keeping its conversation. */
export async function agentInterrupt(
  kube: KubeSessions,
  namespace: string,
  name: string,
): Promise<InterruptResult[]> {
  const t = await targets(kube, namespace, name);
  const out: InterruptResult[] = [];
  for (const m of t.members) {
    const pod = m.pod ?? await runningPod(kube, namespace, m.name);
    const d = await deliver(kube, pod, { kind: "interrupt" });
    if (d.how === "none") {
      throw new KodamaError(`no agent runs in session ${m.name} yet`, ExitCode.NOT_FOUND);
    }
    if (d.how === "nomessages") {
      throw new KodamaError(
        `run ${d.run} of session ${m.name} cannot be interrupted (a custom agent.command, or an image without Node)`,
        ExitCode.USAGE,
        `stop it instead: kodama agent stop ${m.name}`,
      );
    }
    out.push({ session: m.name, run: d.run, interrupted: d.how !== "ended" });
  }
  return out;
}

export interface WaitResult {
  session: string;
  run: string;
  state: AgentRun["state"];
  /** the outcome's class (succeeded, failed, interrupted, budget, …) */
  outcome: string;
  /** in words, as `agent status` says it */
  text: string;
  exitCode?: number;
  /** the session's pod was replaced by the cluster while waiting: the line that says so (replaced.ts) */
  replaced?: string;
}

/** Told once per run `agent wait` saw end, with the run as `agent status` reads it (a notification). */
export type RunEndedHook = (r: WaitResult, run: AgentRun) => void | Promise<void>;

/** Wait for one session's latest run to end (the pod's wait.sh, over one exec); its outcome. */
async function waitSession(
  kube: KubeSessions,
  namespace: string,
  name: string,
  signal: AbortSignal,
  pod?: V1Pod,
  onEnded?: RunEndedHook,
) {
  // a wait begun while the cluster brings the pod back waits for it: the run goes on there (issue 80)
  let p = pod ?? await runningPodOnceBack(kube, namespace, name, signal);
  if (!p) return undefined;
  // the pod's end (the cluster replacing it, issue 80) cuts the wait: the session's next pod resumes the run
  // (runner.js), and the wait goes on there, said once
  const tracker = new PodTracker(name, p);
  let replaced: string | undefined;
  for (;;) {
    const res = await waitOnce(kube, namespace, p, name, signal, onEnded, replaced);
    if (res !== "cut") return res;
    const next = await replacement(kube, namespace, tracker, signal);
    if (!next) return undefined;
    [p, replaced] = [next.pod, next.line];
  }
}

/** The session's live pod is no longer `p` (it ended under the exec: the cluster is bringing it back). */
async function podGone(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  p: V1Pod,
): Promise<boolean> {
  const now = await runningPod(kube, namespace, name).catch(() => undefined);
  return now?.metadata?.uid !== p.metadata?.uid;
}

/** One wait in one pod: the run's end, "cut" when it was cut off by the pod's end, undefined when aborted. */
async function waitOnce(
  kube: KubeSessions,
  namespace: string,
  p: V1Pod,
  name: string,
  signal: AbortSignal,
  onEnded?: RunEndedHook,
  replaced?: string,
): Promise<WaitResult | "cut" | undefined> {
  let r;
  try {
    r = await execCapture(kube, p, ["sh", "-c", WAIT_SCRIPT, "kodama-wait", "latest"], { signal });
  } catch (e) {
    if (signal.aborted) return undefined; // the timeout, or Ctrl-C: said by agentWait
    if (await podGone(kube, namespace, name, p)) return "cut";
    throw e;
  }
  if (signal.aborted) return undefined;
  if (r.code !== 0 && r.code !== 3 && await podGone(kube, namespace, name, p)) return "cut";
  if (r.code === 3) {
    throw new KodamaError(
      `no agent runs in session ${name} yet`,
      ExitCode.NOT_FOUND,
      `kodama agent run ${name} --prompt "…"`,
    );
  }
  const id = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    throw new KodamaError(`cannot wait for the run: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
  // the pod can end between the wait's end and this look (an eviction's grace over): a cut as above
  const runs = await listRuns(kube, p).catch(async (e) => {
    if (!signal.aborted && await podGone(kube, namespace, name, p)) return "cut" as const;
    throw e;
  });
  if (runs === "cut") return "cut";
  const found = runs.find((x) => x.id === id);
  if (!found) throw new KodamaError(`run ${id} of session ${name} is gone`, ExitCode.NOT_FOUND);
  // still running once the pod's wait ended: its pod is ending (a cut), the next one resumes it
  if (found.state === "running") return "cut";
  // the causes of its resumes as the cluster said them (an eviction, not the pod's guess of a delete)
  const [run] = await withResumeCauses(kube, namespace, name, [found]);
  const res: WaitResult = {
    session: name,
    run: id,
    state: run.state,
    outcome: outcomeOf(run).class,
    text: runOutcome(run),
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    ...(replaced ? { replaced } : {}),
  };
  if (onEnded) await Promise.resolve(onEnded(res, run)).catch(() => {});
  return res;
}

/**
 * Wait (looking every 2 s, until `signal`) for the session's new pod once the cluster took the old one; the
 * new pod and the line that says so, or undefined when the wait ended first. A session that stopped or
 * failed meanwhile is its error (notAttachable).
 */
async function replacement(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  tracker: PodTracker,
  signal: AbortSignal,
): Promise<{ pod: V1Pod; line: string } | undefined> {
  tracker.noticed();
  while (!signal.aborted) {
    const step = await lookAgain(kube, namespace, tracker);
    if (step.kind === "moved") return { pod: step.pod, line: step.line };
    if (step.kind !== "waiting") {
      const why = notAttachable(step.view);
      if (why) throw why;
      if (step.view.pod) return { pod: step.view.pod, line: "" };
    }
    await realClock.sleep(2000, signal).catch(() => {});
  }
  return undefined;
}

/** `agent wait NAME|GROUP`: every run's end, or exit 5 past `timeoutMs` (0: no limit). */
export async function agentWait(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: { timeoutMs?: number; signal?: AbortSignal; onEnded?: RunEndedHook },
): Promise<WaitResult[]> {
  const t = await targets(kube, namespace, name, true);
  if (!t.members.length) throw new KodamaError(`group ${name}: no replica is running`, ExitCode.NOT_FOUND);
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal?.addEventListener("abort", onAbort);
  const timer = o.timeoutMs ? setTimeout(() => ac.abort(), o.timeoutMs) : undefined;
  try {
    const all = await Promise.all(
      t.members.map((m) => waitSession(kube, namespace, m.name, ac.signal, m.pod, o.onEnded)),
    );
    if (all.some((r) => !r)) {
      if (o.signal?.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      throw timeoutError(
        `${t.group ? `group ${name}` : `session ${name}`}: the run did not end within ${
          Math.round((o.timeoutMs ?? 0) / 1000)
        }s`,
        `it goes on; wait again, or: kodama agent logs ${t.members[0].name} -f`,
      );
    }
    return all as WaitResult[];
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}

/** `agent wait`'s exit code: 0 when every run succeeded (its check too), else 1. */
export function waitExitCode(rs: WaitResult[]): number {
  return rs.every((r) => r.state === "succeeded" && r.outcome !== "failed") ? ExitCode.OK : ExitCode.FAILED;
}
