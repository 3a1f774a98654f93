/** `kodama pick`: find pods with the targeting flags, let the user choose (live list), return the choice. */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import { filterPods, findPods, nothingMatched, type TargetFlags, targetNamespace } from "./target.ts";
import { usageError } from "../base/errors.ts";
import { rankItems } from "../picker/mod.ts";
import { pickPods, podId, podItem, showsNamespace } from "./choose.ts";

/** What `kodama pick` prints per chosen pod: `ns-name` (namespace/name), `name`, or `json` (a List). */
export type PickOutput = "ns-name" | "name" | "json";
export const PICK_OUTPUTS: PickOutput[] = ["ns-name", "name", "json"];

export interface PickCommandOptions {
  multi?: boolean;
  query?: string;
  selectOne?: boolean;
  exit0?: boolean;
  /** --filter QUERY: print the matches in fzf's order, no picker (fzf's --filter) */
  filter?: string;
}

/** The chosen pods as stdout text in the requested form. */
export async function pickCommand(
  kube: KubeObjects & KubePods,
  t: TargetFlags,
  o: PickCommandOptions & { output?: PickOutput },
): Promise<string> {
  return await formatPicked(await pickPodsFor(kube, t, o), o.output ?? "ns-name");
}

/**
 * `ns-name`: `namespace/name` lines; `name`: bare names, for `kubectl logs -n NS $(kodama pick -n NS -o name)`
 * (only when every chosen pod is in one namespace: a bare name would be ambiguous otherwise); `json`: the
 * chosen pods as a List, as `kodama pods -o json` prints them.
 */
export async function formatPicked(pods: V1Pod[], output: PickOutput): Promise<string> {
  if (!pods.length) return "";
  if (output === "json") {
    const { renderPods } = await import("./list.ts");
    return renderPods(pods, "json", true);
  }
  if (output === "name") {
    const nss = [...new Set(pods.map((p) => p.metadata?.namespace ?? ""))];
    if (nss.length > 1) {
      throw usageError(
        `-o name: the chosen pods are in ${nss.length} namespaces (${
          nss.join(", ")
        }), so a bare name is ambiguous`,
        "use -o ns-name (namespace/name), or -n NAMESPACE",
      );
    }
    return pods.map((p) => `${p.metadata?.name}\n`).join("");
  }
  return pods.map((p) => podId(p) + "\n").join("");
}

async function pickPodsFor(
  kube: KubeObjects & KubePods,
  t: TargetFlags,
  o: PickCommandOptions,
): Promise<V1Pod[]> {
  if (o.filter !== undefined && (o.query !== undefined || o.selectOne || o.exit0)) {
    throw usageError(
      "--filter does not open a picker: --query, --select-1 and --exit-0 do not apply",
      "give the query to --filter alone",
    );
  }
  const pods = await findPods(kube, t);
  if (pods.length === 0) throw nothingMatched(t, kube.namespace);
  if (o.filter !== undefined) return rankPods(pods, o.filter, t.allNamespaces);
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
  return chosen;
}

/**
 * `kodama pick --filter QUERY`: the pods matching `query`, best first, exactly as the picker ranks them
 * (fzf's order; `namespace/name` with -A, anchored terms on the name). No terminal involved.
 */
export function rankPods(pods: V1Pod[], query: string, allNamespaces?: boolean): V1Pod[] {
  return rankItems(pods.map(podItem), query, showsNamespace(pods, allNamespaces));
}
