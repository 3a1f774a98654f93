/**
 * The API half's object logic, independent of HTTP: CRUD with defaults and validation, pod life
 * (scheduling, start/stop through the runtime), namespaces, events, PVC binding and endpoints.
 */
import { join } from "node:path";
import type { PodObject, Runtime, RuntimeHost } from "./contract.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { validateNetworkPolicy } from "./netpol.ts";
import { apiVersionOf, type ResourceDef, RESOURCES } from "./resources.ts";
import { type FieldRequirement, matchFields, matchLabels, type Requirement } from "./selectors.ts";
import { alreadyExists, ApiError, badRequest, conflict, notFound } from "./status.ts";
import { admitQuota, quotaStatus, refreshQuotas } from "./quota.ts";
import { type EventType, type Obj, Store, type StoreEvent } from "./store.ts";
import { validateRbac } from "./rbac.ts";
import {
  Errors,
  quantityDecodeError,
  quantityFields,
  validateConfigMap,
  validateGeneric,
  validateImmutableData,
  validateNamespace,
  validatePod,
  validatePodUpdate,
  validatePVC,
  validatePVCUpdate,
  validateSecret,
  validateService,
  validateServiceAccount,
  validateStorageClass,
} from "./validation.ts";
import {
  admitClaim,
  bindProblem,
  boundClaim,
  claimsBlockScheduling,
  classOf,
  consumerClaims,
  provisionDelayMs,
  pvcEvent,
  SELECTED_NODE,
  TEST_PROVISIONER,
  unschedulableStatus,
  waitsForConsumer,
} from "./storage.ts";
import YAML from "yaml";
import {
  applyDefaults,
  b64encode,
  canonicalOrder,
  NODE_NAME,
  now,
  qosClass,
  randomSuffix,
  SYSTEM_NAMESPACES,
} from "./defaults.ts";
import { syncEndpoints } from "./endpoints.ts";
import { KubeProxy } from "./kubeproxy.ts";
import {
  populate,
  snapshotDeleted,
  type SnapshotHost,
  takeSnapshot,
  validateDataSource,
  validateVolumeSnapshot,
} from "./snapshots.ts";
import { recordEvent } from "./events.ts";
import { nodeMisfit, pickNode, validateExtended, validatePlacement } from "./nodes.ts";
import { admitPodSecurity } from "./podsecurity.ts";
import { type ControllerOptions, Controllers } from "./controllers/index.ts";
import { defaultPropagation } from "./controllers/gc.ts";
import { validatePdb } from "./controllers/pdb.ts";
import { evict } from "./controllers/eviction.ts";
import { collectPodsOfDeletedNode, type DisruptionHost } from "./controllers/disruptions.ts";

/** kube-scheduler's podInitialBackoffSeconds: a pod it could not place is tried again no sooner. */
const SCHEDULER_BACKOFF_MS = 1000;
import {
  isWorkload,
  syncWorkloads,
  validateWorkload,
  workloadDefaults,
  workloadStatus,
} from "./workloads.ts";

export interface ListOptions {
  labels?: Requirement[];
  fields?: FieldRequirement[];
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
  remaining?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = "merge" | "strategic" | "json" | "apply";

const clone = <T>(v: T): T => structuredClone(v);

/** the pod conditions the kubelet (and scheduler) write; any other type is someone else's, kept */
const KUBELET_CONDITIONS = [
  "PodScheduled",
  "PodReadyToStartContainers",
  "Initialized",
  "ContainersReady",
  "Ready",
];

export class ClusterApi implements RuntimeHost {
  readonly store = new Store();
  /** optional kinds this server serves (ServerOptions.snapshots: "snapshots") */
  readonly features = new Set<string>();
  runtime?: Runtime;
  private nextIp = 0;
  // random: parallel test files may run in workers of one process (same pid, separate module state)
  private readonly ipBase = crypto.getRandomValues(new Uint32Array(1))[0] % (253 * 256);
  private nextClusterIp = 1;
  private readonly clusterIpBase = crypto.getRandomValues(new Uint32Array(1))[0] % 65_024;
  /** the node's kube-proxy: a ClusterIP:port reaches a ready endpoint */
  private readonly kubeProxy: KubeProxy;
  private dropStreams = false;
  private readonly pendingPodStops = new Map<string, Promise<void>>();
  private readonly endpointsQueue = new Set<string>();
  private closed = false;
  /** provisioning and scheduler back-off timers (cleared on close) */
  private timers = new Set<ReturnType<typeof setTimeout>>();
  /** when the scheduler last failed to place a pod (ns/name -> ms): its back-off runs from there */
  private parkedAt = new Map<string, number>();

  /** kube-controller-manager's Job and StatefulSet controllers and garbage collector (controllers/) */
  readonly controllers: Controllers;
  /** nodes whose kubelet is gone (faults: loseNode): nothing is reported from their pods */
  readonly lostNodes = new Set<string>();

  constructor(readonly stateDir: string, controllerOptions: ControllerOptions = {}) {
    this.kubeProxy = new KubeProxy(this.store);
    this.controllers = new Controllers({
      store: this.store,
      createPod: (ns, pod) => this.create(RESOURCES.find((d) => d.name === "pods")!, ns, pod),
      deleteObject: (resource, ns, name, o) => {
        const def = RESOURCES.find((d) => d.name === resource)!;
        this.delete(def, ns, name, o).catch((e) => {
          if (!(e instanceof ApiError && e.code === 404)) {
            console.error(`[cluster] delete ${resource} ${name}: ${e}`);
          }
        });
      },
      event: (o, type, reason, message, component) =>
        recordEvent(
          this.store,
          o.metadata.namespace ?? "default",
          {
            kind: o.kind,
            namespace: o.metadata.namespace,
            name: o.metadata.name,
            uid: o.metadata.uid,
            apiVersion: o.apiVersion,
            resourceVersion: o.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          component,
        ),
      later: (ms, fn) => this.snapshotHost.later(ms, fn),
      closed: () => this.closed,
    }, controllerOptions);
    this.store.subscribe("pods", (ev) => this.queueEndpoints(ev.namespace));
    this.store.subscribe("services", (ev) => this.queueEndpoints(ev.namespace));
    // a node changed (a taint removed, a label or device added): the scheduler tries its waiting pods again
    this.store.subscribe("nodes", (ev) => {
      if (this.closed) return;
      if (ev.type === "DELETED") collectPodsOfDeletedNode(this.disruptionHost, ev.object.metadata.name);
      for (const ns of new Set([...this.store.peek("pods")].map((p) => p.metadata.namespace as string))) {
        this.scheduleWaiting(ns);
      }
    });
    // the resource-quota controller: a change to what a namespace's quotas count brings their status.used up
    this.store.subscribe("*", (ev) => {
      if (ev.resource === "events" || !ev.namespace) return;
      if (this.quotaQueue.size === 0) queueMicrotask(() => this.flushQuotas());
      this.quotaQueue.add(ev.namespace);
    });
  }

  private readonly quotaQueue = new Set<string>();

  private flushQuotas() {
    const nss = [...this.quotaQueue];
    this.quotaQueue.clear();
    if (!this.closed) { for (const ns of nss) refreshQuotas(this.store, ns); }
  }

  /** what the snapshot controller and the CSI provisioner (snapshots.ts) use of the server */
  private get snapshotHost(): SnapshotHost {
    return {
      store: this.store,
      stateDir: this.stateDir,
      closed: () => this.closed,
      later: (ms, fn) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!this.closed) fn();
        }, ms);
        this.timers.add(t);
      },
      pvcDir: (ns, name) => this.pvcDir(ns, name),
    };
  }

  /** the provisioner named by a claim's class (the test provisioner when it has none) */
  private provisionerOf(claim: Obj): string {
    return classOf(this.store, claim)?.provisioner ?? TEST_PROVISIONER;
  }

  // ---------------------------------------------------------------- RuntimeHost
  getPod(namespace: string, name: string): PodObject | undefined {
    return this.store.get("pods", namespace, name) as PodObject | undefined;
  }

  updatePodStatus(namespace: string, name: string, status: Record<string, unknown>): void {
    const pod = this.store.get("pods", namespace, name);
    if (!pod || this.closed || this.lostNodes.has(pod.spec?.nodeName)) return;
    const prev = pod.status ?? {};
    const next: Obj = { ...clone(status) };
    for (const k of ["podIP", "podIPs", "hostIP", "hostIPs", "qosClass"]) {
      if (next[k] === undefined && prev[k] !== undefined) next[k] = prev[k];
    }
    // the kubelet keeps the conditions it does not own (DisruptionTarget from an eviction, readiness gates)
    const kept = (prev.conditions ?? []).filter((c: Obj) =>
      !KUBELET_CONDITIONS.includes(c.type) && !(next.conditions ?? []).some((n: Obj) => n.type === c.type)
    );
    if (kept.length) next.conditions = [...(next.conditions ?? []), ...kept];
    if (JSON.stringify(next) === JSON.stringify(prev)) return;
    pod.status = next;
    this.store.replace("pods", pod);
  }

  recordEvent(
    namespace: string,
    podName: string,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    if (this.closed || !this.store.has("namespaces", "", namespace)) return;
    const pod = this.store.get("pods", namespace, podName);
    if (this.lostNodes.has(pod?.spec?.nodeName)) return; // a lost node's kubelet says nothing
    recordEvent(
      this.store,
      namespace,
      {
        kind: "Pod",
        namespace,
        name: podName,
        uid: pod?.metadata.uid,
        apiVersion: "v1",
        resourceVersion: pod?.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      reason === "Scheduled" || reason === "FailedScheduling" ? "default-scheduler" : "kubelet",
    );
  }

  getObject(kind: "secrets" | "configmaps", namespace: string, name: string): Obj | undefined {
    return this.store.get(kind, namespace, name);
  }

  pvcDir(namespace: string, claimName: string): string {
    const dir = join(this.stateDir, "pvcs", namespace, claimName);
    Deno.mkdirSync(dir, { recursive: true });
    return dir;
  }

  streamsDropped(): boolean {
    return this.dropStreams;
  }

  setStreamsDropped(on: boolean) {
    this.dropStreams = on;
  }

  // ---------------------------------------------------------------- helpers
  private requireNamespace(def: ResourceDef, ns: string, name: string, creating: boolean) {
    if (!def.namespaced) return;
    const n = this.store.get("namespaces", "", ns);
    if (!n) throw notFound("namespaces", ns);
    if (creating && n.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        "Forbidden",
        `${def.name}${
          name ? ` "${name}"` : ""
        } is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          name,
          kind: def.name,
          causes: [{
            reason: "NamespaceTerminating",
            message: `namespace ${ns} is being terminated`,
            field: "metadata.namespace",
          }],
        },
      );
    }
  }

  private checkBody(def: ResourceDef, body: unknown): asserts body is Obj {
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw badRequest(
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
      );
    }
    const b = body as Obj;
    if (b.kind !== undefined && b.kind !== def.kind) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the object kind ${b.kind} does not match ${def.kind}`,
      );
    }
    for (const q of quantityFields(def.kind, b)) {
      const why = quantityDecodeError(q.value);
      if (why) {
        throw badRequest(
          `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${why}`,
        );
      }
    }
    if (b.apiVersion !== undefined && b.apiVersion !== apiVersionOf(def)) {
      throw badRequest(
        `the API version in the data (${b.apiVersion}) does not match the expected API version (${
          apiVersionOf(def)
        })`,
      );
    }
  }

  private validate(def: ResourceDef, obj: Obj, old?: Obj) {
    const e = new Errors();
    switch (def.name) {
      case "pods":
        validatePod(e, obj);
        validatePlacement(e, obj.spec ?? {});
        for (const f of ["initContainers", "containers"]) {
          (Array.isArray(obj.spec?.[f]) ? obj.spec[f] : []).forEach((c: Obj, i: number) =>
            validateExtended(e, `spec.${f}[${i}].resources`, c?.resources)
          );
        }
        if (old) validatePodUpdate(e, old, obj);
        break;
      case "secrets":
        validateSecret(e, obj);
        if (old) validateImmutableData(e, old, obj);
        break;
      case "configmaps":
        validateConfigMap(e, obj);
        if (old) validateImmutableData(e, old, obj);
        break;
      case "persistentvolumeclaims":
        validatePVC(e, obj);
        validateDataSource(e, obj.spec ?? {});
        if (old) validatePVCUpdate(e, old, obj);
        break;
      case "volumesnapshots":
        validateGeneric(e, obj, true);
        validateVolumeSnapshot(e, obj, old);
        break;
      case "services":
        validateService(e, obj);
        break;
      case "namespaces":
        validateNamespace(e, obj);
        break;
      case "serviceaccounts":
        validateServiceAccount(e, obj);
        break;
      case "storageclasses":
        validateStorageClass(e, obj);
        break;
      case "networkpolicies":
        validateNetworkPolicy(e, obj);
        break;
      case "poddisruptionbudgets":
        validateGeneric(e, obj, true);
        validatePdb(e, obj);
        break;
      case "roles":
      case "rolebindings":
      case "clusterroles":
      case "clusterrolebindings":
        validateGeneric(e, obj, def.namespaced);
        validateRbac(e, def.name, obj, old);
        break;
      default:
        validateGeneric(e, obj, def.namespaced);
        if (isWorkload(def.name)) validateWorkload(e, def.name, obj, old);
    }
    if (old) {
      for (const f of ["name", "namespace", "uid", "creationTimestamp"] as const) {
        if (obj.metadata[f] !== undefined && obj.metadata[f] !== old.metadata[f] && f !== "name") {
          e.invalid(`metadata.${f}`, obj.metadata[f], "field is immutable");
        }
      }
    }
    e.throwIfAny(def.kind, obj.metadata?.name ?? "", def.group || undefined);
  }

  // ---------------------------------------------------------------- CRUD
  get(def: ResourceDef, ns: string, name: string): Obj {
    const o = this.store.get(def.name, def.namespaced ? ns : "", name);
    if (!o) throw notFound(def.name, name, def.group);
    return o;
  }

  list(def: ResourceDef, ns: string | undefined, opts: ListOptions = {}): ListResult {
    let items = this.store.list(def.name, def.namespaced ? ns : undefined);
    if (opts.labels?.length) items = items.filter((o) => matchLabels(opts.labels!, o.metadata.labels));
    if (opts.fields?.length) items = items.filter((o) => matchFields(opts.fields!, o));
    let rv = String(this.store.currentRv());
    if (opts.continue) {
      let tok: { rv: string; start: string };
      try {
        tok = JSON.parse(atob(opts.continue));
      } catch {
        throw badRequest("continue key is not valid: illegal base64 data");
      }
      items = items.filter((o) => keyOf(o) > tok.start);
      rv = tok.rv;
    }
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      const page = items.slice(0, opts.limit);
      const start = keyOf(page[page.length - 1]);
      return {
        items: page,
        resourceVersion: rv,
        continue: btoa(JSON.stringify({ v: "meta.k8s.io/v1", rv, start })),
        remaining: items.length - page.length,
      };
    }
    return { items, resourceVersion: rv };
  }

  create(def: ResourceDef, ns: string, body: unknown, opts: { dryRun?: boolean } = {}): Obj {
    this.checkBody(def, body);
    const o: Obj = clone(body);
    o.metadata ??= {};
    if (typeof o.metadata !== "object") throw badRequest("metadata must be an object");
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${randomSuffix()}`;
    }
    if (def.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    applyDefaults(def, o);
    if (def.name === "persistentvolumeclaims") admitClaim(this.store, o);
    delete o.metadata.resourceVersion;
    delete o.metadata.deletionTimestamp;
    delete o.metadata.deletionGracePeriodSeconds;
    this.validate(def, o);
    this.requireNamespace(def, ns, o.metadata.name, true);
    // validating admission: PodSecurity, then ResourceQuota (after defaulting and validation, before storage)
    if (def.name === "pods") admitPodSecurity(this.store, ns, o);
    if (def.namespaced && def.name !== "resourcequotas" && def.name !== "events") {
      admitQuota(this.store, def.name, ns, o);
    }
    if (this.store.has(def.name, def.namespaced ? ns : "", o.metadata.name)) {
      throw alreadyExists(def.name, o.metadata.name);
    }
    o.metadata.uid = crypto.randomUUID();
    o.metadata.creationTimestamp = now();
    if (def.name === "pods" || def.name === "services") o.metadata.generation ??= 1;
    this.initialStatus(def, o);
    if (opts.dryRun) return o;
    const created = this.store.insert(def.name, canonicalOrder(o));
    this.afterCreate(def, created);
    return this.store.get(def.name, def.namespaced ? ns : "", o.metadata.name) ?? created;
  }

  private initialStatus(def: ResourceDef, o: Obj) {
    switch (def.name) {
      case "resourcequotas":
        o.status = quotaStatus(this.store, o);
        break;
      case "pods": {
        const ts = now();
        const blocked = o.spec.nodeName
          ? undefined
          : claimsBlockScheduling(this.store, o) ?? nodeMisfit(this.store, o);
        if (blocked) {
          // the scheduler leaves it unplaced until its claims are bound (scheduleWaiting)
          o.status = unschedulableStatus({ status: { qosClass: qosClass(o) } }, blocked, ts);
          break;
        }
        if (!o.spec.nodeName && consumerClaims(this.store, o).length) {
          // WaitForFirstConsumer: placed, its claims being provisioned (the scheduler's binding step)
          o.status = { phase: "Pending", qosClass: qosClass(o) };
          break;
        }
        const ip = this.allocatePodIp();
        o.spec.nodeName ??= pickNode(this.store, o) ?? NODE_NAME;
        o.status = {
          phase: "Pending",
          conditions: [
            { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: ts },
          ],
          hostIP: "127.0.0.1",
          hostIPs: [{ ip: "127.0.0.1" }],
          podIP: ip,
          podIPs: [{ ip }],
          qosClass: qosClass(o),
        };
        break;
      }
      case "namespaces":
        o.status = { phase: "Active" };
        break;
      case "poddisruptionbudgets":
        o.metadata.generation = 1;
        o.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
        break;
      case "persistentvolumeclaims":
        o.metadata.finalizers = [
          ...new Set([...(o.metadata.finalizers ?? []), "kubernetes.io/pvc-protection"]),
        ];
        if (
          bindProblem(this.store, o) || waitsForConsumer(this.store, o) ||
          provisionDelayMs(classOf(this.store, o)) > 0 || o.spec?.dataSource || o.spec?.dataSourceRef
        ) {
          // a claim with a dataSource is populated by its provisioner first (snapshots.ts)
          o.status = { phase: "Pending" };
        } else boundClaim(o, this.provisionerOf(o));
        break;
      case "services":
        if (o.spec.type !== "ExternalName" && o.spec.clusterIP !== "None") {
          // the service range is loopback (127.1.X.Y from a random base per server: parallel test servers
          // must not collide) so that the node's kube-proxy (kubeproxy.ts) can listen on the ClusterIP
          const n = (this.clusterIpBase + this.nextClusterIp++) % 65_024;
          o.spec.clusterIP ??= `127.1.${Math.floor(n / 254)}.${(n % 254) + 1}`;
          o.spec.clusterIPs ??= [o.spec.clusterIP];
        }
        o.status = { loadBalancer: {} };
        break;
      default:
        if (isWorkload(def.name)) {
          workloadDefaults(def.name, o); // after the uid: a Job's selector is made from it
          // Jobs and StatefulSets: their controllers (controllers/) write the status
          o.status = def.name === "jobs"
            ? {}
            : def.name === "statefulsets"
            ? { replicas: 0, availableReplicas: 0 }
            : workloadStatus(def.name, o, [...this.store.peek("pods", o.metadata.namespace)]);
        }
    }
  }

  private afterCreate(def: ResourceDef, o: Obj) {
    const ns = o.metadata.namespace;
    switch (def.name) {
      case "namespaces":
        if (!this.store.has("serviceaccounts", o.metadata.name, "default")) {
          this.store.insert("serviceaccounts", {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: {
              name: "default",
              namespace: o.metadata.name,
              uid: crypto.randomUUID(),
              creationTimestamp: now(),
            },
          });
        }
        break;
      case "pods":
        if (!o.spec.nodeName) {
          if (o.status.conditions?.length) {
            this.parkedAt.set(`${ns}/${o.metadata.name}`, Date.now());
            this.recordEvent(
              ns,
              o.metadata.name,
              "Warning",
              "FailedScheduling",
              o.status.conditions[0].message,
            );
            break;
          }
          for (const c of consumerClaims(this.store, o)) {
            if (c.metadata.annotations?.[SELECTED_NODE]) continue;
            const next: Obj = clone(c) as Obj;
            next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [SELECTED_NODE]: NODE_NAME };
            this.provision(this.store.replace("persistentvolumeclaims", next));
          }
          break;
        }
        // the runtime records the Scheduled event (sourced to default-scheduler by recordEvent)
        this.runtime?.startPod(o as PodObject);
        break;
      case "persistentvolumeclaims": {
        const problem = bindProblem(this.store, o);
        if (problem) {
          pvcEvent(this.store, o, "Warning", problem.reason, problem.message);
          break;
        }
        if (o.status?.phase !== "Bound") {
          if (waitsForConsumer(this.store, o)) {
            pvcEvent(
              this.store,
              o,
              "Normal",
              "WaitForFirstConsumer",
              "waiting for first consumer to be created before binding",
            );
          } else this.provision(o);
          break;
        }
        this.pvcDir(ns, o.metadata.name);
        this.scheduleWaiting(ns);
        break;
      }
      case "storageclasses":
        this.bindWaitingClaims(o.metadata.name);
        break;
      case "volumesnapshots":
        takeSnapshot(this.snapshotHost, o);
        break;
    }
  }

  /** The persistentvolume-controller: claims waiting for a class that now exists are bound. */
  private bindWaitingClaims(className: string) {
    const touched = new Set<string>();
    for (const c of [...this.store.peek("persistentvolumeclaims")]) {
      if (
        c.status?.phase !== "Pending" || c.spec?.storageClassName !== className ||
        c.metadata.deletionTimestamp
      ) {
        continue;
      }
      if (c.spec?.dataSource || c.spec?.dataSourceRef) {
        this.provision(c);
        continue;
      }
      const next: Obj = clone(c) as Obj;
      boundClaim(next, this.provisionerOf(next));
      this.store.replace("persistentvolumeclaims", next);
      this.pvcDir(next.metadata.namespace, next.metadata.name);
      touched.add(next.metadata.namespace);
    }
    for (const ns of touched) this.scheduleWaiting(ns);
  }

  /**
   * The test provisioner: the claim stays Pending with the controller's and the provisioner's events for
   * the class's `provisionDelay`, then is bound to a new volume and waiting pods are placed.
   */
  private provision(claim: Obj) {
    const ns = claim.metadata.namespace;
    const { name, uid } = claim.metadata;
    pvcEvent(
      this.store,
      claim,
      "Normal",
      "ExternalProvisioning",
      `waiting for a volume to be created, either by external provisioner "${
        this.provisionerOf(claim)
      }" or manually created by system administrator`,
    );
    pvcEvent(
      this.store,
      claim,
      "Normal",
      "Provisioning",
      `External provisioner is provisioning volume for claim "${ns}/${name}"`,
      `${this.provisionerOf(claim)}_${NODE_NAME}`,
    );
    const finish = async () => {
      const cur = this.store.get("persistentvolumeclaims", ns, name);
      if (this.closed || !cur || cur.metadata.uid !== uid || cur.status?.phase === "Bound") return;
      if (cur.metadata.deletionTimestamp) return;
      if (cur.spec?.dataSource || cur.spec?.dataSourceRef) {
        const p = await populate(this.snapshotHost, cur).catch((e) => ({
          outcome: "wait" as const,
          message: `failed to provision volume: ${(e as Error).message}`,
        }));
        if (p.outcome === "wait") {
          // the external-provisioner retries with a back-off; the claim stays Pending meanwhile
          pvcEvent(
            this.store,
            cur,
            "Warning",
            "ProvisioningFailed",
            p.message,
            `${this.provisionerOf(cur)}_${NODE_NAME}`,
          );
          const t = setTimeout(() => {
            this.timers.delete(t);
            void finish();
          }, 500);
          this.timers.add(t);
          return;
        }
      }
      const again = this.store.get("persistentvolumeclaims", ns, name);
      if (this.closed || !again || again.metadata.uid !== uid || again.metadata.deletionTimestamp) return;
      const next: Obj = clone(again) as Obj;
      boundClaim(next, this.provisionerOf(next));
      const bound = this.store.replace("persistentvolumeclaims", next);
      pvcEvent(
        this.store,
        bound,
        "Normal",
        "ProvisioningSucceeded",
        `Successfully provisioned volume ${bound.spec.volumeName}`,
        `${this.provisionerOf(bound)}_${NODE_NAME}`,
      );
      this.pvcDir(ns, name);
      this.scheduleWaiting(ns);
    };
    const delay = provisionDelayMs(classOf(this.store, claim));
    const t = setTimeout(() => {
      this.timers.delete(t);
      void finish();
    }, delay);
    this.timers.add(t);
  }

  /**
   * The scheduler: pods left unplaced for their claims are placed (and started) once the claims are bound
   * — a pod it failed to place no sooner than its back-off (kube-scheduler's initial 1 s) after that try.
   */
  private scheduleWaiting(ns: string) {
    for (const p of [...this.store.peek("pods", ns)]) {
      if (p.spec?.nodeName || p.metadata.deletionTimestamp) continue;
      if (claimsBlockScheduling(this.store, p) || consumerClaims(this.store, p).length) continue;
      const node = pickNode(this.store, p);
      if (!node) continue;
      const key = `${ns}/${p.metadata.name}`;
      const parked = this.parkedAt.get(key);
      if (parked !== undefined && Date.now() - parked < SCHEDULER_BACKOFF_MS) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!this.closed) this.scheduleWaiting(ns);
        }, SCHEDULER_BACKOFF_MS - (Date.now() - parked));
        this.timers.add(t);
        continue;
      }
      this.parkedAt.delete(key);
      const pod: Obj = clone(p) as Obj;
      const ip = this.allocatePodIp();
      pod.spec.nodeName = node;
      pod.status = {
        phase: "Pending",
        conditions: [{
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: now(),
        }],
        hostIP: "127.0.0.1",
        hostIPs: [{ ip: "127.0.0.1" }],
        podIP: ip,
        podIPs: [{ ip }],
        qosClass: p.status?.qosClass ?? qosClass(pod),
      };
      this.store.replace("pods", pod);
      this.runtime?.startPod(this.store.get("pods", ns, pod.metadata.name) as PodObject);
    }
  }

  private allocatePodIp(): string {
    // 127.B.C.n from a random B.C per server: parallel test servers must not hand out the same
    // pod IPs, or their pods' listeners collide. Addresses of live pods are never reused.
    const inUse = new Set<string>();
    for (const p of this.store.peek("pods")) if (p.status?.podIP) inUse.add(p.status.podIP);
    for (let tries = 0; tries < 65_000; tries++) {
      const n = this.nextIp++;
      const c = (this.ipBase + Math.floor(n / 254)) % (253 * 256);
      const ip = `127.${2 + Math.floor(c / 256)}.${c % 256}.${(n % 254) + 1}`;
      if (!inUse.has(ip)) return ip;
    }
    throw new ApiError(500, "InternalError", "no free pod IP addresses");
  }

  update(
    def: ResourceDef,
    ns: string,
    name: string,
    body: unknown,
    opts: { dryRun?: boolean; subresource?: string } = {},
  ): Obj {
    this.checkBody(def, body);
    const o: Obj = clone(body);
    o.metadata ??= {};
    if (o.metadata.name !== undefined && o.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    o.metadata.name = name;
    if (def.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      o.metadata.namespace = ns;
    }
    const old = this.store.get(def.name, def.namespaced ? ns : "", name);
    if (!old) throw notFound(def.name, name, def.group);
    if (o.metadata.resourceVersion && o.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(def.name, name);
    }
    if (opts.subresource === "status") {
      // Only status changes; everything else comes from the stored object.
      const next = clone(old);
      next.status = o.status;
      return opts.dryRun ? next : this.store.replace(def.name, next);
    }
    applyDefaults(def, o);
    o.metadata.uid ??= old.metadata.uid;
    o.metadata.creationTimestamp ??= old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) {
      o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      o.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete o.metadata.deletionTimestamp;
      delete o.metadata.deletionGracePeriodSeconds;
    }
    if (old.metadata.generation !== undefined) o.metadata.generation = old.metadata.generation;
    if (
      (isWorkload(def.name) || def.name === "poddisruptionbudgets") &&
      JSON.stringify(o.spec) !== JSON.stringify(old.spec)
    ) {
      o.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    // status is owned by the status subresource for these kinds
    if (
      ["pods", "namespaces", "persistentvolumeclaims", "services", "poddisruptionbudgets"].includes(
        def.name,
      ) ||
      isWorkload(def.name)
    ) {
      o.status = old.status;
    }
    if (def.name === "pods") {
      o.spec.nodeName = old.spec.nodeName;
      if (JSON.stringify(o.spec) !== JSON.stringify(old.spec)) {
        o.metadata.generation = (old.metadata.generation ?? 1) + 1;
      }
    }
    if (def.name === "persistentvolumeclaims") o.spec.volumeName ??= old.spec.volumeName;
    if (def.name === "services") {
      o.spec.clusterIP ??= old.spec.clusterIP;
      o.spec.clusterIPs ??= old.spec.clusterIPs;
    }
    this.validate(def, o, old);
    delete o.metadata.resourceVersion;
    if (JSON.stringify(stripRv(o)) === JSON.stringify(stripRv(old))) return old; // no-op update keeps the RV
    if (opts.dryRun) {
      return canonicalOrder({
        ...o,
        metadata: { ...o.metadata, resourceVersion: old.metadata.resourceVersion },
      });
    }
    return this.finalize(def, this.store.replace(def.name, canonicalOrder(o)));
  }

  /**
   * kube-apiserver's rule for finalizers: an object being deleted (deletionTimestamp set) stays while
   * it has any, and goes when an update removes the last one. Claims and namespaces have their own
   * controllers here (deletePVC/releasePVCs, deleteNamespace); a pod whose processes are still being
   * stopped goes when they are (stopPod).
   */
  private finalize(def: ResourceDef, o: Obj): Obj {
    if (!o.metadata.deletionTimestamp || o.metadata.finalizers?.length) return o;
    if (def.name === "persistentvolumeclaims" || def.name === "namespaces") return o;
    const ns = o.metadata.namespace ?? "";
    if (def.name === "pods" && this.pendingPodStops.has(`${ns}/${o.metadata.name}`)) return o;
    this.store.remove(def.name, def.namespaced ? ns : "", o.metadata.name);
    if (def.name === "pods") this.releasePVCs(ns);
    return o;
  }

  patch(
    def: ResourceDef,
    ns: string,
    name: string,
    type: PatchType,
    raw: string,
    opts: { dryRun?: boolean; subresource?: string } = {},
  ): Obj {
    let patch: unknown;
    try {
      patch = type === "apply" ? YAML.parse(raw) : JSON.parse(raw);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const old = this.store.get(def.name, def.namespaced ? ns : "", name);
    if (!old) {
      if (type === "apply") {
        return this.create(
          def,
          ns,
          { ...(patch as Obj), metadata: { ...(patch as Obj).metadata, name } },
          opts,
        );
      }
      throw notFound(def.name, name, def.group);
    }
    if (type !== "json" && (!patch || typeof patch !== "object" || Array.isArray(patch))) {
      throw badRequest("error decoding patch: the patch must be a JSON object");
    }
    let next: Obj;
    switch (type) {
      case "merge":
        next = mergePatch(old, patch);
        break;
      case "strategic":
      case "apply":
        next = strategicMergePatch(old, patch);
        break;
      case "json":
        next = jsonPatch(old, patch);
        break;
    }
    if (!next || typeof next !== "object") throw badRequest("patch result is not an object");
    const rvAfter = next.metadata?.resourceVersion;
    if (rvAfter === old.metadata.resourceVersion) delete next.metadata.resourceVersion;
    if (opts.subresource === "status") {
      const o = clone(old);
      o.status = next.status;
      if (rvAfter && rvAfter !== old.metadata.resourceVersion) throw conflict(def.name, name);
      return opts.dryRun ? o : this.store.replace(def.name, o);
    }
    if (["pods", "namespaces", "persistentvolumeclaims", "services"].includes(def.name)) {
      next.status = old.status;
    }
    return this.update(def, ns, name, next, opts);
  }

  async delete(def: ResourceDef, ns: string, name: string, opts: DeleteOptions = {}): Promise<Obj> {
    const key = def.namespaced ? ns : "";
    const o = this.store.get(def.name, key, name);
    if (!o) throw notFound(def.name, name, def.group);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== o.metadata.uid) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${def.name} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${o.metadata.uid}`,
        { name, kind: def.name },
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== o.metadata.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${def.name} "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${o.metadata.resourceVersion}`,
        { name, kind: def.name },
      );
    }
    if (opts.dryRun) return o;
    switch (def.name) {
      case "pods":
        return await this.deletePod(o, opts.gracePeriodSeconds);
      case "namespaces":
        return this.deleteNamespace(o);
      case "persistentvolumeclaims":
        return this.deletePVC(o);
      default: {
        // the garbage collector's part of a delete: orphan the dependents, or wait for them (Foreground)
        const policy = opts.propagationPolicy ?? defaultPropagation(def.name);
        if (policy === "Orphan") this.controllers.gc.orphan(o);
        if (policy === "Foreground" && !o.metadata.deletionTimestamp) {
          return this.controllers.gc.foreground(def.name, o, now());
        }
        if (o.metadata.finalizers?.length) {
          // marked, not removed: it goes when its finalizers are (finalize); the answer is the object
          if (o.metadata.deletionTimestamp) return o;
          o.metadata.deletionTimestamp = now();
          o.metadata.deletionGracePeriodSeconds = 0;
          return this.store.replace(def.name, o);
        }
        this.store.remove(def.name, key, name);
        if (def.name === "volumesnapshots") snapshotDeleted(this.snapshotHost, o);
        return statusSuccess(def, o);
      }
    }
  }

  /** What the cluster faults (controllers/disruptions.ts: node loss, pressure, preemption) use. */
  get disruptionHost(): DisruptionHost {
    const pods = RESOURCES.find((d) => d.name === "pods")!;
    return {
      store: this.store,
      lostNodes: this.lostNodes,
      killProcesses: async (ns, name, grace, o) => await this.runtime?.stopPod(ns, name, grace, o),
      finishDelete: (ns, name) => this.stopPod(ns, name, 0),
      restart: (pod) => this.runtime?.startPod(pod as PodObject),
      deletePod: (ns, name, grace) => this.delete(pods, ns, name, { gracePeriodSeconds: grace }),
      kubeletStatus: (ns, name, status) => this.updatePodStatus(ns, name, status),
      later: (ms, fn) => this.snapshotHost.later(ms, fn),
      oomKill: (ns, name, c) => this.runtime?.oomKill?.(ns, name, c) ?? Promise.resolve(false),
    };
  }

  /** `POST pods/NAME/eviction` (controllers/eviction.ts): the PDB-checked graceful delete. */
  evict(ns: string, name: string, body: unknown): Promise<Obj> {
    return evict(
      {
        store: this.store,
        budgetsFor: (pod) => this.controllers.disruption.budgetsFor(pod),
        deletePod: (pod, o) =>
          this.delete(RESOURCES.find((d) => d.name === "pods")!, ns, pod.metadata.name, {
            gracePeriodSeconds: o.gracePeriodSeconds ?? undefined,
            preconditions: o.preconditions,
          }),
      },
      ns,
      name,
      body,
    );
  }

  private async deletePod(pod: Obj, graceOpt?: number): Promise<Obj> {
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name;
    let grace = graceOpt ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (grace < 0) grace = 0;
    const k = `${ns}/${name}`;
    if (pod.metadata.deletionTimestamp) {
      // Already terminating: a shorter grace period (e.g. --force) shortens the wait.
      if (grace < (pod.metadata.deletionGracePeriodSeconds ?? 30)) {
        pod.metadata.deletionGracePeriodSeconds = grace;
        pod.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(
          /\.\d+Z$/,
          "Z",
        );
        const updated = this.store.replace("pods", pod);
        if (this.lostNodes.has(pod.spec?.nodeName) && grace > 0) return updated;
        this.stopPod(ns, name, grace);
        if (grace === 0) await this.pendingPodStops.get(k);
        return updated;
      }
      return pod;
    }
    pod.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(
      /\.\d+Z$/,
      "Z",
    );
    pod.metadata.deletionGracePeriodSeconds = grace;
    const updated = this.store.replace("pods", pod);
    // on a lost node no kubelet confirms a graceful delete: the pod stays Terminating (faults: restoreNode)
    if (this.lostNodes.has(pod.spec?.nodeName) && grace > 0) return updated;
    // the runtime records one Killing event per container it stops
    const done = this.stopPod(ns, name, grace);
    if (grace === 0) await done;
    return updated;
  }

  /** Stop the pod's processes and remove it; resolves when the DELETED event has been sent. */
  private stopPod(ns: string, name: string, grace: number): Promise<void> {
    const k = `${ns}/${name}`;
    const p = (async () => {
      try {
        await this.runtime?.stopPod(ns, name, grace);
      } catch (e) {
        console.error(`[cluster] stopPod ${k}: ${(e as Error).message}`);
      }
      this.pendingPodStops.delete(k);
      // its finalizers keep a stopped pod (Terminating) until an update removes them (finalize)
      if (this.store.get("pods", ns, name)?.metadata.finalizers?.length) return;
      if (this.store.has("pods", ns, name)) this.store.remove("pods", ns, name);
      this.releasePVCs(ns);
    })();
    this.pendingPodStops.set(k, p);
    return p;
  }

  private deletePVC(pvc: Obj): Obj {
    const ns = pvc.metadata.namespace;
    const name = pvc.metadata.name;
    if (this.pvcInUse(ns, name)) {
      if (!pvc.metadata.deletionTimestamp) {
        pvc.metadata.deletionTimestamp = now();
        pvc.metadata.deletionGracePeriodSeconds = 0;
        return this.store.replace("persistentvolumeclaims", pvc);
      }
      return pvc;
    }
    const removed = this.store.remove("persistentvolumeclaims", ns, name)!;
    this.removePvcDir(ns, name);
    return removed;
  }

  private removePvcDir(ns: string, name: string) {
    try {
      Deno.removeSync(join(this.stateDir, "pvcs", ns, name), { recursive: true });
    } catch { /* already gone */ }
  }

  private pvcInUse(ns: string, claim: string): boolean {
    for (const p of this.store.peek("pods", ns)) {
      if ((p.spec?.volumes ?? []).some((v: Obj) => v.persistentVolumeClaim?.claimName === claim)) return true;
    }
    return false;
  }

  private releasePVCs(ns: string) {
    const pending = [...this.store.peek("persistentvolumeclaims", ns)].filter((c) =>
      c.metadata.deletionTimestamp
    );
    for (const c of pending) {
      if (c.metadata.deletionTimestamp && !this.pvcInUse(ns, c.metadata.name)) {
        this.store.remove("persistentvolumeclaims", ns, c.metadata.name);
        this.removePvcDir(ns, c.metadata.name);
      }
    }
  }

  private deleteNamespace(n: Obj): Obj {
    const name = n.metadata.name;
    if (n.metadata.deletionTimestamp) return n;
    n.metadata.deletionTimestamp = now();
    n.metadata.deletionGracePeriodSeconds = 0;
    n.spec = { ...(n.spec ?? {}), finalizers: ["kubernetes"] };
    n.status = { phase: "Terminating" };
    const updated = this.store.replace("namespaces", n);
    (async () => {
      // the namespace controller gets to it a moment later (on a real cluster: about a second at best)
      await new Promise((r) => setTimeout(r, 1000));
      if (this.closed) return;
      const pods = this.store.list("pods", name);
      await Promise.all(
        pods.map((p) =>
          this.deletePod(p, undefined).then(() => this.pendingPodStops.get(`${name}/${p.metadata.name}`))
        ),
      );
      // a pod a finalizer holds keeps the namespace Terminating until the finalizer is removed
      while (!this.closed && this.store.list("pods", name).length) {
        await new Promise((r) => setTimeout(r, 200));
      }
      if (this.closed) return;
      for (const def of RESOURCES) {
        if (!def.namespaced || def.virtual || def.name === "pods") continue;
        for (const o of this.store.list(def.name, name)) {
          this.store.remove(def.name, name, o.metadata.name);
          if (def.name === "persistentvolumeclaims") this.removePvcDir(name, o.metadata.name);
        }
      }
      this.store.remove("namespaces", "", name);
    })().catch((e) => console.error(`[cluster] deleting namespace ${name}: ${e}`));
    return updated;
  }

  async deleteCollection(
    def: ResourceDef,
    ns: string | undefined,
    list: ListOptions,
    opts: DeleteOptions,
  ): Promise<Obj> {
    const { items } = this.list(def, ns, list);
    const deleted: Obj[] = [];
    for (const o of items) {
      try {
        await this.delete(def, o.metadata.namespace ?? "", o.metadata.name, opts);
        deleted.push(o);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return {
      apiVersion: apiVersionOf(def),
      kind: `${def.kind}List`,
      metadata: { resourceVersion: String(this.store.currentRv()) },
      items: deleted,
    };
  }

  /** Wait until pods being deleted are gone (shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.pendingPodStops.values()]);
  }

  close() {
    this.closed = true;
    this.controllers.close();
    this.kubeProxy.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---------------------------------------------------------------- watch
  /**
   * Subscribe to changes. Without a resourceVersion (or "0") the current objects are sent as
   * ADDED first. Returns an unsubscribe function, or throws 410 Expired when `rv` is too old.
   */
  watch(
    def: ResourceDef,
    ns: string | undefined,
    opts: ListOptions & { resourceVersion?: string },
    send: (type: EventType, obj: Obj) => void,
  ): () => void {
    const nsFilter = def.namespaced ? ns : undefined;
    const matches = (o: Obj | undefined) =>
      !!o && (nsFilter === undefined || o.metadata.namespace === nsFilter) &&
      (!opts.labels?.length || matchLabels(opts.labels, o.metadata.labels)) &&
      (!opts.fields?.length || matchFields(opts.fields, o));
    const deliver = (ev: StoreEvent) => {
      const now = matches(ev.object);
      const before = ev.type === "MODIFIED" ? matches(ev.prev) : now;
      if (ev.type === "ADDED" && now) send("ADDED", ev.object);
      else if (ev.type === "DELETED" && (now || matches(ev.prev))) send("DELETED", ev.object);
      else if (ev.type === "MODIFIED") {
        if (now && before) send("MODIFIED", ev.object);
        else if (now) send("ADDED", ev.object);
        else if (before) send("DELETED", ev.object);
      }
    };
    const rv = opts.resourceVersion;
    if (rv && rv !== "0") {
      const n = Number(rv);
      if (!Number.isFinite(n)) throw badRequest(`invalid resource version: ${rv}`);
      const backlog = this.store.since(def.name, n);
      if (!backlog) {
        throw new ApiError(410, "Expired", `too old resource version: ${rv} (${this.store.currentRv()})`);
      }
      const unsub = this.watched(def.name, this.store.subscribe(def.name, deliver));
      for (const ev of backlog) deliver(ev);
      return unsub;
    }
    const unsub = this.watched(def.name, this.store.subscribe(def.name, deliver));
    for (const o of this.store.list(def.name, nsFilter)) if (matches(o)) send("ADDED", o);
    return unsub;
  }

  private readonly watchCount = new Map<string, number>();
  private watchWaiters: { resource: string; n: number; resolve: () => void }[] = [];

  /** Watches of `resource` (plural name) open now. */
  watching(resource: string): number {
    return this.watchCount.get(resource) ?? 0;
  }

  /**
   * Resolves once `n` watches of `resource` are open: the event a test waits for before it changes what
   * the watch should see ("the watch is connected"), instead of a sleep.
   */
  whenWatching(resource: string, n = 1): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.watchWaiters.push({ resource, n, resolve });
    this.countWatch(resource, 0);
    return promise;
  }

  /**
   * Resolves when the next watch of `resource` opens (one opened before the call does not count): for a
   * test that starts what opens a watch while others may be closing, where a count of open ones is racy.
   */
  nextWatch(resource: string): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.nextWatchers.push({ resource, resolve });
    return promise;
  }

  private nextWatchers: { resource: string; resolve: () => void }[] = [];

  /** Count a watch open until its unsubscribe. */
  private watched(resource: string, unsub: () => void): () => void {
    this.countWatch(resource, +1);
    let open = true;
    return () => {
      unsub();
      if (open) this.countWatch(resource, -1);
      open = false;
    };
  }

  private countWatch(resource: string, d: number) {
    this.watchCount.set(resource, this.watching(resource) + d);
    if (d > 0) {
      const next = this.nextWatchers.filter((w) => w.resource === resource);
      this.nextWatchers = this.nextWatchers.filter((w) => w.resource !== resource);
      for (const w of next) w.resolve();
    }
    const due = this.watchWaiters.filter((w) => w.resource === resource && this.watching(resource) >= w.n);
    if (!due.length) return;
    this.watchWaiters = this.watchWaiters.filter((w) => !due.includes(w));
    for (const w of due) w.resolve();
  }

  // ---------------------------------------------------------------- endpoints and workload status
  private queueEndpoints(ns: string) {
    if (this.endpointsQueue.size === 0) queueMicrotask(() => this.flushEndpoints());
    this.endpointsQueue.add(ns);
  }

  private flushEndpoints() {
    const nss = [...this.endpointsQueue];
    this.endpointsQueue.clear();
    if (this.closed) return;
    for (const ns of nss) {
      syncEndpoints(this.store, ns);
      syncWorkloads(this.store, ns);
    }
  }
}

function keyOf(o: Obj): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function stripRv(o: Obj): Obj {
  const c = clone(o);
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return c;
}

function statusSuccess(def: ResourceDef, o: Obj): Obj {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: o.metadata.name,
      ...(def.group ? { group: def.group } : {}),
      kind: def.name,
      uid: o.metadata.uid,
    },
  };
}

export { b64encode, NODE_NAME, now, SYSTEM_NAMESPACES };
