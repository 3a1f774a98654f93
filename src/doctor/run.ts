/**
 * `kodama doctor`: read the kubeconfig, reach the server (version, latency), ask it about every permission
 * kodama's commands need (SelfSubjectAccessReview, a few at a time), and look for the local tools.
 */
import { Kube } from "../kube/client.ts";
import type { KubeObjects } from "../kube/seam.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { kubeconfigFiles, type KubeOptions, readKubeConfig, resolveNamespace } from "../kube/config.ts";
import { forEachLimited } from "../base/proc/limit.ts";
import { type Sink, stdoutSink } from "../base/sink.ts";
import type { V1Pod } from "@kubernetes/client-node";
import {
  atLeast,
  gatewayCheck,
  type NetworkPolicySupport,
  networkPolicySupport,
  type Permission,
  type PermissionResult,
  permissions,
  type Report,
  type ToolResult,
  type VerbResult,
  verdict,
} from "./checks.ts";

/** The oldest Deno kodama is built and tested with. */
export const MIN_DENO = "2.9.0";

async function version(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
      .output();
    if (!out.success) return undefined;
    const text = new TextDecoder().decode(out.stdout) || new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0];
  } catch {
    return undefined;
  }
}

/** tmux, fzf and git (what the features use them for), and the Deno running kodama. */
export async function checkTools(): Promise<ToolResult[]> {
  const [tmux, fzf, git] = await Promise.all([
    version("tmux", ["-V"]),
    version("fzf", ["--version"]),
    version("git", ["--version"]),
  ]);
  const deno = Deno.version.deno;
  return [
    {
      name: "deno",
      found: true,
      version: deno,
      neededBy: "kodama itself (and the workflow sandbox)",
      required: true,
      problem: atLeast(deno, MIN_DENO) ? undefined : `kodama needs Deno ${MIN_DENO} or later`,
    },
    {
      name: "tmux",
      found: !!tmux,
      version: tmux?.replace(/^tmux /, ""),
      neededBy: "exec --tmux, workflow tmux steps",
      required: false,
    },
    {
      name: "fzf",
      found: !!fzf,
      version: fzf?.split(" ")[0],
      neededBy: "KODAMA_PICKER=fzf (the built-in picker needs none)",
      required: false,
    },
    {
      name: "git",
      found: !!git,
      version: git?.replace(/^git version /, ""),
      neededBy: "sessions from a repo (remote and branch)",
      required: false,
    },
  ];
}

/** Ask the server about each verb of each permission (8 reviews at a time). */
export async function checkPermissions(
  kube: Pick<Kube, "accessReview">,
  namespace: string,
  minor?: number,
): Promise<PermissionResult[]> {
  const list = permissions(minor);
  const asks = list.flatMap((p, i) => p.verbs.map((verb) => ({ i, p, verb })));
  const answers: VerbResult[] = new Array(asks.length);
  await forEachLimited(asks.length, 8, async (j) => {
    const { p, verb } = asks[j];
    try {
      const r = await kube.accessReview({
        verb,
        group: p.group,
        resource: p.resource,
        subresource: p.subresource,
        namespace: p.cluster ? undefined : namespace,
      });
      answers[j] = { verb, allowed: r.allowed, reason: r.reason };
    } catch (e) {
      answers[j] = { verb, allowed: false, error: (e as Error).message.split("\n")[0] };
    }
  });
  return list.map((p: Permission, i) => {
    const results = answers.filter((_, j) => asks[j].i === i);
    return {
      ...p,
      namespace: p.cluster ? undefined : namespace,
      results,
      allowed: results.every((r) => r.allowed),
    };
  });
}

/** The network plugin's pods (kube-system, and the namespaces plugins' operators use), when readable. */
async function checkNetworkPolicy(kube: KubeObjects): Promise<NetworkPolicySupport> {
  const lists = await Promise.all(
    ["kube-system", "calico-system", "kube-flannel", "cilium"].map((ns) =>
      kube.listObjects<{ metadata?: { name?: string } }>("pods", ns).then(
        (l) => ({ names: l.items.map((p) => p.metadata?.name ?? "") }),
        (e) => ({ error: (e as Error).message.split("\n")[0] }),
      )
    ),
  );
  // kube-system unreadable: kodama cannot tell; the others are often absent or unreadable
  const sys = lists[0];
  if ("error" in sys) return networkPolicySupport(undefined, sys.error);
  return networkPolicySupport(lists.flatMap((l) => ("names" in l ? l.names : [])));
}

/** The namespace's gateway, when it has one (its pod and Service; unreadable: not said). */
async function checkGateway(kube: KubeObjects, ns: string): Promise<Report["gateway"]> {
  const { GATEWAY_NAME, GATEWAY_POD } = await import("../session/spec/gateway.ts");
  const { isReady } = await import("../pods/wait.ts");
  // the StatefulSet's pod, else the bare pod an older kodama made
  const find = (name: string) => kube.findObject<V1Pod>("pods", ns, name).catch(() => undefined);
  const [pod, svc] = await Promise.all([
    find(GATEWAY_POD).then((p) => p ?? find(GATEWAY_NAME)),
    kube.findObject<{ spec?: { clusterIP?: string } }>("services", ns, GATEWAY_NAME).catch(() => undefined),
  ]);
  return gatewayCheck(
    pod
      ? { ready: isReady(pod), phase: pod.status?.phase, image: pod.spec?.containers?.[0]?.image }
      : undefined,
    svc?.spec?.clusterIP,
  );
}

/** The whole report; it never throws for what it is meant to find out (a missing kubeconfig, a dead server). */
export async function runDoctor(o: KubeOptions): Promise<Report> {
  const tools = checkTools();
  const files = kubeconfigFiles(o).filter((f) => {
    try {
      return Deno.statSync(f).isFile;
    } catch {
      return false;
    }
  });
  const base: Omit<Report, "ok"> = {
    kubeconfig: { ok: false, files },
    server: { ok: false },
    permissions: [],
    tools: [],
  };
  let kube: Kube | undefined;
  try {
    const kc = await readKubeConfig(o);
    base.kubeconfig = {
      ok: true,
      files,
      context: kc.getCurrentContext(),
      user: kc.getCurrentUser()?.name,
      impersonating: kc.getCurrentUser()?.as,
    };
    try {
      base.namespace = resolveNamespace(kc, o.namespace, o.namespaceFrom);
    } catch (e) {
      // a failed check of its own: the server is still asked, the permissions (in a namespace) are not
      const ke = e as KodamaError;
      base.namespaceError = ke.hint ? `${ke.message}: ${ke.hint}` : ke.message;
    }
    const ns = base.namespace ?? "default";
    kube = await Kube.connect({ ...o, namespace: ns, requestTimeoutMs: o.requestTimeoutMs ?? 10_000 });
    base.server.url = kube.server;
    const t0 = performance.now();
    const v = await kube.serverVersion();
    base.server = { ok: true, url: kube.server, version: v, latencyMs: Math.round(performance.now() - t0) };
    const minor = Number(/^v?\d+\.(\d+)/.exec(v)?.[1]);
    let gateway: Report["gateway"];
    [base.permissions, base.networkPolicy, gateway] = await Promise.all([
      base.namespace
        ? checkPermissions(kube, base.namespace, Number.isFinite(minor) ? minor : undefined)
        : [],
      checkNetworkPolicy(kube),
      base.namespace ? checkGateway(kube, base.namespace) : undefined,
    ]);
    if (gateway) base.gateway = gateway;
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    if (!base.kubeconfig.ok) base.kubeconfig.error = msg;
    else {
      base.server.error = msg;
      // the kind of failure decides the verdict and the exit code: refused credentials are not a dead server
      base.server.code = e instanceof KodamaError && e.code !== ExitCode.OK ? e.code : ExitCode.FAILED;
    }
  } finally {
    kube?.close();
  }
  base.tools = await tools;
  return { ok: verdict(base), ...base };
}

/**
 * 0 ready; 2 no usable kubeconfig; the server check's own kind when it failed (1 not reached, 4 credentials
 * refused, 5 no answer in time); 4 a required permission denied; 1 a tool.
 */
export function exitCodeOf(r: Report): number {
  if (r.ok) return 0;
  if (!r.kubeconfig.ok || r.namespaceError) return 2;
  if (!r.server.ok) return r.server.code ?? 1;
  if (r.permissions.some((p) => p.required && !p.allowed)) return 4;
  return 1;
}

/** `kodama doctor`: the report, as text or JSON, on `out`; its exit code (`exitCodeOf`). */
export async function doctorCommand(o: KubeOptions, output: string, out: Sink = stdoutSink): Promise<number> {
  const [{ formatReport }, { renderTable }] = await Promise.all([
    import("./checks.ts"),
    import("../ui/table.ts"),
  ]);
  const report = await runDoctor(o);
  out.write(output === "json" ? JSON.stringify(report, null, 2) + "\n" : formatReport(report, renderTable));
  return exitCodeOf(report);
}
