/**
 * The StatefulSet controller (apps/v1) as kube-controller-manager v1.32 runs it, for what kodama uses: pods
 * `NAME-ORDINAL` with the ordinal labels, OrderedReady (one at a time, each Running and Ready before the
 * next) and Parallel, at most one pod per ordinal (a name is taken until the old pod is gone, so a
 * replacement waits for it), Failed or Succeeded pods deleted and made again, scale down from the highest
 * ordinal, RollingUpdate of a changed template (highest ordinal first, one at a time, down to the
 * partition; OnDelete: only pods deleted by someone else come back at the new revision), and the status.
 *
 * Not emulated: ControllerRevision objects (the revision names are computed the same way: NAME-HASH of
 * the template), volumeClaimTemplates, minReadySeconds, maxUnavailable, start ordinals.
 */
import type { Obj } from "../store.ts";
import {
  claimPods,
  type ControllerHost,
  fnv32a,
  isReady,
  isTerminal,
  podFromTemplate,
  safeEncode,
} from "./shared.ts";

export const STS_COMPONENT = "statefulset-controller";
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
export const REVISION_LABEL = "controller-revision-hash";

/** The revision name of a StatefulSet's current template: `NAME-HASH`, as its ControllerRevision is named. */
export function revisionName(sts: Obj): string {
  const tpl = sts.spec?.template ?? {};
  return `${sts.metadata.name}-${
    safeEncode(fnv32a(JSON.stringify(tpl) + (sts.status?.collisionCount ?? 0)))
  }`;
}

function ordinalOf(sts: Obj, pod: Obj): number | undefined {
  const m = new RegExp(`^${sts.metadata.name.replace(/[.]/g, "\\.")}-(\\d+)$`).exec(pod.metadata.name);
  return m ? Number(m[1]) : undefined;
}

export class StatefulSetController {
  /** each StatefulSet's revision of the pods it made before a template change (its currentRevision) */
  constructor(private readonly host: ControllerHost) {}

  sync(sts: Obj): void {
    const store = this.host.store;
    if (sts.metadata.deletionTimestamp) return;
    const spec = sts.spec ?? {};
    const replicas: number = spec.replicas ?? 1;
    const parallel = spec.podManagementPolicy === "Parallel";
    const update = revisionName(sts);
    const byOrdinal = new Map<number, Obj>();
    for (const p of claimPods(store, sts)) {
      const i = ordinalOf(sts, p);
      if (i !== undefined) byOrdinal.set(i, p);
    }
    // what runs now, before this sync acts
    const statusPods = [...byOrdinal.entries()].filter(([i]) => i < replicas).map(([, p]) => p);
    this.#act(sts, byOrdinal, replicas, parallel, update);
    this.#writeStatus(sts, statusPods, update);
  }

  #act(sts: Obj, byOrdinal: Map<number, Obj>, replicas: number, parallel: boolean, update: string) {
    // 1. terminal pods are deleted (and made again once gone)
    for (const p of byOrdinal.values()) {
      if (isTerminal(p) && !p.metadata.deletionTimestamp) this.#delete(sts, p);
    }
    // 2. create missing ordinals (OrderedReady: one at a time, the ones before Running and Ready)
    for (let i = 0; i < replicas; i++) {
      const p = byOrdinal.get(i);
      if (!p) {
        this.#create(sts, i, update);
        if (!parallel) return;
        continue;
      }
      if (!parallel && (p.metadata.deletionTimestamp || isTerminal(p) || !isReady(p))) return;
    }
    // 3. scale down from the highest ordinal (OrderedReady: one at a time, waiting for it to go)
    const extra = [...byOrdinal.keys()].filter((i) => i >= replicas).sort((a, b) => b - a);
    for (const i of extra) {
      const p = byOrdinal.get(i)!;
      if (p.metadata.deletionTimestamp) {
        if (!parallel) return;
        continue;
      }
      this.#delete(sts, p);
      if (!parallel) return;
    }
    if (extra.length) return;
    // 4. RollingUpdate: the highest ordinal not at the update revision, once every pod is Running and Ready
    const strategy = sts.spec?.updateStrategy ?? {};
    if (strategy.type === "OnDelete") return;
    const partition: number = strategy.rollingUpdate?.partition ?? 0;
    const all = [...Array(replicas).keys()].map((i) => byOrdinal.get(i));
    if (all.some((p) => !p || p.metadata.deletionTimestamp || !isReady(p))) return;
    for (let i = replicas - 1; i >= partition; i--) {
      const p = all[i]!;
      if (p.metadata.labels?.[REVISION_LABEL] !== update) {
        this.#delete(sts, p);
        return;
      }
    }
  }

  #create(sts: Obj, i: number, revision: string) {
    const name = `${sts.metadata.name}-${i}`;
    const pod = podFromTemplate(sts, {
      name,
      labels: { [REVISION_LABEL]: revision, [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(i) },
    });
    pod.spec.hostname = name;
    if (sts.spec?.serviceName) pod.spec.subdomain = sts.spec.serviceName;
    try {
      this.host.createPod(sts.metadata.namespace, pod);
      this.host.event(
        sts,
        "Normal",
        "SuccessfulCreate",
        `create Pod ${name} in StatefulSet ${sts.metadata.name} successful`,
        STS_COMPONENT,
      );
    } catch (e) {
      this.host.event(
        sts,
        "Warning",
        "FailedCreate",
        `create Pod ${name} in StatefulSet ${sts.metadata.name} failed error: ${(e as Error).message}`,
        STS_COMPONENT,
      );
    }
  }

  #delete(sts: Obj, p: Obj) {
    this.host.deleteObject("pods", p.metadata.namespace, p.metadata.name);
    this.host.event(
      sts,
      "Normal",
      "SuccessfulDelete",
      `delete Pod ${p.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
      STS_COMPONENT,
    );
  }

  #writeStatus(sts: Obj, pods: Obj[], update: string) {
    const store = this.host.store;
    const live = pods.filter((p) => !isTerminal(p));
    const created = live.filter((p) => !p.metadata.deletionTimestamp);
    const ready = created.filter(isReady).length;
    const prevCurrent: string = sts.status?.currentRevision ?? update;
    const updated = created.filter((p) => p.metadata.labels?.[REVISION_LABEL] === update).length;
    const want: number = sts.spec?.replicas ?? 1;
    // the update is done when every replica runs at the update revision and is ready
    const current = updated === want && ready === want ? update : prevCurrent;
    const atCurrent = created.filter((p) => p.metadata.labels?.[REVISION_LABEL] === current).length;
    const next: Obj = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: created.length,
      ...(ready ? { readyReplicas: ready } : {}),
      ...(atCurrent ? { currentReplicas: atCurrent } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      currentRevision: current,
      updateRevision: update,
      collisionCount: sts.status?.collisionCount ?? 0,
      availableReplicas: ready,
    };
    if (JSON.stringify(next) === JSON.stringify(sts.status ?? {})) return;
    const cur = store.get("statefulsets", sts.metadata.namespace, sts.metadata.name);
    if (!cur || cur.metadata.uid !== sts.metadata.uid) return;
    cur.status = next;
    store.replace("statefulsets", cur);
  }
}
