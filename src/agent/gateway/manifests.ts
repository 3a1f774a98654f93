/**
 * The gateway's objects, as pure data (`kodama gateway ensure` creates or updates them): Secret
 * `kodama-gateway` (config.json: the keys, mounted only in the gateway pod), ConfigMap `kodama-gateway`
 * (the program: gateway.js, gatewaymeter.js, gatewayjournal.js), the state claim `kodama-gateway-state`, the
 * StatefulSet `kodama-gateway` (its one pod `kodama-gateway-0`), Service `kodama-gateway` (ClusterIP, 8080)
 * and a NetworkPolicy that lets only session pods in, on 8080.
 *
 * A one-replica StatefulSet, not a bare Pod (docs/agents.md, "The gateway's durability"): a bare pod that
 * is evicted, preempted, deleted or lost with its node never comes back, and every session's agent then
 * finds no gateway. The StatefulSet's controller makes it again, on the same state claim (a volume of the
 * template, not a volumeClaimTemplate: the claim stays kodama's, made and deleted by `ensure`/`delete`), and
 * makes the replacement only once the old pod is gone: at most one gateway at a time, so one rate-limit
 * governor per key and one writer of the journal its figures and budgets survive in. Not a Deployment: a
 * rollout surges a second pod beside the first (two governors, two writers on a ReadWriteOnce claim).
 * A changed template (program or image: its digest annotation) is rolled by the controller. The pod runs
 * under Pod Security "restricted": non-root (uid 1000, the Node images' `node`), RuntimeDefault seccomp, no
 * capability, no escalation, a read-only root filesystem, no ServiceAccount token, no Service links.
 */
import type {
  V1ConfigMap,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import {
  GATEWAY_COMPONENT,
  GATEWAY_NAME,
  GATEWAY_POD,
  GATEWAY_POD_LABELS,
  GATEWAY_PORT,
  LABEL_COMPONENT,
} from "../../session/spec/gateway.ts";
import { LABEL_SESSION } from "../../session/spec/names.ts";

/** Where the program and its config are mounted (the contract). */
export const PROGRAM_DIR = "/opt/kodama-gateway";
export const CONFIG_DIR = "/etc/kodama-gateway";
/** The gateway's one writable place: a refreshed login survives a restart there (KODAMA_GATEWAY_STATE). */
export const STATE_DIR = "/var/lib/kodama-gateway";
/** The small ReadWriteOnce claim mounted there. */
export const STATE_CLAIM = "kodama-gateway-state";
/** The StatefulSet's one pod (ordinal 0). */
export { GATEWAY_POD };
/** The bare pod an older kodama made (no owner): `ensure` hands the gateway to the StatefulSet. */
export const LEGACY_POD = GATEWAY_NAME;
/** The annotation on the pod that says which program and image it runs (a change makes a new pod). */
export const ANNOTATION_PROGRAM = "kodama.dev/gateway-program";
/** The gateway's user: the Node images' `node` user. */
export const GATEWAY_UID = 1000;

const b64 = (s: string) => new TextEncoder().encode(s).toBase64();

function meta(namespace: string, labels: Record<string, string> = {}) {
  return {
    name: GATEWAY_NAME,
    namespace,
    labels: { ...GATEWAY_POD_LABELS, ...labels },
  };
}

export function buildGatewaySecret(namespace: string, configJson: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(namespace),
    type: "Opaque",
    data: { "config.json": b64(configJson) },
  };
}

/** The ConfigMap of the program's files (gateway.js and what it requires), mounted at PROGRAM_DIR. */
export function buildGatewayConfigMap(namespace: string, files: Record<string, string>): V1ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(namespace), data: { ...files } };
}

/** A short digest of what the pod runs (program and image): a change makes `ensure` replace the pod. */
export async function programDigest(program: string, image: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${image}\n${program}`));
  return [...new Uint8Array(d).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The state claim: 16Mi, ReadWriteOnce, the cluster's default storage class. */
export function buildGatewayStateClaim(namespace: string): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { ...meta(namespace), name: STATE_CLAIM },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } },
  };
}

/**
 * The pod; `state`: the claim (a refreshed login survives a restart) or "memory" (an emptyDir: it lives
 * as long as the pod, a restart falls back to the Secret's copy).
 */
export function buildGatewayPod(
  namespace: string,
  image: string,
  digest: string,
  state: "claim" | "memory" = "claim",
  stateOwner = false,
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...meta(namespace), annotations: { [ANNOTATION_PROGRAM]: digest } },
    spec: {
      ...(stateOwner && state === "claim" ? { initContainers: [stateOwnerContainer(image)] } : {}),
      containers: [{
        name: "gateway",
        image,
        command: ["node", `${PROGRAM_DIR}/gateway.js`],
        env: [
          { name: "KODAMA_GATEWAY_CONFIG", value: `${CONFIG_DIR}/config.json` },
          { name: "KODAMA_GATEWAY_PORT", value: String(GATEWAY_PORT) },
          { name: "KODAMA_GATEWAY_STATE", value: STATE_DIR },
          // its own address (what the probe and the Service's endpoints use): the contract's "Changes"
          { name: "KODAMA_GATEWAY_HOST", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          // the journal counts the pods it was replayed in (`gateway status`: replacements)
          { name: "KODAMA_GATEWAY_POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
        ],
        ports: [{ name: "http", containerPort: GATEWAY_PORT, protocol: "TCP" }],
        readinessProbe: {
          httpGet: { path: "/healthz", port: GATEWAY_PORT },
          periodSeconds: 2,
          timeoutSeconds: 2,
        },
        resources: {
          requests: { cpu: "50m", memory: "64Mi" },
          limits: { cpu: "1", memory: "256Mi" },
        },
        volumeMounts: [
          { name: "program", mountPath: PROGRAM_DIR, readOnly: true },
          { name: "config", mountPath: CONFIG_DIR, readOnly: true },
          { name: "state", mountPath: STATE_DIR },
        ],
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: GATEWAY_UID,
          runAsGroup: GATEWAY_UID,
        },
      }],
      volumes: [
        { name: "program", configMap: { name: GATEWAY_NAME, defaultMode: 0o444 } },
        // group-readable by the gateway's group only (fsGroup), never world-readable
        { name: "config", secret: { secretName: GATEWAY_NAME, defaultMode: 0o440 } },
        // writable by the gateway's group (fsGroup); the file in it is written 0600
        state === "claim"
          ? { name: "state", persistentVolumeClaim: { claimName: STATE_CLAIM } }
          : { name: "state", emptyDir: { sizeLimit: "16Mi" } },
      ],
      securityContext: {
        runAsNonRoot: true,
        fsGroup: GATEWAY_UID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 5,
    },
  };
}

/**
 * Where the namespace allows it (Pod Security baseline or privileged: `gateway ensure` looks), the state
 * claim's folder is given to the gateway's user first: volumes that ignore fsGroup (hostPath and local
 * PVs, some NFS provisioners) mount root's 0755 folder, where the journal could not be written and every
 * figure and budget would start from zero at a restart. Root with CHOWN and FOWNER only, a fixed command,
 * nothing of the user's; under "restricted" fsGroup alone must do it (the gateway then logs a warning).
 */
function stateOwnerContainer(image: string) {
  return {
    name: "state-owner",
    image,
    command: ["chown", `${GATEWAY_UID}:${GATEWAY_UID}`, STATE_DIR],
    volumeMounts: [{ name: "state", mountPath: STATE_DIR }],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["CHOWN", "FOWNER"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

/**
 * The StatefulSet: one replica of the pod above (its labels, which the Service and the NetworkPolicy
 * select; its digest annotation on the template, so a change rolls the pod), OrderedReady, RollingUpdate.
 */
export function buildGatewayStatefulSet(
  namespace: string,
  image: string,
  digest: string,
  state: "claim" | "memory" = "claim",
  stateOwner = false,
): V1StatefulSet {
  const pod = buildGatewayPod(namespace, image, digest, state, stateOwner);
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(namespace),
    spec: {
      replicas: 1,
      serviceName: GATEWAY_NAME,
      selector: { matchLabels: { ...GATEWAY_POD_LABELS } },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels: { ...GATEWAY_POD_LABELS }, annotations: { ...pod.metadata!.annotations } },
        spec: pod.spec!,
      },
    },
  };
}

export function buildGatewayService(namespace: string): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(namespace),
    spec: {
      type: "ClusterIP",
      selector: { [LABEL_COMPONENT]: GATEWAY_COMPONENT },
      ports: [{ name: "http", port: GATEWAY_PORT, targetPort: GATEWAY_PORT, protocol: "TCP" }],
    },
  };
}

/** Ingress to the gateway pod: only from session pods (they carry kodama.dev/session), on 8080. */
export function buildGatewayPolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(namespace),
    spec: {
      podSelector: { matchLabels: { [LABEL_COMPONENT]: GATEWAY_COMPONENT } },
      policyTypes: ["Ingress"],
      ingress: [{
        from: [{ podSelector: { matchExpressions: [{ key: LABEL_SESSION, operator: "Exists" }] } }],
        ports: [{ protocol: "TCP", port: GATEWAY_PORT }],
      }],
    },
  } as unknown as V1NetworkPolicy;
}
