/**
 * The gateway's objects in a namespace, read and written through src/kube/: find it, its config and its
 * address, apply an object (create, else update in place), and read the pod's log lines.
 */
import type { V1Pod, V1Secret, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import type { Resource } from "../../kube/resources.ts";
import type { KubeObjects, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { GATEWAY_NAME, GATEWAY_PORT } from "../../session/spec/gateway.ts";
import { type GatewayConfig, parseGatewayConfig } from "./config.ts";
import { GATEWAY_POD, LEGACY_POD } from "./manifests.ts";

export interface GatewayObjects {
  service?: V1Service;
  secret?: V1Secret;
  set?: V1StatefulSet;
  /** the StatefulSet's pod, else a bare pod an older kodama made (`legacy`) */
  pod?: V1Pod;
  /** the bare pod of an older kodama, when there is one (beside the StatefulSet's, or alone) */
  legacy?: V1Pod;
}

const fromB64 = (s: string) => new TextDecoder().decode(Uint8Array.fromBase64(s));

/** The gateway's Service, Secret, StatefulSet and pod (each undefined when missing). */
export async function findGateway(kube: KubeObjects, ns: string): Promise<GatewayObjects> {
  const [service, secret, set, pod, legacy] = await Promise.all([
    kube.findObject<V1Service>("services", ns, GATEWAY_NAME),
    kube.findObject<V1Secret>("secrets", ns, GATEWAY_NAME),
    // a user who may read pods but not StatefulSets still gets the rest (the pod says what runs it)
    kube.findObject<V1StatefulSet>("statefulsets", ns, GATEWAY_NAME).catch((e) => {
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return undefined;
      throw e;
    }),
    kube.findObject<V1Pod>("pods", ns, GATEWAY_POD),
    kube.findObject<V1Pod>("pods", ns, LEGACY_POD),
  ]);
  return { service, secret, set, pod: pod ?? legacy, legacy };
}

/** The config.json its Secret holds (undefined when missing or unreadable). */
export function configOf(secret: V1Secret | undefined): GatewayConfig | undefined {
  const raw = secret?.data?.["config.json"];
  return raw ? parseGatewayConfig(fromB64(raw)) : undefined;
}

/** `http://CLUSTERIP:8080` (IPv6 in brackets); undefined without a ClusterIP. */
export function gatewayUrl(service: V1Service | undefined): string | undefined {
  const ip = service?.spec?.clusterIP;
  if (!ip || ip === "None") return undefined;
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${GATEWAY_PORT}`;
}

const isConflict = (e: unknown) =>
  e instanceof KodamaError && /already exists|AlreadyExists/i.test(e.message);

/** Create the object, or merge its labels, data and spec over the one there (`created`: it was new). */
export async function applyObject(
  kube: KubeObjects,
  resource: Resource,
  ns: string,
  body: { metadata?: { name?: string; labels?: Record<string, string> } } & Record<string, unknown>,
): Promise<"created" | "updated"> {
  try {
    await kube.createObject(resource, ns, body);
    return "created";
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
  const { apiVersion: _a, kind: _k, metadata, ...rest } = body;
  await kube.patchObject(resource, ns, metadata!.name!, { metadata: { labels: metadata?.labels }, ...rest });
  return "updated";
}

/**
 * The gateway pod's log lines that are JSON objects (the contract's log), oldest first (a signal ends the
 * read): the StatefulSet's pod, else the bare pod of an older kodama. A restarted gateway's log begins with
 * the figures it carried over from its journal (`carried` lines), so the sums of one log are the whole.
 */
export async function gatewayLogLines(
  kube: KubeStreams,
  ns: string,
  signal?: AbortSignal,
): Promise<Record<string, unknown>[]> {
  let chunks: Uint8Array[] = [];
  let size = 0;
  const LIMIT = 64 * 1024 * 1024;
  const read = (pod: string) => {
    chunks = [];
    size = 0;
    return kube.logOf(ns, pod, "gateway", {}, (c) => {
      if (size + c.length <= LIMIT) chunks.push(c);
      size += c.length;
    }, signal);
  };
  const missing = (e: unknown) => e instanceof KodamaError && e.code === ExitCode.NOT_FOUND;
  try {
    await read(GATEWAY_POD).catch((e) => {
      if (!missing(e)) throw e;
      return read(LEGACY_POD);
    });
  } catch (e) {
    if (missing(e)) {
      throw new KodamaError(
        `no gateway in namespace ${ns}`,
        ExitCode.NOT_FOUND,
        "kodama gateway ensure makes one",
      );
    }
    throw e;
  }
  const text = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).bytes());
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === "object") out.push(v);
    } catch { /* not one of the gateway's lines */ }
  }
  return out;
}
