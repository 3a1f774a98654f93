/**
 * `kodama doctor`: what kodama needs from a cluster and a machine, and a verdict (pure; src/doctor/run.ts
 * asks the server and the machine). Permissions are asked per namespace with SelfSubjectAccessReview, one
 * verb at a time, and named after the commands that need them.
 */
import { METADATA_CIDRS } from "../base/metadata.ts";

export interface Permission {
  /** "" for core */
  group: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  /** checked at the cluster scope (e.g. pods -A), not in the namespace */
  cluster?: boolean;
  /** the commands that need it, for the table */
  neededBy: string;
  /** a missing optional permission only disables a feature; a missing required one fails doctor */
  required: boolean;
}

/**
 * Streams (exec, attach, port-forward) are WebSocket GETs: kube-apiserver before 1.30 authorizes them as
 * "get" on the subresource, 1.30 and later as "create" (kubectl's SPDY POSTs always were "create").
 */
export function streamVerb(serverMinor: number | undefined): string {
  return serverMinor !== undefined && serverMinor < 30 ? "get" : "create";
}

/** Everything kodama's commands ask the API server for, grouped by purpose. */
export function permissions(serverMinor?: number): Permission[] {
  const stream = streamVerb(serverMinor);
  return [
    {
      group: "",
      resource: "pods",
      verbs: ["get", "list", "watch"],
      neededBy: "pods, exec, logs, cp, pick, wait, port-forward, run, sessions",
      required: true,
    },
    {
      group: "",
      resource: "pods",
      subresource: "exec",
      verbs: [stream],
      neededBy: "exec, cp, run (exec steps), attach, agent runs, session fetch",
      required: true,
    },
    {
      group: "",
      resource: "pods",
      subresource: "log",
      verbs: ["get"],
      neededBy: "logs, run (logs steps), start --repo (the clone's log)",
      required: true,
    },
    {
      group: "",
      resource: "pods",
      subresource: "portforward",
      verbs: [stream],
      neededBy: "port-forward, run (port-forward steps)",
      required: true,
    },
    {
      group: "",
      resource: "pods",
      verbs: ["delete"],
      neededBy: "stop, delete (a session's leftover pods; an older kodama's bare pods)",
      required: true,
    },
    {
      group: "batch",
      resource: "jobs",
      verbs: ["get", "list", "watch", "create", "delete"],
      neededBy: "start, stop, resume, delete (a session's pod belongs to its Job), snapshots, the CLI cache",
      required: true,
    },
    {
      group: "policy",
      resource: "poddisruptionbudgets",
      verbs: ["get", "create", "delete"],
      neededBy: "session.protectRunning (a drain waits while an agent runs)",
      required: false,
    },
    {
      group: "",
      resource: "persistentvolumeclaims",
      verbs: ["get", "list", "watch", "create", "delete", "patch"],
      neededBy: "sessions (workspace and home volumes)",
      required: true,
    },
    {
      group: "",
      resource: "secrets",
      verbs: ["get", "create", "delete"],
      neededBy: "sessions (env files, git credentials)",
      required: true,
    },
    {
      group: "",
      resource: "configmaps",
      verbs: ["get", "create", "delete"],
      neededBy: "sessions (editor configs)",
      required: true,
    },
    {
      group: "networking.k8s.io",
      resource: "networkpolicies",
      verbs: ["get", "create", "patch", "delete"],
      neededBy: "start (the session's egress NetworkPolicy; without it set session.egress.enabled: false)",
      required: false,
    },
    {
      group: "",
      resource: "events",
      verbs: ["list"],
      neededBy: "sessions, wait (why a pod does not start)",
      required: true,
    },
    {
      group: "",
      resource: "services",
      verbs: ["get"],
      neededBy: "port-forward svc/NAME, exec svc/NAME",
      required: false,
    },
    {
      group: "apps",
      resource: "deployments",
      verbs: ["get"],
      neededBy: "deploy/NAME targets",
      required: false,
    },
    {
      group: "apps",
      resource: "statefulsets",
      verbs: ["get"],
      neededBy: "sts/NAME targets",
      required: false,
    },
    {
      group: "apps",
      resource: "statefulsets",
      verbs: ["create", "patch", "delete"],
      neededBy: "gateway ensure, gateway delete (the gateway's StatefulSet)",
      required: false,
    },
    { group: "apps", resource: "daemonsets", verbs: ["get"], neededBy: "ds/NAME targets", required: false },
    { group: "apps", resource: "replicasets", verbs: ["get"], neededBy: "rs/NAME targets", required: false },
    { group: "batch", resource: "jobs", verbs: ["get"], neededBy: "job/NAME targets", required: false },
    {
      group: "",
      resource: "pods",
      verbs: ["list", "watch"],
      cluster: true,
      neededBy: "-A (every namespace)",
      required: false,
    },
    {
      group: "",
      resource: "namespaces",
      verbs: ["list"],
      cluster: true,
      neededBy: "completion of -n",
      required: false,
    },
  ];
}

/** One SelfSubjectAccessReview's answer. */
export interface VerbResult {
  verb: string;
  allowed: boolean;
  /** the server's reason, or why it could not be asked */
  reason?: string;
  /** the review itself failed (not a denial) */
  error?: string;
}

export interface PermissionResult extends Permission {
  namespace?: string;
  results: VerbResult[];
  allowed: boolean;
}

export interface ToolResult {
  name: string;
  found: boolean;
  version?: string;
  /** what it is for */
  neededBy: string;
  required: boolean;
  /** why it does not count (too old) */
  problem?: string;
}

export interface Report {
  ok: boolean;
  kubeconfig: {
    ok: boolean;
    files: string[];
    context?: string;
    user?: string;
    impersonating?: string;
    error?: string;
  };
  server: {
    ok: boolean;
    url?: string;
    version?: string;
    latencyMs?: number;
    error?: string;
    /** what kind of failure, as an exit code: 1 not reached, 4 credentials refused, 5 no answer in time */
    code?: number;
  };
  namespace?: string;
  /** the namespace the flags, KODAMA_NAMESPACE, the config or the kubeconfig name is not one (exit 2) */
  namespaceError?: string;
  permissions: PermissionResult[];
  tools: ToolResult[];
  /** does the cluster's network plugin enforce NetworkPolicy (the session's egress limit)? */
  networkPolicy?: NetworkPolicySupport;
  /** the namespace's gateway (kodama gateway), when it has one: new sessions go through it */
  gateway?: { ok: boolean; detail: string };
}

/** What the gateway's pod and Service say (pure); undefined when the namespace has neither. */
export function gatewayCheck(
  pod: { ready: boolean; phase?: string; image?: string } | undefined,
  clusterIP: string | undefined,
): Report["gateway"] {
  if (!pod && !clusterIP) return undefined;
  if (!clusterIP) {
    return { ok: false, detail: "the pod is there but Service kodama-gateway is not: kodama gateway ensure" };
  }
  if (!pod) {
    return {
      ok: false,
      detail:
        "the gateway's pod (kodama-gateway-0) is missing: its sessions' requests fail until its StatefulSet brings it back (kodama gateway status; kodama gateway ensure)",
    };
  }
  if (!pod.ready) {
    return {
      ok: false,
      detail: `the gateway's pod is not ready (${pod.phase ?? "Pending"}): kodama gateway status`,
    };
  }
  return {
    ok: true,
    detail: `kodama-gateway ready at ${clusterIP}:8080 (${pod.image ?? "?"}): new sessions go through it`,
  };
}

export interface NetworkPolicySupport {
  /** true/false when a known plugin tells; undefined: kodama cannot tell */
  enforced?: boolean;
  plugin?: string;
  detail: string;
  /** the cloud metadata endpoints every session's egress policy excepts (src/base/metadata.ts) */
  metadataDenied: string[];
}

/** Network plugins by the names of their node pods: whether they implement NetworkPolicy. */
const PLUGINS: { re: RegExp; name: string; enforces: boolean }[] = [
  { re: /^calico-node-/, name: "Calico", enforces: true },
  { re: /^canal-/, name: "Canal (Calico policy)", enforces: true },
  { re: /^cilium-(?!operator)/, name: "Cilium", enforces: true },
  { re: /^antrea-agent-/, name: "Antrea", enforces: true },
  { re: /^weave-net-/, name: "Weave Net", enforces: true },
  { re: /^kube-router-/, name: "kube-router", enforces: true },
  { re: /^ovnkube-node-/, name: "OVN-Kubernetes", enforces: true },
  { re: /^azure-npm-/, name: "Azure NPM", enforces: true },
  { re: /^(kube-)?flannel-/, name: "flannel", enforces: false },
];

/**
 * What the pods of the network plugin's namespaces say about NetworkPolicy (pure). A plugin that enforces
 * wins over flannel (Canal is both); none known: kodama cannot tell (a bridge CNI, set up on the nodes
 * themselves, shows no pod and enforces nothing).
 */
export function networkPolicySupport(podNames: string[] | undefined, error?: string): NetworkPolicySupport {
  return { ...pluginSupport(podNames, error), metadataDenied: [...METADATA_CIDRS] };
}

function pluginSupport(
  podNames: string[] | undefined,
  error?: string,
): Omit<NetworkPolicySupport, "metadataDenied"> {
  const asGoodAs = "the session's egress policy is only as good as the network plugin";
  if (!podNames) {
    return { detail: `cannot tell: ${error ?? "cannot list the pods of kube-system"}; ${asGoodAs}` };
  }
  const found = PLUGINS.filter((p) => podNames.some((n) => p.re.test(n)));
  const enforcing = found.find((p) => p.enforces);
  if (enforcing) {
    return { enforced: true, plugin: enforcing.name, detail: `${enforcing.name} enforces NetworkPolicy` };
  }
  if (found.length) {
    return {
      enforced: false,
      plugin: found[0].name,
      detail: `${
        found[0].name
      } does not enforce NetworkPolicy: the session's egress policy is stored, not applied`,
    };
  }
  return {
    detail:
      `cannot tell: no known network plugin among the pods of kube-system (a plain bridge CNI enforces nothing); ${asGoodAs}`,
  };
}

/** The verdict: everything required is there. */
export function verdict(r: Omit<Report, "ok">): boolean {
  return r.kubeconfig.ok && !r.namespaceError && r.server.ok &&
    r.permissions.every((p) => p.allowed || !p.required) &&
    r.tools.every((t) => (t.found && !t.problem) || !t.required) && r.gateway?.ok !== false;
}

/** `create pods/exec`, `get,list,watch pods`, `get deployments.apps`. */
export function permissionName(p: Permission): string {
  const res = `${p.resource}${p.subresource ? `/${p.subresource}` : ""}${p.group ? `.${p.group}` : ""}`;
  return `${p.verbs.join(",")} ${res}`;
}

/** Is `version` (x.y[.z], maybe with a prefix) at least `min`? */
export function atLeast(version: string, min: string): boolean {
  const a = (version.match(/\d+(?:\.\d+)*/)?.[0] ?? "0").split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0, y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function status(ok: boolean, required: boolean): string {
  return ok ? "ok" : required ? "MISSING" : "missing (optional)";
}

/** The text report: three tables and a last line with the verdict. */
export function formatReport(r: Report, renderTable: (h: string[], rows: string[][]) => string): string {
  const out: string[] = [];
  const k = r.kubeconfig;
  const head: string[][] = [
    [
      "kubeconfig",
      k.ok ? "ok" : "FAILED",
      k.ok
        ? `${k.files.join(", ") || "in-cluster"}: context ${k.context}, user ${k.user}${
          k.impersonating ? ` (as ${k.impersonating})` : ""
        }`
        : k.error ?? "",
    ],
    [
      "server",
      r.server.ok ? "ok" : "FAILED",
      r.server.ok
        ? `${r.server.url} ${r.server.version}, ${r.server.latencyMs} ms`
        : `${r.server.url ?? ""} ${r.server.error ?? ""}`.trim(),
    ],
  ];
  if (r.namespaceError) head.push(["namespace", "FAILED", r.namespaceError]);
  if (r.networkPolicy) {
    const n = r.networkPolicy;
    head.push([
      "network policy",
      n.enforced === true ? "enforced" : n.enforced === false ? "NOT ENFORCED" : "unknown",
      n.detail,
    ]);
    // what the policy keeps every session off, and whether the plugin makes it so
    head.push([
      "cloud metadata",
      n.enforced === true ? "denied" : n.enforced === false ? "NOT DENIED" : "unknown",
      `the egress policy excepts ${n.metadataDenied.join(", ")}`,
    ]);
  }
  if (r.gateway) head.push(["gateway", r.gateway.ok ? "ready" : "FAILED", r.gateway.detail]);
  out.push(renderTable(["CHECK", "STATUS", "DETAIL"], head));
  if (r.permissions.length) {
    out.push(
      `Permissions in namespace ${r.namespace}${
        k.impersonating ? ` as ${k.impersonating}` : ""
      } (SelfSubjectAccessReview):`,
    );
    out.push(renderTable(
      ["PERMISSION", "STATUS", "NEEDED BY"],
      r.permissions.map((p) => {
        const denied = p.results.filter((v) => !v.allowed);
        const err = p.results.find((v) => v.error)?.error;
        const st = p.allowed
          ? "ok"
          : err
          ? `unknown: ${err}`
          : `${p.required ? "DENIED" : "denied (optional)"}${
            denied.length < p.verbs.length ? `: ${denied.map((v) => v.verb).join(",")}` : ""
          }`;
        return [permissionName(p) + (p.cluster ? " (all namespaces)" : ""), st, p.neededBy];
      }),
    ));
  }
  out.push("Tools on this machine:");
  out.push(renderTable(
    ["TOOL", "STATUS", "VERSION", "NEEDED BY"],
    r.tools.map((t) => [
      t.name,
      t.problem
        ? (t.required ? `TOO OLD: ${t.problem}` : `too old (optional): ${t.problem}`)
        : status(t.found, t.required),
      t.version ?? "",
      t.neededBy,
    ]),
  ));
  const missing = r.permissions.filter((p) => !p.allowed && p.required).length;
  out.push(
    r.ok ? "Everything kodama needs is there." : `Not ready: ${
      [
        !k.ok ? "no usable kubeconfig" : "",
        r.namespaceError ? "the namespace is not valid" : "",
        k.ok && !r.server.ok ? serverFailure(r.server.code) : "",
        missing ? `${missing} required permission${missing === 1 ? " is" : "s are"} denied` : "",
        r.tools.some((t) => t.required && (!t.found || t.problem)) ? "a required tool is missing" : "",
      ].filter(Boolean).join("; ")
    }.`,
  );
  return out.join("\n") + "\n";
}

/** The verdict's words for a failed server check, by its kind (the exit code doctor ends with). */
export function serverFailure(code: number | undefined): string {
  switch (code) {
    case 4:
      return "the server was reached and refused the credentials or their permissions";
    case 5:
      return "the server did not answer in time";
    case 2:
      return "the server's answer was refused as invalid";
    case 3:
      return "the server has no such API (it was reached)";
    default:
      return "the server cannot be reached";
  }
}
