/**
 * Test harness: `startCluster()` starts the Kubernetes API test server in-process (free port,
 * own temp state dir and kubeconfig), or — when KODAMA_TEST_KUBECONFIG is set — returns a handle
 * on that real cluster instead (contexts `admin` and `dev`, demo world applied by whoever runs it).
 *
 *   const c = await startCluster({ seed: "demo" });
 *   try { const r = await kubectl(c, ["get", "pods", "-A"]); ... } finally { await c.stop(); }
 */
import YAML from "yaml";
import type { Faults } from "./faults.ts";
import { seed } from "./seed.ts";
import { startServer, type TestServer } from "./server.ts";

export { DEMO } from "./seed.ts";
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
}

export interface StartOptions {
  seed?: "demo" | "none";
  pods?: number;
  /** log every request to stderr */
  verbose?: boolean;
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
  const s = await startServer({ verbose: opts.verbose });
  try {
    await seed(s.api, opts.seed ?? "demo", opts.pods ?? 0, s.runtimeStateDir);
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
  };
}

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
  return {
    kubeconfig: path,
    server: cluster?.server ?? "",
    faults: {
      dropStreams: refuse,
      delay: refuse,
      failNext: refuse,
      stopMidStream: refuse,
      listenAgain: refuse,
      reset: refuse,
    },
    real: true,
    stop: () => Promise.resolve(),
    runtimePids: () => [],
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
  const child = new Deno.Command(KUBECTL, {
    args: full,
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { KUBECONFIG: c.kubeconfig },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, opts.timeoutMs ?? 30_000);
  try {
    const out = await child.output();
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
