/**
 * Pod Security admission (k8s.io/pod-security-admission) for a namespace labelled
 * `pod-security.kubernetes.io/enforce=baseline|restricted`: a pod create that violates the level is refused
 * with kube-apiserver's 403 and its words, the checks in the order of their IDs, e.g.
 *
 *   pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false
 *   (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities
 *   (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or
 *   container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must
 *   set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")
 *
 * The checks that concern the pods kodama makes: allowPrivilegeEscalation, capabilities (baseline and
 * restricted), privileged, restricted volume types, runAsNonRoot, runAsUser, seccompProfile. Host
 * namespaces, ports, paths, AppArmor, SELinux, sysctls and procMount are not checked (kodama sets none).
 */
import { ApiError } from "./status.ts";
import type { Store } from "./store.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const LEVEL_LABEL = "pod-security.kubernetes.io/enforce";
const VERSION_LABEL = "pod-security.kubernetes.io/enforce-version";

/** capabilities_baseline.go: what a baseline pod may add */
const BASELINE_CAPS = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
/** restrictedVolumes.go: the volume types a restricted pod may use */
const RESTRICTED_VOLUMES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

const q = (s: string) => JSON.stringify(s);
const joinQuote = (xs: string[]) => xs.map(q).join(", ");
const containersWord = (names: string[]) =>
  `${names.length === 1 ? "container" : "containers"} ${joinQuote(names)}`;

function allContainers(spec: Obj): Obj[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** One check: undefined when the pod passes, else its "forbidden value (detail)". */
type Check = (spec: Obj, cs: Obj[]) => string | undefined;

const named = (cs: Obj[], bad: (c: Obj) => boolean) => cs.filter(bad).map((c) => String(c.name));

const BASELINE: Check[] = [
  // capabilities_baseline
  (_s, cs) => {
    const bad = cs.filter((c) =>
      (c.securityContext?.capabilities?.add ?? []).some((a: string) => !BASELINE_CAPS.has(a))
    );
    if (!bad.length) return undefined;
    const caps = [
      ...new Set(
        bad.flatMap((c) => c.securityContext.capabilities.add.filter((a: string) => !BASELINE_CAPS.has(a))),
      ),
    ].sort();
    return `non-default capabilities (${containersWord(bad.map((c) => c.name))} must not include ${
      joinQuote(caps)
    } in securityContext.capabilities.add)`;
  },
  // privileged
  (_s, cs) => {
    const bad = named(cs, (c) => c.securityContext?.privileged === true);
    return bad.length
      ? `privileged (${containersWord(bad)} must not set securityContext.privileged=true)`
      : undefined;
  },
];

const RESTRICTED: Check[] = [
  // allowPrivilegeEscalation
  (_s, cs) => {
    const bad = named(cs, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
    return bad.length
      ? `allowPrivilegeEscalation != false (${
        containersWord(bad)
      } must set securityContext.allowPrivilegeEscalation=false)`
      : undefined;
  },
  BASELINE[0],
  // capabilities_restricted
  (_s, cs) => {
    const details: string[] = [];
    const noDrop = named(cs, (c) => !(c.securityContext?.capabilities?.drop ?? []).includes("ALL"));
    if (noDrop.length) {
      details.push(`${containersWord(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    }
    const adds = cs.filter((c) =>
      (c.securityContext?.capabilities?.add ?? []).some((a: string) => a !== "NET_BIND_SERVICE")
    );
    if (adds.length) {
      const caps = [
        ...new Set(
          adds.flatMap((c) =>
            c.securityContext.capabilities.add.filter((a: string) => a !== "NET_BIND_SERVICE")
          ),
        ),
      ].sort();
      details.push(
        `${containersWord(adds.map((c) => c.name))} must not include ${
          joinQuote(caps)
        } in securityContext.capabilities.add`,
      );
    }
    return details.length ? `unrestricted capabilities (${details.join("; ")})` : undefined;
  },
  BASELINE[1],
  // restrictedVolumes
  (s) => {
    const bad = (s.volumes ?? []).filter((v: Obj) =>
      Object.keys(v).some((k) => k !== "name" && !RESTRICTED_VOLUMES.includes(k))
    );
    if (!bad.length) return undefined;
    const types = [
      ...new Set(bad.flatMap((v: Obj) => Object.keys(v).filter((k) => k !== "name"))),
    ] as string[];
    return `restricted volume types (volume${bad.length === 1 ? "" : "s"} ${
      joinQuote(bad.map((v: Obj) => v.name))
    } use${bad.length === 1 ? "s" : ""} restricted volume type${types.length === 1 ? "" : "s"} ${
      joinQuote(types)
    })`;
  },
  // runAsNonRoot
  (s, cs) => {
    const details: string[] = [];
    const pod = s.securityContext?.runAsNonRoot;
    if (pod === false) details.push("pod must not set securityContext.runAsNonRoot=false");
    const explicitFalse = named(cs, (c) => c.securityContext?.runAsNonRoot === false);
    if (explicitFalse.length) {
      details.push(`${containersWord(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
    }
    if (pod !== true) {
      const unset = named(cs, (c) => c.securityContext?.runAsNonRoot === undefined);
      if (unset.length) {
        details.push(`pod or ${containersWord(unset)} must set securityContext.runAsNonRoot=true`);
      }
    }
    return details.length ? `runAsNonRoot != true (${details.join("; ")})` : undefined;
  },
  // runAsUser
  (s, cs) => {
    const details: string[] = [];
    if (s.securityContext?.runAsUser === 0) details.push("pod must not set runAsUser=0");
    const bad = named(cs, (c) => c.securityContext?.runAsUser === 0);
    if (bad.length) details.push(`${containersWord(bad)} must not set runAsUser=0`);
    return details.length ? `runAsUser=0 (${details.join("; ")})` : undefined;
  },
  // seccompProfile_restricted
  (s, cs) => {
    const ok = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
    const podType = s.securityContext?.seccompProfile?.type;
    const details: string[] = [];
    if (podType !== undefined && !ok(podType)) {
      details.push(`pod must not set securityContext.seccompProfile.type to ${q(String(podType))}`);
    }
    const badSet = cs.filter((c) =>
      c.securityContext?.seccompProfile?.type !== undefined && !ok(c.securityContext.seccompProfile.type)
    );
    for (const c of badSet) {
      details.push(
        `${containersWord([c.name])} must not set securityContext.seccompProfile.type to ${
          q(c.securityContext.seccompProfile.type)
        }`,
      );
    }
    if (!ok(podType)) {
      const unset = named(cs, (c) => c.securityContext?.seccompProfile?.type === undefined);
      if (unset.length) {
        details.push(
          `pod or ${
            containersWord(unset)
          } must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
        );
      }
    }
    return details.length ? `seccompProfile (${details.join("; ")})` : undefined;
  },
];

/** The namespace's enforced level's violations of a new pod: throws kube-apiserver's 403, or returns. */
export function admitPodSecurity(store: Store, ns: string, pod: Obj): void {
  const labels = store.get("namespaces", "", ns)?.metadata?.labels ?? {};
  const level = labels[LEVEL_LABEL];
  if (level !== "baseline" && level !== "restricted") return;
  const version = labels[VERSION_LABEL] ?? "latest";
  const spec = pod.spec ?? {};
  const cs = allContainers(spec);
  const checks = level === "restricted" ? RESTRICTED : BASELINE;
  const out = checks.map((c) => c(spec, cs)).filter((x): x is string => x !== undefined);
  if (!out.length) return;
  throw new ApiError(
    403,
    "Forbidden",
    `pods "${pod.metadata?.name ?? ""}" is forbidden: violates PodSecurity "${level}:${version}": ${
      out.join(", ")
    }`,
    { name: pod.metadata?.name, kind: "pods" },
  );
}
