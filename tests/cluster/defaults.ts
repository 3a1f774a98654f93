/** Defaults the API server fills in (pod spec, services, secrets' stringData, PVCs, namespaces) and small helpers. */
import { defaultPullPolicy } from "./runtime/images.ts";
import { apiVersionOf, type ResourceDef } from "./resources.ts";
import type { Obj } from "./store.ts";
import { defaultNetworkPolicy } from "./netpol.ts";

export const NODE_NAME = "kodama-test-node";
export const SYSTEM_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"];

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

const GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789";
export function randomSuffix(n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) s += GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)];
  return s;
}

/** Defaults applied on create and update (spec/data only; status is set elsewhere). */
export function applyDefaults(def: ResourceDef, o: Obj) {
  o.apiVersion = apiVersionOf(def);
  o.kind = def.kind;
  switch (def.name) {
    case "networkpolicies":
      defaultNetworkPolicy(o);
      break;
    case "pods": {
      const s = o.spec ??= {};
      s.restartPolicy ??= "Always";
      s.terminationGracePeriodSeconds ??= 30;
      s.dnsPolicy ??= "ClusterFirst";
      s.serviceAccountName ??= s.serviceAccount ?? "default";
      s.serviceAccount ??= s.serviceAccountName;
      s.securityContext ??= {};
      s.schedulerName ??= "default-scheduler";
      s.enableServiceLinks ??= true;
      s.preemptionPolicy ??= "PreemptLowerPriority";
      s.priority ??= 0;
      s.tolerations ??= [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ];
      for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) {
        if (!c || typeof c !== "object") continue;
        c.imagePullPolicy ??= defaultPullPolicy(String(c.image ?? ""));
        c.terminationMessagePath ??= "/dev/termination-log";
        c.terminationMessagePolicy ??= "File";
        c.resources ??= {};
        // a limit without a request: the request is the limit (the API server's defaulting)
        for (const [k, v] of Object.entries((c.resources.limits ?? {}) as Record<string, unknown>)) {
          c.resources.requests ??= {};
          c.resources.requests[k] ??= v;
        }
        for (const p of c.ports ?? []) p.protocol ??= "TCP";
      }
      for (const v of s.volumes ?? []) {
        if (v.configMap) v.configMap.defaultMode ??= 420;
        if (v.secret) v.secret.defaultMode ??= 420;
      }
      break;
    }
    case "secrets": {
      o.type ??= "Opaque";
      if (o.stringData && typeof o.stringData === "object") {
        o.data ??= {};
        for (const [k, v] of Object.entries(o.stringData)) o.data[k] = b64encode(String(v));
        delete o.stringData;
      }
      break;
    }
    case "services": {
      const s = o.spec ??= {};
      s.type ??= "ClusterIP";
      s.sessionAffinity ??= "None";
      if (s.type !== "ExternalName") {
        s.ipFamilies ??= ["IPv4"];
        s.ipFamilyPolicy ??= "SingleStack";
        s.internalTrafficPolicy ??= "Cluster";
      }
      for (const p of s.ports ?? []) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      break;
    }
    case "persistentvolumeclaims": {
      const s = o.spec ??= {};
      s.volumeMode ??= "Filesystem";
      break;
    }
    case "storageclasses": {
      o.reclaimPolicy ??= "Delete";
      o.volumeBindingMode ??= "Immediate";
      break;
    }
    case "namespaces": {
      o.spec ??= {};
      o.spec.finalizers ??= ["kubernetes"];
      o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
      break;
    }
    case "events": {
      o.count ??= 1;
      break;
    }
  }
}

export function qosClass(pod: Obj): string {
  const cs: Obj[] = pod.spec?.containers ?? [];
  const anyRes = cs.some((c) =>
    Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length
  );
  if (!anyRes) return "BestEffort";
  const guaranteed = cs.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = c.resources?.requests ?? l;
    return l.cpu && l.memory && String(r.cpu ?? l.cpu) === String(l.cpu) &&
      String(r.memory ?? l.memory) === String(l.memory);
  });
  return guaranteed ? "Guaranteed" : "Burstable";
}

export /** apiVersion, kind, metadata first, like the real API server's JSON. */
function canonicalOrder(o: Obj): Obj {
  const { apiVersion, kind, metadata, ...rest } = o;
  return { apiVersion, kind, metadata, ...rest };
}

export function b64encode(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
