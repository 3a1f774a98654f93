/**
 * The warm volume pool: pairs of pre-provisioned, Bound workspace + home PVCs per namespace, so a `start`
 * on a slow provisioner (10–60 s a volume on cloud disks) takes a ready pair instead of waiting.
 *
 *   pool ensure --size N   create pairs until N matching ones exist (fewer: the extra unclaimed ones go),
 *                          then wait until they are Bound. A `WaitForFirstConsumer` class binds a volume
 *                          only for a pod: a short-lived binder pod (a Job's: a lost node's is made
 *                          again) mounts the pair, and is deleted once both are Bound (the volumes are
 *                          then pinned to that pod's node / zone).
 *   pool list              the pairs, their sizes, class and state
 *   pool drain             delete the unclaimed pool volumes (each on the version listed: a claim wins)
 *   claimPoolPair          what `start` does: take a matching Bound pair. The lock is the workspace PVC's
 *                          resourceVersion: the claim is a conditional patch, so of two starts exactly one
 *                          gets a pair, the other meets a conflict and tries the next pair.
 *
 * A pool volume carries `kodama.dev/pool=PAIR` and no session label: `list` and every session command
 * ignore it. Claiming takes the pool label off and puts the session's labels and settings on, so from then
 * on it is the session's volume (its name recorded in the settings' `volumes`) and never goes back: a
 * deleted session's volumes are kept or purged as any session's are. Pool volumes are always new.
 */
import type { V1Job, V1PersistentVolumeClaim, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { formatDuration } from "../../base/duration.ts";
import { formatAge, renderTable } from "../../ui/table.ts";
import {
  ANNOTATION_POOL_CLASS,
  ANNOTATION_POOLED,
  ANNOTATION_SPEC,
  LABEL_MANAGED_BY,
  LABEL_POOL,
  LABEL_SESSION,
  LABEL_VOLUME,
  MANAGED_BY,
} from "../spec/names.ts";
import { checkedSize, formatSize } from "../spec/quantity.ts";
import type { SessionSpec } from "../spec/spec.ts";
import { POD_SECCOMP } from "../spec/sandbox.ts";
import { quote } from "../../base/text/escape.ts";
import { oneShotJob } from "../spec/oneshot.ts";
import { removeJob } from "../lifecycle/oneshot.ts";

/** Every pool object kodama made in a namespace (volumes, binder Jobs and their pods), claimed or not. */
export const POOL_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_POOL}`;
/** The most pairs `pool ensure` keeps: a typo (`--size 1000`) must not order a thousand disks. */
export const MAX_POOL_SIZE = 100;

export type Which = "workspace" | "home";

/** What a pair must be for a session: the two sizes and the class asked for ("" = the cluster default). */
export interface PoolShape {
  workspace: string;
  home: string;
  storageClass: string;
}

export interface PoolPair {
  id: string;
  namespace: string;
  workspace?: V1PersistentVolumeClaim;
  home?: V1PersistentVolumeClaim;
}

export type PairState = "Bound" | "Pending" | "Incomplete" | "Deleting";

// ------------------------------------------------------------------------------------------ pure

/** The pool volume's name: `kodama-pool-PAIR-workspace` / `kodama-pool-PAIR-home`. */
export function poolVolumeName(id: string, which: Which): string {
  return `kodama-pool-${id}-${which}`;
}

/** A new pair id: 10 lowercase letters and digits (a DNS label part), random. */
export function newPairId(): string {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  const b = crypto.getRandomValues(new Uint8Array(10));
  return [...b].map((x) => abc[x % abc.length]).join("");
}

/** The shape a session's settings ask for. */
export function shapeOf(spec: Pick<SessionSpec, "storage">): PoolShape {
  return {
    workspace: spec.storage.workspace,
    home: spec.storage.home,
    storageClass: spec.storage.storageClass ?? "",
  };
}

/** Check and normalize `pool ensure`'s flags (exit 2 on bad input, before any request). */
export function checkedShape(o: { workspace: string; home: string; storageClass?: string }): PoolShape {
  const cls = o.storageClass ?? "";
  if (cls !== "" && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(cls)) {
    throw usageError(
      `invalid --storage-class ${quote(cls)}: StorageClass names are lowercase letters, digits, '-' and '.'`,
    );
  }
  return {
    workspace: formatSize(checkedSize(o.workspace, "--workspace-size")),
    home: formatSize(checkedSize(o.home, "--home-size")),
    storageClass: cls,
  };
}

/** `--size N`: a whole number 0…MAX_POOL_SIZE (exit 2 otherwise). */
export function checkedPoolSize(v: string | number | undefined): number {
  const s = String(v ?? "").trim();
  if (!/^\d+$/.test(s)) {
    throw usageError(
      `invalid --size ${quote(v ?? "")}: a whole number of volume pairs, 0 or more`,
      "e.g. --size 3",
    );
  }
  const n = Number(s);
  if (n > MAX_POOL_SIZE) {
    throw usageError(`--size ${n} is more than ${MAX_POOL_SIZE} pairs: each pair is two real volumes`);
  }
  return n;
}

/** A pool volume of a pair (pure). */
export function buildPoolPVC(
  namespace: string,
  id: string,
  which: Which,
  shape: PoolShape,
): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: poolVolumeName(id, which),
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POOL]: id, [LABEL_VOLUME]: which },
      annotations: { [ANNOTATION_POOL_CLASS]: shape.storageClass },
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: which === "workspace" ? shape.workspace : shape.home } },
      ...(shape.storageClass ? { storageClassName: shape.storageClass } : {}),
    },
  };
}

/** The uid the binder runs as (`true` needs no user of the image's). */
const NOBODY = 65534;

/** The binder Job's name (its pod's name is this with a generated suffix). */
export function binderName(id: string): string {
  return `kodama-pool-${id}-bind`;
}

/**
 * The binder Job: buildBinderPod once (issue 80: a pod lost with its node before the pair bound is made
 * again; mounting and ending is safe to repeat). Its labels are the pod's (the pool's).
 */
export function buildBinderJob(
  namespace: string,
  id: string,
  image: string,
  placement: Partial<V1PodSpec> = {},
): V1Job {
  return oneShotJob(buildBinderPod(namespace, id, image, placement));
}

/**
 * The short-lived pod that binds a `WaitForFirstConsumer` pair: it mounts both claims (so the scheduler
 * picks a node and the provisioner makes the volumes there) and exits at once. Pure.
 */
export function buildBinderPod(
  namespace: string,
  id: string,
  image: string,
  placement: Partial<V1PodSpec> = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: binderName(id),
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POOL]: id },
    },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      securityContext: { ...POD_SECCOMP },
      // the pull secrets, node selector and tolerations of the config's sessions (scheduling.ts)
      ...placement,
      containers: [{
        name: "bind",
        image,
        command: ["sh", "-c", "true"],
        // it only mounts the claims and ends: no capability, not root (Pod Security "restricted")
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          runAsNonRoot: true,
          runAsUser: NOBODY,
        },
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
        volumeMounts: [
          { name: "workspace", mountPath: "/pool/workspace" },
          { name: "home", mountPath: "/pool/home" },
        ],
      }],
      volumes: [
        { name: "workspace", persistentVolumeClaim: { claimName: poolVolumeName(id, "workspace") } },
        { name: "home", persistentVolumeClaim: { claimName: poolVolumeName(id, "home") } },
      ],
    },
  };
}

/** Group pool volumes into pairs (claimed ones — with a session label — are left out), oldest first. */
export function poolPairs(claims: V1PersistentVolumeClaim[]): PoolPair[] {
  const byId = new Map<string, PoolPair>();
  for (const c of claims) {
    const l = c.metadata?.labels ?? {};
    const id = l[LABEL_POOL];
    const which = l[LABEL_VOLUME];
    if (!id || l[LABEL_SESSION] !== undefined || (which !== "workspace" && which !== "home")) continue;
    const ns = c.metadata?.namespace ?? "";
    const key = `${ns}/${id}`;
    const p = byId.get(key) ?? { id, namespace: ns };
    p[which] = c;
    byId.set(key, p);
  }
  const created = (p: PoolPair) =>
    [p.workspace, p.home].map((c) => String(c?.metadata?.creationTimestamp ?? "")).sort()[0] ?? "";
  return [...byId.values()].sort((a, b) =>
    a.namespace.localeCompare(b.namespace) || created(a).localeCompare(created(b)) || a.id.localeCompare(b.id)
  );
}

export function pairState(p: PoolPair): PairState {
  const both = [p.workspace, p.home];
  if (both.some((c) => c?.metadata?.deletionTimestamp)) return "Deleting";
  if (!p.workspace || !p.home) return "Incomplete";
  return both.every((c) => c!.status?.phase === "Bound") ? "Bound" : "Pending";
}

const sizeOf = (c?: V1PersistentVolumeClaim) => c?.spec?.resources?.requests?.storage ?? "";
const classOf = (c?: V1PersistentVolumeClaim) => c?.metadata?.annotations?.[ANNOTATION_POOL_CLASS] ?? "";

/** The pair is what the shape asks for: the same sizes and class (the class asked for, not the default's name). */
export function pairMatches(p: PoolPair, s: PoolShape): boolean {
  return !!p.workspace && !!p.home && sameSize(sizeOf(p.workspace), s.workspace) &&
    sameSize(sizeOf(p.home), s.home) && classOf(p.workspace) === s.storageClass &&
    classOf(p.home) === s.storageClass;
}

function sameSize(a: string, b: string): boolean {
  try {
    return checkedSize(a, "size") === checkedSize(b, "size");
  } catch {
    return a === b;
  }
}

// ------------------------------------------------------------------------------------------ claim

function isConflict(e: unknown): boolean {
  return e instanceof KodamaError &&
    (e.code === ExitCode.NOT_FOUND || /modified|conflict|precondition|cannot be fulfilled/i.test(e.message));
}

/** The labels and settings a claimed volume carries: the session's, the pool label gone. */
function claimPatch(
  c: V1PersistentVolumeClaim,
  which: Which,
  id: string,
  labels: Record<string, string>,
  spec: SessionSpec,
) {
  return {
    metadata: {
      resourceVersion: c.metadata?.resourceVersion,
      labels: { ...labels, [LABEL_VOLUME]: which, [LABEL_POOL]: null },
      annotations: { [ANNOTATION_SPEC]: JSON.stringify(spec), [ANNOTATION_POOLED]: id },
    },
  };
}

export interface Claimed {
  id: string;
  workspace: V1PersistentVolumeClaim;
  /** undefined when the pair's home volume was gone by then (drained): the start makes a new one */
  home?: V1PersistentVolumeClaim;
  /** matching pairs the pool had before this claim (what a refill brings it back to) */
  had: number;
}

/**
 * Take a matching Bound pair for a session (undefined when there is none, or pool volumes are not
 * listable here). `labels` are the session's object labels; `withVolumes` the settings naming the pair.
 */
export async function claimPoolPair(
  kube: KubeObjects,
  spec: SessionSpec,
  labels: Record<string, string>,
  withVolumes: (v: { workspace: string; home: string }) => SessionSpec,
): Promise<Claimed | undefined> {
  const listed = await kube.listObjects<V1PersistentVolumeClaim>(
    "persistentvolumeclaims",
    spec.namespace,
    { labelSelector: `${POOL_SELECTOR},!${LABEL_SESSION}` },
  ).catch(() => undefined);
  if (!listed) return undefined;
  const shape = shapeOf(spec);
  const matching = poolPairs(listed.items).filter((p) => pairMatches(p, shape));
  for (const p of matching.filter((p) => pairState(p) === "Bound")) {
    const ws = p.workspace!.metadata!.name!;
    const home = p.home!.metadata!.name!;
    const s = withVolumes({ workspace: ws, home });
    let w: V1PersistentVolumeClaim;
    try {
      // the lock: only the start whose patch meets the listed version gets the pair
      w = await kube.patchObject(
        "persistentvolumeclaims",
        spec.namespace,
        ws,
        claimPatch(p.workspace!, "workspace", p.id, labels, s),
      );
    } catch (e) {
      if (isConflict(e)) continue;
      throw e;
    }
    let h: V1PersistentVolumeClaim | undefined;
    try {
      h = await kube.patchObject(
        "persistentvolumeclaims",
        spec.namespace,
        home,
        claimPatch(p.home!, "home", p.id, labels, s),
      );
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    return {
      id: p.id,
      workspace: w,
      ...(h ? { home: h } : {}),
      had: matching.filter((m) => pairState(m) !== "Deleting").length,
    };
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ commands

export interface EnsureOptions {
  size: number;
  shape: PoolShape;
  /** the binder pod's image (a `WaitForFirstConsumer` class) */
  image: string;
  /** the binder pod's pull secrets and placement (the config's defaults.scheduling) */
  placement?: Partial<V1PodSpec>;
  timeoutMs: number;
  noWait?: boolean;
  signal?: AbortSignal;
  out: Sink;
  err: Sink;
}

function shapeText(s: PoolShape): string {
  return `workspace ${s.workspace} + home ${s.home}, class ${s.storageClass || "(cluster default)"}`;
}

async function listPool(
  kube: KubeObjects,
  namespace: string | undefined,
): Promise<V1PersistentVolumeClaim[]> {
  try {
    return (await kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, {
      labelSelector: POOL_SELECTOR,
    })).items;
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
      throw new KodamaError(
        `pool: cannot list persistentvolumeclaims in ${
          namespace ? `namespace ${namespace}` : "any namespace"
        }: ${e.message}`,
        ExitCode.FORBIDDEN,
        "the pool needs list, create, patch and delete on persistentvolumeclaims (and pods, for a WaitForFirstConsumer class)",
      );
    }
    throw e;
  }
}

/** `kodama pool ensure --size N`: N matching pairs, Bound (unless `--no-wait`). */
export async function poolEnsure(kube: KubeObjects, namespace: string, o: EnsureOptions): Promise<number> {
  const pairs = poolPairs(await listPool(kube, namespace)).filter((p) =>
    pairMatches(p, o.shape) && pairState(p) !== "Deleting"
  );
  const made: string[] = [];
  for (let i = pairs.length; i < o.size; i++) {
    const id = newPairId();
    for (const which of ["workspace", "home"] as const) {
      await kube.createObject(
        "persistentvolumeclaims",
        namespace,
        buildPoolPVC(namespace, id, which, o.shape),
      );
    }
    made.push(id);
  }
  // more than asked for: the newest extra ones go (each on its listed version, so a claim in between wins)
  let trimmed = 0;
  for (const p of pairs.slice(o.size).reverse()) {
    if (await dropPair(kube, namespace, p)) trimmed++;
  }
  const have = Math.min(pairs.length, o.size) + made.length;
  o.err.write(
    `pool in namespace ${namespace}: ${have} pair${have === 1 ? "" : "s"} of ${shapeText(o.shape)}` +
      `${made.length ? ` (${made.length} new)` : ""}${trimmed ? ` (${trimmed} removed)` : ""}\n`,
  );
  if (o.noWait || have === 0) return ExitCode.OK;
  const ids = [...pairs.slice(0, o.size).filter((p) => pairState(p) !== "Bound").map((p) => p.id), ...made];
  if (ids.length) await waitPairsBound(kube, namespace, ids, o);
  o.out.write(`pool ready: ${have} Bound pair${have === 1 ? "" : "s"}\n`);
  return ExitCode.OK;
}

/** Delete a pair's volumes, each only in the version listed (a start that claimed it meanwhile wins). */
async function dropPair(kube: KubeObjects, namespace: string, p: PoolPair): Promise<number> {
  let n = 0;
  for (const c of [p.workspace, p.home]) {
    if (!c) continue;
    try {
      if (
        await kube.deleteObject("persistentvolumeclaims", namespace, c.metadata!.name!, {
          resourceVersion: c.metadata?.resourceVersion,
        })
      ) n++;
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
  await removeJob(kube, namespace, binderName(p.id), { gracePeriodSeconds: 0 });
  // an older kodama's bare binder pod
  await kube.deleteObject("pods", namespace, binderName(p.id), { gracePeriodSeconds: 0 }).catch(() => {});
  return n;
}

/**
 * Wait until the pairs are Bound. A class that binds only for a pod (`WaitForFirstConsumer`, told by the
 * class or by the claims' events) gets a binder pod per pair, deleted once its pair is Bound.
 */
async function waitPairsBound(
  kube: KubeObjects,
  namespace: string,
  ids: string[],
  o: EnsureOptions,
): Promise<void> {
  const { waitForClaimsBound } = await import("../lifecycle/wait.ts");
  const names = ids.flatMap((id) => [poolVolumeName(id, "workspace"), poolVolumeName(id, "home")]);
  const signal = o.signal ?? new AbortController().signal;
  const deadline = Date.now() + o.timeoutMs;
  const cls = o.shape.storageClass
    ? await kube.getObject<{ volumeBindingMode?: string }>("storageclasses", "", o.shape.storageClass)
      .catch(() => undefined)
    : undefined;
  let consumer = cls?.volumeBindingMode === "WaitForFirstConsumer";
  const binders: string[] = [];
  try {
    for (;;) {
      if (consumer && !binders.length) {
        o.err.write(
          `class ${
            o.shape.storageClass || "(cluster default)"
          } binds volumes only for a pod (WaitForFirstConsumer): a short-lived pod binds each pair\n`,
        );
        for (const id of ids) {
          const job = buildBinderJob(namespace, id, o.image, o.placement);
          await kube.createObject("jobs", namespace, job).catch((e) => {
            if (!/already exists/i.test((e as Error).message)) throw e;
          });
          binders.push(job.metadata!.name!);
        }
      }
      let said = false;
      const res = await waitForClaimsBound(kube, namespace, POOL_SELECTOR, names, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal,
        immediate: consumer || cls !== undefined,
        // one line: the provisioner's progress is in `kodama pool list`
        onWaiting: () => {
          if (!said) o.err.write(`waiting for ${names.length} volumes to bind…\n`);
          said = true;
        },
      });
      if (res.outcome === "bound") return;
      if (res.outcome === "interrupted") throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      if (res.outcome === "consumer" && !consumer) {
        consumer = true;
        continue;
      }
      if (res.outcome === "timeout") {
        if (res.events) o.err.write(`recent events:\n${res.events.replace(/^(?=.)/gm, "  ")}`);
        throw new KodamaError(
          `timed out after ${formatDuration(o.timeoutMs)}: the pool is still waiting for ${res.waiting}`,
          ExitCode.TIMEOUT,
          `the pairs stay and bind later (kodama pool list); \`kubectl describe pvc -n ${namespace}\` shows the provisioner's events`,
        );
      }
      // stuck (the provisioner's warning) or unknown (events not readable): say so, keep what was made
      throw new KodamaError(
        `the pool's volumes do not bind${res.waiting ? `: ${res.waiting}` : ""}`,
        ExitCode.FAILED,
        `\`kubectl describe pvc -n ${namespace} -l ${LABEL_POOL}\` shows why; \`kodama pool drain\` removes them`,
      );
    }
  } finally {
    for (const b of binders) await removeJob(kube, namespace, b, { gracePeriodSeconds: 0 });
  }
}

/** `kodama pool list`: one row per pair. */
export async function poolList(
  kube: KubeObjects,
  namespace: string | undefined,
  o: { output: string; out: Sink; err: Sink; now?: number },
): Promise<number> {
  const pairs = poolPairs(await listPool(kube, namespace));
  const rows = pairs.map((p) => ({
    pair: p.id,
    namespace: p.namespace,
    status: pairState(p),
    storageClass: classOf(p.workspace ?? p.home),
    workspace: p.workspace
      ? {
        name: p.workspace.metadata?.name,
        size: sizeOf(p.workspace),
        phase: p.workspace.status?.phase ?? "Pending",
      }
      : null,
    home: p.home
      ? { name: p.home.metadata?.name, size: sizeOf(p.home), phase: p.home.status?.phase ?? "Pending" }
      : null,
    createdAt: String(p.workspace?.metadata?.creationTimestamp ?? p.home?.metadata?.creationTimestamp ?? ""),
  }));
  if (o.output === "json") {
    o.out.write(JSON.stringify({ pairs: rows }, null, 2) + "\n");
    return ExitCode.OK;
  }
  if (o.output === "name") {
    for (const r of rows) o.out.write(`${r.pair}\n`);
    return ExitCode.OK;
  }
  if (!rows.length) {
    o.err.write(
      `no pool volumes in ${
        namespace ? `namespace ${namespace}` : "any namespace"
      } (kodama pool ensure --size N makes them)\n`,
    );
    return ExitCode.OK;
  }
  const now = o.now ?? Date.now();
  o.out.write(renderTable(
    [
      ...(namespace === undefined ? ["NAMESPACE"] : []),
      "PAIR",
      "STATUS",
      "WORKSPACE",
      "HOME",
      "STORAGECLASS",
      "AGE",
    ],
    rows.map((r) => [
      ...(namespace === undefined ? [r.namespace] : []),
      r.pair,
      r.status,
      r.workspace?.size ?? "-",
      r.home?.size ?? "-",
      r.storageClass || "<default>",
      formatAge(r.createdAt, now),
    ]),
  ));
  return ExitCode.OK;
}

/** `kodama pool drain`: delete the unclaimed pool volumes (never a session's) and leftover binder pods. */
export async function poolDrain(
  kube: KubeObjects,
  namespace: string,
  o: {
    out: Sink;
    err: Sink;
    /** asks before deleting (as `delete` does); undefined: no question (--yes, or a caller that asked) */
    confirm?: (message: string) => Promise<boolean>;
  },
): Promise<number> {
  const pairs = poolPairs(await listPool(kube, namespace));
  if (pairs.length && o.confirm) {
    const ok = await o.confirm(
      `Delete the warm pool's ${pairs.length} unclaimed volume pair${
        pairs.length === 1 ? "" : "s"
      } in namespace ${namespace}?`,
    );
    if (!ok) {
      o.err.write("not deleted\n");
      return ExitCode.OK;
    }
  }
  let n = 0;
  for (const p of pairs) n += await dropPair(kube, namespace, p);
  // binder Jobs and pods of pairs already gone (an ensure cut short; an older kodama's bare pods)
  const jobs = await kube.listObjects<V1Job>("jobs", namespace, { labelSelector: POOL_SELECTOR }).catch(
    () => ({ items: [] as V1Job[] }),
  );
  for (const job of jobs.items) {
    await removeJob(kube, namespace, job.metadata!.name!, { gracePeriodSeconds: 0 });
  }
  const pods = await kube.listObjects<V1Pod>("pods", namespace, { labelSelector: POOL_SELECTOR }).catch(
    () => ({ items: [] as V1Pod[] }),
  );
  for (const pod of pods.items) {
    await kube.deleteObject("pods", namespace, pod.metadata!.name!, { gracePeriodSeconds: 0 }).catch(
      () => {},
    );
  }
  o.out.write(`deleted ${n} pool volume${n === 1 ? "" : "s"} in namespace ${namespace}\n`);
  return ExitCode.OK;
}
