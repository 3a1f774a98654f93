/**
 * Pure manifest builders: a session's settings (and its env/editor data) -> the Kubernetes objects
 * `start` creates. Unit-tested as data. Every object carries the kodama labels and the settings
 * annotation; the pod is built from the settings alone, so `resume` can rebuild it on any machine.
 *
 * The pod's parts are separate builders (volumes, the main container, init containers, the keep-alive
 * script) so later features add an init container, a Secret volume or a mount in one place.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1Job,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { buildGitSecret, GIT_CONTAINER, gitInitContainer, gitMounts, gitVolumes } from "../git/git.ts";
import { multiCloneContainer, sessionGit } from "../git/repos.ts";
import {
  ANNOTATION_SPEC,
  CLI_CACHE_PATH,
  CLI_CACHE_PVC,
  LABEL_GROUP,
  LABEL_MANAGED_BY,
  LABEL_REPLICA,
  LABEL_SESSION,
  LABEL_VOLUME,
  MANAGED_BY,
} from "./names.ts";
import { checkedCpu, checkedSize, formatCpu, formatSize, sessionResources } from "./quantity.ts";
import type { Sidecar } from "./template.ts";
import { TERMINATION_LOG, WATCHDOG, watchdogArgs } from "../lifecycle/lifetime.ts";
import KEEPALIVE from "../pod/keepalive.sh" with { type: "text" };
import EDITORCONFIG from "../pod/editorconfig.sh" with { type: "text" };
import { buildEgressPolicy, containerSecurity, POD_SECCOMP } from "./sandbox.ts";
import { gatewayEgressPolicy } from "./gateway.ts";
import { podScheduling, withRequests } from "./scheduling.ts";
import {
  AGENT_HOME,
  CA_CERTS_DIR,
  CA_CERTS_KEY,
  CONTAINER,
  EDITOR_FILES,
  EDITOR_MOUNT,
  FS_GROUP,
  hasEditor,
  namesOf,
  type SessionSpec,
} from "./spec.ts";

export interface SessionObjects {
  pvcs: V1PersistentVolumeClaim[];
  secret: V1Secret;
  configMap?: V1ConfigMap;
  /** the git credentials Secret (`start --repo` with a token or a CA) */
  gitSecret?: V1Secret;
  /** the egress NetworkPolicy (session.egress; sandbox.ts) */
  networkPolicy?: V1NetworkPolicy;
  /** the Job `start` creates: it owns the session's pod and brings it back when the cluster takes it */
  job: V1Job;
  /**
   * the Job's pod template as a Pod (`buildPod`): its spec, labels and annotations are the template's own
   * objects, so a change to it (withCliCache, the owner) is the Job's
   */
  pod: V1Pod;
}

/** The data `start` puts into the session's Secret and ConfigMap (never recorded anywhere else). */
export interface SessionData {
  env: Record<string, string>;
  editor: Record<string, string>;
  /** the git credentials Secret's data, when the session needs one */
  git?: Record<string, string>;
  /** a CA bundle from this machine (NODE_EXTRA_CA_CERTS): in the ConfigMap, mounted at CA_CERTS_PATH */
  ca?: string;
}

export function metadata(spec: SessionSpec, name: string) {
  return {
    name,
    namespace: spec.namespace,
    // a template's labels first: kodama's own always win (the template schema refuses them anyway)
    labels: {
      ...spec.labels,
      [LABEL_MANAGED_BY]: MANAGED_BY,
      [LABEL_SESSION]: spec.name,
      ...(spec.group ? { [LABEL_GROUP]: spec.group.name, [LABEL_REPLICA]: String(spec.group.replica) } : {}),
    },
    annotations: { [ANNOTATION_SPEC]: JSON.stringify(spec) },
  };
}

export function buildPVC(spec: SessionSpec, which: "workspace" | "home"): V1PersistentVolumeClaim {
  const n = namesOf(spec);
  const m = metadata(spec, which === "workspace" ? n.workspacePVC : n.homePVC);
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { ...m, labels: { ...m.labels, [LABEL_VOLUME]: which } },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: {
        requests: { storage: which === "workspace" ? spec.storage.workspace : spec.storage.home },
      },
      ...(spec.storage.storageClass ? { storageClassName: spec.storage.storageClass } : {}),
    },
  };
}

/** Base64 of the UTF-8 bytes (values may be up to 1 MiB; no node:buffer, which loads Deno's Node layer). */
const b64 = (s: string) => new TextEncoder().encode(s).toBase64();

export function buildEnvSecret(spec: SessionSpec, env: Record<string, string>): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(spec, namesOf(spec).envSecret),
    type: "Opaque",
    data: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, b64(v)])),
  };
}

export function buildEditorConfigMap(spec: SessionSpec, files: Record<string, string>): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(spec, namesOf(spec).editorConfigMap),
    data: { ...files },
  };
}

/**
 * The main process's command (pod/keepalive.sh): wait to be stopped (with idle stop, the watchdog:
 * pod/watchdog.sh). With idle stop, the main process (and all it runs) carries KODAMA_IDLE_IGNORE=1 in its
 * environment, so the watchdog tells its own processes from those started through exec (which never have it).
 */
export function keepAliveCommand(spec: SessionSpec): string[] {
  if (!spec.idleStop) return ["sh", "-c", KEEPALIVE, "kodama-session"];
  return [
    "sh",
    "-c",
    'KODAMA_IDLE_IGNORE=1 exec sh -c "$0" "$@"',
    KEEPALIVE,
    "kodama-session",
    WATCHDOG,
    ...watchdogArgs(spec.idleStop),
  ];
}

/**
 * The session container's postStart hook (pod/editorconfig.sh): the editor configs into $HOME before the
 * kubelet counts the container as running, so the pod is Ready (and `start` returns, an attach opens an
 * editor) only once they are there. A repository's file replaces the copy at each start; a default only
 * fills a missing file, so edits made in the session stay. Undefined when there is nothing to copy.
 */
export function editorConfigHook(spec: SessionSpec): string[] | undefined {
  const repo = spec.editorFiles.filter((f) => f in EDITOR_FILES);
  const defaults = spec.editor ? Object.keys(EDITOR_FILES).filter((f) => !repo.includes(f)) : [];
  if (!repo.length && !defaults.length) return undefined;
  const pairs = (files: string[]) => files.map((f) => `${f}:${EDITOR_FILES[f]}`).join(" ");
  return ["sh", "-c", EDITORCONFIG, "kodama-editor", EDITOR_MOUNT, pairs(repo), pairs(defaults)];
}

export function podVolumes(spec: SessionSpec): V1Volume[] {
  const n = namesOf(spec);
  const vols: V1Volume[] = [
    { name: "workspace", persistentVolumeClaim: { claimName: n.workspacePVC } },
    { name: "home", persistentVolumeClaim: { claimName: n.homePVC } },
  ];
  if (hasEditor(spec)) {
    vols.push({ name: "editor-config", configMap: { name: n.editorConfigMap, optional: true } });
  }
  if (spec.caCerts) {
    vols.push({
      name: "ca-certs",
      configMap: { name: n.editorConfigMap, optional: true, items: [{ key: CA_CERTS_KEY, path: "ca.pem" }] },
    });
  }
  if (cliCacheEntry(spec)) {
    vols.push({ name: "agent-clis", persistentVolumeClaim: { claimName: CLI_CACHE_PVC, readOnly: true } });
  }
  vols.push(...gitVolumes(sessionGit(spec), n.gitSecret));
  return vols;
}

/** The session's entry of the agent-CLI cache (its subPath), only when it is one (SessionSpec.cliCache). */
export function cliCacheEntry(spec: SessionSpec): string | undefined {
  const e: unknown = spec.cliCache;
  return typeof e === "string" && /^[0-9a-f]{32}$/.test(e) ? e : undefined;
}

export function mainMounts(spec: SessionSpec): V1VolumeMount[] {
  const mounts: V1VolumeMount[] = [
    { name: "workspace", mountPath: spec.workdir },
    { name: "home", mountPath: AGENT_HOME },
  ];
  if (hasEditor(spec)) {
    mounts.push({ name: "editor-config", mountPath: EDITOR_MOUNT, readOnly: true });
  }
  if (spec.caCerts) mounts.push({ name: "ca-certs", mountPath: CA_CERTS_DIR, readOnly: true });
  const entry = cliCacheEntry(spec);
  if (entry) mounts.push({ name: "agent-clis", mountPath: CLI_CACHE_PATH, subPath: entry, readOnly: true });
  mounts.push(...gitMounts(sessionGit(spec)));
  return mounts;
}

export function mainContainer(spec: SessionSpec): V1Container {
  const base = sessionResources(spec.cpu, spec.memory);
  if (spec.ephemeralStorage) {
    (base.limits as Record<string, string>)["ephemeral-storage"] = spec.ephemeralStorage;
  }
  // --cpu-request/--memory-request and the devices (--gpu, --resource): scheduling.ts
  const r = withRequests(base, spec.scheduling);
  const hook = editorConfigHook(spec);
  return {
    name: CONTAINER,
    image: spec.image,
    command: keepAliveCommand(spec),
    ...(hook ? { lifecycle: { postStart: { exec: { command: hook } } } } : {}),
    workingDir: spec.workdir,
    env: [
      // a template's plain variables, then kodama's (HOME and KODAMA_* are the session's own)
      ...Object.entries(spec.vars ?? {}).map(([name, value]) => ({ name, value })),
      { name: "HOME", value: AGENT_HOME },
      { name: "KODAMA_SESSION", value: spec.name },
      { name: "KODAMA_WORKSPACE", value: spec.workdir },
      // a replica of a group (best of N): an agent or a check may tell the replicas apart
      ...(spec.group
        ? [
          { name: "KODAMA_GROUP", value: spec.group.name },
          { name: "KODAMA_REPLICA", value: String(spec.group.replica) },
        ]
        : []),
      // several repositories: their directories under the workspace, which the agent runner counts each of
      // (src/agent/pod/watch.sh); a session with one or none has none, so nested repositories are not its own
      ...(spec.repos?.length
        ? [{ name: "KODAMA_REPOS", value: spec.repos.map((r) => r.name).join(" ") }]
        : []),
      // which pod this is: agent runs record it (a run of an earlier pod was interrupted), and the idle
      // watchdog knows the pod's processes by it (every exec gets the container's environment)
      { name: "KODAMA_POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    ],
    ...(spec.idleStop ? { terminationMessagePath: TERMINATION_LOG } : {}),
    // optional: a session whose Secret was removed (or never made) still starts
    envFrom: [{ secretRef: { name: namesOf(spec).envSecret, optional: true } }],
    resources: r,
    volumeMounts: mainMounts(spec),
    stdin: true,
    securityContext: containerSecurity(spec.sandbox, true),
  };
}

/**
 * A sidecar (`--sidecar`, a template's `sidecars:`): its image's own entrypoint unless a command is
 * given, its ports declared (so `pf` and Services see them), limits only when asked for. It mounts none
 * of the session's volumes: the workspace and agent home belong to the session container.
 */
export function sidecarContainer(s: Sidecar, spec?: SessionSpec): V1Container {
  const limits = {
    ...(s.resources?.cpu ? { cpu: formatCpu(checkedCpu(s.resources.cpu, `sidecar ${s.name} cpu`)) } : {}),
    ...(s.resources?.memory
      ? { memory: formatSize(checkedSize(s.resources.memory, `sidecar ${s.name} memory`)) }
      : {}),
  };
  return {
    name: s.name,
    image: s.image,
    ...(s.command?.length ? { command: s.command } : {}),
    ...(s.args?.length ? { args: s.args } : {}),
    ...(s.env && Object.keys(s.env).length
      ? { env: Object.entries(s.env).map(([name, value]) => ({ name, value })) }
      : {}),
    ...(s.ports?.length ? { ports: s.ports.map((p) => ({ containerPort: p, protocol: "TCP" })) } : {}),
    ...(Object.keys(limits).length ? { resources: { limits } } : {}),
    // locked down like the session's, as its image's own user (a database image switches users itself)
    securityContext: containerSecurity(spec?.sandbox, false),
  };
}

/** Init containers: the git clone (`start --repo`), which clones only into an empty workspace. */
export function initContainers(spec: SessionSpec): V1Container[] {
  const git = sessionGit(spec);
  if (!git) return [];
  const one = gitInitContainer(git, {
    workdir: spec.workdir,
    home: AGENT_HOME,
    session: spec.name,
    mounts: [
      { name: "workspace", mountPath: spec.workdir },
      { name: "home", mountPath: AGENT_HOME },
    ],
    resources: sessionResources(spec.cpu, spec.memory),
  });
  // several repositories: one clone each, into workdir/NAME (src/session/git/repos.ts)
  const clone = spec.repos?.length ? multiCloneContainer(one, spec.repos, spec.workdir) : one;
  // as the session's user: the clone's files are the agent's own. Through the gateway the clone has no token
  // and its pod may reach only the gateway: it takes git's insteadOf and header from the env Secret too
  const viaGateway = spec.gateway
    ? { envFrom: [{ secretRef: { name: namesOf(spec).envSecret, optional: true } }] }
    : {};
  return [{ ...clone, ...viaGateway, securityContext: containerSecurity(spec.sandbox, true) }];
}

/** With sidecars, kubectl (and kodama's pod commands) default to the session container too. */
function podMetadata(spec: SessionSpec) {
  const m = metadata(spec, namesOf(spec).workload);
  // the user's annotations (--annotation) first: kodama's own always win
  if (spec.scheduling?.annotations) m.annotations = { ...spec.scheduling.annotations, ...m.annotations };
  if (spec.sidecars?.length) {
    (m.annotations as Record<string, string>)["kubectl.kubernetes.io/default-container"] = CONTAINER;
  }
  return m;
}

/**
 * The namespace's agent-CLI cache added to a pod built without it (start decides it late), its settings too
 * (on the Job as well, when given: its template shares the pod's spec and annotations).
 */
export function withCliCache(pod: V1Pod, spec: SessionSpec, job?: V1Job): void {
  pod.spec!.volumes!.push(...podVolumes(spec).filter((v) => v.name === "agent-clis"));
  pod.spec!.containers[0].volumeMounts!.push(...mainMounts(spec).filter((m) => m.name === "agent-clis"));
  for (const a of [pod.metadata?.annotations, job?.metadata?.annotations]) {
    if (a && ANNOTATION_SPEC in a) a[ANNOTATION_SPEC] = JSON.stringify(spec);
  }
}

/** The pod template's init container whose failure fails the Job at once (a failed clone is not retried). */
const FAIL_AT_ONCE = GIT_CONTAINER;

/**
 * The session's Job (issue 80): one pod at a time (`parallelism`/`completions` 1) from the pod template
 * `buildPod` makes, so the cluster, not the laptop, brings the session back after an eviction, a
 * preemption, a lost node or a delete. A disruption (the pod's `DisruptionTarget` condition) is ignored by
 * the failure count, and the replacement is made only once the old pod is fully gone
 * (`podReplacementPolicy: Failed`), so two pods never share the workspace. A crash counts (`backoffLimit`);
 * a failed clone fails the Job at once; the main process ending by itself (an idle stop, exit 0) completes
 * it, and nothing restarts it. The template shares `pod`'s spec, labels and annotations (not its name:
 * the Job names its pods `kodama-NAME-x7k2p`).
 */
export function buildJob(spec: SessionSpec, pod: V1Pod = buildPod(spec)): V1Job {
  const clone = pod.spec?.initContainers?.some((c) => c.name === FAIL_AT_ONCE);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(spec, namesOf(spec).workload),
    spec: {
      parallelism: 1,
      completions: 1,
      // real failures (a crash) only on 1.26+ clusters; before them (and for a plain `kubectl delete pod` on any)
      // every lost pod counts too, and a session must outlive a night of them
      backoffLimit: 20,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
          ...(clone
            ? [{
              action: "FailJob",
              onExitCodes: { containerName: FAIL_AT_ONCE, operator: "NotIn", values: [0] },
            }]
            : []),
        ],
      },
      template: {
        metadata: { labels: pod.metadata!.labels, annotations: pod.metadata!.annotations },
        spec: pod.spec!,
      },
    },
  };
}

export function buildPod(spec: SessionSpec): V1Pod {
  const inits = initContainers(spec);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: podMetadata(spec),
    spec: {
      ...(inits.length ? { initContainers: inits } : {}),
      // the session container first: it is the default for exec, attach and logs
      containers: [mainContainer(spec), ...(spec.sidecars ?? []).map((s) => sidecarContainer(s, spec))],
      volumes: podVolumes(spec),
      // volumes group-owned and group-writable for any image user; a big workspace is not re-chowned;
      // the runtime's default seccomp profile for every container (sandbox.ts)
      securityContext: { fsGroup: FS_GROUP, fsGroupChangePolicy: "OnRootMismatch", ...POD_SECCOMP },
      ...(spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
      // pull secrets, node selector, tolerations, priority class (scheduling.ts)
      ...podScheduling(spec.scheduling),
      // nothing in the pod needs the API server: no token unless the session asked for one
      automountServiceAccountToken: spec.sandbox?.token === true,
      // a failed clone fails the pod once (Failed, with the reason) instead of restarting it forever;
      // the session container only ends when stopped (resume makes a new pod)
      restartPolicy: "Never",
      // 30 s: the pod's end reaches the agent runner (keepalive.sh), which records its run's cut (issue 80)
      terminationGracePeriodSeconds: 30,
    },
  };
}

/**
 * The session's egress NetworkPolicy, when its settings have one (session.egress.enabled): with a gateway,
 * the gateway pod and DNS only.
 */
export function buildNetworkPolicy(spec: SessionSpec): V1NetworkPolicy | undefined {
  const egress = spec.sandbox?.egress;
  if (!egress) return undefined;
  const m = metadata(spec, namesOf(spec).egressPolicy);
  const podLabels = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SESSION]: spec.name };
  // through the gateway: only the gateway pod and DNS (the keys and the host allow-list are there)
  if (spec.gateway) return gatewayEgressPolicy(m, podLabels);
  return buildEgressPolicy(egress, m, podLabels);
}

/** Everything `start` creates, in creation order. */
export function buildSession(spec: SessionSpec, data: SessionData): SessionObjects {
  const networkPolicy = buildNetworkPolicy(spec);
  return {
    ...(networkPolicy ? { networkPolicy } : {}),
    secret: buildEnvSecret(spec, data.env),
    pvcs: [buildPVC(spec, "workspace"), buildPVC(spec, "home")],
    // the ConfigMap holds the CA bundle too (public data; as an env var from the env Secret a big bundle
    // would pass Linux's 128 KiB limit on one environment string, and the container would not start)
    ...(hasEditor(spec) || spec.caCerts
      ? {
        configMap: buildEditorConfigMap(spec, {
          ...data.editor,
          ...(spec.caCerts && data.ca !== undefined ? { [CA_CERTS_KEY]: data.ca } : {}),
        }),
      }
      : {}),
    ...(sessionGit(spec)?.credentialsFor && data.git
      ? { gitSecret: buildGitSecret(metadata(spec, namesOf(spec).gitSecret), data.git) }
      : {}),
    ...jobAndPod(spec),
  };
}

/** The Job and its template as a Pod, sharing one spec. */
function jobAndPod(spec: SessionSpec): { job: V1Job; pod: V1Pod } {
  const pod = buildPod(spec);
  return { job: buildJob(spec, pod), pod };
}

/** The objects as `--dry-run` prints them: in creation order, Secret values replaced by `<redacted>`. */
export function redactedList(o: SessionObjects): Record<string, unknown>[] {
  const redact = (s: V1Secret) => {
    const { data, ...rest } = s;
    return { ...rest, stringData: Object.fromEntries(Object.keys(data ?? {}).map((k) => [k, "<redacted>"])) };
  };
  return [
    redact(o.secret),
    ...(o.networkPolicy ? [o.networkPolicy] : []),
    ...(o.gitSecret ? [redact(o.gitSecret)] : []),
    ...o.pvcs,
    ...(o.configMap ? [o.configMap] : []),
    o.job,
  ] as unknown as Record<string, unknown>[];
}
