/**
 * The namespace's agent-CLI cache at a session's start (the I/O around clicache.ts's pure core): the PVC
 * made the first time a preset's CLI is needed, its install pod run once per CLI version (its fixed name
 * is the lock between kodama processes; a group's replicas share one `once`), and the verdict recorded
 * on the PVC when the storage cannot do ReadWriteMany, so later starts go straight to the per-session
 * install. Answers whether the session pod mounts the cache. Any failure here only means no cache.
 */
import type { CoreV1Event, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import type { Sink } from "../base/sink.ts";
import { KodamaError } from "../base/errors.ts";
import { once, type Shared } from "../session/lifecycle/shared.ts";
import type { SessionSpec } from "../session/spec/spec.ts";
import { PRESETS } from "./presets.ts";
import type { PresetInstall } from "./presets.ts";
import {
  buildCachePVC,
  buildInstallPod,
  cacheState,
  cacheUnavailable,
  CLI_CACHE_PVC,
  CLI_CACHE_UNAVAILABLE,
  CLI_CACHE_VERDICT,
  installPodName,
} from "./clicache.ts";

const PVCS = "persistentvolumeclaims";

/** The PVC annotation that says this image has the CLI (nothing to cache for it). */
async function inImageKey(image: string, i: PresetInstall): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(image)));
  const hex = [...h.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `kodama.dev/in-image-${i.bin}-${hex}`;
}

const conflict = (e: unknown) => e instanceof KodamaError && /already exists|AlreadyExists/i.test(e.message);

/** The cache PVC, made when missing. */
async function cachePVC(kube: Kube, ns: string): Promise<V1PersistentVolumeClaim> {
  const found = await kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC);
  if (found) return found;
  return await kube.createObject(PVCS, ns, buildCachePVC(ns)).catch(async (e) => {
    if (!conflict(e)) throw e;
    return (await kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC))!;
  });
}

/** The install pod for this version: the one there (unless older than the PVC: the cache was removed), else a new one. */
async function installPod(kube: Kube, spec: SessionSpec, i: PresetInstall, pvc: V1PersistentVolumeClaim) {
  const ns = spec.namespace;
  const name = installPodName(i);
  const pod = await kube.findObject<V1Pod>("pods", ns, name);
  const stale = pod && String(pod.metadata?.creationTimestamp) < String(pvc.metadata?.creationTimestamp);
  const ended = pod?.status?.phase === "Failed";
  if (pod && !stale && !ended) return false;
  if (pod) await kube.deleteObject("pods", ns, name, { gracePeriodSeconds: 0 }).catch(() => {});
  for (let n = 0; n < 50; n++) {
    try {
      await kube.createObject("pods", ns, buildInstallPod(spec, i));
      return true;
    } catch (e) {
      if (!conflict(e)) throw e;
      // another start's pod (the lock), or the one just deleted still going
      const p = await kube.findObject<V1Pod>("pods", ns, name);
      if (p && !p.metadata?.deletionTimestamp) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return false;
}

/** Record on the PVC that the storage cannot share it; later starts read it and skip the cache. */
function recordUnavailable(kube: Kube, ns: string): Promise<unknown> {
  return kube.patchObject(PVCS, ns, CLI_CACHE_PVC, {
    metadata: { annotations: { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE } },
  });
}

/** Wait for the install pod (polling the pod, the claim and its events), answering the cache's state. */
async function settle(
  kube: Kube,
  ns: string,
  name: string,
  inImage: string,
  timeoutMs: number,
  signal?: AbortSignal,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [pvc, pod, events] = await Promise.all([
      kube.findObject<V1PersistentVolumeClaim>(PVCS, ns, CLI_CACHE_PVC),
      kube.findObject<V1Pod>("pods", ns, name),
      kube.listObjects<CoreV1Event>("events", ns, {
        fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${CLI_CACHE_PVC}`,
      }).then((l) => l.items).catch(() => []),
    ]);
    const st = cacheState(pvc, pod, events, Date.now(), inImage);
    if (st !== "waiting") return { st, pod };
    if (Date.now() > deadline || signal?.aborted) return { st: "failed" as const, pod };
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface CliCacheOptions {
  cliCache: "auto" | "off";
  err: Sink;
  shared?: Shared;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Whether the session pod mounts the namespace's CLI cache: its preset's CLI is there (installed now by
 * the install pod, once for a group). One line says an install into the cache, or the fallback to the
 * per-session install (no ReadWriteMany storage: said once, then recorded on the PVC).
 */
export function prepareCliCache(kube: Kube, spec: SessionSpec, o: CliCacheOptions): Promise<boolean> {
  const preset = spec.agent?.preset;
  if (o.cliCache === "off" || !preset || !(preset in PRESETS)) return Promise.resolve(false);
  const i = PRESETS[preset as keyof typeof PRESETS].install;
  const key = `clicache\0${spec.namespace}\0${spec.image}\0${i.package}@${i.version}`;
  return once(o.shared, key, () => fill(kube, spec, i, o).catch(() => false));
}

async function fill(kube: Kube, spec: SessionSpec, i: PresetInstall, o: CliCacheOptions): Promise<boolean> {
  const ns = spec.namespace;
  const pvc = await cachePVC(kube, ns);
  const inImage = await inImageKey(spec.image, i);
  if (cacheUnavailable(pvc) || pvc.metadata?.annotations?.[inImage]) return false;
  const mine = await installPod(kube, spec, i, pvc);
  const t0 = Date.now();
  const { st } = await settle(kube, ns, installPodName(i), inImage, o.timeoutMs, o.signal);
  const secs = Math.round((Date.now() - t0) / 1000);
  if (st === "ready") {
    if (mine) {
      o.err.write(
        `kodama: installed ${i.bin} ${i.version} into the namespace's CLI cache (${CLI_CACHE_PVC}) in ${secs} s\n`,
      );
    }
    return true;
  }
  if (st === "in-image") {
    // the verdict on the claim first, then the pod gone: a start waiting on that pod reads the claim
    await kube.patchObject(PVCS, ns, CLI_CACHE_PVC, { metadata: { annotations: { [inImage]: spec.image } } });
    await kube.deleteObject("pods", ns, installPodName(i), { gracePeriodSeconds: 0 }).catch(() => {});
    return false;
  }
  if (st === "unavailable") {
    await recordUnavailable(kube, ns).catch(() => {});
    await kube.deleteObject("pods", ns, installPodName(i), { gracePeriodSeconds: 0 }).catch(() => {});
    o.err.write(
      `kodama: this namespace's storage cannot share the CLI cache (ReadWriteMany): each session installs ${i.bin} itself (recorded on PVC ${CLI_CACHE_PVC})\n`,
    );
    return false;
  }
  o.err.write(
    `kodama: the CLI cache install pod ${
      installPodName(i)
    } did not finish: this session installs ${i.bin} itself (kubectl logs -n ${ns} ${installPodName(i)})\n`,
  );
  return false;
}
