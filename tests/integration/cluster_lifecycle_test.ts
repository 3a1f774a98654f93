/**
 * The test server itself: fault injection (in-process and over POST /_test/faults), start-up
 * time, `deno task cluster` as a subprocess (ready line, SIGTERM), and no pod process surviving
 * a stop (checked in the OS process table). Skipped on a real cluster.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import {
  DEMO,
  KUBECTL,
  kubectl,
  needsTestServer,
  onRealCluster,
  startCluster,
  type TestCluster,
  waitUntil,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { podFsInfo } from "../cluster/runtime/podns.ts";

const opts = { sanitizeOps: false, sanitizeResources: false, ignore: onRealCluster };
const MAIN = new URL("../cluster/main.ts", import.meta.url).pathname;

/** Live (non-zombie) PIDs among `pids`. */
function alive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return !/^\d+ \(.*\) [ZX] /.test(stat);
    } catch {
      return false;
    }
  });
}

/** PIDs of processes whose working directory is under `dir` (pod processes run in their pod dir). */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/cwd`).startsWith(dir)) out.push(Number(e.name));
    } catch { /* gone or not ours */ }
  }
  return alive(out);
}

async function ready(c: TestCluster, ns: string) {
  const r = await kubectl(c, ["wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=20s"]);
  assertEquals(r.code, 0, r.stderr);
}

clusterTest("cluster: fault injection", { seed: "demo", ignore: onRealCluster }, async (t, c) => {
  if (!needsTestServer(c)) return;
  await ready(c, DEMO.wekaNamespace);

  await t.step("failNext: the next N matching requests get that status", async () => {
    c.faults.failNext(1, 500, { pathIncludes: "/api/v1/namespaces" });
    const r = await kubectl(c, ["get", "ns"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "Error from server (InternalError)");
    assertStringIncludes(r.stderr, "injected failure");
    assertEquals((await kubectl(c, ["get", "ns"])).code, 0);
  });

  await t.step("over HTTP: POST /_test/faults (admin only)", async () => {
    const body = JSON.stringify({ action: "failNext", n: 2, status: 503, pathIncludes: "/pods" });
    const set = await kubectl(c, ["create", "--raw", "/_test/faults", "-f", "-"], { stdin: body });
    assertEquals(set.code, 0, set.stderr);
    assertStringIncludes(set.stdout, "next 2 requests fail with 503");
    for (let i = 0; i < 2; i++) {
      const r = await kubectl(c, ["get", "--raw", "/api/v1/namespaces/prod/pods"]);
      assertEquals(r.code, 1);
      assertStringIncludes(r.stderr, "ServiceUnavailable");
    }
    assertEquals((await kubectl(c, ["get", "--raw", "/api/v1/namespaces/prod/pods"])).code, 0);
    const dev = await kubectl(c, ["create", "--raw", "/_test/faults", "-f", "-"], {
      stdin: body,
      context: "dev",
    });
    assertEquals(dev.code, 1);
    assertStringIncludes(dev.stderr, "Forbidden");
    const pids = JSON.parse((await kubectl(c, ["get", "--raw", "/_test/pids"])).stdout);
    assert(pids.pids.length >= DEMO.wekaPods.length, "pod pids listed");
  });

  await t.step("delay: every response waits", async () => {
    c.faults.delay(300);
    const t0 = performance.now();
    assertEquals((await kubectl(c, ["get", "--raw", "/api/v1/namespaces/dev"])).code, 0);
    const slow = performance.now() - t0;
    c.faults.delay(0);
    assert(slow >= 300, `took ${slow}ms`);
  });

  await t.step("dropStreams: exec refused while on, works again when off", async () => {
    const exec = ["exec", "-n", DEMO.wekaNamespace, DEMO.wekaPods[0], "--", "weka", "version"];
    const long = new Deno.Command(KUBECTL, {
      args: [
        "--kubeconfig",
        c.kubeconfig,
        "exec",
        "-n",
        DEMO.wekaNamespace,
        DEMO.wekaPods[1],
        "--",
        "sleep",
        "30",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    // the exec's stream is open (the test server's own event: this test does not run on a real cluster)
    await c.testServer!.runtime.whenStreamsOpen(1);
    const t0 = performance.now();
    c.faults.dropStreams(true);
    const st = await long.status;
    assert(performance.now() - t0 < 5000, "open exec stream was dropped");
    assert(!st.success, "kubectl exec failed when its stream was dropped");
    const refused = await kubectl(c, exec);
    assert(refused.code !== 0, "exec refused while streams are dropped");
    c.faults.dropStreams(false);
    const r = await kubectl(c, exec);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), DEMO.wekaVersion);
  });
});

Deno.test({
  name: "cluster: stopMidStream, then stop leaves no pod process behind",
  ...opts,
  async fn() {
    // (no start-up time limit here: timings are benchmarks, and startCluster now waits for the seeded pods)
    const c = await startCluster({ seed: "demo", pods: 5 });
    const stateDir = c.testServer!.stateDir;
    let stopped = false;
    try {
      await ready(c, "load");
      await ready(c, "prod");
      const pids = c.runtimePids();
      assert(pids.length >= 5 + DEMO.wekaPods.length + DEMO.apiPods.length, `pids: ${pids}`);
      assertEquals(alive(pids).length, pids.length, "pod processes are in the process table");
      assert(processesUnder(stateDir).length >= pids.length, "pod processes run in their pod dirs");

      const w = new Deno.Command(KUBECTL, {
        args: ["--kubeconfig", c.kubeconfig, "get", "pods", "-A", "-w"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await c.testServer!.api.whenWatching("pods"); // kubectl's watch is open: stopping now cuts it mid-stream
      c.faults.stopMidStream();
      const done = await Promise.race([w.status, new Promise((r) => setTimeout(() => r("timeout"), 8000))]);
      if (done === "timeout") w.kill("SIGKILL");
      assert(done !== "timeout", "kubectl get -w ended when the server stopped mid-stream");
      const after = await kubectl(c, ["get", "ns"]);
      assert(after.code !== 0, "server is gone");
      assertMatch(after.stderr, /refused|connect/);

      await c.stop();
      stopped = true;
      assertEquals(c.runtimePids(), []);
      await waitUntil(() => alive(pids).length === 0, 3000, "pod processes to exit");
      assertEquals(processesUnder(stateDir), [], "no process left in the state dir");
    } finally {
      if (!stopped) await c.stop();
    }
  },
});

Deno.test({
  name: "cluster: deno task cluster prints `ready <kubeconfig>` and stops cleanly on SIGTERM",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kodama-cluster-cli-" });
    const kubeconfig = `${dir}/kubeconfig`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "--port", "0", "--kubeconfig", kubeconfig, "--seed", "none", "--pods", "3"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      assertEquals(out, `ready ${kubeconfig}\n`);
      const c: TestCluster = {
        kubeconfig,
        server: "",
        faults: undefined as never,
        real: false,
        stop: () => Promise.resolve(),
        runtimePids: () => [],
        loadPods: 3,
      };
      const ns = await kubectl(c, ["get", "ns", "-o", "name"]);
      assertEquals(ns.stdout.split("\n").filter(Boolean).sort(), [
        "namespace/default",
        "namespace/kube-node-lease",
        "namespace/kube-public",
        "namespace/kube-system",
        "namespace/load",
      ]);
      await ready(c, "load");
      const info = JSON.parse((await kubectl(c, ["get", "--raw", "/_test/pids"])).stdout);
      // a process per pod; with PID namespaces two: the unshare parent outside and the pod's PID 1 inside
      assertEquals(info.pids.length, 3 * (podFsInfo().pidns ? 2 : 1));
      child.kill("SIGTERM");
      const st = await child.status;
      assertEquals(st.code, 0);
      const rest = await reader.read();
      assert(rest.done || !rest.value?.trim(), `only one line on stdout, got more: ${rest.value}`);
      await waitUntil(() => alive(info.pids).length === 0, 3000, "pod processes to exit");
      assertEquals(processesUnder(info.stateDir), []);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.stderr.cancel().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

clusterTest(
  "cluster: harness uses KODAMA_TEST_KUBECONFIG as a real cluster",
  { seed: "none", ignore: onRealCluster },
  async (_t, c) => {
    const harness = new URL("../cluster/harness.ts", import.meta.url).href;
    const code = `
        const h = await import(${JSON.stringify(harness)});
        const c = await h.startCluster();
        let threw = false;
        try { c.faults.delay(1); } catch { threw = true; }
        const r = await h.kubectl(c, ["get", "ns", "default", "-o", "name"]);
        console.log(JSON.stringify({ real: c.real, server: c.server, threw, skip: !h.needsTestServer(c), onReal: h.onRealCluster, out: r.stdout.trim() }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { KODAMA_TEST_KUBECONFIG: c.kubeconfig },
      stdout: "piped",
      stderr: "piped",
      cwd: new URL("../..", import.meta.url).pathname,
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(JSON.parse(text), {
      real: true,
      server: c.server,
      threw: true,
      skip: true,
      onReal: true,
      out: "namespace/default",
    });
  },
);
