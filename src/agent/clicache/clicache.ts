/**
 * The namespace's agent-CLI cache (issue 66 point 5; issue 79: installed only as the user's kodama decides),
 * its pure core: a preset's CLI that the session image lacks is installed once per namespace and install
 * source into the ReadWriteMany PVC `kodama-agent-clis`, by a short-lived install pod, and session pods
 * mount that source's entry of the PVC read-only at CLI_CACHE_PATH, where pod/install.sh finds
 * `<package>@<version>/bin/<bin>` before it would install into the home volume.
 *
 * The install pod trusts nothing of the session: its environment is kodama's (InstallSource: the user's
 * config and this machine's registry, proxy and CA variables), its image is kodama's (agent.cliCacheImage,
 * else gateway.image), it runs under the user's sandbox egress policy (a NetworkPolicy of its own, same
 * rules), and what it installs is verified against the integrity the registry states before `.complete`.
 * Only its init container runs the session's image, with nothing of the session's, to ask whether that image
 * has the CLI already. The entry is KEY/ (cacheKey: a digest of package, version, registry and image), so a
 * cache filled from another source never satisfies a session. The install pod belongs to a Job (issue 80:
 * a lost node retries it; pod/cachefill.sh starts a retry over and never marks half an entry complete),
 * whose fixed name (with the key) is the lock between kodama processes and, once Complete, the record that
 * the entry is filled. Nothing here carries a session label: `delete` and `gc` never select it.
 */
import type {
  V1ConfigMap,
  V1EnvVar,
  V1Job,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import CACHEFILL_SH from "../pod/cachefill.sh" with { type: "text" };
import CACHEFILL_RUN_SH from "../pod/cachefillrun.sh" with { type: "text" };
import CACHEPROBE_SH from "../pod/cacheprobe.sh" with { type: "text" };
import { NETWORK_ENV, type PresetInstall } from "../presets/presets.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../session/spec/names.ts";
import { buildEgressPolicy, containerSecurity, POD_SECCOMP } from "../../session/spec/sandbox.ts";
import { podPlacement } from "../../session/spec/scheduling.ts";
import { FS_GROUP, type SessionSpec } from "../../session/spec/spec.ts";
import { oneShotJob } from "../../session/spec/oneshot.ts";
import { jobFinished } from "../../session/state/status.ts";

import { CLI_CACHE_PATH, CLI_CACHE_PVC } from "../../session/spec/names.ts";
export { CLI_CACHE_PATH, CLI_CACHE_PVC };
/** The verdict on the PVC when the namespace's storage cannot do ReadWriteMany: later starts skip the cache. */
export const CLI_CACHE_VERDICT = "kodama.dev/cli-cache";
export const CLI_CACHE_UNAVAILABLE = "unavailable";
/** What the cache PVC asks for: a few CLI versions of ~70-200 MB each. */
export const CLI_CACHE_SIZE = "2Gi";
const COMPONENT = "app.kubernetes.io/component";
export const INSTALL_COMPONENT = "agent-clis-install";
/** The install pod's (and its NetworkPolicy's) label: the entry it fills. */
export const LABEL_CACHE_KEY = "kodama.dev/cli-cache-key";
/** The install pod's annotation: what it installs from (package, version, registry, image), as JSON. */
export const ANNOTATION_SOURCE = "kodama.dev/cli-cache-source";
/** npm's own registry: the install source's when neither the user's config nor environment names one. */
export const DEFAULT_REGISTRY = "https://registry.npmjs.org/";
/** Where the install container writes its one-line failure (the termination message). */
const RESULT = "/tmp/home/kodama-fill-result";

/**
 * Where the install pod installs from, and with what: kodama's decision alone. `image` and `registry`
 * count in the entry's key; `env` (proxies) and `caPem` (certificates) only help reach the registry.
 */
export interface InstallSource {
  image: string;
  registry: string;
  env: { name: string; value: string }[];
  caPem?: string;
}

/** The proxy variables of this machine that go to the install pod (the CA bundle goes as caPem). */
export const INSTALL_PROXY_ENV: readonly string[] = NETWORK_ENV.filter((n) => n !== "NODE_EXTRA_CA_CERTS");
/** This machine's registry variables, in order, when the config names no registry. */
export const REGISTRY_ENV: readonly string[] = ["NPM_CONFIG_REGISTRY", "npm_config_registry"];

const NO_CREDENTIALS_URL = /^https?:\/\/[^\s/@]+(\/[^\s@]*)?$/;

/**
 * The install source from the user's own choices only: `agent.cliCacheImage` (else gateway.image) and
 * `agent.cliCacheRegistry` (else this machine's NPM_CONFIG_REGISTRY, else npm's own), and this machine's
 * proxies. Never a session's env Secret, a template or a repository's file. A registry or proxy with
 * credentials in it is left out (said in `notes`): the install pod's spec is readable in the namespace.
 */
export function installSource(
  user: { image: string; registry?: string },
  env: (name: string) => string | undefined,
  caPem?: string,
): { source: InstallSource; notes: string[] } {
  const notes: string[] = [];
  let registry = user.registry;
  if (!registry) {
    const name = REGISTRY_ENV.find((n) => env(n));
    const v = name ? env(name)! : undefined;
    if (v && NO_CREDENTIALS_URL.test(v)) registry = v;
    else if (v) {
      notes.push(
        `${name} of this environment is not an http(s) URL without credentials: the CLI cache installs from ${DEFAULT_REGISTRY}`,
      );
    }
  }
  registry = (registry ?? DEFAULT_REGISTRY).replace(/\/*$/, "/");
  const out: InstallSource["env"] = [];
  for (const name of INSTALL_PROXY_ENV) {
    const v = env(name);
    if (!v) continue;
    // a user or password before the host, with a scheme or without one
    if (v.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split("/")[0].includes("@")) {
      notes.push(`${name} holds credentials: not given to the CLI cache's install pod`);
    } else out.push({ name, value: v });
  }
  return { source: { image: user.image, registry, env: out, ...(caPem ? { caPem } : {}) }, notes };
}

/** The entry of one CLI version from one source: sha256 of package, version, registry and image (32 hex). */
export async function cacheKey(
  i: PresetInstall,
  src: Pick<InstallSource, "image" | "registry">,
): Promise<string> {
  const text = JSON.stringify([i.package, i.version, src.registry, src.image]);
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...h.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The install Job's name for one CLI version and entry (its NetworkPolicy's and CA ConfigMap's too): fixed,
 * so concurrent starts meet on AlreadyExists. Its pod's name is the Job's with a generated suffix.
 */
export function installPodName(i: PresetInstall, key: string): string {
  const v = i.version.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const base = `${CLI_CACHE_PVC}-install-${i.bin}-${v}`.slice(0, 63 - 11).replace(/-+$/, "");
  return `${base}-${key.slice(0, 10)}`;
}

/** The directory of one CLI version inside an entry (the session's mount, or the install pod's /cache/KEY). */
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

/** The install container's command: pod/cachefill.sh into the entry /cache/KEY, from the source's registry. */
export function fillArgv(i: PresetInstall, key: string, registry: string): string[] {
  return [
    "sh",
    "-c",
    [CACHEFILL_SH, CACHEFILL_RUN_SH].join("\n"),
    "kodama-cache-fill",
    `/cache/${key}`,
    i.package,
    i.version,
    i.bin,
    registry,
  ];
}

/** The init container's command (the session's image): pod/cacheprobe.sh, exit 3 when it has BIN. */
export function probeArgv(i: PresetInstall): string[] {
  return ["sh", "-c", CACHEPROBE_SH, "kodama-cli-probe", i.bin];
}

/** The install container's whole environment: kodama's, from the source; nothing of the session's. */
export function installEnv(src: InstallSource): V1EnvVar[] {
  return [
    { name: "HOME", value: "/tmp/home" },
    { name: "NPM_CONFIG_REGISTRY", value: src.registry },
    { name: "NPM_CONFIG_UPDATE_NOTIFIER", value: "false" },
    { name: "KODAMA_FILL_RESULT", value: RESULT },
    ...src.env,
    ...(src.caPem ? [{ name: "KODAMA_CA_FILE", value: `${INSTALL_CA_DIR}/ca.pem` }] : []),
  ];
}

/** Where the install container reads the user's certificates (buildInstallCaConfigMap, mounted). */
export const INSTALL_CA_DIR = "/etc/kodama/ca";

/**
 * The user's certificates for the install pod, in a ConfigMap named as the pod (public data). Not an
 * environment variable: a bundle over 128 KiB (Debian's whole CA store is ~200 KiB) passes Linux's limit on
 * one environment string, and the container never starts (`exec /usr/bin/sh: argument list too long`, seen
 * on a real node). Undefined without certificates.
 */
export function buildInstallCaConfigMap(
  spec: SessionSpec,
  i: PresetInstall,
  src: InstallSource,
  key: string,
): V1ConfigMap | undefined {
  if (!src.caPem) return undefined;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: installPodName(i, key), namespace: spec.namespace, labels: installLabels(key) },
    data: { "ca.pem": src.caPem },
  };
}

const installLabels = (key: string) => ({
  [LABEL_MANAGED_BY]: MANAGED_BY,
  [COMPONENT]: INSTALL_COMPONENT,
  [LABEL_CACHE_KEY]: key,
});

/**
 * The install pod. Its install container: the source's image and environment (installEnv), the PVC
 * read-write at /cache, an empty HOME, no API token, no envFrom. Its init container alone runs the
 * session's image (probeArgv), with no env and no volume. Both get the session's container sandbox; the pod
 * the session's seccomp, fsGroup, pull secrets and placement (so it runs where a session pod may), and the
 * labels its NetworkPolicy (buildInstallPolicy) selects. Never restarted.
 */
export function buildInstallPod(spec: SessionSpec, i: PresetInstall, src: InstallSource, key: string): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: installPodName(i, key),
      namespace: spec.namespace,
      labels: installLabels(key),
      annotations: {
        [ANNOTATION_SOURCE]: JSON.stringify({
          package: i.package,
          version: i.version,
          registry: src.registry,
          image: src.image,
        }),
      },
    },
    spec: {
      initContainers: [{
        name: "probe",
        image: spec.image,
        command: probeArgv(i),
        securityContext: containerSecurity(spec.sandbox, true),
      }],
      containers: [{
        name: "install",
        image: src.image,
        command: fillArgv(i, key, src.registry),
        env: installEnv(src),
        volumeMounts: [
          { name: "cache", mountPath: "/cache" },
          { name: "home", mountPath: "/tmp/home" },
          ...(src.caPem ? [{ name: "ca", mountPath: INSTALL_CA_DIR, readOnly: true }] : []),
        ],
        securityContext: containerSecurity(spec.sandbox, true),
        terminationMessagePath: RESULT,
      }],
      volumes: [
        { name: "cache", persistentVolumeClaim: { claimName: CLI_CACHE_PVC } },
        { name: "home", emptyDir: {} },
        ...(src.caPem ? [{ name: "ca", configMap: { name: installPodName(i, key) } }] : []),
      ],
      securityContext: { fsGroup: FS_GROUP, fsGroupChangePolicy: "OnRootMismatch", ...POD_SECCOMP },
      ...podPlacement(spec.scheduling),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 10,
    },
  };
}

/** The install container's exit code when pod/cachefill.sh gave its reason (kodama_fill_fail). */
export const FILL_FAILED_EXIT = 1;

/**
 * The install Job: buildInstallPod as its template, retried after a disruption (a lost node, an eviction)
 * and after a crash, but not after the probe's in-image verdict or the fill's own reasoned failure (an
 * integrity mismatch, a registry that did not answer): those end the Job at once, as the bare pod ended.
 */
export function buildInstallJob(spec: SessionSpec, i: PresetInstall, src: InstallSource, key: string): V1Job {
  return oneShotJob(buildInstallPod(spec, i, src, key), {
    rules: [
      { action: "FailJob", onExitCodes: { containerName: "probe", operator: "In", values: [IN_IMAGE_EXIT] } },
      {
        action: "FailJob",
        onExitCodes: { containerName: "install", operator: "In", values: [FILL_FAILED_EXIT] },
      },
    ],
  });
}

/**
 * The install pod's egress NetworkPolicy (named as the pod, made before it): the user's sandbox rules
 * (session.egress: DNS and every address but the metadata endpoints and egress.deny, or only egress.allow),
 * as a session without a gateway gets them. Undefined when the user turned the policy off.
 */
export function buildInstallPolicy(
  spec: SessionSpec,
  i: PresetInstall,
  key: string,
): V1NetworkPolicy | undefined {
  const egress = spec.sandbox?.egress;
  if (!egress) return undefined;
  const name = installPodName(i, key);
  const meta = { name, namespace: spec.namespace, labels: installLabels(key), annotations: {} };
  return buildEgressPolicy(egress, meta, installLabels(key));
}

/** Exit code of the install pod's probe when the session's image has the CLI (or no node): nothing cached. */
export const IN_IMAGE_EXIT = 3;
/** How long a claim may stay Pending with its install pod waiting before the storage counts as no RWX. */
export const PENDING_BOUND_MS = 30_000;

/** Where the cache stands for one CLI version, from the PVC, its install Job and pods and the PVC's events. */
export type CacheState = "ready" | "waiting" | "unavailable" | "in-image" | "failed";

const probeExit = (p: V1Pod) => p.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode;
const installExit = (p: V1Pod) =>
  p.status?.containerStatuses?.find((c) => c.name === "install")?.state?.terminated?.exitCode;

/**
 * The install Job's and the claim's state: ready once a pod of it Succeeded (or the Job is Complete);
 * in-image when a pod's probe exited IN_IMAGE_EXIT; failed when the Job Failed (its retries spent, or the
 * fill's own verdict), or a pod's fill gave its verdict and no other pod of the Job runs — a pod that failed
 * otherwise while the Job goes on (a lost node, an eviction) is only waited
 * past; unavailable when the claim could not be provisioned (ProvisioningFailed: e.g. its class has no
 * ReadWriteMany) or stayed Pending PENDING_BOUND_MS after the Job was made. `inImage` is the claim's
 * annotation for this image (clicachestart.ts): once the Job's owner has recorded it, the Job is deleted,
 * and a start that waited on it reads the verdict from the claim.
 */
export function cacheState(
  pvc: V1PersistentVolumeClaim | undefined,
  job: V1Job | undefined,
  pods: V1Pod[],
  events: { reason?: string; involvedObject?: { kind?: string; name?: string; uid?: string } }[],
  now: number,
  inImage?: string,
): CacheState {
  if (cacheUnavailable(pvc)) return "unavailable";
  if (inImage && pvc?.metadata?.annotations?.[inImage]) return "in-image";
  if (pods.some((p) => p.status?.phase === "Succeeded") || jobFinished(job) === "Complete") return "ready";
  if (pods.some((p) => p.status?.phase === "Failed" && probeExit(p) === IN_IMAGE_EXIT)) return "in-image";
  if (jobFinished(job) === "Failed") return "failed";
  // the fill's own verdict (its reason said, FILL_FAILED_EXIT) with no other try going: failed now, also where
  // the cluster does not apply the Job's podFailurePolicy (its Job would retry after 10 s, 20 s, 40 s…)
  const active = pods.some((p) => p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded");
  if (!active && pods.some((p) => p.status?.phase === "Failed" && installExit(p) === FILL_FAILED_EXIT)) {
    return "failed";
  }
  if (pvc?.status?.phase === "Bound") return "waiting";
  const mine = (e: (typeof events)[number]) =>
    e.involvedObject?.kind === "PersistentVolumeClaim" && e.involvedObject.name === CLI_CACHE_PVC &&
    (!e.involvedObject.uid || e.involvedObject.uid === pvc?.metadata?.uid);
  if (events.some((e) => mine(e) && e.reason === "ProvisioningFailed")) return "unavailable";
  const made = Date.parse(String(job?.metadata?.creationTimestamp ?? ""));
  if (job && !Number.isNaN(made) && now - made > PENDING_BOUND_MS) return "unavailable";
  return "waiting";
}

/** The install container's one-line reason for failing (the newest termination message of the Job's pods). */
export function failureReason(pods: V1Pod[]): string | undefined {
  const newest = [...pods].sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? ""))
  );
  for (const pod of newest) {
    const m = pod.status?.containerStatuses?.find((c) => c.name === "install")?.state?.terminated?.message;
    const line = m?.split("\n")[0]?.trim();
    if (line) return line.slice(0, 300);
  }
  return undefined;
}

/** The session image the install Job's probe ran (its in-image verdict is about that image only). */
export function probedImage(job: V1Job | undefined): string | undefined {
  return job?.spec?.template?.spec?.initContainers?.[0]?.image;
}
