/**
 * Unknown-field detection for `fieldValidation` (kubectl sends `Strict`): the known fields of the
 * served kinds, as far as they are commonly written by hand (top level, metadata, pod spec,
 * containers). Deeper structures are not checked.
 */

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const META = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
];

const TOP: Record<string, string[]> = {
  Pod: ["spec", "status"],
  Service: ["spec", "status"],
  PersistentVolumeClaim: ["spec", "status"],
  Namespace: ["spec", "status"],
  Secret: ["data", "stringData", "type", "immutable"],
  ConfigMap: ["data", "binaryData", "immutable"],
  ServiceAccount: ["secrets", "imagePullSecrets", "automountServiceAccountToken"],
  StorageClass: [
    "provisioner",
    "parameters",
    "reclaimPolicy",
    "mountOptions",
    "allowVolumeExpansion",
    "volumeBindingMode",
    "allowedTopologies",
  ],
  Endpoints: ["subsets"],
  Event: [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
  ],
};

const POD_SPEC = [
  "volumes",
  "initContainers",
  "containers",
  "ephemeralContainers",
  "restartPolicy",
  "terminationGracePeriodSeconds",
  "activeDeadlineSeconds",
  "dnsPolicy",
  "nodeSelector",
  "serviceAccountName",
  "serviceAccount",
  "automountServiceAccountToken",
  "nodeName",
  "hostNetwork",
  "hostPID",
  "hostIPC",
  "shareProcessNamespace",
  "securityContext",
  "imagePullSecrets",
  "hostname",
  "subdomain",
  "affinity",
  "schedulerName",
  "tolerations",
  "hostAliases",
  "priorityClassName",
  "priority",
  "dnsConfig",
  "readinessGates",
  "runtimeClassName",
  "enableServiceLinks",
  "preemptionPolicy",
  "overhead",
  "topologySpreadConstraints",
  "setHostnameAsFQDN",
  "os",
  "hostUsers",
  "schedulingGates",
  "resourceClaims",
  "resources",
];

const CONTAINER = [
  "name",
  "image",
  "command",
  "args",
  "workingDir",
  "ports",
  "envFrom",
  "env",
  "resources",
  "resizePolicy",
  "restartPolicy",
  "volumeMounts",
  "volumeDevices",
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "lifecycle",
  "terminationMessagePath",
  "terminationMessagePolicy",
  "imagePullPolicy",
  "securityContext",
  "stdin",
  "stdinOnce",
  "tty",
];

const POD_SECURITY_CONTEXT = [
  "seLinuxOptions",
  "windowsOptions",
  "runAsUser",
  "runAsGroup",
  "runAsNonRoot",
  "supplementalGroups",
  "supplementalGroupsPolicy",
  "fsGroup",
  "sysctls",
  "fsGroupChangePolicy",
  "seccompProfile",
  "appArmorProfile",
  "seLinuxChangePolicy",
];

const PVC_SPEC = [
  "accessModes",
  "selector",
  "resources",
  "volumeName",
  "storageClassName",
  "volumeMode",
  "dataSource",
  "dataSourceRef",
  "volumeAttributesClassName",
];

const SERVICE_SPEC = [
  "ports",
  "selector",
  "clusterIP",
  "clusterIPs",
  "type",
  "externalIPs",
  "sessionAffinity",
  "loadBalancerIP",
  "loadBalancerSourceRanges",
  "externalName",
  "externalTrafficPolicy",
  "healthCheckNodePort",
  "publishNotReadyAddresses",
  "sessionAffinityConfig",
  "ipFamilies",
  "ipFamilyPolicy",
  "allocateLoadBalancerNodePorts",
  "loadBalancerClass",
  "internalTrafficPolicy",
  "trafficDistribution",
];

function check(obj: unknown, known: string[], path: string, out: string[]) {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return;
  for (const k of Object.keys(obj)) if (!known.includes(k)) out.push(path ? `${path}.${k}` : k);
}

/** Paths of unknown fields in `o` (a `kind` object), e.g. `spec.containers[0].imagee`. */
export function unknownFields(kind: string, o: Obj): string[] {
  const top = TOP[kind];
  if (!top) return [];
  const out: string[] = [];
  check(o, ["apiVersion", "kind", "metadata", ...top], "", out);
  check(o.metadata, META, "metadata", out);
  if (kind === "Pod") {
    check(o.spec, POD_SPEC, "spec", out);
    check(o.spec?.securityContext, POD_SECURITY_CONTEXT, "spec.securityContext", out);
    for (const f of ["containers", "initContainers"]) {
      (Array.isArray(o.spec?.[f]) ? o.spec[f] : []).forEach((c: unknown, i: number) =>
        check(c, CONTAINER, `spec.${f}[${i}]`, out)
      );
    }
  }
  if (kind === "PersistentVolumeClaim") check(o.spec, PVC_SPEC, "spec", out);
  if (kind === "Service") check(o.spec, SERVICE_SPEC, "spec", out);
  return out;
}
