/**
 * A hostile API server that keeps sending (#50 class 5): the answer timeout bounds only the wait for the
 * first byte, so every body and every event or frame of an endless stream is bounded by size instead
 * (src/kube/bounds.ts), with a clear error, and the process's memory stays bounded — measured here as its
 * peak resident size (VmHWM), sampled while it runs. The server is the test's own, on loopback, with a
 * throw-away CA (tests/cluster/certs.ts): an endless pod list, a watch event without a newline, a log
 * line without end, an exec frame over the WebSocket limit.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace, spawnKodama } from "./_run.ts";
import { generateCerts } from "../cluster/certs.ts";
import { buildKubeconfig } from "../cluster/kubeconfig.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();

const pod = (name: string, ns: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: ns,
    uid: `uid-${name}`,
    resourceVersion: "1",
    creationTimestamp: "2026-01-01T00:00:00Z",
  },
  spec: { containers: [{ name: "main", image: "busybox" }], nodeName: "n1" },
  status: {
    phase: "Running",
    podIP: "10.0.0.1",
    startTime: "2026-01-01T00:00:00Z",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [{
      name: "main",
      ready: true,
      restartCount: 0,
      image: "busybox",
      imageID: "",
      started: true,
      state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
    }],
  },
});

/** A body that never ends: `head`, then `unit` over and over, a MiB at a time, until the client goes. */
function endless(head: string, unit: string): ReadableStream<Uint8Array> {
  const block = enc.encode(unit.repeat(Math.ceil(MiB / unit.length)));
  let first = true;
  return new ReadableStream({
    pull(c) {
      if (first) c.enqueue(enc.encode(head));
      first = false;
      c.enqueue(block);
    },
  });
}

async function hostileServer(dir: string) {
  const certs = await generateCerts(`${dir}/pki`, { admin: ["system:masters"] });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: certs.server.cert, key: certs.server.key, onListen() {} },
    (req) => {
      const u = new URL(req.url);
      const json = (o: unknown) => Response.json(o);
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(?:\/(log|exec))?$/.exec(u.pathname);
      if (!m) return Response.json({ kind: "Status", code: 404, message: "not here" }, { status: 404 });
      const [, ns, name, sub] = m;
      if (sub === "log") return new Response(endless("", "x"));
      if (sub === "exec") {
        const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "v5.channel.k8s.io" });
        socket.onopen = () => {
          const frame = new Uint8Array(70 * MiB);
          frame[0] = 1; // stdout
          socket.send(frame);
        };
        socket.onerror = () => {};
        return response;
      }
      if (name) return json(pod(name, ns));
      if (u.searchParams.get("watch") === "true") {
        return new Response(endless('{"type":"ADDED","object":{"metadata":{"name":"', "a"));
      }
      if (ns === "paging") {
        // every page is small and names a next one, for ever
        const items = Array.from({ length: 400 }, (_, i) => pod(`p-${i}-${"x".repeat(2000)}`, ns));
        return json({ kind: "PodList", apiVersion: "v1", metadata: { continue: "more" }, items });
      }
      if (ns === "endless") {
        return new Response(
          endless(
            '{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[',
            JSON.stringify(pod("p", ns)) + ",",
          ),
        );
      }
      return json({
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1" },
        items: [pod("p", ns)],
      });
    },
  );
  const kc = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kc,
    buildKubeconfig(`https://127.0.0.1:${server.addr.port}`, certs, [{ name: "admin" }]),
  );
  return { kc, close: () => server.shutdown() };
}

/** Run kodama, sampling its peak resident memory (VmHWM, bytes) until it exits. */
async function measured(args: string[], env: Record<string, string>, o: { stopAfterStdout?: number } = {}) {
  const child = spawnKodama(args, { env });
  let peak = 0;
  const sample = async () => {
    const s = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
    peak = Math.max(peak, kb * 1024);
  };
  const timer = setInterval(sample, 100);
  let outBytes = 0;
  let lines = 0;
  let longest = 0;
  let cur = 0;
  const reading = (async () => {
    for await (const c of child.stdout) {
      outBytes += c.length;
      for (const b of c) {
        if (b === 10) {
          lines++;
          longest = Math.max(longest, cur);
          cur = 0;
        } else cur++;
      }
      if (o.stopAfterStdout && outBytes >= o.stopAfterStdout) {
        await sample();
        child.kill("SIGKILL");
        break;
      }
    }
  })();
  const errText = new Response(child.stderr).text();
  const status = await child.status;
  clearInterval(timer);
  await reading.catch(() => {});
  return { code: status.code, stderr: await errText, peak, outBytes, lines, longest };
}

Deno.test({
  name:
    "a hostile server: endless list, endless watch event, endless log line, huge exec frame — all bounded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "kodama-hostile-" });
    const s = await hostileServer(dir);
    const env = { KODAMA_HOME: `${dir}/home` };
    const k = ["--kubeconfig", s.kc];
    try {
      await t.step("an endless pod list fails with the size error, memory bounded", async () => {
        const r = await measured([...k, "pods", "-n", "endless"], env);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          "the API server sent a response over 256 MiB for pods in namespace endless; refusing",
        );
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(r.peak < 1024 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
      });
      await t.step("a list whose pages never end fails with the same error", async () => {
        const r = await measured([...k, "pods", "-n", "paging"], env);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "over 256 MiB for pods in namespace paging; refusing");
        assert(r.peak < 1536 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
      });
      await t.step("a watch event without end fails with the size error", async () => {
        const r = await measured([...k, "pods", "-n", "calm", "-w"], env);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          "the API server sent a watch event over 16 MiB for pods in namespace calm; refusing",
        );
        assert(r.peak < 1024 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
      });
      await t.step("a log line without end is cut into bounded lines; the stream goes on", async () => {
        const r = await measured([...k, "logs", "-n", "calm", "p"], env, { stopAfterStdout: 64 * MiB });
        assert(r.outBytes >= 64 * MiB, `only ${r.outBytes} bytes of log came through: ${r.stderr}`);
        assert(r.lines >= 32, `${r.lines} lines`);
        assert(r.longest <= MiB + 64, `a line of ${r.longest} bytes`);
        assert(r.peak < 512 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
      });
      await t.step("an exec frame over 64 MiB ends the exec with a clear error", async () => {
        const r = await measured([...k, "exec", "-n", "calm", "--pod", "p", "--", "true"], env);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "64 MiB");
        assert(!hasStackTrace(r.stderr), r.stderr);
      });
    } finally {
      await s.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
