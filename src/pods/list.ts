/**
 * `kodama pods` behaviour: find, then render in the requested format; exit 3 when nothing matched.
 * Over several contexts a CONTEXT column (and a `context` field in -o json/yaml) says where each pod is.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { type Columns, parseOutputFormat, prepareOutput, renderItems } from "../ui/output.ts";
import { stderrSink, stdoutSink } from "../base/sink.ts";
import { notFound, usageError } from "../base/errors.ts";
import { mark } from "../base/timing.ts";
import { podColumns, withKind } from "./display.ts";
import { findPods, type TargetFlags } from "./target.ts";
import { quote } from "../base/text/escape.ts";

export function renderPods(
  pods: V1Pod[],
  format: string,
  allNamespaces: boolean,
  now?: number,
  contextOf?: (p: V1Pod) => string,
): string {
  const cols = podColumns({ allNamespaces, now });
  if (!contextOf) {
    return renderItems(pods.map(withKind), parseOutputFormat(format), {
      ...cols,
      name: (p) => `pod/${p.metadata?.name}`,
    });
  }
  type InContext = V1Pod & { context: string };
  const withContext = (c: Columns<V1Pod>): Columns<InContext> => ({
    headers: ["CONTEXT", ...c.headers],
    row: (p) => [p.context, ...c.row(p)],
  });
  const items: InContext[] = pods.map((p) => ({ ...withKind(p), context: contextOf(p) }));
  return renderItems(items, parseOutputFormat(format), {
    table: withContext(cols.table),
    wide: withContext(cols.wide),
    name: (p) => `${p.context}:pod/${p.metadata?.name}`,
  });
}

export interface ListOptions {
  /** keep watching after the list (kubectl get -w) */
  watch?: boolean;
  /** watch without the initial list (kubectl --watch-only) */
  watchOnly?: boolean;
  /** with a watch: an EVENT column / {type, object} per event */
  outputWatchEvents?: boolean;
  /** with a watch: how long to keep retrying an unreachable API server (default 5m) */
  reconnectTimeout?: string;
}

/**
 * Returns the exit code: 0, or 130 when a watch was ended by Ctrl-C. With several contexts, the pods of
 * those that answered are listed and a failed one is an error line on stderr and the exit code
 * (exit 3 only when no context failed and nothing matched).
 */
export async function listPodsCommand(
  kubes: Kube | Kube[],
  t: TargetFlags,
  format: string,
  o: ListOptions = {},
): Promise<number> {
  const all = Array.isArray(kubes) ? kubes : [kubes];
  if (all.length > 1) {
    if (o.watch || o.watchOnly) {
      throw usageError("-w/--watch-only watch one context", "give --context one name");
    }
    await prepareOutput(parseOutputFormat(format));
    const { findPodsAcross, formatClusterErrors, clusterExitCode } = await import("./multi.ts");
    const { found, failed } = await findPodsAcross(all, t);
    const ctx = new Map<V1Pod, string>();
    const pods = found.flatMap((f) => f.pods.map((p) => (ctx.set(p, f.kube.contextName), p)));
    if (pods.length) {
      stdoutSink.write(renderPods(pods, format, Boolean(t.allNamespaces), undefined, (p) => ctx.get(p)!));
    }
    stderrSink.write(formatClusterErrors(failed));
    if (failed.length) return clusterExitCode(failed);
    if (!pods.length) emptyList(format, t.allNamespaces ? undefined : t.namespace ?? all[0].namespace);
    return 0;
  }
  const kube = all[0];
  if (o.watch || o.watchOnly) {
    const { watchPodsCommand } = await import("./watch.ts");
    return await watchPodsCommand(kube, t, format, {
      watchOnly: o.watchOnly,
      outputWatchEvents: o.outputWatchEvents,
      reconnectTimeout: o.reconnectTimeout,
    });
  }
  await prepareOutput(parseOutputFormat(format));
  const pods = await findPods(kube, t);
  mark("pods found");
  if (!pods.length) {
    // as kubectl: a namespace that does not exist is NotFound (exit 3); an empty one is no error
    const ns = t.allNamespaces ? undefined : t.namespace ?? kube.namespace;
    if (ns !== undefined && !(await kube.namespaceExists(ns))) {
      throw notFound(`namespaces ${quote(ns)} not found`, "list namespaces with `kubectl get namespaces`");
    }
    emptyList(format, ns);
    return 0;
  }
  const out = renderPods(pods, format, Boolean(t.allNamespaces));
  mark("output rendered");
  stdoutSink.write(out);
  return 0;
}

/**
 * Nothing to list, said as kubectl says it: `No resources found in NS namespace.` on stderr for tables,
 * nothing for -o name, an empty List for -o json/yaml. Exit 0 (a listing that finds nothing did its job;
 * commands that need a pod exit 3).
 */
function emptyList(format: string, namespace: string | undefined): void {
  const f = parseOutputFormat(format);
  if (f === "json" || f === "yaml") stdoutSink.write(renderPods([], format, false));
  else if (f !== "name") {
    stderrSink.write(namespace ? `No resources found in ${namespace} namespace.\n` : "No resources found\n");
  }
}
