/**
 * Snapshots of a session's volumes, and restoring them. When the cluster serves VolumeSnapshots and has a
 * VolumeSnapshotClass for the claims' driver, a snapshot is two VolumeSnapshots (volsnap.ts), restored as
 * claims with a `dataSource`. Otherwise, the portable path, which works on any cluster:
 * a short-lived copy pod (the session's image, on the session pod's node, since the volumes are
 * ReadWriteOnce) mounts the workspace and agent-home claims and writes one tar — `workspace/` and `home/`
 * — into a snapshot PVC `kodama-snap-SNAP`, or streams it over exec into a local file (`--to-file`).
 *
 *   snapshot create NAME [SNAP]   the tar into a new snapshot PVC (labels: managed-by kodama, snapshot, of)
 *   snapshot list | delete SNAP   only claims kodama made as snapshots are listed or deleted
 *   restore NAME SNAP|FILE        stop the session, empty its volumes, unpack, resume it (asks; --force)
 *   start NEW --from-snapshot     an init container unpacks the snapshot into the new, empty volumes
 *
 * Nothing here deletes what it did not make: a failed create removes only its own claim and pod.
 */
import type { V1Container, V1Job, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { renderTable } from "../../ui/table.ts";
import { formatAge } from "../../ui/table.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../spec/names.ts";
import { checkedSize, formatSize } from "../spec/quantity.ts";
import { formatBytes } from "../../base/text/bytes.ts";
import { FS_GROUP, namesOf, type SessionSpec } from "../spec/spec.ts";
import { containerSecurity, POD_SECCOMP } from "../spec/sandbox.ts";
import { podPlacement } from "../spec/scheduling.ts";
import { oneShotJob } from "../spec/oneshot.ts";
import { removeJob, withJobPod } from "../lifecycle/oneshot.ts";

const nonRoot = (spec: SessionSpec) => (spec.sandbox?.runAsUser ?? 0) > 0;
import { requireSession } from "../state/cluster.ts";
import {
  buildVolumeSnapshot,
  claimFromSnapshot,
  listVolumeSnapshots,
  snapshotClassFor,
  type Volume,
  VOLUMES,
  type VolumeSnapshot,
  volumeSnapshotName,
  waitSnapshotsReady,
} from "./volsnap.ts";
import { quote } from "../../base/text/escape.ts";
import RESTORE from "../pod/restore.sh" with { type: "text" };
import SNAPSHOT from "../pod/snapshot.sh" with { type: "text" };
import COPY_WAIT from "../pod/copywait.sh" with { type: "text" };

export const LABEL_SNAPSHOT = "kodama.dev/snapshot";
export const LABEL_SNAPSHOT_OF = "kodama.dev/snapshot-of";
/** set once the tar is complete: a snapshot without it is in progress or failed */
export const ANNOTATION_SNAPSHOT_DONE = "kodama.dev/snapshot-complete";
/** a portable snapshot's archive size in bytes (its claim's size is only the room it was given) */
export const ANNOTATION_SNAPSHOT_BYTES = "kodama.dev/snapshot-bytes";
export const SNAPSHOT_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_SNAPSHOT}`;
/** where the copy pod mounts things, and the tar's name in a snapshot claim */
const SRC = "/kodama-src";
const SNAP = "/kodama-snap";
export const TAR = "snapshot.tar";

export const snapshotClaim = (snap: string) => `kodama-snap-${snap}`;

/** A snapshot name: a DNS label short enough for its claim and pods (default NAME-<UTC time>). */
export function snapshotName(session: string, given: string | undefined, now = new Date()): string {
  const name = given ??
    `${session}-${now.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 50) {
    throw usageError(
      `invalid snapshot name ${quote(name)}: lowercase letters, digits and '-', at most 50 characters`,
    );
  }
  return name;
}

/**
 * The snapshot claim: the workspace's requested size (the tar of a workspace that is not nearly full, and of
 * the small agent home, fits; a sum of both would not fit the fixed-size volumes many clusters offer).
 */
export function buildSnapshotPVC(
  spec: SessionSpec,
  snap: string,
  storageClass: string | undefined,
  now = new Date(),
): V1PersistentVolumeClaim {
  const size = formatSize(checkedSize(spec.storage.workspace, "workspace"));
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: snapshotClaim(snap),
      namespace: spec.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SNAPSHOT]: snap, [LABEL_SNAPSHOT_OF]: spec.name },
      annotations: { "kodama.dev/snapshot-created": now.toISOString().replace(/\.\d+Z$/, "Z") },
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: size } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}

/** What a copy pod mounts, where it runs and how it is labelled. */
export interface CopyPodOptions {
  name: string;
  snapshotClaim?: string;
  /** claims restored from VolumeSnapshots, mounted read-only at SNAP/workspace and SNAP/home */
  restored?: Record<Volume, string>;
  write: boolean;
  node?: string;
  labels: Record<string, string>;
}

/**
 * The copy pod: the session's volumes at SRC/workspace and SRC/home (read-only to take a snapshot), the
 * snapshot claim at SNAP when there is one; it only waits, the work is done over exec.
 */
export function buildCopyPod(
  spec: SessionSpec,
  o: CopyPodOptions,
): V1Pod {
  const n = namesOf(spec);
  const mounts = [
    { name: "workspace", mountPath: `${SRC}/workspace`, readOnly: !o.write },
    { name: "home", mountPath: `${SRC}/home`, readOnly: !o.write },
    ...(o.snapshotClaim ? [{ name: "snap", mountPath: SNAP, readOnly: o.write }] : []),
    ...(o.restored
      ? VOLUMES.map((v) => ({ name: `restored-${v}`, mountPath: `${SNAP}/${v}`, readOnly: true }))
      : []),
  ];
  const container: V1Container = {
    name: "copy",
    image: spec.image,
    command: ["sh", "-c", COPY_WAIT],
    volumeMounts: mounts,
    // tar as the image's user, with the capabilities a root tar needs to read and restore every owner; as
    // the session's own non-root uid when it has one (its files are that user's; Pod Security "restricted")
    securityContext: nonRoot(spec)
      ? containerSecurity(spec.sandbox, true)
      : containerSecurity(undefined, false),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: spec.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, ...o.labels },
    },
    spec: {
      containers: [container],
      volumes: [
        { name: "workspace", persistentVolumeClaim: { claimName: n.workspacePVC, readOnly: !o.write } },
        { name: "home", persistentVolumeClaim: { claimName: n.homePVC, readOnly: !o.write } },
        ...(o.snapshotClaim
          ? [{ name: "snap", persistentVolumeClaim: { claimName: o.snapshotClaim, readOnly: o.write } }]
          : []),
        ...(o.restored
          ? VOLUMES.map((v) => ({
            name: `restored-${v}`,
            persistentVolumeClaim: { claimName: o.restored![v], readOnly: true },
          }))
          : []),
      ],
      securityContext: { fsGroup: FS_GROUP, fsGroupChangePolicy: "OnRootMismatch", ...POD_SECCOMP },
      automountServiceAccountToken: false,
      // the session's pull secrets, node selector and tolerations (scheduling.ts)
      ...podPlacement(spec.scheduling),
      // the session's claims are ReadWriteOnce: a running session's node is the only one that may mount them
      ...(o.node ? { nodeName: o.node } : {}),
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
    },
  };
}

/**
 * The restore in the copy pod (pod/restore.sh): it replaces both volumes' contents and never loses them
 * (each volume's entries are set aside on the same volume until the new ones are in; on a failure they
 * are put back). `from` a snapshot archive in the pod (read through first), or `-` for stdin, of which
 * exactly `bytes` must arrive (checked locally first, checkSnapshotFile: a cut stream would otherwise
 * replace the volumes with part of the snapshot).
 */
export function unpackCommand(from: string, bytes = 0, token = crypto.randomUUID().slice(0, 8)): string[] {
  return [
    "sh",
    "-c",
    RESTORE,
    "kodama-restore",
    SRC,
    token,
    ...(from === "-" ? ["stdin", String(bytes)] : ["tar", from]),
  ];
}

/**
 * Restore from VolumeSnapshots: the restored claims (SNAP/workspace, SNAP/home) are checked to be mounted
 * first; then each session volume gets the restored one's entries (its own set aside until that succeeded).
 */
export function copyBackCommand(token = crypto.randomUUID().slice(0, 8)): string[] {
  return ["sh", "-c", RESTORE, "kodama-restore", SRC, token, "volumes", SNAP];
}

/** pod/snapshot.sh: `stream` (a tar on stdout), `claim` (the tar to ARCHIVE, its size said), `into-empty`. */
function snapshotCommand(mode: "stream" | "claim" | "into-empty", archive?: string): string[] {
  return ["sh", "-c", SNAPSHOT, "kodama-snapshot", SRC, mode, ...(archive ? [archive] : [])];
}

// ------------------------------------------------------------------------------------------ cluster

export async function runIn(
  kube: Kube,
  ns: string,
  pod: string,
  command: string[],
  o: { stdout?: (c: Uint8Array) => void | Promise<void>; stdin?: ReadableStream<Uint8Array>; what: string },
): Promise<void> {
  const { execInPod } = await import("../../kube/exec.ts");
  const err: string[] = [];
  const dec = new TextDecoder();
  const r = await execInPod(kube, ns, pod, "copy", command, {
    ...(o.stdout ? { stdout: o.stdout } : {}),
    ...(o.stdin ? { stdin: o.stdin } : {}),
    stderr: (c) => void err.push(dec.decode(c)),
    ...(o.stdout ? { backpressure: true } : {}),
  });
  if (r.exitCode !== 0 || r.error) {
    const detail = (r.error ?? err.join("").trim().split("\n").slice(-3).join("; ")) || `exit ${r.exitCode}`;
    throw new KodamaError(`${o.what} failed in pod ${pod}: ${detail}`, ExitCode.FAILED);
  }
}

export interface SnapshotIO {
  out: Sink;
  err: Sink;
  timeoutMs: number;
}

/**
 * The copy Job (issue 80: its pod is a Job's, so a lost node's is made again): buildCopyPod as its
 * template, named `o.name`.
 */
export function buildCopyJob(spec: SessionSpec, o: CopyPodOptions): V1Job {
  return oneShotJob(buildCopyPod(spec, o));
}

/**
 * A copy Job for the session, its pod running; `fn` works in it, and starts over in the Job's next pod when
 * its pod went (a lost node, an eviction): every `fn` here is safe to run again (pod/snapshot.sh,
 * pod/restore.sh). The Job and its pods are always removed.
 */
export async function withCopyPod<T>(
  kube: KubeObjects,
  spec: SessionSpec,
  o: Omit<CopyPodOptions, "labels"> & { timeoutMs: number; err?: Sink },
  fn: (pod: string) => Promise<T>,
): Promise<T> {
  const ns = spec.namespace;
  const job = buildCopyJob(spec, { ...o, labels: { "kodama.dev/copy-of": spec.name } });
  // what an earlier run left (an older kodama's bare pod of that name too)
  await removeJob(kube, ns, o.name, { gracePeriodSeconds: 0 });
  await kube.deleteObject("pods", ns, o.name, { gracePeriodSeconds: 0 }).catch(() => {});
  for (let n = 0;; n++) {
    try {
      await kube.createObject("jobs", ns, job);
      break;
    } catch (e) {
      // the earlier run's Job still going away
      if (n < 50 && e instanceof KodamaError && /already exists/i.test(e.message)) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      throw e;
    }
  }
  return await withJobPod(kube, ns, o.name, {
    timeoutMs: o.timeoutMs,
    what: "copy",
    runAsUser: spec.sandbox?.runAsUser,
    onRetry: (pod) =>
      o.err?.write(`copy pod ${pod} went away: starting over in the next pod of job ${o.name}\n`),
  }, fn);
}

/**
 * `start NEW --from-snapshot SNAP`: between creating the volumes and the pod, a copy pod unpacks the snapshot
 * into them (it also binds WaitForFirstConsumer claims, next to the snapshot's volume). The session pod
 * never mounts the snapshot claim, so the snapshot can be deleted while the session runs.
 */
export async function restoreIntoNew(
  kube: Kube,
  spec: SessionSpec,
  snap: string,
  o: { timeoutMs: number; err: Sink },
): Promise<void> {
  o.err.write(`unpacking snapshot ${snap} into the new volumes…\n`);
  await withCopyPod(
    kube,
    spec,
    {
      name: `kodama-restore-${spec.name}`,
      snapshotClaim: snapshotClaim(snap),
      write: true,
      timeoutMs: o.timeoutMs,
      err: o.err,
    },
    (pod) =>
      runIn(kube, spec.namespace, pod, snapshotCommand("into-empty", `${SNAP}/${TAR}`), {
        what: "unpacking the snapshot",
      }),
  );
}

/** `snapshot create NAME [SNAP] [--to-file F]`. */
export async function createSnapshot(
  kube: Kube,
  ns: string,
  session: string,
  o: SnapshotIO & { snapshot?: string; toFile?: string; force?: boolean; portable?: boolean },
): Promise<number> {
  if (o.toFile !== undefined) {
    // where the copy goes is checked before any copy is made (a missing directory, a directory as the file)
    const { checkOutputFile } = await import("../../base/fs/localfs.ts");
    await checkOutputFile(o.toFile, "--to-file", {
      replace: o.force,
      replaceHint: "pass --force to replace it",
    });
  }
  const v = await requireSession(kube, ns, session);
  if (!v.spec) throw new KodamaError(`session ${session} carries no recorded settings`, ExitCode.FAILED);
  const spec = { ...v.spec, namespace: ns };
  const node = v.pod && !v.pod.metadata?.deletionTimestamp ? v.pod.spec?.nodeName : undefined;
  const snap = snapshotName(session, o.snapshot);
  const podName = `kodama-copy-${snap}`.slice(0, 63).replace(/-+$/, "");
  if (o.toFile !== undefined) {
    const { resolve } = await import("node:path");
    const path = resolve(o.toFile);
    const tmp = `${path}.kodama-partial`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      await withCopyPod(
        kube,
        spec,
        { name: podName, write: false, node, timeoutMs: o.timeoutMs, err: o.err },
        async (pod) => {
          // a try cut off with its pod: the next one writes the file from its start
          await f.truncate(0);
          await f.seek(0, Deno.SeekMode.Start);
          await runIn(kube, ns, pod, snapshotCommand("stream"), {
            what: "the snapshot",
            stdout: async (c) => {
              let off = 0;
              while (off < c.length) off += await f.write(c.subarray(off));
            },
          });
        },
      );
      f.close();
      await Deno.rename(tmp, path);
    } catch (e) {
      try {
        f.close();
      } catch { /* closed */ }
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    const size = (await Deno.stat(path)).size;
    o.out.write(`snapshot of ${session} written to ${o.toFile} (${formatSize(BigInt(size))})\n`);
    return ExitCode.OK;
  }
  if (await findSnapshot(kube, ns, snap)) {
    throw usageError(`snapshot ${snap} already exists`, "name another: kodama snapshot create NAME SNAP");
  }
  if (!o.portable) {
    const n = namesOf(spec);
    const claims = await Promise.all(
      [n.workspacePVC, n.homePVC].map((c) =>
        kube.getObject<V1PersistentVolumeClaim>("persistentvolumeclaims", ns, c)
      ),
    );
    const path = await snapshotClassFor(kube, claims);
    const why = "className" in path
      ? await createVolumeSnapshots(kube, ns, session, snap, claims, path.className, o)
      : path.why;
    if (typeof why === "number") return why;
    // the one-line reason, whatever it is (no snapshot API too): the user asked for the usual kind
    o.err.write(`not a VolumeSnapshot: ${why}; a portable snapshot instead\n`);
  }
  const claim = buildSnapshotPVC(spec, snap, spec.storage.storageClass);
  try {
    await kube.createObject("persistentvolumeclaims", ns, claim);
  } catch (e) {
    if (e instanceof KodamaError && /already exists/i.test(e.message)) {
      throw usageError(`snapshot ${snap} already exists`, "name another: kodama snapshot create NAME SNAP");
    }
    throw e;
  }
  try {
    o.err.write(`copying ${session}'s workspace and home into ${snapshotClaim(snap)}…\n`);
    let said = "";
    const dec = new TextDecoder();
    await withCopyPod(
      kube,
      spec,
      {
        name: podName,
        snapshotClaim: snapshotClaim(snap),
        write: false,
        node,
        timeoutMs: o.timeoutMs,
        err: o.err,
      },
      (pod) => {
        // a try cut off with its pod: snapshot.sh writes the archive anew (ARCHIVE.part, renamed)
        said = "";
        return runIn(
          kube,
          ns,
          pod,
          snapshotCommand("claim", `${SNAP}/${TAR}`),
          { what: "the snapshot", stdout: (c) => void (said += dec.decode(c, { stream: true })) },
        );
      },
    );
    const bytes = /^\s*(\d+)\s*$/.exec(said)?.[1];
    await kube.patchObject("persistentvolumeclaims", ns, snapshotClaim(snap), {
      metadata: {
        annotations: {
          [ANNOTATION_SNAPSHOT_DONE]: "true",
          ...(bytes ? { [ANNOTATION_SNAPSHOT_BYTES]: bytes } : {}),
        },
      },
    });
    if (bytes) {
      o.out.write(`snapshot/${snap} created (portable, ${archiveSize(bytes)})\n`);
      return ExitCode.OK;
    }
  } catch (e) {
    // only what this run made goes
    await kube.deleteObject("persistentvolumeclaims", ns, snapshotClaim(snap)).catch(() => {});
    throw e;
  }
  o.out.write(`snapshot/${snap} created\n`);
  return ExitCode.OK;
}

/**
 * The VolumeSnapshot path of `snapshot create`: one per volume, waited on until readyToUse. A user who may
 * not create VolumeSnapshots gets the portable path: the reason is returned instead of an exit code.
 */
async function createVolumeSnapshots(
  kube: KubeObjects,
  ns: string,
  session: string,
  snap: string,
  claims: V1PersistentVolumeClaim[],
  className: string,
  o: SnapshotIO,
): Promise<number | string> {
  const made: string[] = [];
  try {
    for (const [i, volume] of VOLUMES.entries()) {
      const vs = buildVolumeSnapshot({ namespace: ns, session, snap, volume, claim: claims[i], className });
      try {
        await kube.createObject("volumesnapshots", ns, vs);
      } catch (e) {
        if (!made.length && e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
          return "VolumeSnapshots may not be created with these credentials";
        }
        if (e instanceof KodamaError && /already exists/i.test(e.message)) {
          throw usageError(
            `snapshot ${snap} already exists`,
            "name another: kodama snapshot create NAME SNAP",
          );
        }
        throw e;
      }
      made.push(vs.metadata!.name!);
      if (made.length === 1) {
        o.err.write(`taking VolumeSnapshots of ${session}'s workspace and home (class ${className})…\n`);
      }
    }
    const ready = await waitSnapshotsReady(kube, ns, made, o.timeoutMs);
    o.out.write(`snapshot/${snap} created (VolumeSnapshot, ${ready[0].status?.restoreSize ?? "?"})\n`);
    return ExitCode.OK;
  } catch (e) {
    // only what this run made goes
    for (const n of made) await kube.deleteObject("volumesnapshots", ns, n).catch(() => {});
    throw e;
  }
}

/** A snapshot of either kind, found by name and label-checked; undefined when there is none. */
export type SnapshotRef =
  | { kind: "portable"; claim: V1PersistentVolumeClaim }
  | { kind: "volume"; volumes: Record<Volume, VolumeSnapshot> };

const ours = (o: { metadata?: { labels?: Record<string, string> } } | undefined, snap: string) =>
  o?.metadata?.labels?.[LABEL_SNAPSHOT] === snap && o?.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;

async function findSnapshot(kube: KubeObjects, ns: string, snap: string): Promise<SnapshotRef | undefined> {
  const c = await kube.findObject<V1PersistentVolumeClaim>("persistentvolumeclaims", ns, snapshotClaim(snap));
  if (ours(c, snap)) return { kind: "portable", claim: c! };
  const vs = (await listVolumeSnapshots(kube, ns)).filter((v) => ours(v, snap));
  const by = (v: Volume) =>
    vs.find((x) =>
      x.metadata?.name === volumeSnapshotName(snap, v) &&
      x.metadata?.labels?.["kodama.dev/snapshot-volume"] === v
    );
  const ws = by("workspace"), home = by("home");
  if (ws && home) return { kind: "volume", volumes: { workspace: ws, home } };
  return undefined;
}

/** A portable snapshot's size for a table cell: `512B`, `1.5KiB`, `3MiB`; "" when unknown. */
export function archiveSize(bytes: string | undefined): string {
  return bytes && /^\d+$/.test(bytes) ? formatBytes(Number(bytes)).replace(" ", "") : "";
}

/** Snapshot claims (kodama's only), optionally of one session. */
export async function listSnapshotClaims(kube: KubeObjects, ns: string | undefined, of?: string) {
  const sel = `${SNAPSHOT_SELECTOR}${of ? `,${LABEL_SNAPSHOT_OF}=${of}` : ""}`;
  return (await kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", ns, {
    labelSelector: sel,
  }))
    .items;
}

export async function listSnapshots(
  kube: KubeObjects,
  ns: string | undefined,
  o: { out: Sink; err: Sink; output: string; session?: string },
): Promise<number> {
  const [items, vss] = await Promise.all([
    listSnapshotClaims(kube, ns, o.session),
    listVolumeSnapshots(kube, ns, o.session),
  ]);
  const rows = items.map((c) => ({
    name: c.metadata?.labels?.[LABEL_SNAPSHOT] ?? "",
    namespace: c.metadata?.namespace ?? "",
    session: c.metadata?.labels?.[LABEL_SNAPSHOT_OF] ?? "",
    kind: "portable",
    status: c.metadata?.deletionTimestamp
      ? "Terminating"
      : c.metadata?.annotations?.[ANNOTATION_SNAPSHOT_DONE] === "true"
      ? "Ready"
      : "InProgress",
    // the archive's size (the claim's is only the room it was given); unknown for one made before it was kept
    size: archiveSize(c.metadata?.annotations?.[ANNOTATION_SNAPSHOT_BYTES]),
    objects: [c.metadata?.name ?? ""],
    created: c.metadata?.annotations?.["kodama.dev/snapshot-created"] ?? c.metadata?.creationTimestamp,
  }));
  // VolumeSnapshots: one row per snapshot (its workspace and home objects)
  const groups = new Map<string, VolumeSnapshot[]>();
  for (const v of vss) {
    const key = `${v.metadata?.namespace}/${v.metadata?.labels?.[LABEL_SNAPSHOT]}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  for (const vs of groups.values()) {
    const ws = vs.find((v) => v.metadata?.labels?.["kodama.dev/snapshot-volume"] === "workspace") ?? vs[0];
    rows.push({
      name: ws.metadata?.labels?.[LABEL_SNAPSHOT] ?? "",
      namespace: ws.metadata?.namespace ?? "",
      session: ws.metadata?.labels?.[LABEL_SNAPSHOT_OF] ?? "",
      kind: "VolumeSnapshot",
      status: vs.some((v) => v.metadata?.deletionTimestamp)
        ? "Terminating"
        : vs.length === 2 && vs.every((v) => v.status?.readyToUse === true)
        ? "Ready"
        : vs.some((v) => v.status?.error?.message)
        ? "Failed"
        : "InProgress",
      size: ws.status?.restoreSize ?? "",
      objects: vs.map((v) => v.metadata?.name ?? "").sort(),
      created: ws.metadata?.annotations?.["kodama.dev/snapshot-created"] ?? ws.metadata?.creationTimestamp,
    });
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  if (o.output === "json") {
    o.out.write(JSON.stringify({ items: rows }, null, 2) + "\n");
  } else if (o.output === "name") {
    o.out.write(rows.map((r) => `snapshot/${r.name}\n`).join(""));
  } else if (!rows.length) {
    o.err.write(`No snapshots found${ns ? ` in ${ns} namespace` : ""}.\n`);
  } else {
    o.out.write(renderTable(
      ["NAME", "SESSION", "STATUS", "KIND", "SIZE", "AGE"],
      rows.map((
        r,
      ) => [r.name, r.session, r.status, r.kind, r.size, r.created ? formatAge(String(r.created)) : ""]),
    ));
  }
  return ExitCode.OK;
}

/** A complete snapshot kodama made (either kind), or exit 3 (missing) / 1 (not complete). */
export async function requireSnapshot(kube: KubeObjects, ns: string, snap: string): Promise<SnapshotRef> {
  const ref = await findSnapshot(kube, ns, snap);
  if (!ref) {
    throw new KodamaError(
      `snapshot ${quote(snap)} not found in namespace ${ns}`,
      ExitCode.NOT_FOUND,
      "list them with `kodama snapshot list`",
    );
  }
  const done = ref.kind === "portable"
    ? ref.claim.metadata?.annotations?.[ANNOTATION_SNAPSHOT_DONE] === "true"
    : VOLUMES.every((v) => ref.volumes[v].status?.readyToUse === true);
  if (!done) {
    throw new KodamaError(
      `snapshot ${snap} is not complete (its copy failed or is still running)`,
      ExitCode.FAILED,
    );
  }
  return ref;
}

export async function deleteSnapshots(
  kube: KubeObjects,
  ns: string,
  snaps: string[],
  o: { out: Sink },
): Promise<number> {
  // only what kodama made as a snapshot: an object of that name without the labels is not touched
  const refs: [string, SnapshotRef][] = [];
  for (const s of snaps) {
    const ref = await findSnapshot(kube, ns, s);
    if (!ref) throw new KodamaError(`snapshot ${quote(s)} not found in namespace ${ns}`, ExitCode.NOT_FOUND);
    refs.push([s, ref]);
  }
  for (const [s, ref] of refs) {
    if (ref.kind === "portable") await kube.deleteObject("persistentvolumeclaims", ns, snapshotClaim(s));
    else {for (const v of VOLUMES) {
        await kube.deleteObject("volumesnapshots", ns, ref.volumes[v].metadata!.name!);
      }}
    o.out.write(`snapshot/${s} deleted\n`);
  }
  return ExitCode.OK;
}

/**
 * `restore NAME SNAP|FILE`: replaces the session's workspace and home with the snapshot's. It asks first
 * (or needs --force): what is there now is gone afterwards. A running session is stopped for the copy and
 * resumed after it.
 */
export async function restoreSnapshot(
  kube: Kube,
  ns: string,
  session: string,
  from: string,
  o: SnapshotIO & { force?: boolean; confirm: (q: string) => Promise<boolean>; interactive: boolean },
  resume: () => Promise<number>,
  stop: () => Promise<number>,
): Promise<number> {
  const v = await requireSession(kube, ns, session);
  if (!v.spec) throw new KodamaError(`session ${session} carries no recorded settings`, ExitCode.FAILED);
  const spec = { ...v.spec, namespace: ns };
  const file = await localFile(from);
  // a file that is no snapshot is refused before anything is asked, stopped or emptied
  const { gzip, bytes } = file ? await checkSnapshotFile(file, from) : { gzip: false, bytes: 0 };
  const ref = file ? undefined : await requireSnapshot(kube, ns, from);
  if (!o.force) {
    const q = `replace the workspace and home of session ${session} with ${
      file ? `the file ${from}` : `snapshot ${from}`
    }? What is in them now is lost.`;
    if (!o.interactive) {
      throw usageError(
        `restore replaces the workspace and home of session ${session}: what is in them now is lost`,
        `snapshot it first (kodama snapshot create ${session}), then pass --force`,
      );
    }
    if (!await o.confirm(q)) {
      o.err.write("nothing restored\n");
      return ExitCode.OK;
    }
  }
  const wasRunning = !!v.pod && !v.pod.metadata?.deletionTimestamp;
  let stopped = false;
  const stopIt = () => {
    stopped = true;
    return stop();
  };
  try {
    if (ref?.kind === "volume") {
      await restoreFromVolumeSnapshots(kube, spec, ref.volumes, { ...o, wasRunning, stop: stopIt });
    } else {
      if (wasRunning) await stopIt();
      await withCopyPod(
        kube,
        spec,
        {
          name: `kodama-restore-${session}`,
          write: true,
          ...(file ? {} : { snapshotClaim: snapshotClaim(from) }),
          timeoutMs: o.timeoutMs,
          err: o.err,
        },
        async (pod) => {
          if (file) {
            const f = await Deno.open(file);
            const stdin = gzip ? f.readable.pipeThrough(new DecompressionStream("gzip")) : f.readable;
            await runIn(kube, ns, pod, unpackCommand("-", bytes), { what: "the restore", stdin });
          } else {
            await runIn(kube, ns, pod, unpackCommand(`${SNAP}/${TAR}`), { what: "the restore" });
          }
        },
      );
    }
  } catch (e) {
    throw await restoreFailed(e, session, stopped && wasRunning, resume, o.err);
  }
  const kind = ref?.kind === "volume" ? " (VolumeSnapshot)" : "";
  o.out.write(`session/${session} restored from ${file ? from : `snapshot ${from}`}${kind}\n`);
  return wasRunning ? await resume() : ExitCode.OK;
}

/**
 * A restore that failed once the session was stopped: the copy left the volumes as they were (the set-aside
 * entries went back), so a session that was running is resumed, and the error says so.
 */
async function restoreFailed(
  e: unknown,
  session: string,
  resumeIt: boolean,
  resume: () => Promise<number>,
  err: Sink,
): Promise<KodamaError> {
  const msg = e instanceof Error ? e.message : String(e);
  const code = e instanceof KodamaError ? e.code : ExitCode.FAILED;
  if (!resumeIt) {
    return new KodamaError(
      `restore of ${session} failed: ${msg}`,
      code,
      e instanceof KodamaError ? e.hint : undefined,
    );
  }
  err.write(`restore of ${session} failed: resuming it as it was…\n`);
  const back = await resume().catch((r) => r instanceof Error ? r.message : String(r));
  return new KodamaError(
    `restore of ${session} failed: ${msg}`,
    code,
    back === ExitCode.OK
      ? `session ${session} was resumed with its workspace and home as they were`
      : `session ${session} could not be resumed (${back}): kodama resume ${session}`,
  );
}

/**
 * Restore over a session from VolumeSnapshots: new claims are made from the snapshots (dataSource), the
 * session is stopped, and a copy pod mounting both checks that the restored volumes are there before it
 * replaces the session volumes' contents with theirs. The session keeps its own claims (and so its
 * name-bound settings); the restored claims are removed after, whatever happened.
 */
async function restoreFromVolumeSnapshots(
  kube: Kube,
  spec: SessionSpec,
  volumes: Record<Volume, VolumeSnapshot>,
  o: SnapshotIO & { wasRunning: boolean; stop: () => Promise<number> },
): Promise<void> {
  const ns = spec.namespace;
  const names = {
    workspace: `kodama-restore-${spec.name}`.slice(0, 63),
    home: `kodama-restore-${spec.name}`.slice(0, 58) + "-home",
  };
  const made: string[] = [];
  try {
    for (const v of VOLUMES) {
      const base: V1PersistentVolumeClaim = {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          name: names[v],
          namespace: ns,
          labels: { [LABEL_MANAGED_BY]: MANAGED_BY, "kodama.dev/restore-of": spec.name },
        },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: {
            requests: { storage: v === "workspace" ? spec.storage.workspace : spec.storage.home },
          },
        },
      };
      await kube.deleteObject("persistentvolumeclaims", ns, names[v]).catch(() => {});
      await kube.createObject("persistentvolumeclaims", ns, claimFromSnapshot(base, volumes[v]));
      made.push(names[v]);
    }
    if (o.wasRunning) await o.stop();
    o.err.write(`copying the restored volumes into ${spec.name}'s…\n`);
    await withCopyPod(
      kube,
      spec,
      {
        name: `kodama-restore-${spec.name}`,
        restored: names,
        write: true,
        timeoutMs: o.timeoutMs,
        err: o.err,
      },
      (pod) => runIn(kube, ns, pod, copyBackCommand(), { what: "the restore" }),
    );
  } finally {
    for (const n of made) await kube.deleteObject("persistentvolumeclaims", ns, n).catch(() => {});
  }
}

/** What a path that is not a regular file is, for the line that refuses it. */
function kindOf(st: Deno.FileInfo): string {
  if (st.isDirectory) return "a directory";
  if (st.isFifo) return "a FIFO";
  if (st.isSocket) return "a socket";
  if (st.isCharDevice) return "a character device";
  if (st.isBlockDevice) return "a block device";
  return "not a regular file";
}

async function localFile(from: string): Promise<string | undefined> {
  if (!/[\\/.]/.test(from)) return undefined;
  const { resolve } = await import("node:path");
  const p = resolve(from);
  const st = await Deno.stat(p).catch(() => undefined);
  if (st?.isFile) return p;
  if (st && /[\\/]|\.tar(\.gz)?$|\.tgz$/.test(from)) {
    throw usageError(
      `${from} is ${kindOf(st)}, not a snapshot file`,
      "name a tar file made by snapshot create --to-file",
    );
  }
  if (/[\\/]|\.tar$/.test(from)) throw new KodamaError(`${from}: no such file`, ExitCode.NOT_FOUND);
  return undefined;
}

/**
 * A local snapshot file is read through before anything is stopped or emptied: a tar (or a gzipped tar) that
 * ends with its end-of-archive marker and holds only `workspace/…` and `home/…`, both of them. Anything else
 * is exit 2 naming the file. Says whether it is gzipped (it is unpacked here, the pod gets the tar) and how
 * many bytes the pod gets (the tar's, padding after the marker included: the pod counts them all).
 */
export async function checkSnapshotFile(
  path: string,
  shown: string,
): Promise<{ gzip: boolean; bytes: number }> {
  const bad = (why: string) => usageError(`${shown} ${why}`);
  const f = await Deno.open(path).catch((e) => {
    throw bad(`cannot be read: ${e instanceof Error ? e.message : e}`);
  });
  const head = new Uint8Array(2);
  const n = await f.read(head).finally(() => f.close());
  if (!n) throw bad("is empty, not a snapshot (a tar of workspace/ and home/)");
  const gzip = n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const { TarParser } = await import("../../pods/tarformat.ts");
  const tops = new Set<string>();
  let odd: string | undefined;
  const parser = new TarParser((e) => {
    const name = e.name.replace(/^(\.\/)+/, "");
    const parts = name.split("/");
    if (
      !odd && (name.startsWith("/") || parts.includes("..") || !["workspace", "home"].includes(parts[0]))
    ) odd = e.name;
    tops.add(parts[0]);
    return Promise.resolve(undefined);
  });
  const file = await Deno.open(path);
  let bytes = 0;
  try {
    const stream = gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
    for await (const chunk of stream) {
      bytes += chunk.length;
      if (!parser.done) await parser.push(chunk);
      if (odd) break;
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw bad(
      /checksum/.test(why)
        ? "is not a tar archive (a snapshot is one, made by snapshot create --to-file)"
        : `cannot be read as a ${gzip ? "gzipped " : ""}tar: ${why}`,
    );
  } finally {
    try {
      file.close();
    } catch { /* closed by the stream */ }
  }
  if (odd) {
    throw bad(`is not a kodama snapshot: it holds ${odd} (a snapshot holds only workspace/ and home/)`);
  }
  if (!parser.done) {
    throw bad(
      tops.size
        ? "is cut short: its tar ends before the end-of-archive marker"
        : "is not a tar archive (a snapshot is one, made by snapshot create --to-file)",
    );
  }
  const missing = ["workspace", "home"].filter((t) => !tops.has(t));
  if (missing.length) {
    throw bad(`is not a kodama snapshot: it has no ${missing.map((m) => `${m}/`).join(" and no ")}`);
  }
  return { gzip, bytes };
}
