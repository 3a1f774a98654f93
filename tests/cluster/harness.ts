/**
 * Test harness: `startCluster()` starts the Kubernetes API test server in-process (free port,
 * own temp state dir and kubeconfig), or — when KODAMA_TEST_KUBECONFIG is set — returns a handle
 * on that real cluster instead (contexts `admin` and `dev`, demo world applied by whoever runs it).
 *
 *   const c = await startCluster({ seed: "demo" });
 *   try { const r = await kubectl(c, ["get", "pods", "-A"]); ... } finally { await c.stop(); }
 */
import YAML from "yaml";
import { trackChild } from "../_timeout.ts"; // also: every test of a file using the harness gets a time limit
import type { Faults } from "./faults.ts";
import type { PolicyRule } from "./auth.ts";
import { seed } from "./seed.ts";
import { startServer, type TestServer } from "./server.ts";

export { DEMO, KODAMA_TEST_IMAGE } from "./seed.ts";
export type { Faults } from "./faults.ts";

export interface TestCluster {
  /** path of a kubeconfig with contexts `admin` (current) and `dev` */
  kubeconfig: string;
  /** https://127.0.0.1:PORT (the current context's server) */
  server: string;
  /** fault injection (throws on a real cluster) */
  faults: Faults;
  /** true when running against KODAMA_TEST_KUBECONFIG */
  real: boolean;
  stop(): Promise<void>;
  /** PIDs of every live pod process ([] on a real cluster) */
  runtimePids(): number[];
  /** the in-process server (undefined on a real cluster) */
  testServer?: TestServer;
  /** how many load pods (`load-000`, … in namespace `load`) there are: what `startCluster({ pods })` asked
   * for on the test server; REAL_LOAD_PODS on a real cluster. Tests count with this, never a literal. */
  loadPods: number;
}

/**
 * The load pods of a real cluster: its setup makes them (the real-cluster README's `rebuild.sh setup`:
 * LOAD_PODS, default 100); `KODAMA_TEST_LOAD_PODS` says how many when it made another number. The one
 * place the suite learns it.
 */
export const REAL_LOAD_PODS: number = Number(Deno.env.get("KODAMA_TEST_LOAD_PODS") || 100);

/** `load-000` … the names of the first `n` load pods. */
export function loadPodNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `load-${String(i).padStart(3, "0")}`);
}

export interface StartOptions {
  seed?: import("./seed.ts").SeedKind;
  pods?: number;
  /** log every request to stderr */
  verbose?: boolean;
  /**
   * "v4": the test server serves exec/attach without v5.channel.k8s.io, as Kubernetes before 1.30
   * (SPDY/3.1 still works). On a real cluster this is what the cluster has; tests that need it say so.
   */
  execProtocols?: "v4" | "v5";
  /** more users limited to a namespace and a Role's rules (test server only; see ServerOptions.users) */
  users?: { name: string; namespace: string; rules?: PolicyRule[] }[];
  /** CSI storage classes `csi-hostpath` and `csi-nocopy` (test server only; see ServerOptions.csi) */
  csi?: boolean;
  /** serve the VolumeSnapshot API (test server only; see ServerOptions.snapshots) */
  snapshots?: boolean;
  /** the node's labels, taints and extended resources (test server only; see ServerOptions.node) */
  node?: import("./nodes.ts").NodeOptions;
  /** the controllers' timing, e.g. `{ backoffBaseMs: 200 }` for the Job back-off (test server only) */
  controllers?: import("./controllers/index.ts").ControllerOptions;
}

/** True when the suite runs against a real cluster (KODAMA_TEST_KUBECONFIG). Use as `Deno.test({ ignore: onRealCluster, ... })`. */
export const onRealCluster: boolean = !!Deno.env.get("KODAMA_TEST_KUBECONFIG");

/**
 * For tests that need the test server itself (fault injection, process table):
 * `if (!needsTestServer(c)) return;` — false (with a note on stderr) on a real cluster.
 */
export function needsTestServer(c: TestCluster): boolean {
  if (!c.real) return true;
  console.error(
    "skipped on a real cluster: this test needs the kodama test server (fault injection / process checks)",
  );
  return false;
}

export async function startCluster(opts: StartOptions = {}): Promise<TestCluster> {
  const realPath = Deno.env.get("KODAMA_TEST_KUBECONFIG");
  if (realPath) return realCluster(realPath);
  const s = await startServer({
    verbose: opts.verbose,
    execProtocols: opts.execProtocols,
    users: opts.users,
    csi: opts.csi,
    snapshots: opts.snapshots,
    node: opts.node,
    controllers: opts.controllers,
  });
  try {
    await seed(s.api, opts.seed ?? "demo", opts.pods ?? 0, s.runtimeStateDir);
    await settled(s);
  } catch (e) {
    await s.stop();
    throw e;
  }
  return {
    kubeconfig: s.kubeconfig,
    server: s.server,
    faults: s.faults,
    real: false,
    stop: () => s.stop(),
    runtimePids: () => s.runtime.pids(),
    testServer: s,
    loadPods: opts.pods ?? 0,
  };
}

/**
 * Wait until the seeded world looks as the real cluster's long-lived one does: no pod still being created
 * and every started container with a readiness probe ready. Without it a test's first step met pods in
 * ContainerCreating under a loaded CI machine (exec refused; `pods -w` printed a different first table
 * from kubectl's a moment later). Pods meant to stay broken (image pull back-off, crash loops) count as
 * settled once they leave ContainerCreating, and so do pods the scheduler cannot place (a test's node
 * tainted or too small for the demo's pods: the boot waited out the whole minute for them).
 */
async function settled(s: TestServer, ms = 60_000): Promise<void> {
  const creating = (pod: Obj) => {
    const st = (pod.status ?? {}) as Obj;
    const all = [...asList(st.initContainerStatuses), ...asList(st.containerStatuses)];
    if (!all.length) {
      // a pod the scheduler cannot place (a test's tainted or full node) stays so: it is settled
      const unplaceable = asList(st.conditions).some((c) =>
        c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable"
      );
      return !unplaceable && !pod.metadata?.deletionTimestamp && st.phase !== "Failed" &&
        st.phase !== "Succeeded";
    }
    const spec = [...asList((pod.spec as Obj)?.initContainers), ...asList((pod.spec as Obj)?.containers)];
    return all.some((c) => {
      const reason = c.state?.waiting?.reason;
      if (reason === "ContainerCreating" || reason === "PodInitializing") return true;
      const probe = spec.find((x) => x.name === c.name)?.readinessProbe;
      return !!(probe && c.state?.running && !c.ready);
    });
  };
  const deadline = Date.now() + ms;
  while (s.api.store.list("pods").some(creating) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
const asList = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);

async function realCluster(path: string): Promise<TestCluster> {
  // deno-lint-ignore no-explicit-any
  const kc: any = YAML.parse(await Deno.readTextFile(path));
  const ctx = kc?.contexts?.find((c: { name: string }) => c.name === kc["current-context"])?.context;
  const cluster = kc?.clusters?.find((c: { name: string }) => c.name === ctx?.cluster)?.cluster;
  const refuse = (): never => {
    throw new Error(
      "fault injection needs the kodama test server (KODAMA_TEST_KUBECONFIG points at a real cluster)",
    );
  };
  // the suite's world: context `dev` works in namespace `dev`, as the test server's kubeconfig says; a real
  // cluster's kubeconfig that leaves it out gets a copy that says it (the original is never written)
  const dev = kc?.contexts?.find((c: { name: string }) => c.name === "dev")?.context;
  let kubeconfig = path;
  if (dev && !dev.namespace) {
    dev.namespace = "dev";
    kubeconfig = await Deno.makeTempFile({ prefix: "kodama-real-kubeconfig-" });
    await Deno.writeTextFile(kubeconfig, YAML.stringify(kc), { mode: 0o600 });
  }
  return {
    kubeconfig,
    server: cluster?.server ?? "",
    faults: {
      dropStreams: refuse,
      stallStreams: refuse,
      delay: refuse,
      failNext: refuse,
      refuseSpdy: refuse,
      runtimeCacheLag: refuse,
      stopMidStream: refuse,
      listenAgain: refuse,
      reset: refuse,
      loseNode: refuse,
      restoreNode: refuse,
      addNode: refuse,
      evictForPressure: refuse,
      preempt: refuse,
      oomKill: refuse,
    },
    real: true,
    stop: () => Promise.resolve(),
    runtimePids: () => [],
    loadPods: REAL_LOAD_PODS,
  };
}

/** Poll `cond` every 50 ms until it holds; throws `timed out waiting for <what>` after `ms`. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  let pause = 0;
  for (;;) {
    const t0 = Date.now();
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    pause = pollPause(Date.now() - t0, pause);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * The pause before a wait's next check, given how long the last check took and the last pause. A check
 * that is itself slow started a process (a kodama or kubectl run costs ~0.3 s of CPU): run back to back,
 * it would burn a core for as long as the wait lasts, on a test run that is CPU-bound (2 cores, files side
 * by side), slowing everything, the thing waited for included. Such a check pauses at least as long as it
 * took, the pause growing by half each time up to 1 s; a cheap one (an in-process read) every 50 ms.
 */
export function pollPause(took: number, last: number): number {
  return took < 100 ? 50 : Math.min(1_000, Math.max(took, last * 1.5));
}

/**
 * Delete objects a test made under fixed names in a shared namespace (`pod/x`, `pvc/ws`, …), waiting
 * until they are gone (a short grace period) and without failing when they already are: call it in
 * `finally`, so nothing stays behind on a real cluster (the test server goes away anyway).
 */
export async function deleteObjects(c: TestCluster, namespace: string, ...refs: string[]): Promise<void> {
  if (!refs.length || !c.real) return; // a test server's objects go with it
  // waited for, with a short grace period: a pod still terminating (busybox `sleep` ignores SIGTERM for the
  // whole 30 s) was seen by the next test (api-third in the picker's prod)
  await kubectl(c, [
    "delete",
    "-n",
    namespace,
    ...refs,
    "--ignore-not-found",
    "--grace-period=1",
    "--timeout=90s",
  ]);
}

/** A namespace of one test's own (on a real cluster too); `remove()` deletes it without waiting. */
export interface TempNamespace {
  name: string;
  remove(): Promise<void>;
}

/**
 * Create a fresh namespace `<prefix>-<random>` for one test, so nothing it creates collides with
 * another test or stays behind in a shared namespace: call `remove()` in `finally`.
 */
export async function tempNamespace(c: TestCluster, prefix: string): Promise<TempNamespace> {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const r = await kubectl(c, ["create", "namespace", name]);
  if (r.code !== 0) throw new Error(`kubectl create namespace ${name}: ${r.stderr}`);
  return {
    name,
    remove: async () => {
      await kubectl(c, ["delete", "namespace", name, "--wait=false", "--ignore-not-found"]);
    },
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const KUBECTL = "/usr/bin/kubectl";

/** Run the real kubectl against the cluster (`--kubeconfig` added; `context` adds `--context`). */
export async function kubectl(
  c: TestCluster,
  args: string[],
  opts: { context?: string; stdin?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  // a per-server discovery cache: ports are reused across runs, ~/.kube/cache would mix servers up
  const cache = c.testServer ? ["--cache-dir", `${c.testServer.stateDir}/kubectl-cache`] : [];
  const full = [
    "--kubeconfig",
    c.kubeconfig,
    ...cache,
    ...(opts.context ? ["--context", opts.context] : []),
    ...args,
  ];
  const child = trackChild(new Deno.Command(KUBECTL, {
    args: full,
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { KUBECONFIG: c.kubeconfig },
  }).spawn());
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, opts.timeoutMs ?? 30_000);
  // read while stdin is written (a command echoing a large input would otherwise wait on us forever)
  const output = child.output();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    try {
      await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
      await w.close();
    } catch { /* it exited without reading all of it */ }
  }
  try {
    const out = await output;
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One kubeconfig with a context per test server (for several clusters at once): server `name`'s admin
 * context is `name`, its dev user's is `name-dev` (namespace dev; forbidden elsewhere). Written to `path`.
 */
export async function mergedKubeconfig(servers: { name: string; cluster: TestCluster }[], path: string) {
  // deno-lint-ignore no-explicit-any
  const out: any = { apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] };
  for (const { name, cluster } of servers) {
    // deno-lint-ignore no-explicit-any
    const kc: any = YAML.parse(await Deno.readTextFile(cluster.kubeconfig));
    out.clusters.push({ name, cluster: kc.clusters[0].cluster });
    for (const u of kc.users) out.users.push({ name: `${name}-${u.name}`, user: u.user });
    // deno-lint-ignore no-explicit-any
    for (const c of kc.contexts as any[]) {
      out.contexts.push({
        name: c.name === "admin" ? name : `${name}-${c.name}`,
        context: { ...c.context, cluster: name, user: `${name}-${c.context.user}` },
      });
    }
  }
  out["current-context"] = servers[0].name;
  await Deno.writeTextFile(path, YAML.stringify(out));
}

/** A core/v1 Event as tests compare it. */
export interface PodEvent {
  type: string;
  reason: string;
  message: string;
}

/** The events about pod `pod` in `ns`, as the real kubectl lists them. */
export async function podEvents(c: TestCluster, ns: string, pod: string): Promise<PodEvent[]> {
  const r = await kubectl(c, [
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.name=${pod}`,
    "-o",
    "json",
  ]);
  if (r.code !== 0) throw new Error(`kubectl get events: ${r.stderr}`);
  return JSON.parse(r.stdout).items.map((e: PodEvent) => ({
    type: e.type,
    reason: e.reason,
    message: e.message,
  }));
}

/**
 * The pod's events once `ready` holds of them (or after 30 s, for the assertions to say what is missing):
 * a real kubelet records its events a moment after the status they go with, at a limited rate.
 */
export async function podEventsOnce(
  c: TestCluster,
  ns: string,
  pod: string,
  ready: (evs: PodEvent[]) => boolean,
): Promise<PodEvent[]> {
  let evs: PodEvent[] = [];
  await waitUntil(async () => ready(evs = await podEvents(c, ns, pod)), 30_000, `the events of ${pod}`)
    .catch(() => {});
  return evs;
}
