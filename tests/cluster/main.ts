/**
 * `deno task cluster [--port N] [--kubeconfig PATH] [--seed demo|none] [--pods N] [--exec-protocols v4|v5] [--csi]
 *   [--snapshots] [--verbose]`
 *
 * Runs the Kubernetes API *test server* in the foreground (a test tool, not a cluster for real
 * workloads), writes the kubeconfig and prints exactly one line `ready <kubeconfig path>` on stdout
 * once it serves. SIGINT/SIGTERM stop it and every pod process.
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, type TestServer } from "./server.ts";
import { seed } from "./seed.ts";

export const DEFAULT_KUBECONFIG = join(dirname(fileURLToPath(import.meta.url)), ".state", "kubeconfig");

export interface ClusterCliOptions {
  port: number;
  kubeconfig: string;
  seed: import("./seed.ts").SeedKind;
  pods: number;
  verbose: boolean;
  /** v4: no v5.channel.k8s.io for exec/attach, as on Kubernetes before 1.30 */
  execProtocols: "v4" | "v5";
  /** CSI classes csi-hostpath and csi-nocopy (snapshots.ts) */
  csi?: boolean;
  /** serve the VolumeSnapshot API (implies csi) */
  snapshots?: boolean;
}

/** `deno task demo` also fills namespace `load` (the README's fan-out examples use it); `--pods N` overrides. */
export const DEMO_LOAD_PODS = 10;

export function parseClusterArgs(args: string[], defaults: { pods?: number } = {}): ClusterCliOptions {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "0" },
      kubeconfig: { type: "string", default: DEFAULT_KUBECONFIG },
      seed: { type: "string", default: "demo" },
      pods: { type: "string", default: String(defaults.pods ?? 0) },
      "exec-protocols": { type: "string", default: "v5" },
      verbose: { type: "boolean", short: "v", default: false },
      csi: { type: "boolean", default: false },
      snapshots: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: deno task cluster [--port N] [--kubeconfig PATH] [--seed demo|none] [--pods N] [--exec-protocols v4|v5]\n" +
        "                         [--csi] [--snapshots] [--verbose]\n" +
        "Runs the kodama Kubernetes API test server (a local test tool, not a cluster for real workloads).\n" +
        "--exec-protocols v4 serves exec/attach WebSockets without v5.channel.k8s.io, like Kubernetes before 1.30.\n" +
        "--csi adds the CSI classes csi-hostpath (clones and restores dataSource) and csi-nocopy (ignores it);\n" +
        "--snapshots also serves snapshot.storage.k8s.io/v1 with a VolumeSnapshotClass for csi-hostpath.",
    );
    Deno.exit(0);
  }
  const port = Number(values.port);
  const pods = Number(values.pods);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port: not a port number: ${values.port}`);
  }
  if (!Number.isInteger(pods) || pods < 0) throw new Error(`--pods: not a count: ${values.pods}`);
  if (values.seed !== "demo" && values.seed !== "none") {
    throw new Error(`--seed must be demo or none, not ${values.seed}`);
  }
  const execProtocols = values["exec-protocols"];
  if (execProtocols !== "v4" && execProtocols !== "v5") {
    throw new Error(`--exec-protocols must be v4 or v5, not ${execProtocols}`);
  }
  return {
    port,
    kubeconfig: values.kubeconfig!,
    seed: values.seed,
    pods,
    verbose: values.verbose!,
    execProtocols,
    csi: values.csi!,
    snapshots: values.snapshots!,
  };
}

/** A server already serves this kubeconfig (exit 2, one line). */
export class AlreadyRunning extends Error {}

/** Start, seed, and stop on SIGINT/SIGTERM. `onReady` runs once serving. */
export async function runCluster(o: ClusterCliOptions, onReady: (s: TestServer) => void): Promise<void> {
  // one server per kubeconfig: a second would overwrite it (new port, new CA) and orphan the first's users
  const { claim, holderPid } = await import("../../src/base/proc/liveness.ts");
  const stateDir = dirname(o.kubeconfig);
  const held = await claim(stateDir, "server");
  if (!held) {
    const pid = holderPid(stateDir, "server");
    throw new AlreadyRunning(
      `a test server (deno task demo or cluster) is already running with ${o.kubeconfig}${
        pid ? ` (pid ${pid})` : ""
      }: use it (export KUBECONFIG=${o.kubeconfig}), stop it with Ctrl-C there, or start another one with --kubeconfig OTHER_DIR/kubeconfig`,
    );
  }
  const s = await startServer({
    port: o.port,
    kubeconfigPath: o.kubeconfig,
    verbose: o.verbose,
    execProtocols: o.execProtocols,
    csi: o.csi,
    snapshots: o.snapshots,
  });
  let stopping = false;
  const done = Promise.withResolvers<void>();
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error("stopping the test server and its pod processes ...");
    await s.stop();
    held.release();
    done.resolve();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await seed(s.api, o.seed, o.pods, s.runtimeStateDir);
  } catch (e) {
    await s.stop();
    held.release();
    throw e;
  }
  onReady(s);
  await done.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

if (import.meta.main) {
  let opts: ClusterCliOptions;
  try {
    opts = parseClusterArgs(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  try {
    await runCluster(opts, (s) => console.log(`ready ${s.kubeconfig}`));
  } catch (e) {
    if (e instanceof AlreadyRunning) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    console.error(`error: the test server could not start: ${(e as Error).message}`);
    Deno.exit(1);
  }
  Deno.exit(0);
}
