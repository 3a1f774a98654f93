/**
 * The hand-written TLS opens of exec (kodama's own WebSocket client for a streamed stdin, the SPDY upgrade)
 * dial without Nagle when the kubeconfig has no client certificate (src/kube/tls_upgrade.ts `dialTls`):
 * context `dev` (a bearer token) goes through `Deno.startTls` over a TCP connection with TCP_NODELAY, context
 * `admin` (a client certificate) through `Deno.connectTls`. Checked by what the dial logs at debug level, not
 * by a time: the bytes must still arrive, the stream still end.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { KODAMA_TEST_IMAGE, kubectl, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { runKodama } from "./_run.ts";

const NODELAY = "no client certificate: TCP_NODELAY, startTls";
const CONNECT_TLS = "client certificate: connectTls";

/** A pod `nd` in a new namespace dev (made by admin), ready. */
async function devPod(c: TestCluster): Promise<void> {
  const ns = await kubectl(c, ["create", "namespace", "dev"]);
  assertEquals(ns.code, 0, ns.stderr);
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "nd" },
    spec: { containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "3600"] }] },
  };
  const r = await kubectl(c, ["apply", "-n", "dev", "-f", "-"], { stdin: JSON.stringify(pod) });
  assertEquals(r.code, 0, r.stderr);
  const up = await kubectl(c, ["wait", "pod/nd", "-n", "dev", "--for=condition=ready", "--timeout=60s"], {
    timeoutMs: 70_000,
  });
  assertEquals(up.code, 0, up.stderr);
}

/** `kodama exec -i` in the dev pod as `context`, at debug level: stdin through cat and back. */
async function execI(c: TestCluster, context: string) {
  const r = await runKodama([
    "--kubeconfig",
    c.kubeconfig,
    "--context",
    context,
    "--log-level",
    "debug",
    "exec",
    "-n",
    "dev",
    "--pod",
    "nd",
    "-i",
    "--",
    "cat",
  ], { stdin: "a\0b" });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout, "a\0b");
  return r.stderr;
}

for (const [protocols, opened] of [["v5", "open: v5.channel.k8s.io"], ["v4", "open: SPDY/3.1+"]] as const) {
  const over = protocols === "v5" ? "kodama's own WebSocket client" : "the SPDY upgrade (no v5)";
  clusterTest(
    `kodama exec -i over ${over}: a token dials without Nagle, a client certificate with connectTls`,
    // the test server's contexts: `dev` has a token, `admin` a client certificate (a real cluster's may not)
    { seed: "none", execProtocols: protocols, ignore: onRealCluster },
    async (t, c) => {
      await devPod(c);
      await t.step("context dev (a bearer token): startTls over TCP_NODELAY", async () => {
        const log = await execI(c, "dev");
        assertStringIncludes(log, NODELAY);
        assertStringIncludes(log, opened);
        assertEquals(log.includes(CONNECT_TLS), false, log);
      });
      await t.step("context admin (a client certificate): connectTls", async () => {
        const log = await execI(c, "admin");
        assertStringIncludes(log, CONNECT_TLS);
        assertStringIncludes(log, opened);
        assertEquals(log.includes(NODELAY), false, log);
      });
    },
  );
}
