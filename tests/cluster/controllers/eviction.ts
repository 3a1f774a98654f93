/**
 * The Eviction API (`POST /api/v1/namespaces/NS/pods/NAME/eviction`, policy/v1 and policy/v1beta1), as
 * kube-apiserver v1.32's EvictionREST: a pod that is terminal, Pending or already being deleted is deleted
 * without a budget; otherwise the one PodDisruptionBudget covering it must allow a disruption (more than
 * one is a 500; none: no limit) — else `429 TooManyRequests` "Cannot evict pod as it would violate the
 * pod's disruption budget." with a `DisruptionBudget` cause. Before the (graceful) delete the pod gets the
 * `DisruptionTarget` condition (`EvictionByEvictionAPI`, "Eviction API: evicting"). The Eviction's
 * `deleteOptions` (grace period, preconditions, dryRun) are the delete's.
 */
import type { Obj } from "../store.ts";
import { ApiError, badRequest, notFound, type StatusCause } from "../status.ts";
import { now } from "../defaults.ts";
import { isReady } from "./shared.ts";
import { DisruptionController } from "./pdb.ts";

export interface EvictionHost {
  store: import("../store.ts").Store;
  budgetsFor(pod: Obj): Obj[];
  /** the pod's graceful delete (the API's DELETE with these options) */
  deletePod(pod: Obj, opts: Obj): Promise<unknown>;
}

const TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget.";

function tooManyRequests(cause: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, "TooManyRequests", TOO_MANY, {
    causes: [{ reason: "DisruptionBudget", message: cause } as StatusCause],
    ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
  });
}

/** pkg/registry/core/pod/storage/eviction.go canIgnorePDB */
function canIgnorePDB(pod: Obj): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" ||
    !!pod.metadata.deletionTimestamp;
}

/** The DisruptionTarget condition the eviction sets (PodDisruptionConditions, GA in 1.31). */
export function disruptionTarget(reason: string, message: string): Obj {
  return {
    type: "DisruptionTarget",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: now(),
    reason,
    message,
  };
}

/** Put (or replace) a condition on a pod's status in the store; returns the stored pod. */
export function addPodCondition(store: import("../store.ts").Store, pod: Obj, c: Obj): Obj {
  const cur = store.get("pods", pod.metadata.namespace, pod.metadata.name)!;
  const conds = (cur.status?.conditions ?? []).filter((x: Obj) => x.type !== c.type);
  cur.status = { ...(cur.status ?? {}), conditions: [...conds, c] };
  return store.replace("pods", cur);
}

export async function evict(host: EvictionHost, ns: string, name: string, body: unknown): Promise<Obj> {
  const ev = (body ?? {}) as Obj;
  if (typeof ev !== "object" || Array.isArray(ev)) {
    throw badRequest("the body of the request was in an unknown format");
  }
  if (ev.kind !== undefined && ev.kind !== "Eviction") {
    throw badRequest(
      `Eviction in version "v1" cannot be handled as a Eviction: the object kind ${ev.kind} does not match Eviction`,
    );
  }
  if (ev.apiVersion !== undefined && !["policy/v1", "policy/v1beta1"].includes(ev.apiVersion)) {
    throw badRequest(
      `the API version in the data (${ev.apiVersion}) does not match the expected API version (policy/v1)`,
    );
  }
  // an Eviction without a name does not name this pod either (EvictionREST.Create compares them)
  if ((ev.metadata?.name ?? "") !== name) {
    throw badRequest("name in URL does not match name in Eviction object");
  }
  const pod = host.store.get("pods", ns, name);
  if (!pod) throw notFound("pods", name);
  const opts: Obj = ev.deleteOptions ?? {};
  const dryRun = Array.isArray(opts.dryRun) && opts.dryRun.includes("All");
  const pre = opts.preconditions ?? {};
  if (pre.uid && pre.uid !== pod.metadata.uid) {
    throw new ApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on pods "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${pod.metadata.uid}`,
      { name, kind: "pods" },
    );
  }
  const success = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 };
  const go = async () => {
    if (dryRun) return success;
    addPodCondition(host.store, pod, disruptionTarget("EvictionByEvictionAPI", "Eviction API: evicting"));
    await host.deletePod(pod, opts);
    return success;
  };
  if (canIgnorePDB(pod)) return await go();
  const budgets = host.budgetsFor(pod);
  if (budgets.length > 1) {
    throw new ApiError(
      500,
      "InternalError",
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  }
  if (!budgets.length) return await go();
  const pdb = budgets[0];
  const st = pdb.status ?? {};
  // an unhealthy pod: AlwaysAllow evicts it; IfHealthyBudget (the default) when the budget is healthy
  if (!isReady(pod)) {
    if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return await go();
    if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) {
      return await go();
    }
  }
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) {
    throw tooManyRequests(
      `The disruption budget ${pdb.metadata.name} is still being processed by the server.`,
      10,
    );
  }
  if ((st.disruptionsAllowed ?? 0) < 0) {
    throw new ApiError(
      403,
      "Forbidden",
      `poddisruptionbudgets.policy "${pdb.metadata.name}" is forbidden: pdb disruptions allowed is negative`,
    );
  }
  if ((st.disruptionsAllowed ?? 0) === 0) {
    throw tooManyRequests(
      `The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${
        st.currentHealthy ?? 0
      } currently`,
      0,
    );
  }
  if (!dryRun) host.store.replace("poddisruptionbudgets", DisruptionController.decrement(pdb, name));
  return await go();
}
