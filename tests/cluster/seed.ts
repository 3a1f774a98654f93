/** The `demo` seed: the world the kodama docs, demo and integration tests use. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterApi } from "./api.ts";
import { findResource } from "./resources.ts";
import type { Obj } from "./store.ts";
import { ApiError } from "./status.ts";
import { revisionName } from "./controllers/statefulset.ts";

export const BIN_DIR = join(dirname(fileURLToPath(import.meta.url)), "bin");

/** Names in the demo world (tests import these instead of repeating strings). */
export const DEMO = {
  wekaNamespace: "weka-operator-system",
  wekaPods: ["weka-drive-0", "weka-drive-1", "weka-drive-2", "weka-compute-0"],
  apiPods: ["api-6b7f9c8d4-k2x9p", "api-6b7f9c8d4-q7m4t"],
  webPod: "web-5c6d7f8b9-h3j8n",
  sparkPod: "spark-driver-7f9a2c",
  wekaVersion: "WEKA v4.4.2 (demo)",
} as const;

/**
 * The one image tests give the pods they create: a busybox tag of the test server's catalogue
 * (runtime/images.ts). Set KODAMA_TEST_IMAGE to what a real cluster can pull (the real-cluster
 * README's cluster has `busybox:latest`). busybox's default command is `sh`, which exits at once:
 * a pod that must stay up says what to run (`sleep 1d`).
 */
export const KODAMA_TEST_IMAGE: string = Deno.env.get("KODAMA_TEST_IMAGE") || "busybox:latest";

/** The image `deno task demo` configures for sessions (its KODAMA_HOME): one the test server runs. */
export const DEMO_SESSION_IMAGE = "busybox:1.36";

const GROUPS: Record<string, string> = {
  deployments: "apps",
  replicasets: "apps",
  statefulsets: "apps",
  daemonsets: "apps",
  jobs: "batch",
};
const def = (name: string) => findResource(GROUPS[name] ?? "", "v1", name)!;

/** Create an object (the workload kinds too: HTTP serves them read-only, the seed is how they appear). */
export function create(api: ClusterApi, resource: string, ns: string, obj: Obj): Obj | undefined {
  try {
    return api.create(def(resource), ns, obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
  }
}

/** `metadata.ownerReferences` entry pointing at a (controller) owner. */
export function ownerRef(o: Obj | undefined): Obj[] | undefined {
  if (!o) return undefined;
  return [{
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    uid: o.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  }];
}

/**
 * A Deployment and its current ReplicaSet (`NAME-HASH`), selecting `labels`; returns the ReplicaSet, the
 * owner of the pods the caller creates with `labels` + `pod-template-hash` (no controller makes them).
 */
export function deployment(
  api: ClusterApi,
  namespace: string,
  name: string,
  hash: string,
  labels: Record<string, string>,
  podSpec: Obj,
  replicas: number,
): Obj | undefined {
  const template = { metadata: { labels }, spec: podSpec };
  const d = create(api, "deployments", namespace, {
    metadata: { name, labels, annotations: { "deployment.kubernetes.io/revision": "1" } },
    spec: { replicas, selector: { matchLabels: labels }, template },
  });
  const rsLabels = { ...labels, "pod-template-hash": hash };
  return create(api, "replicasets", namespace, {
    metadata: {
      name: `${name}-${hash}`,
      labels: rsLabels,
      annotations: {
        "deployment.kubernetes.io/desired-replicas": String(replicas),
        "deployment.kubernetes.io/max-replicas": String(replicas + Math.ceil(replicas / 4)),
        "deployment.kubernetes.io/revision": "1",
      },
      ownerReferences: ownerRef(d),
    },
    spec: {
      replicas,
      selector: { matchLabels: rsLabels },
      template: { metadata: { labels: rsLabels }, spec: podSpec },
    },
  });
}

const ns = (api: ClusterApi, name: string) => create(api, "namespaces", "", { metadata: { name } });

function pod(
  api: ClusterApi,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  spec: Obj,
  annotations?: Obj,
  owner?: Obj,
) {
  create(api, "pods", namespace, {
    metadata: {
      name,
      labels,
      ...(annotations ? { annotations } : {}),
      ...(owner ? { ownerReferences: ownerRef(owner) } : {}),
    },
    spec: { terminationGracePeriodSeconds: 5, ...spec },
  });
}

/** Copy the demo commands (`weka`, `http-echo`) into the runtime's shared bin dir (on every pod's PATH). */
async function installBin(runtimeStateDir: string) {
  const dest = join(runtimeStateDir, "bin");
  await Deno.mkdir(dest, { recursive: true });
  for (const f of ["weka", "http-echo"]) {
    await Deno.copyFile(join(BIN_DIR, f), join(dest, f));
    await Deno.chmod(join(dest, f), 0o755);
  }
}

/**
 * The world a test starts in: "demo" (the demo's namespaces, workloads and their running pods), "sessions"
 * (the demo's namespaces only: a session test never touches the demo's pods, and their ten containers
 * were most of a test server's boot, ~1.4 s of CPU each of ~95 session worlds a run), "none" (nothing).
 */
export type SeedKind = "demo" | "sessions" | "none";

export async function seed(api: ClusterApi, kind: SeedKind, loadPods = 0, runtimeStateDir?: string) {
  if (runtimeStateDir) await installBin(runtimeStateDir);
  if (kind === "demo") seedDemo(api);
  if (kind === "sessions") { for (const n of DEMO_NAMESPACES) ns(api, n); }
  if (loadPods > 0) {
    ns(api, "load");
    for (let i = 0; i < loadPods; i++) {
      // as the real-cluster setup makes them (shared/real-cluster/rebuild.sh `load`)
      pod(api, "load", `load-${String(i).padStart(3, "0")}`, { app: "load" }, {
        containers: [{
          name: "main",
          image: KODAMA_TEST_IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "1d"],
        }],
        terminationGracePeriodSeconds: 1,
      });
    }
  }
}

/** The demo's namespaces, in the order seedDemo makes them. */
const DEMO_NAMESPACES = [DEMO.wekaNamespace, "prod", "staging", "dev"];

function seedDemo(api: ClusterApi) {
  const w = DEMO.wekaNamespace;
  ns(api, w);
  const wekaSpec = { containers: [{ name: "weka", image: "quay.io/weka.io/weka-in-container:4.4.2" }] };
  const driveLabels = { app: "weka-drive", "app.kubernetes.io/name": "weka", "weka.io/mode": "drive" };
  const drives = create(api, "statefulsets", w, {
    metadata: { name: "weka-drive", labels: driveLabels },
    spec: {
      replicas: 3,
      serviceName: "weka-drive",
      selector: { matchLabels: { app: "weka-drive" } },
      template: { metadata: { labels: driveLabels }, spec: wekaSpec },
    },
  });
  for (const name of DEMO.wekaPods) {
    const app = name.startsWith("weka-drive") ? "weka-drive" : "weka-compute";
    const sts: Record<string, string> = app === "weka-drive"
      ? { "statefulset.kubernetes.io/pod-name": name, "controller-revision-hash": revisionName(drives!) }
      : {};
    pod(
      api,
      w,
      name,
      { app, "app.kubernetes.io/name": "weka", "weka.io/mode": app.slice(5), ...sts },
      wekaSpec,
      undefined,
      app === "weka-drive" ? drives : undefined,
    );
  }

  ns(api, "prod");
  const http = (name: string) => ({
    name,
    image: "registry.example.com/demo/http-echo:1.0",
    command: ["http-echo"],
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1 },
  });
  const apiRs = deployment(api, "prod", "api", "6b7f9c8d4", { app: "api" }, { containers: [http("api")] }, 2);
  for (const name of DEMO.apiPods) {
    pod(
      api,
      "prod",
      name,
      { app: "api", "pod-template-hash": "6b7f9c8d4" },
      { containers: [http("api")] },
      undefined,
      apiRs,
    );
  }
  const webSpec = {
    containers: [http("web"), { name: "sidecar", image: KODAMA_TEST_IMAGE, command: ["sleep", "1d"] }],
  };
  const webRs = deployment(api, "prod", "web", "5c6d7f8b9", { app: "web" }, webSpec, 1);
  pod(api, "prod", DEMO.webPod, { app: "web", "pod-template-hash": "5c6d7f8b9" }, webSpec, {
    "kubectl.kubernetes.io/default-container": "web",
  }, webRs);
  create(api, "services", "prod", {
    metadata: { name: "api", labels: { app: "api" } },
    spec: {
      selector: { app: "api" },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  });
  create(api, "services", "prod", {
    metadata: { name: "web", labels: { app: "web" } },
    spec: {
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  });

  ns(api, "staging");
  pod(api, "staging", DEMO.sparkPod, { app: "spark", "spark-role": "driver" }, {
    containers: [{
      name: "spark-kubernetes-driver",
      image: "apache/spark:3.5.3",
      env: [{ name: "SPARK_APP_NAME", value: "nightly-etl" }],
    }],
    restartPolicy: "Never",
  });

  ns(api, "dev");
}
