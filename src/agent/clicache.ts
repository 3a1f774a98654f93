/**
 * The namespace's agent-CLI cache (issue 66 point 5), its pure core: a preset's CLI that the session image
 * lacks is installed once per namespace into the ReadWriteMany PVC `kodama-agent-clis`, by a short-lived
 * install pod (the session's image, sandbox and placement; pod/cachefill.sh), and session pods mount that
 * PVC read-only at CLI_CACHE_PATH, where pod/install.sh finds `<package>@<version>/bin/<bin>` before it would
 * install into the home volume. The install pod's fixed name is the lock between kodama processes. Nothing
 * here carries a session label, so `kodama delete` and `gc` never select the cache.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import CACHEFILL_SH from "./pod/cachefill.sh" with { type: "text" };
import CACHEFILL_RUN_SH from "./pod/cachefillrun.sh" with { type: "text" };
import type { PresetInstall } from "./presets.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../session/spec/names.ts";
import { containerSecurity, POD_SECCOMP } from "../session/spec/sandbox.ts";
import { podPlacement } from "../session/spec/scheduling.ts";
import { FS_GROUP, namesOf, type SessionSpec } from "../session/spec/spec.ts";

import { CLI_CACHE_PATH, CLI_CACHE_PVC } from "../session/spec/names.ts";
export { CLI_CACHE_PATH, CLI_CACHE_PVC };
/** The verdict on the PVC when the namespace's storage cannot do ReadWriteMany: later starts skip the cache. */
export const CLI_CACHE_VERDICT = "kodama.dev/cli-cache";
export const CLI_CACHE_UNAVAILABLE = "unavailable";
/** What the cache PVC asks for: a few CLI versions of ~70-200 MB each. */
export const CLI_CACHE_SIZE = "2Gi";
const COMPONENT = "app.kubernetes.io/component";

/** The install pod's name for one CLI version: fixed, so concurrent starts meet on AlreadyExists. */
export function installPodName(i: PresetInstall): string {
  const v = i.version.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return `${CLI_CACHE_PVC}-install-${i.bin}-${v}`.slice(0, 63).replace(/-+$/, "");
}

/** The directory of one CLI version inside the cache (the mount or the install pod's). */
export function cacheDir(root: string, i: PresetInstall): string {
  return `${root}/${i.package}@${i.version}`;
}

/** The cache PVC: ReadWriteMany, the cluster's default class unless `storageClass` names one. */
export function buildCachePVC(namespace: string, storageClass?: string): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: CLI_CACHE_PVC,
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [COMPONENT]: "agent-clis" },
    },
    spec: {
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage: CLI_CACHE_SIZE } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}

/** Whether a cache PVC carries the verdict that this namespace's storage cannot share it. */
export function cacheUnavailable(pvc: V1PersistentVolumeClaim | undefined): boolean {
  return pvc?.metadata?.annotations?.[CLI_CACHE_VERDICT] === CLI_CACHE_UNAVAILABLE;
}

/** The command of the install pod: pod/cachefill.sh into the PVC mounted at /cache. */
export function fillArgv(i: PresetInstall): string[] {
  return [
    "sh",
    "-c",
    [CACHEFILL_SH, CACHEFILL_RUN_SH].join("\n"),
    "kodama-cache-fill",
    "/cache",
    i.package,
    i.version,
    i.bin,
  ];
}

/**
 * The install pod: the session's image, container sandbox, pod seccomp, fsGroup, pull secrets and placement
 * (so it runs where and as a session pod may), the PVC read-write at /cache, an empty HOME for npm's own
 * cache, npm's settings from the session's env Secret (NPM_CONFIG_REGISTRY), no API token, never restarted.
 */
export function buildInstallPod(spec: SessionSpec, i: PresetInstall): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: installPodName(i),
      namespace: spec.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [COMPONENT]: "agent-clis-install" },
    },
    spec: {
      containers: [{
        name: "install",
        image: spec.image,
        command: fillArgv(i),
        env: [{ name: "HOME", value: "/tmp/home" }],
        envFrom: [{ secretRef: { name: namesOf(spec).envSecret, optional: true } }],
        volumeMounts: [{ name: "cache", mountPath: "/cache" }, { name: "home", mountPath: "/tmp/home" }],
        securityContext: containerSecurity(spec.sandbox, true),
      }],
      volumes: [
        { name: "cache", persistentVolumeClaim: { claimName: CLI_CACHE_PVC } },
        { name: "home", emptyDir: {} },
      ],
      securityContext: { fsGroup: FS_GROUP, fsGroupChangePolicy: "OnRootMismatch", ...POD_SECCOMP },
      ...podPlacement(spec.scheduling),
      automountServiceAccountToken: false,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 10,
    },
  };
}

/** Exit code of the install pod when the image has the CLI already (pod/cachefill.sh): nothing cached. */
export const IN_IMAGE_EXIT = 3;
/** How long a claim may stay Pending with its install pod waiting before the storage counts as no RWX. */
export const PENDING_BOUND_MS = 30_000;

/** Where the cache stands for one CLI version, from the PVC, its install pod and the PVC's events. */
export type CacheState = "ready" | "waiting" | "unavailable" | "in-image" | "failed";

/**
 * The install pod's and the claim's state: ready once the pod Succeeded; in-image when it exited
 * IN_IMAGE_EXIT; unavailable when the claim could not be provisioned (ProvisioningFailed: e.g. its class
 * has no ReadWriteMany) or stayed Pending PENDING_BOUND_MS after the pod was made; failed on any other end.
 * `inImage` is the claim's annotation for this image (clicachestart.ts): once the install pod's owner has
 * recorded it, the pod is deleted, and a start that waited on that pod reads the verdict from the claim.
 */
export function cacheState(
  pvc: V1PersistentVolumeClaim | undefined,
  pod: V1Pod | undefined,
  events: { reason?: string; involvedObject?: { kind?: string; name?: string; uid?: string } }[],
  now: number,
  inImage?: string,
): CacheState {
  if (cacheUnavailable(pvc)) return "unavailable";
  if (inImage && pvc?.metadata?.annotations?.[inImage]) return "in-image";
  const phase = pod?.status?.phase;
  if (phase === "Succeeded") return "ready";
  if (phase === "Failed") {
    const code = pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
    return code === IN_IMAGE_EXIT ? "in-image" : "failed";
  }
  if (pvc?.status?.phase === "Bound") return "waiting";
  const mine = (e: (typeof events)[number]) =>
    e.involvedObject?.kind === "PersistentVolumeClaim" && e.involvedObject.name === CLI_CACHE_PVC &&
    (!e.involvedObject.uid || e.involvedObject.uid === pvc?.metadata?.uid);
  if (events.some((e) => mine(e) && e.reason === "ProvisioningFailed")) return "unavailable";
  const made = Date.parse(String(pod?.metadata?.creationTimestamp ?? ""));
  if (pod && !Number.isNaN(made) && now - made > PENDING_BOUND_MS) return "unavailable";
  return "waiting";
}
