/**
 * A server without v5.channel.k8s.io (Kubernetes before 1.30; the test server with
 * `execProtocols: "v4"`): every command whose stdin must end still finishes — `cp` into a pod,
 * `exec -i` with piped stdin, fan-out with stdin, the workflow `cp` step — because kodama runs them
 * over SPDY/3.1 there, as kubectl does. Commands without stdin keep the WebSocket. Where neither v5
 * nor SPDY is possible, the error says so. On a real cluster the test uses what the cluster has.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { kubectl, needsTestServer, tempNamespace } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("v4-only server: cp into a pod, exec -i, fan-out stdin and the workflow cp step all finish", {
  seed: "none",
  execProtocols: "v4",
  timeoutMs: 180_000,
}, async (t, c) => {
  const ns = await tempNamespace(c, "fidelity-v4");
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
  const tmp = await Deno.makeTempDir({ prefix: "kodama-v4-" });
  const env = { KUBECONFIG: c.kubeconfig, KODAMA_HOME: join(tmp, "home") };
  const k = (args: string[], stdin?: string) => runKodama(args, { env, stdin });
  try {
    for (const name of ["v4-a", "v4-b"]) {
      await kube.createObject("pods", ns.name, busyboxPod(name, { labels: { app: "v4" }, dir: "/data" }));
    }
    await waitForPods(kube, { namespace: ns.name, selector: "app=v4" }, {
      for: "ready",
      timeoutMs: 60_000,
    });

    await t.step(
      "the server refuses v5 the way a pre-1.30 kubelet does, and kubectl falls back",
      async () => {
        const r = await kubectl(c, ["exec", "-i", "-n", ns.name, "v4-a", "-v=6", "--", "wc", "-c"], {
          stdin: "hello\n",
        });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout.trim(), "6");
        if (needsTestServer(c)) {
          assertStringIncludes(
            r.stderr,
            "RemoteCommand fallback: unable to upgrade streaming request: websocket: bad handshake (403 Forbidden)",
          );
        }
      },
    );

    await t.step(
      "exec -i --timeout over SPDY: timed out (exit 5), not a dropped stream; ended in the pod",
      async () => {
        // SPDY's socket closes on the abort before the exec sees the abort itself: once read as a dropped stream
        const r = await k([
          "exec",
          "-n",
          ns.name,
          "--pod",
          "v4-b",
          "-i",
          "--timeout",
          "1s",
          "--",
          "sleep",
          "4321",
        ], "");
        assertEquals(r.code, 5, r.stderr);
        assertStringIncludes(r.stderr, "timed out after 1s in pod v4-b; the command was ended in the pod");
      },
    );

    await t.step("exec -i with piped stdin: wc and cat see the end of their input", async () => {
      const wc = await k(["exec", "-n", ns.name, "--pod", "v4-a", "-i", "--", "wc", "-c"], "hello world\n");
      assertEquals(wc.code, 0, wc.stderr);
      assertEquals(wc.stdout.trim(), "12");
      const big = "0123456789abcdef".repeat(64 * 1024); // 1 MiB through cat
      const cat = await k(["exec", "-n", ns.name, "--pod", "v4-a", "-i", "--", "cat"], big);
      assertEquals(cat.code, 0, cat.stderr);
      assertEquals(cat.stdout.length, big.length);
      assert(cat.stdout === big, "the bytes came back unchanged");
      // the exit code still comes through
      const ex = await k([
        "exec",
        "-n",
        ns.name,
        "--pod",
        "v4-a",
        "-i",
        "--",
        "sh",
        "-c",
        "cat >/dev/null; exit 7",
      ], "x");
      assertEquals(ex.code, 7, ex.stderr);
    });

    await t.step("fan-out with stdin: every pod reads all of it and ends", async () => {
      const r = await k(
        ["exec", "-n", ns.name, "-l", "app=v4", "--all", "-i", "--", "wc", "-c"],
        "twelve bytes",
      );
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").sort();
      assertEquals(lines.map((l) => l.replace(/\s+/g, " ")), ["v4-a | 12", "v4-b | 12"]);
    });

    await t.step("cp a file and a directory into a pod, and back out", async () => {
      await Deno.writeTextFile(join(tmp, "one.txt"), "one\n");
      await Deno.mkdir(join(tmp, "tree", "sub"), { recursive: true });
      await Deno.writeTextFile(join(tmp, "tree", "sub", "deep.txt"), "deep\n");
      const f = await k(["cp", join(tmp, "one.txt"), `${ns.name}/v4-a:/data/one.txt`]);
      assertEquals(f.code, 0, f.stderr);
      const d = await k(["cp", join(tmp, "tree"), `${ns.name}/v4-a:/data/tree`]);
      assertEquals(d.code, 0, d.stderr);
      const ls = await k([
        "exec",
        "-n",
        ns.name,
        "--pod",
        "v4-a",
        "--",
        "cat",
        "/data/one.txt",
        "/data/tree/sub/deep.txt",
      ]);
      assertEquals(ls.stdout, "one\ndeep\n", ls.stderr);
      const back = await k(["cp", `${ns.name}/v4-a:/data/tree`, join(tmp, "back")]);
      assertEquals(back.code, 0, back.stderr);
      assertEquals(await Deno.readTextFile(join(tmp, "back", "sub", "deep.txt")), "deep\n");
    });

    await t.step("the workflow cp step copies into every pod of a target", async () => {
      const repo = join(tmp, "repo");
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.writeTextFile(join(repo, "app.conf"), "mode=v4\n");
      await Deno.writeTextFile(
        join(repo, ".kodama", "workflows", "ship.yaml"),
        `targets:
  pods: { namespace: ${ns.name}, labels: { app: v4 }, select: all }
steps:
  - id: copy
    cp: { target: pods, from: ./app.conf, to: "pod:/data/app.conf" }
  - id: show
    exec: { target: pods, command: [cat, /data/app.conf] }
`,
      );
      const r = await runKodama(["run", "ship"], { env, cwd: repo });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.split("\n").filter((l) => l.includes("mode=v4")).length, 2, r.stdout);
    });

    await t.step("where neither v5 nor SPDY is possible, one clear line and exit 1", async () => {
      if (!needsTestServer(c)) return;
      c.faults.refuseSpdy(true);
      try {
        const r = await k(["exec", "-n", ns.name, "--pod", "v4-b", "-i", "--", "wc", "-c"], "x");
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "offers neither v5.channel.k8s.io nor SPDY/3.1 for exec");
        assertStringIncludes(r.stderr, "v4-b");
        assert(!hasStackTrace(r.stderr), r.stderr);
        // without stdin nothing needs closing: the WebSocket (v4) still serves it
        const plain = await k(["exec", "-n", ns.name, "--pod", "v4-b", "--", "echo", "still"]);
        assertEquals(plain.stdout, "still\n", plain.stderr);
      } finally {
        c.faults.reset();
      }
    });
  } finally {
    kube.close();
    await ns.remove();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
