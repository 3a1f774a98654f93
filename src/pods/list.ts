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

export async function listPodsCommand(kube: Kube, t: TargetFlags, format: string): Promise<void> {
  await prepareOutput(parseOutputFormat(format));
  const pods = await findPods(kube, t);
  if (!pods.length) throw nothingMatched(t, kube.namespace);
  stdoutSink.write(renderPods(pods, format, Boolean(t.allNamespaces)));
}
