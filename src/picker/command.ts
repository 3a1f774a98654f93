/** `kodama pick`: find pods with the targeting flags, let the user choose (live list), return the choice. */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { filterPods, findPods, nothingMatched, type TargetFlags, targetNamespace } from "../pods/target.ts";
import { pickPods, podId } from "./mod.ts";

export interface PickCommandOptions {
  multi?: boolean;
  query?: string;
  selectOne?: boolean;
  exit0?: boolean;
}

/** The chosen pods as `namespace/name` lines. */
export async function pickCommand(kube: Kube, t: TargetFlags, o: PickCommandOptions): Promise<string[]> {
  const pods = await findPods(kube, t);
  if (pods.length === 0) throw nothingMatched(t, kube.namespace);
  const chosen = await pickPods(pods, {
    multi: o.multi,
    query: o.query,
    selectOne: o.selectOne,
    exit0: o.exit0,
    allNamespaces: t.allNamespaces,
    flagHint: "give --select-1 with a --query that matches one pod, or narrow it with -m/--pod/-l",
    watch: (onEvent, signal) =>
      kube.watchPods(
        targetNamespace(kube, t),
        { labelSelector: t.selector, fieldSelector: t.fieldSelector },
        (type, pod: V1Pod) => {
          if (type === "DELETED" || filterPods([pod], t).length > 0) onEvent(type, pod);
        },
        signal,
      ),
  });
  return chosen.map(podId);
}
