/**
 * pods_list, pods_exec, pods_logs: the pod pillar over MCP. Pods are found by findPods (the CLI's
 * targeting) through the server's watch-backed cache; exec is the CLI's fan-out with the output kept per
 * pod up to the cap; logs are the CLI's log streams, without follow (a call ends).
 */
import { z } from "zod";
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { parseDuration } from "../base/duration.ts";
import { formatBytes } from "../base/text/bytes.ts";
import { usageError } from "../base/errors.ts";
import { podSummary } from "../pods/display.ts";
import { parseTarget } from "../pods/resource.ts";
import { nothingMatched, type TargetFlags } from "../pods/target.ts";
import type { McpEnv } from "./env.ts";
import { READS_CLUSTER, TARGETING, tool } from "./tool.ts";
import { quote } from "../base/text/escape.ts";

type TargetArgs = {
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  target?: string;
  match?: string[];
  regex?: string;
  selector?: string;
  fieldSelector?: string;
  pod?: string;
};

export function targetFlags(a: TargetArgs, includeNotReady: boolean, container?: string): TargetFlags {
  const resource = parseTarget(a.target);
  const match = a.match?.filter(Boolean);
  return {
    ...(resource ? { resource } : {}),
    namespace: a.namespace,
    allNamespaces: !!a.allNamespaces,
    match: match?.length ? match : undefined,
    regex: a.regex || undefined,
    selector: a.selector || undefined,
    fieldSelector: a.fieldSelector || undefined,
    pod: a.pod || undefined,
    container,
    includeNotReady,
  };
}

interface Found {
  items: { kube: Kube; pod: V1Pod }[];
  contextErrors: { context: string; message: string }[];
  multi: boolean;
}

/** The target's pods in each context the call names (several contexts: a failed one is reported). */
export async function findTargetPods(env: McpEnv, a: TargetArgs, t: TargetFlags): Promise<Found> {
  const kubes = await env.kubes(a.context);
  const { findPodsAcross } = await import("../pods/multi.ts");
  if (kubes.length === 1) {
    const { findPods } = await import("../pods/target.ts");
    const pods = await findPods(kubes[0], t, env.lister(kubes[0]));
    return { items: pods.map((pod) => ({ kube: kubes[0], pod })), contextErrors: [], multi: false };
  }
  const { found, failed } = await findPodsAcross(kubes, t, (k) => env.lister(k));
  return {
    items: found.flatMap((f) => f.pods.map((pod) => ({ kube: f.kube, pod }))),
    contextErrors: failed.map((f) => ({ context: f.context, message: f.message })),
    multi: true,
  };
}

const contextErrorsOut = z.array(z.object({ context: z.string(), message: z.string() })).optional()
  .describe("contexts that could not be listed (several contexts only)");

const podRow = z.object({
  context: z.string().optional(),
  namespace: z.string(),
  name: z.string(),
  ready: z.string(),
  status: z.string(),
  restarts: z.number(),
  age: z.string(),
  ip: z.string().optional(),
  node: z.string().optional(),
  containers: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
});

export const podsList = tool({
  name: "pods_list",
  title: "List pods",
  description:
    "List pods like `kodama pods` / `kubectl get pods`: by namespace, name substrings (match), regex, label or " +
    "field selector, a TYPE/NAME target (deploy/api, svc/web, session/s) or several contexts. Served from a " +
    "watch-backed cache once a namespace is in use.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: {
    ...TARGETING,
    running: z.boolean().optional().describe("only Running pods"),
  },
  output: {
    pods: z.array(podRow),
    count: z.number(),
    contextErrors: contextErrorsOut,
  },
  async run(a, call) {
    const t = targetFlags(a, !a.running);
    const found = await findTargetPods(call.env, a, t);
    const now = Date.now();
    const pods = found.items.map(({ kube, pod }) => ({
      ...(found.multi ? { context: kube.contextName } : {}),
      ...podSummary(pod, now),
    }));
    if (!pods.length && !found.multi && !t.allNamespaces) {
      // as kubectl: a namespace that does not exist is NotFound; an empty one is an empty list
      const kube = found.items[0]?.kube ?? await call.env.kube(a.context);
      const ns = t.namespace ?? kube.namespace;
      if (!(await kube.namespaceExists(ns))) {
        const { notFound } = await import("../base/errors.ts");
        throw notFound(`namespaces ${quote(ns)} not found`);
      }
    }
    const { renderPods } = await import("../pods/list.ts");
    const ctx = new Map(found.items.map((i) => [i.pod, i.kube.contextName]));
    const text = pods.length
      ? renderPods(
        found.items.map((i) => i.pod),
        "table",
        !!a.allNamespaces,
        now,
        found.multi ? (p) => ctx.get(p)! : undefined,
      )
      : "No resources found.\n";
    return {
      data: {
        pods,
        count: pods.length,
        ...(found.contextErrors.length ? { contextErrors: found.contextErrors } : {}),
      },
      text: text + contextErrorText(found.contextErrors),
    };
  },
});

function contextErrorText(errs: { context: string; message: string }[]): string {
  return errs.map((e) => `error: context ${e.context}: ${e.message}\n`).join("");
}

const podResult = z.object({
  context: z.string().optional(),
  namespace: z.string(),
  pod: z.string(),
  container: z.string(),
  status: z.enum(["ok", "failed", "error", "timeout", "cancelled"]),
  exitCode: z.number().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean().describe("output beyond the server's per-pod cap was left out"),
  error: z.string().optional(),
  durationMs: z.number(),
});

export const podsExec = tool({
  name: "pods_exec",
  title: "Run a command in pods",
  description:
    'Run a command (an argv array, no shell unless you give one: ["sh","-c","..."]) in the one matching ' +
    "Running pod, in the first (first: true), or in every matching pod in parallel (all: true), like " +
    "`kodama exec`. Output is kept per pod up to the server's cap (64 KiB by default), marked when cut. A " +
    "cancelled call ends the command in its pods.",
  tier: "write",
  // an arbitrary command may delete things in the pod: not only additive
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: {
    ...TARGETING,
    command: z.array(z.string()).min(1).describe("the command and its arguments (argv)"),
    container: z.string().optional().describe("container (default: the pod's default container)"),
    all: z.boolean().optional().describe("run in every matching pod in parallel"),
    first: z.boolean().optional().describe("run in the first matching pod (by name)"),
    maxParallel: z.number().int().min(1).max(1000).optional().describe("fan-out: pods at once (default 32)"),
    failFast: z.boolean().optional().describe("fan-out: cancel the remaining pods on the first failure"),
    timeout: z.string().optional().describe("per pod: end the command after this long, e.g. 30s, 5m"),
    includeNotReady: z.boolean().optional().describe("also consider pods that are not Running"),
    stdin: z.string().optional().describe("text sent to the command's stdin (then closed)"),
  },
  output: {
    pods: z.array(podResult),
    ok: z.number(),
    failed: z.number(),
    cancelled: z.number(),
    exitCode: z.number().describe(
      "kodama exec's exit code: 0 all ok, 1 any failed, 5 only timeouts, 130 cancelled",
    ),
    contextErrors: contextErrorsOut,
  },
  async run(a, call) {
    if (a.all && a.first) throw usageError("give all or first, not both");
    const timeoutMs = a.timeout ? parseDuration(a.timeout, "timeout", { timer: true }) : undefined;
    const t = targetFlags(a, !!a.includeNotReady, a.container);
    const found = await findTargetPods(call.env, a, t);
    if (!found.items.length && !found.contextErrors.length) {
      throw nothingMatched(t, found.multi ? undefined : (await call.env.kube(a.context)).namespace);
    }
    let items = found.items;
    if (items.length > 1 && !a.all) {
      if (!a.first) {
        const names = items.map((i) => i.pod.metadata?.name ?? "?");
        throw usageError(
          `${items.length} pods match: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", …" : ""}`,
          "give all: true to run in every one, first: true for the first, or narrow the target (pod, match, selector)",
        );
      }
      items = items.slice(0, 1);
    }
    await learnSecrets(items);
    const { fanoutPods, fanoutExitCode } = await import("../pods/fanout.ts");
    const none = { write() {} };
    const totals = await fanoutPods(items, {
      command: a.command,
      container: a.container,
      maxParallel: a.maxParallel,
      timeoutMs,
      failFast: a.failFast,
      stdin: a.stdin !== undefined ? new TextEncoder().encode(a.stdin) : undefined,
      capture: true,
      captureLimit: call.env.o.maxOutput,
      prefix: false,
      summary: false,
      out: none,
      err: none,
      signal: call.signal,
      allNamespaces: !!a.allNamespaces,
      clusterErrors: found.contextErrors.length
        ? found.contextErrors.map((e) => ({ ...e, code: 1 }))
        : undefined,
      onPodDone: (r, done, total) => call.progress(done, total, `${r.pod}: ${r.status}`),
    });
    const marker = (n: number) =>
      `\n[… ${formatBytes(n)} more output left out: the per-pod cap is ${
        formatBytes(call.env.o.maxOutput)
      }]\n`;
    const pods = totals.results.map((r) => ({
      ...(found.multi ? { context: r.context } : {}),
      namespace: r.namespace,
      pod: r.pod,
      container: r.container,
      status: r.status,
      exitCode: r.exitCode,
      stdout: (r.stdout ?? "") + (r.droppedBytes ? marker(r.droppedBytes) : ""),
      stderr: r.stderr ?? "",
      truncated: !!r.droppedBytes,
      ...(r.error ? { error: r.error } : {}),
      durationMs: Math.round(r.durationMs),
    }));
    const exitCode = fanoutExitCode(totals);
    return {
      data: {
        pods,
        ok: totals.ok,
        failed: totals.failed,
        cancelled: totals.cancelled,
        exitCode,
        ...(found.contextErrors.length ? { contextErrors: found.contextErrors } : {}),
      },
      text: await execText(totals, pods, found.multi),
    };
  },
});

/** Register the values of the Secrets these pods read, so a command printing them shows `***`. */
async function learnSecrets(items: { kube: Kube; pod: V1Pod }[]): Promise<void> {
  const { learnPodSecrets } = await import("../workflow/podsecrets.ts");
  const byKube = new Map<Kube, V1Pod[]>();
  for (const i of items) byKube.set(i.kube, [...(byKube.get(i.kube) ?? []), i.pod]);
  await Promise.all([...byKube].map(([k, pods]) => learnPodSecrets(k, pods, () => {})));
}

/** One pod: its output and exit; several: the summary, then each distinct output once under its pods. */
async function execText(
  totals: import("../pods/summary.ts").FanoutTotals,
  pods: {
    pod: string;
    namespace: string;
    context?: string;
    stdout: string;
    stderr: string;
    status: string;
    exitCode: number | null;
    error?: string;
  }[],
  multi: boolean,
): Promise<string> {
  if (pods.length === 1) {
    const p = pods[0];
    const end = p.status === "ok" || p.status === "failed"
      ? `exit code ${p.exitCode}`
      : `${p.status}: ${p.error}`;
    return `${p.stdout}${
      p.stderr ? `${p.stdout && !p.stdout.endsWith("\n") ? "\n" : ""}[stderr]\n${p.stderr}` : ""
    }${p.stdout || p.stderr ? "\n" : ""}(${p.namespace}/${p.pod}: ${end})`;
  }
  const { formatSummary } = await import("../pods/summary.ts");
  const { groupResults, formatGroups } = await import("../pods/group.ts");
  const label = (r: { pod: string; namespace: string; context?: string }) =>
    `${multi && r.context ? `${r.context}:` : ""}${r.namespace}/${r.pod}`;
  const withOutput = totals.results.map((r, i) => ({ ...r, output: pods[i].stdout + pods[i].stderr }));
  return formatSummary(totals, { label }) + formatGroups(groupResults(withOutput, label));
}

const logStream = z.object({
  context: z.string().optional(),
  namespace: z.string(),
  pod: z.string(),
  container: z.string(),
  text: z.string().describe("the lines, oldest first (with timestamps: each line starts with one)"),
  lines: z.number(),
  truncated: z.boolean().describe("older lines beyond the server's per-pod cap were left out"),
});

export const podsLogs = tool({
  name: "pods_logs",
  title: "Read pod logs",
  description:
    "The logs of every matching pod (like `kodama logs`, without follow): tail, since, previous, include/exclude " +
    "regular expressions. Kept per pod up to the server's cap (the newest lines), marked when cut.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: {
    ...TARGETING,
    container: z.string().optional().describe("container (default: the pod's default container)"),
    allContainers: z.boolean().optional().describe("every container of each pod"),
    since: z.string().optional().describe("only lines newer than this, e.g. 5m, 1h"),
    tail: z.number().int().min(-1).optional().describe(
      "last N lines of each container (-1 = all; default all)",
    ),
    timestamps: z.boolean().optional().describe("start each line with its timestamp"),
    previous: z.boolean().optional().describe("the previous (crashed) container instance"),
    include: z.array(z.string()).optional().describe("only lines matching one of these regular expressions"),
    exclude: z.array(z.string()).optional().describe("no line matching any of these regular expressions"),
    maxStreams: z.number().int().min(1).optional().describe("most log streams at once (default 50)"),
  },
  output: {
    streams: z.array(logStream),
    contextErrors: contextErrorsOut,
  },
  async run(a, call) {
    const sinceMs = a.since ? parseDuration(a.since, "since") : undefined;
    const { compileLineFilter } = await import("../pods/log_filter.ts");
    const filter = compileLineFilter(a.include, a.exclude);
    const t = targetFlags(a, true, a.container);
    const found = await findTargetPods(call.env, a, t);
    // a pod whose containers never started has no logs yet
    const items = found.items.filter(({ pod: p }) =>
      p.status?.phase !== "Pending" || (p.status?.containerStatuses ?? []).some((c) => c.state?.running)
    );
    if (!items.length && !found.contextErrors.length) {
      const waiting = found.items;
      if (waiting.length) {
        const { notRunningError } = await import("../pods/notrunning.ts");
        throw await notRunningError(waiting[0].kube, waiting.map((w) => w.pod), {
          container: a.container,
          what: "no logs yet",
        });
      }
      throw nothingMatched(t, found.multi ? undefined : (await call.env.kube(a.context)).namespace);
    }
    await learnSecrets(items);
    const { streamLogs } = await import("../pods/logs.ts");
    const cap = call.env.o.maxOutput;
    const streams = new Map<
      string,
      {
        context?: string;
        namespace: string;
        pod: string;
        container: string;
        parts: string[];
        bytes: number;
        lines: number;
        dropped: boolean;
      }
    >();
    const dec = new TextDecoder();
    let pending = "";
    const sink = {
      write(chunk: Uint8Array | string) {
        pending += typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line) continue;
          const l = JSON.parse(line) as {
            context?: string;
            namespace: string;
            pod: string;
            container: string;
            message: string;
            timestamp?: string;
          };
          const key = `${l.context ?? ""}/${l.namespace}/${l.pod}/${l.container}`;
          let s = streams.get(key);
          if (!s) {
            s = {
              context: l.context,
              namespace: l.namespace,
              pod: l.pod,
              container: l.container,
              parts: [],
              bytes: 0,
              lines: 0,
              dropped: false,
            };
            streams.set(key, s);
          }
          const text = `${l.timestamp ? `${l.timestamp} ` : ""}${l.message}\n`;
          s.parts.push(text);
          s.bytes += text.length;
          s.lines++;
          // keep the newest lines within the cap
          while (s.bytes > cap && s.parts.length > 1) {
            s.bytes -= s.parts.shift()!.length;
            s.dropped = true;
          }
        }
      },
    };
    const byKube = new Map<Kube, V1Pod[]>();
    for (const i of items) byKube.set(i.kube, [...(byKube.get(i.kube) ?? []), i.pod]);
    let done = 0;
    await Promise.all([...byKube].map(async ([kube, pods]) => {
      await streamLogs(kube, pods, {
        container: a.container,
        allContainers: a.allContainers,
        sinceSeconds: sinceMs !== undefined ? sinceMs / 1000 : undefined,
        tail: a.tail,
        timestamps: a.timestamps,
        previous: a.previous,
        maxStreams: a.maxStreams,
        output: "json",
        filter,
        out: sink,
        signal: call.signal,
        allNamespaces: !!a.allNamespaces,
        context: found.multi ? kube.contextName : undefined,
      });
      call.progress(done += pods.length, items.length);
    }));
    const out = [...streams.values()].map((s) => ({
      ...(s.context !== undefined ? { context: s.context } : {}),
      namespace: s.namespace,
      pod: s.pod,
      container: s.container,
      text: (s.dropped ? `[… older lines left out: the per-pod cap is ${formatBytes(cap)}]\n` : "") +
        s.parts.join(""),
      lines: s.lines,
      truncated: s.dropped,
    }));
    const several = out.length > 1;
    const text = out.map((s) =>
      (several ? `==> ${s.namespace}/${s.pod}/${s.container} <==\n` : "") + s.text
    ).join("") ||
      "(no log lines)\n";
    return {
      data: { streams: out, ...(found.contextErrors.length ? { contextErrors: found.contextErrors } : {}) },
      text: text + contextErrorText(found.contextErrors),
    };
  },
});

export const POD_TOOLS = [podsList, podsExec, podsLogs];
