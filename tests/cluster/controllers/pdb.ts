/**
 * PodDisruptionBudgets (policy/v1): kube-apiserver's validation and kube-controller-manager's disruption
 * controller (v1.32), which keeps each budget's status: the pods its selector covers (`expectedPods`),
 * the healthy ones (Ready, not being deleted, not just evicted: `currentHealthy`), how many must stay
 * (`desiredHealthy`, from minAvailable or maxUnavailable, ints or percents rounded up), and
 * `disruptionsAllowed`, with the `DisruptionAllowed` condition. A percentage or maxUnavailable needs the
 * pods' controllers' scale (Deployment/ReplicaSet/StatefulSet replicas): a Job's pod has none, and the
 * budget's sync fails (disruptionsAllowed 0, condition reason SyncFailed), as on a real cluster.
 */
import type { Obj } from "../store.ts";
import type { Errors } from "../validation.ts";
import { now } from "../defaults.ts";
import { type ControllerHost, controllerOf, isReady, setCondition } from "./shared.ts";
import { labelSelectorMatches } from "../workloads.ts";

export const PDB_COMPONENT = "controllermanager";
/** pkg/controller/disruption: DeletionTimeout — an evicted pod not deleted by then counts again */
const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** policy/v1: an empty selector selects every pod of the namespace; none selects none. */
export function pdbSelects(pdb: Obj, pod: Obj): boolean {
  const sel = pdb.spec?.selector;
  if (!sel) return false;
  if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) return true;
  return labelSelectorMatches(sel, pod.metadata.labels);
}

const PERCENT = /^[0-9]+%$/;

function validIntOrPercent(e: Errors, field: string, v: unknown) {
  if (v === undefined || v === null) return;
  if (typeof v === "number") {
    if (v < 0) e.invalid(field, v, "must be greater than or equal to 0");
    return;
  }
  if (typeof v !== "string" || !PERCENT.test(v)) {
    e.invalid(
      field,
      v,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    return;
  }
  if (Number(v.slice(0, -1)) > 100) e.invalid(field, v, "must not be greater than 100%");
}

/** pkg/apis/policy/validation.ValidatePodDisruptionBudgetSpec, for policy/v1. */
export function validatePdb(e: Errors, o: Obj): void {
  const s = o.spec ?? {};
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined) {
    e.invalid(
      "spec",
      "policy.PodDisruptionBudgetSpec{...}",
      "minAvailable and maxUnavailable cannot be both set",
    );
  }
  validIntOrPercent(e, "spec.minAvailable", s.minAvailable);
  validIntOrPercent(e, "spec.maxUnavailable", s.maxUnavailable);
  const p = s.unhealthyPodEvictionPolicy;
  if (p !== undefined && p !== "IfHealthyBudget" && p !== "AlwaysAllow") {
    e.notSupported("spec.unhealthyPodEvictionPolicy", p, ["AlwaysAllow", "IfHealthyBudget"]);
  }
}

/** intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true) */
function scaled(v: number | string, total: number): number {
  return typeof v === "number" ? v : Math.ceil((Number(v.slice(0, -1)) * total) / 100);
}

export class DisruptionController {
  constructor(private readonly host: ControllerHost) {}

  /** The budgets that cover a pod (same namespace, selector matches). */
  budgetsFor(pod: Obj): Obj[] {
    return this.host.store.list("poddisruptionbudgets", pod.metadata.namespace).filter((b) =>
      pdbSelects(b, pod)
    );
  }

  /** The replicas the pods' controllers want (getExpectedScale), or why it cannot be known. */
  #expectedScale(pods: Obj[]): { count: number } | { error: string } {
    const seen = new Set<string>();
    let count = 0;
    for (const p of pods) {
      const ref = controllerOf(p);
      if (!ref) continue; // unmanaged: ignored (a warning event, as 1.32)
      if (seen.has(ref.uid)) continue;
      seen.add(ref.uid);
      // the finders: ReplicaSet (its Deployment's scale when it has one), StatefulSet; a Job has no scale
      const resource = ref.kind === "StatefulSet"
        ? "statefulsets"
        : ref.kind === "ReplicaSet"
        ? "replicasets"
        : "";
      let owner = resource ? this.host.store.get(resource, p.metadata.namespace, ref.name) : undefined;
      if (!owner || owner.metadata.uid !== ref.uid) {
        return { error: `found no controllers for pod "${p.metadata.name}"` };
      }
      const dep = ref.kind === "ReplicaSet" ? controllerOf(owner) : undefined;
      if (dep?.kind === "Deployment") {
        owner = this.host.store.get("deployments", p.metadata.namespace, dep.name) ?? owner;
      }
      count += owner.spec?.replicas ?? 1;
    }
    return { count };
  }

  sync(pdb: Obj): void {
    const store = this.host.store;
    const ns = pdb.metadata.namespace;
    const pods = [...store.peek("pods", ns)].filter((p) => pdbSelects(pdb, p));
    const spec = pdb.spec ?? {};
    const t = Date.now();
    // evictions the controller has not seen deleted yet (dropped when the pod goes or after the timeout)
    const disrupted: Record<string, string> = {};
    for (const [name, at] of Object.entries((pdb.status?.disruptedPods ?? {}) as Record<string, string>)) {
      const p = pods.find((x) => x.metadata.name === name);
      if (p && !p.metadata.deletionTimestamp && t - Date.parse(at) < DELETION_TIMEOUT_MS) {
        disrupted[name] = at;
      }
    }
    const healthy = pods.filter((p) =>
      !p.metadata.deletionTimestamp && isReady(p) && !disrupted[p.metadata.name]
    );
    let expected = 0;
    let desired = 0;
    let error: string | undefined;
    if (spec.maxUnavailable !== undefined || typeof spec.minAvailable === "string") {
      const scale = this.#expectedScale(pods);
      if ("error" in scale) error = scale.error;
      else {
        expected = scale.count;
        desired = spec.maxUnavailable !== undefined
          ? Math.max(0, expected - scaled(spec.maxUnavailable, expected))
          : scaled(spec.minAvailable, expected);
      }
    } else if (spec.minAvailable !== undefined) {
      desired = spec.minAvailable;
      expected = pods.length;
    }
    const current = healthy.length;
    const allowed = error || expected <= 0 || current - desired <= 0 ? 0 : current - desired;
    let conds: Obj[] = pdb.status?.conditions ?? [];
    conds = error ? setCondition(conds, "DisruptionAllowed", "False", "SyncFailed", error) : setCondition(
      conds,
      "DisruptionAllowed",
      allowed > 0 ? "True" : "False",
      allowed > 0 ? "SufficientPods" : "InsufficientPods",
      "",
    );
    conds = conds.map((c) => ({ ...c, observedGeneration: pdb.metadata.generation ?? 1 }));
    const next: Obj = {
      observedGeneration: pdb.metadata.generation ?? 1,
      ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
      disruptionsAllowed: allowed,
      currentHealthy: current,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: conds,
    };
    if (JSON.stringify(next) === JSON.stringify(pdb.status ?? {})) return;
    const cur = store.get("poddisruptionbudgets", ns, pdb.metadata.name);
    if (!cur || cur.metadata.uid !== pdb.metadata.uid) return;
    cur.status = next;
    store.replace("poddisruptionbudgets", cur);
    if (Object.keys(disrupted).length) {
      // look again when the oldest eviction times out
      const oldest = Math.min(...Object.values(disrupted).map((d) => Date.parse(d)));
      this.host.later(Math.max(0, oldest + DELETION_TIMEOUT_MS - t) + 10, () => {
        const again = store.get("poddisruptionbudgets", ns, pdb.metadata.name);
        if (again) this.sync(again);
      });
    }
  }

  /** The eviction handler's part: one disruption used, the pod remembered as about to go (checkAndDecrement). */
  static decrement(pdb: Obj, podName: string): Obj {
    const next = structuredClone(pdb);
    next.status.disruptionsAllowed--;
    if (next.status.disruptionsAllowed === 0) {
      next.status.conditions = setCondition(
        next.status.conditions,
        "DisruptionAllowed",
        "False",
        "InsufficientPods",
        "",
      ).map((c) => ({ ...c, observedGeneration: pdb.metadata.generation ?? 1 }));
    }
    next.status.disruptedPods = { ...(next.status.disruptedPods ?? {}), [podName]: now() };
    return next;
  }
}
