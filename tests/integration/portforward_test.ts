/**
 * port-forward against the test cluster: to an api pod's 8080 (body = pod name), to svc/api
 * port 80, two ports at once, auto local ports, a port nothing listens on, reconnect, the CLI
 * (Forwarding lines, Ctrl-C -> exit 0 with stats, as kubectl), forbidden, and parity with the real kubectl.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import * as http from "node:http";
import { deleteObjects } from "../cluster/harness.ts";
import { DEMO } from "../cluster/seed.ts";
import { Kube } from "../../src/kube/client.ts";
import { parsePortSpec, startPortForward } from "../../src/pods/portforward.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import type { KodamaError } from "../../src/base/errors.ts";
import { runKodama, spawnKodama } from "../cli/_run.ts";
import { httpPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { within } from "../../src/base/proc/timer.ts";

interface HttpResult {
  status: number;
  body: string;
  contentType?: string;
}

/** One GET on a fresh connection (no keep-alive pool holding the forwarded connection open). */
function get(port: number, host = "127.0.0.1"): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: "/", agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => body += c);
      res.on(
        "end",
        () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers["content-type"] }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** A long-running child (stdout and stderr piped) whose stdout lines we read until one matches. */
async function readUntil(
  child: Deno.ChildProcess,
  what: string,
  re: RegExp,
): Promise<
  { child: Deno.ChildProcess; match: RegExpMatchArray; stdout: () => string; stderr: Promise<string> }
> {
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const m = out.match(re);
    if (m) {
      // keep draining stdout in the background
      (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            out += value;
          }
        } catch { /* closed */ }
      })();
      return { child, match: m, stdout: () => out, stderr };
    }
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  const status = await child.status;
  throw new Error(`${what} exited ${status.code} without ${re}:\n${out}\n${await stderr}`);
}

clusterTest("port-forward against the test cluster", { seed: "demo" }, async (t, cluster) => {
  /**
   * Resolves once the next pod watch opens on the test server (a forward's watch of its pod); a real
   * cluster cannot be asked, so there it is a pause.
   */
  const podWatchOpened = (): Promise<unknown> =>
    // fixed on a real cluster only: it cannot be asked when a watch opened
    cluster.testServer?.api.nextWatch("pods") ?? new Promise((r) => setTimeout(r, 300));
  const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
  const kc = ["--kubeconfig", cluster.kubeconfig];
  const [api0, api1] = DEMO.apiPods;
  try {
    await waitForPods(kube, { namespace: "prod", selector: "app=api" }, {
      for: "ready",
      timeoutMs: 30_000,
    });

    await t.step("targeting flags -> one api pod's 8080; the body is the pod name", async () => {
      const { forwards } = await startPortForward(
        kube,
        { kind: "select", flags: { namespace: "prod", match: ["api"] }, choose: { first: true } },
        [parsePortSpec(":8080")],
      );
      try {
        assertEquals(forwards.length, 1);
        assertEquals(forwards[0].pod, api0); // --first: first by name
        assertEquals(forwards[0].remote, 8080);
        assert(forwards[0].local > 1024);
        const r = await get(forwards[0].local);
        assertEquals(r.status, 200);
        assertEquals(r.body.trim(), api0);
        const s = forwards[0].stats();
        assertEquals(s.connections, 1);
        assert(s.bytesIn > r.body.length && s.bytesOut > 0, JSON.stringify(s));
      } finally {
        for (const f of forwards) await f.close();
      }
    });

    await t.step("svc/api port 80 -> targetPort http (8080) on a ready api pod", async () => {
      const { forwards, target } = await startPortForward(
        kube,
        { kind: "service", namespace: "prod", name: "api" },
        [parsePortSpec(":80")],
      );
      try {
        assertEquals(target.service?.metadata?.name, "api");
        assertEquals(forwards[0].remote, 8080);
        const r = await get(forwards[0].local);
        assertEquals(r.body.trim(), forwards[0].pod);
        assert((DEMO.apiPods as readonly string[]).includes(r.body.trim()), r.body);
      } finally {
        for (const f of forwards) await f.close();
      }
    });

    await t.step("one SPDY connection carries every local connection; WebSockets when asked", async () => {
      if (!cluster.testServer) return; // counts the test server's upgrades
      const upgrades = () =>
        cluster.testServer!.requestLog().filter((r) =>
          r.upgrade && r.url.includes(`/pods/${api1}/portforward`)
        )
          .length;
      const before = upgrades();
      const { forwards } = await startPortForward(kube, { kind: "pod", namespace: "prod", name: api1 }, [
        parsePortSpec(":8080"),
      ]);
      try {
        const bodies = await Promise.all(Array.from({ length: 10 }, () => get(forwards[0].local)));
        assert(bodies.every((b) => b.body.trim() === api1));
        assertEquals(upgrades() - before, 1, "ten connections, one upgrade");
      } finally {
        for (const f of forwards) await f.close();
      }
      // KODAMA_PORT_FORWARD_TRANSPORT=ws: one WebSocket per connection, the same answers
      const p = await readUntil(
        spawnKodama([...kc, "port-forward", "-n", "prod", `pod/${api1}`, ":8080"], {
          env: { KODAMA_PORT_FORWARD_TRANSPORT: "ws" },
        }),
        "kodama port-forward (ws)",
        /Forwarding from 127\.0\.0\.1:(\d+) -> /,
      );
      try {
        const start = upgrades();
        for (let i = 0; i < 3; i++) assertEquals((await get(Number(p.match[1]))).body.trim(), api1);
        assertEquals(upgrades() - start, 3);
      } finally {
        p.child.kill("SIGINT");
        await p.child.status;
        await p.stderr;
      }
    });

    await t.step("two ports at once (number and named port), each on its own free local port", async () => {
      const { forwards } = await startPortForward(
        kube,
        { kind: "pod", namespace: "prod", name: api1 },
        [parsePortSpec(":8080"), parsePortSpec(":http")],
      );
      try {
        assertEquals(forwards.length, 2);
        assert(forwards[0].local !== forwards[1].local);
        assertEquals(forwards.map((f) => f.remote), [8080, 8080]);
        const [a, b] = await Promise.all(forwards.map((f) => get(f.local)));
        assertEquals([a.body.trim(), b.body.trim()], [api1, api1]);
        // parallel connections on one listener
        const many = await Promise.all(Array.from({ length: 8 }, () => get(forwards[0].local)));
        assert(many.every((r) => r.body.trim() === api1));
        assertEquals(forwards[0].stats().connections, 9);
      } finally {
        for (const f of forwards) await f.close();
      }
    });

    await t.step(
      "a port nothing listens on fails that connection only; the listener keeps serving",
      async () => {
        const events: string[] = [];
        const { forwards } = await startPortForward(
          kube,
          { kind: "pod", namespace: "prod", name: api0 },
          [parsePortSpec(":9999"), parsePortSpec(":8080")],
          { onEvent: (e) => events.push(e) },
        );
        try {
          const failed = await get(forwards[0].local).then(() => "answered", (e) => String(e));
          assert(failed !== "answered");
          for (let i = 0; i < 50 && !events.some((e) => e.startsWith("error forwarding")); i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          assert(
            events.some((e) => e.startsWith(`error forwarding port ${forwards[0].local}`)),
            events.join("\n"),
          );
          assertEquals((await get(forwards[1].local)).body.trim(), api0);
        } finally {
          for (const f of forwards) await f.close();
        }
      },
    );

    await t.step(
      "CLI: Forwarding line on stdout, -v logs connections, Ctrl-C ends quietly (exit 0) with stats",
      async () => {
        const p = await readUntil(
          spawnKodama([...kc, "port-forward", "-n", "prod", "svc/api", ":80", "-v"]),
          "kodama port-forward",
          /Forwarding from 127\.0\.0\.1:(\d+) -> pod\/(\S+):8080\n/,
        );
        try {
          const port = Number(p.match[1]);
          assertEquals((await get(port)).body.trim(), p.match[2]);
          assertEquals((await get(port)).body.trim(), p.match[2]);
        } finally {
          p.child.kill("SIGINT");
        }
        const status = await p.child.status;
        const stderr = await p.stderr;
        assertEquals(status.code, 0, stderr);
        assert(!stderr.includes("interrupted"), stderr);
        assertEquals(p.stdout().split("\n").filter(Boolean).length, 1, p.stdout());
        assertStringIncludes(stderr, "Handling connection for");
        assertMatch(stderr, /port-forward: 2 connections, \d+ B in, \d+ B out/);
      },
    );

    await t.step("same HTTP result as the real kubectl port-forward against the same server", async () => {
      const k = await readUntil(
        new Deno.Command("kubectl", {
          args: [...kc, "-n", "prod", "port-forward", `pod/${api0}`, ":8080"],
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
        "kubectl port-forward",
        /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/,
      );
      let viaKubectl: HttpResult;
      try {
        viaKubectl = await get(Number(k.match[1]));
      } finally {
        k.child.kill("SIGTERM");
        await k.child.status;
        await k.stderr;
      }
      const { forwards } = await startPortForward(kube, { kind: "pod", namespace: "prod", name: api0 }, [
        parsePortSpec(":8080"),
      ]);
      try {
        const viaKodama = await get(forwards[0].local);
        assertEquals(viaKodama, viaKubectl);
        assertEquals(viaKodama.body, `${api0}\n`);
      } finally {
        for (const f of forwards) await f.close();
      }
    });

    await t.step("--reconnect follows the selector to a new pod; without it the forward ends", async () => {
      for (const n of ["pf-a", "pf-b"]) {
        await kube.createObject("pods", "dev", httpPod(n, { app: "pf" }));
      }
      await waitForPods(kube, { namespace: "dev", selector: "app=pf" }, {
        for: "ready",
        timeoutMs: 30_000,
      });
      const events: string[] = [];
      const moved = Promise.withResolvers<void>();
      let watchUp = podWatchOpened();
      const { forwards } = await startPortForward(
        kube,
        { kind: "select", flags: { namespace: "dev", selector: "app=pf" }, choose: { first: true } },
        [parsePortSpec(":http")],
        {
          reconnect: true,
          onEvent: (e) => {
            events.push(e);
            if (e.includes("forwarding to pod/pf-b")) moved.resolve();
          },
        },
      );
      try {
        const port = forwards[0].local;
        assertEquals((await get(port)).body.trim(), "pf-a");
        await within(watchUp, 30_000);
        await kube.deleteObject("pods", "dev", "pf-a");
        await within(moved.promise, 30_000); // not moved by then: the assertion below says what happened
        assertEquals(forwards[0].pod, "pf-b", events.join("\n"));
        assertEquals(forwards[0].local, port);
        assertEquals((await get(port)).body.trim(), "pf-b");
        assert(events.some((e) => e.includes("forwarding to pod/pf-b (was pod/pf-a)")), events.join("\n"));
      } finally {
        for (const f of forwards) await f.close();
      }

      const lost = Promise.withResolvers<KodamaError>();
      watchUp = podWatchOpened();
      const second = await startPortForward(
        kube,
        { kind: "pod", namespace: "dev", name: "pf-b" },
        [parsePortSpec(":8080")],
        { onLost: (e) => lost.resolve(e) },
      );
      assertEquals((await get(second.forwards[0].local)).body.trim(), "pf-b");
      await within(watchUp, 30_000);
      await kube.deleteObject("pods", "dev", "pf-b");
      const e = await lost.promise;
      assertStringIncludes(e.message, "lost connection to pod: pod pf-b");
      // the listener closes right after onLost; a connection racing that close may be reset instead
      let after = "";
      for (let i = 0; i < 40 && !after.includes("ECONNREFUSED"); i++) {
        after = await get(second.forwards[0].local).then(() => "answered", (e) => String(e));
        if (!after.includes("ECONNREFUSED")) await new Promise((r) => setTimeout(r, 25));
      }
      assertStringIncludes(after, "ECONNREFUSED");
    });

    await t.step(
      "CLI errors: forbidden -> 4, unknown pod -> 3, unknown service port -> 3, bad spec -> 2",
      async () => {
        const forbidden = await runKodama([
          ...kc,
          "--context",
          "dev",
          "port-forward",
          "-n",
          "prod",
          `pod/${api0}`,
          "8080",
        ]);
        assertEquals(forbidden.code, 4, forbidden.stderr);
        assertStringIncludes(forbidden.stderr, "forbidden");
        const missing = await runKodama([...kc, "port-forward", "-n", "prod", "pod/nope", ":8080"]);
        assertEquals(missing.code, 3, missing.stderr);
        const noPort = await runKodama([...kc, "port-forward", "-n", "prod", "svc/api", ":8080"]);
        assertEquals(noPort.code, 3, noPort.stderr);
        assertStringIncludes(noPort.stderr, "service api has no port 8080");
        const bad = await runKodama([...kc, "port-forward", "-n", "prod", `pod/${api0}`, "x:y:z"]);
        assertEquals(bad.code, 2, bad.stderr);
        const ambiguous = await runKodama([...kc, "port-forward", "-n", "prod", "-m", "api", ":8080"]);
        assertEquals(ambiguous.code, 2, ambiguous.stderr);
        assertStringIncludes(ambiguous.stderr, "--first");
      },
    );
  } finally {
    await deleteObjects(cluster, "dev", "pod/pf-a", "pod/pf-b");
  }
});
