/**
 * The namespace's agent-CLI cache at a session's start (the I/O around clicache.ts's pure core): the PVC
 * made the first time a preset's CLI is needed, the install source decided from the user's own config and
 * environment (never the session's), its install Job run once per CLI version and source under its own
 * egress NetworkPolicy (the Job's fixed name is the lock between kodama processes; a group's replicas share
 * one `once`; a lost node's pod is replaced by the Job, and the start waits on past it), and the verdict recorded on the PVC when the storage cannot do ReadWriteMany, so later starts
 * go straight to the per-session install. Answers the cache entry (KEY) the session pod mounts, if any.
 * Any failure here only means no cache.
 */
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import type { Env } from "../../base/platform.ts";
import { KodamaError } from "../../base/errors.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { terminalText } from "../../base/text/escape.ts";
import { once, type Shared } from "../../session/lifecycle/shared.ts";
import { jobCreateFailure, jobPods, removeJob } from "../../session/lifecycle/oneshot.ts";
import { jobFinished } from "../../session/state/status.ts";
import { certificatesOf } from "../../session/spec/cabundle.ts";
import type { SessionSpec } from "../../session/spec/spec.ts";
import { PRESETS } from "../presets/presets.ts";
import type { PresetInstall } from "../presets/presets.ts";
import {
  ANNOTATION_SOURCE,
  buildCachePVC,
  buildInstallCaConfigMap,
  buildInstallJob,
  buildInstallPolicy,
  cacheKey,
  cacheState,
  cacheUnavailable,
  CLI_CACHE_PVC,
  CLI_CACHE_UNAVAILABLE,
  CLI_CACHE_VERDICT,
  failureReason,
  INSTALL_COMPONENT,
  installPodName,
  type InstallSource,
  installSource,
  LABEL_CACHE_KEY,
  probedImage,
} from "./clicache.ts";

const PVCS = "persistentvolumeclaims";
const NPS = "networkpolicies";

/** The PVC annotation that says this image has the CLI (nothing to cache for it). */
async function inImageKey(image: string, i: PresetInstall): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(image)));
  const hex = [...h.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `kodama.dev/in-image-${i.bin}-${hex}`;
}

const conflict = (e: unknown) => e instanceof KodamaError && /already exists|AlreadyExists/i.test(e.message);

/** The cache PVC, made when missing. */
async function cachePVC(kube: KubeObjects, ns: string): Promise<V1PersistentVolumeClaim> {
  const found = await kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC);
  if (found) return found;
  return await kube.createObject(PVCS, ns, buildCachePVC(ns)).catch(async (e) => {
    if (!conflict(e)) throw e;
    return (await kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC))!;
  });
}

/** The install pod's egress NetworkPolicy, made (or set to the user's rules) before the pod. */
async function installPolicy(
  kube: KubeObjects,
  spec: SessionSpec,
  i: PresetInstall,
  key: string,
): Promise<void> {
  const np = buildInstallPolicy(spec, i, key);
  if (!np) return;
  const name = np.metadata!.name!;
  await kube.createObject(NPS, spec.namespace, np).catch(async (e) => {
    if (!conflict(e)) throw e;
    await kube.patchObject(NPS, spec.namespace, name, { spec: np.spec });
  });
}

interface Plan {
  spec: SessionSpec;
  i: PresetInstall;
  src: InstallSource;
  key: string;
}

/**
 * The install Job for this entry: the one there (unless older than the PVC: the cache was removed; or
 * Failed: this start tries again), else a new one. True when this start made it.
 */
async function installJob(kube: KubeObjects, p: Plan, pvc: V1PersistentVolumeClaim, err: Sink) {
  const ns = p.spec.namespace;
  const name = installPodName(p.i, p.key);
  const job = await kube.findObject<V1Job>("jobs", ns, name);
  const stale = job && String(job.metadata?.creationTimestamp) < String(pvc.metadata?.creationTimestamp);
  if (job && !stale && jobFinished(job) !== "Failed") return false;
  if (job && !stale) {
    // an earlier start's install failed: said at once, before this one tries again (it waited in silence)
    const why = failureReason(await jobPods(kube, ns, name).catch(() => []));
    err.write(
      `kodama: the last install of ${p.i.bin} ${p.i.version} into the namespace's CLI cache failed${
        why ? ` (${terminalText(why).replace(/\n/g, " ")})` : ""
      }: trying again (job ${name})\n`,
    );
  }
  if (job) await removeJob(kube, ns, name, { gracePeriodSeconds: 0 });
  // an older kodama's bare install pod of that name (its record now is the Job's)
  await kube.deleteObject("pods", ns, name, { gracePeriodSeconds: 0 }).catch(() => {});
  // the policy first: the install pod never runs without it
  await installPolicy(kube, p.spec, p.i, p.key);
  const ca = buildInstallCaConfigMap(p.spec, p.i, p.src, p.key);
  if (ca) {
    await kube.createObject("configmaps", ns, ca).catch(async (e) => {
      if (!conflict(e)) throw e;
      await kube.patchObject("configmaps", ns, name, { data: ca.data });
    });
  }
  for (let n = 0; n < 50; n++) {
    try {
      await kube.createObject("jobs", ns, buildInstallJob(p.spec, p.i, p.src, p.key));
      return true;
    } catch (e) {
      if (!conflict(e)) throw e;
      // another start's Job (the lock), or the one just deleted still going
      const q = await kube.findObject<V1Job>("jobs", ns, name);
      if (q && !q.metadata?.deletionTimestamp) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return false;
}

/** The install Job, its pods and its policy gone (best effort): nothing of it is a record worth keeping. */
async function removeInstall(kube: KubeObjects, ns: string, name: string): Promise<void> {
  await removeJob(kube, ns, name, { gracePeriodSeconds: 0 });
  await kube.deleteObject(NPS, ns, name).catch(() => {});
  await kube.deleteObject("configmaps", ns, name).catch(() => {});
}

/** Record on the PVC that the storage cannot share it; later starts read it and skip the cache. */
function recordUnavailable(kube: KubeObjects, ns: string): Promise<unknown> {
  return kube.patchObject(PVCS, ns, CLI_CACHE_PVC, {
    metadata: { annotations: { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE } },
  });
}

/**
 * Wait for the install Job (polling it, its pods, the claim and its events), answering the cache's state.
 * A pod of it that goes (a lost node, an eviction) is no answer: the Job makes another, waited on too.
 */
async function settle(
  kube: KubeObjects,
  ns: string,
  name: string,
  inImage: string,
  timeoutMs: number,
  signal?: AbortSignal,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [pvc, job, pods, events] = await Promise.all([
      kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC),
      kube.findObject<V1Job>("jobs", ns, name),
      jobPods(kube, ns, name),
      kube.listObjects<CoreV1Event>("events", ns, {
        fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${CLI_CACHE_PVC}`,
      }).then((l) => l.items).catch(() => []),
    ]);
    const st = cacheState(pvc, job, pods, events, Date.now(), inImage);
    if (st !== "waiting") return { st, job, pods };
    // a pod the cluster will not make (the namespace's Pod Security, a quota): no use waiting for it
    const refused = job && !pods.length
      ? await jobCreateFailure(kube, ns, name, job.metadata?.uid)
      : undefined;
    if (refused) return { st: "failed" as const, job, pods, refused };
    if (Date.now() > deadline || signal?.aborted) return { st: "failed" as const, job, pods };
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface CliCacheOptions {
  cliCache: "auto" | "off";
  /** the user's choices (config.ts: agent.cliCacheImage else gateway.image, agent.cliCacheRegistry) */
  image: string;
  registry?: string;
  /** this machine's environment (its registry, proxy and CA variables) */
  env: Env;
  /**
   * the session's CA bundle: the certificates of the NODE_EXTRA_CA_CERTS you named (your environment, your
   * env files or config; never a repository's: config/steering.ts), as the session pod gets them at
   * /etc/kodama/ca/ca.pem (session/spec/cabundle.ts). The install pod gets them too, at the same path.
   */
  caPem?: string;
  err: Sink;
  shared?: Shared;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The certificates of this machine's NODE_EXTRA_CA_CERTS file, if it names one (only certificates travel). */
async function userCaPem(env: Env): Promise<string | undefined> {
  const p = env("NODE_EXTRA_CA_CERTS");
  if (!p) return undefined;
  const text = await readTextBounded(p, { what: "NODE_EXTRA_CA_CERTS", kind: "repoFile", display: p })
    .catch(() => "");
  const { certs } = certificatesOf(text);
  return certs.length ? certs.join("") : undefined;
}

/** The certificates of both bundles, each once, in order; undefined when neither has one. */
export function joinCerts(...pems: (string | undefined)[]): string | undefined {
  const all = [...new Set(pems.flatMap((p) => certificatesOf(p ?? "").certs))];
  return all.length ? all.join("") : undefined;
}

/**
 * The cache entry (KEY) the session pod mounts: its preset's CLI is there (installed now by the install pod,
 * once for a group), from the source the user's kodama decides. One line says an install into the cache,
 * or the fallback to the per-session install (no ReadWriteMany storage: said once, then recorded on the PVC).
 */
export function prepareCliCache(
  kube: KubeObjects,
  spec: SessionSpec,
  o: CliCacheOptions,
): Promise<string | undefined> {
  const preset = spec.agent?.preset;
  if (o.cliCache === "off" || !preset || !(preset in PRESETS)) return Promise.resolve(undefined);
  const i = PRESETS[preset as keyof typeof PRESETS].install;
  const key = `clicache\0${spec.namespace}\0${spec.image}\0${i.package}@${i.version}`;
  return once(o.shared, key, async () => {
    const { source, notes } = installSource(
      { image: o.image, registry: o.registry },
      o.env,
      joinCerts(o.caPem, await userCaPem(o.env)),
    );
    for (const n of notes) o.err.write(`note: ${n}\n`);
    const p: Plan = { spec, i, src: source, key: await cacheKey(i, source) };
    return await fill(kube, p, o).catch(() => undefined);
  });
}

/** Other entries' install Jobs of this CLI version (another registry or image): said, never used. */
async function otherSources(kube: KubeObjects, p: Plan): Promise<string[]> {
  const jobs = await kube.listObjects<V1Job>("jobs", p.spec.namespace, {
    labelSelector: `app.kubernetes.io/component=${INSTALL_COMPONENT}`,
  }).then((l) => l.items).catch(() => [] as V1Job[]);
  const out: string[] = [];
  for (const job of jobs) {
    if (job.metadata?.labels?.[LABEL_CACHE_KEY] === p.key || jobFinished(job) !== "Complete") continue;
    try {
      const s = JSON.parse(job.metadata?.annotations?.[ANNOTATION_SOURCE] ?? "");
      if (s.package === p.i.package && s.version === p.i.version) out.push(`${s.registry} with ${s.image}`);
    } catch { /* not one of ours */ }
  }
  return out;
}

async function fill(kube: KubeObjects, p: Plan, o: CliCacheOptions): Promise<string | undefined> {
  const { i, spec } = p;
  const ns = spec.namespace;
  const name = installPodName(i, p.key);
  const pvc = await cachePVC(kube, ns);
  const inImage = await inImageKey(spec.image, i);
  if (cacheUnavailable(pvc) || pvc.metadata?.annotations?.[inImage]) return undefined;
  const mine = await installJob(kube, p, pvc, o.err);
  const t0 = Date.now();
  const settled = await settle(kube, ns, name, inImage, o.timeoutMs, o.signal);
  const { st, job, pods } = settled;
  const secs = Math.round((Date.now() - t0) / 1000);
  if (st === "ready") {
    if (mine) {
      const others = await otherSources(kube, p);
      const not = others.length
        ? `; not the entries from another source (${
          terminalText(others.join("; "))
        }), which this session never uses`
        : "";
      o.err.write(
        `kodama: installed ${i.bin} ${i.version} from ${p.src.registry} (sha512 checked against the registry's integrity) into the namespace's CLI cache (${CLI_CACHE_PVC}, entry ${
          p.key.slice(0, 10)
        }) in ${secs} s${not}\n`,
      );
    }
    return p.key;
  }
  if (st === "in-image") {
    // the verdict is about the image the probe ran: recorded for it, then the Job gone (a start waiting on
    // that Job reads the claim); a start of another image waiting on it installs per session this once
    const probed = probedImage(job) ?? (job ? undefined : spec.image);
    if (probed) {
      const k = await inImageKey(probed, i);
      await kube.patchObject(PVCS, ns, CLI_CACHE_PVC, { metadata: { annotations: { [k]: probed } } });
    }
    await removeInstall(kube, ns, name);
    return undefined;
  }
  if (st === "unavailable") {
    await recordUnavailable(kube, ns).catch(() => {});
    await removeInstall(kube, ns, name);
    o.err.write(
      `kodama: this namespace's storage cannot share the CLI cache (ReadWriteMany): each session installs ${i.bin} itself (recorded on PVC ${CLI_CACHE_PVC})\n`,
    );
    return undefined;
  }
  const why = failureReason(pods) ?? ("refused" in settled ? settled.refused : undefined);
  o.err.write(
    `kodama: the CLI cache install job ${name} did not finish${
      why ? ` (${terminalText(why).replace(/\n/g, " ")})` : ""
    }: this session installs ${i.bin} itself (kubectl logs -n ${ns} job/${name})\n`,
  );
  return undefined;
}
