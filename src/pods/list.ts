/** `kodama pods` behaviour: find, then render in the requested format; exit 3 when nothing matched. */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { parseOutputFormat, prepareOutput, renderItems } from "../ui/output.ts";
import { stdoutSink } from "../ui/sink.ts";
import { podColumns } from "./display.ts";
import { findPods, nothingMatched, type TargetFlags } from "./target.ts";

export function withKind(p: V1Pod): V1Pod {
  return { apiVersion: "v1", kind: "Pod", ...p };
}

export function renderPods(pods: V1Pod[], format: string, allNamespaces: boolean, now?: number): string {
  const cols = podColumns({ allNamespaces, now });
  return renderItems(pods.map(withKind), parseOutputFormat(format), {
    ...cols,
    name: (p) => `pod/${p.metadata?.name}`,
  });
}

export interface ListOptions {
  /** keep watching after the list (kubectl get -w) */
  watch?: boolean;
  /** watch without the initial list (kubectl --watch-only) */
  watchOnly?: boolean;
  /** with a watch: an EVENT column / {type, object} per event */
  outputWatchEvents?: boolean;
}

/** Returns the exit code: 0, or 130 when a watch was ended by Ctrl-C. */
export async function listPodsCommand(
  kube: Kube,
  t: TargetFlags,
  format: string,
  o: ListOptions = {},
): Promise<number> {
  if (o.watch || o.watchOnly) {
    const { watchPodsCommand } = await import("./watch.ts");
    return await watchPodsCommand(kube, t, format, {
      watchOnly: o.watchOnly,
      outputWatchEvents: o.outputWatchEvents,
    });
  }
  await prepareOutput(parseOutputFormat(format));
  const pods = await findPods(kube, t);
  if (!pods.length) throw nothingMatched(t, kube.namespace);
  stdoutSink.write(renderPods(pods, format, Boolean(t.allNamespaces)));
  return 0;
}
