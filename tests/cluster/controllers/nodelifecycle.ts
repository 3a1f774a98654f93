/**
 * The node lifecycle controller's taints (TaintNodesByCondition, v1.32): a cordoned node
 * (`spec.unschedulable: true`, what `kubectl cordon`/`drain` patch) gets
 * `node.kubernetes.io/unschedulable:NoSchedule`, removed again on `kubectl uncordon`.
 */
import type { Obj } from "../store.ts";
import { now } from "../defaults.ts";
import type { ControllerHost } from "./shared.ts";

export const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

export function syncNodeTaints(host: ControllerHost, node: Obj): void {
  const taints: Obj[] = node.spec?.taints ?? [];
  const has = taints.some((t) => t.key === UNSCHEDULABLE_TAINT && t.effect === "NoSchedule");
  const want = node.spec?.unschedulable === true;
  if (has === want) return;
  const cur = host.store.get("nodes", "", node.metadata.name);
  if (!cur) return;
  const rest = (cur.spec?.taints ?? []).filter((t: Obj) => t.key !== UNSCHEDULABLE_TAINT);
  const next = want ? [...rest, { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule", timeAdded: now() }] : rest;
  cur.spec = { ...(cur.spec ?? {}), taints: next };
  if (!next.length) delete cur.spec.taints;
  host.store.replace("nodes", cur);
}
