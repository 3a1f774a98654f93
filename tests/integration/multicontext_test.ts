/**
 * Several clusters at once: two test servers in one kubeconfig (contexts c1, c2, and their dev users
 * c1-dev, c2-dev). pods, exec --all (also --group), logs and wait run against each context in parallel,
 * the context leads prefixes and JSON, and a context that is forbidden or gone is reported while the
 * other's results still arrive.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { mergedKubeconfig, onRealCluster, startCluster, type TestCluster } from "../cluster/harness.ts";
import { runKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { busyboxPod } from "./_helpers.ts";

/** Output lines with the prefix's alignment padding taken out, sorted. */
const unpad = (s: string) => s.trim().split("\n").map((l) => l.replace(/ +\| /, " | ")).sort();

Deno.test({
  name:
    "several contexts: pods, exec --all, --group, logs and wait; a failed context does not stop the other",
  ignore: onRealCluster, // needs two clusters
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const clusters: TestCluster[] = [];
    try {
      for (let i = 0; i < 2; i++) clusters.push(await startCluster({ seed: "none", pods: 3 }));
      const kc = `${dir}/kubeconfig`;
      await mergedKubeconfig(
        [{ name: "c1", cluster: clusters[0] }, { name: "c2", cluster: clusters[1] }],
        kc,
      );
      for (const c of clusters) {
        const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "load" });
        await kube.createObject(
          "pods",
          "load",
          busyboxPod("talker", { command: ["sh", "-c", "echo hello; sleep 3600"] }),
        );
        await waitForPods(kube, { namespace: "load" }, { for: "ready", timeoutMs: 60_000 });
        kube.close();
      }
      const k = (args: string[]) => runKodama(["--kubeconfig", kc, ...args]);
      const pods = ["load-000", "load-001", "load-002", "talker"];

      await t.step("pods --context c1,c2 -A lists both, with a CONTEXT column", async () => {
        const r = await k(["pods", "--context", "c1,c2", "-A"]);
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assertMatch(lines[0], /^CONTEXT\s+NAMESPACE\s+NAME\s+READY\s+STATUS/);
        const rows = lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(" "));
        for (const ctx of ["c1", "c2"]) {
          for (const p of pods) assert(rows.includes(`${ctx} load ${p}`), `${ctx} ${p}`);
        }
        // a glob selects the same two (not c1-dev, c2-dev); -o json carries the context
        const j = await k(["pods", "--context", "c?", "-n", "load", "-o", "json"]);
        assertEquals(j.code, 0, j.stderr);
        const items = JSON.parse(j.stdout).items as { context: string; metadata: { name: string } }[];
        assertEquals(items.filter((i) => i.context === "c2").map((i) => i.metadata.name).sort(), pods);
        assertEquals(items.length, 8);
      });

      await t.step(
        "exec --all prefixes lines with the context; -o json has it; --group folds both",
        async () => {
          const r = await k(["exec", "--context", "c1,c2", "-n", "load", "--all", "--", "hostname"]);
          assertEquals(r.code, 0, r.stderr);
          const lines = unpad(r.stdout);
          assertEquals(lines, ["c1", "c2"].flatMap((c) => pods.map((p) => `${c}:${p} | ${p}`)).sort());
          assertMatch(r.stderr, /^8 pods: 8 ok, 0 failed/);

          const j = await k([
            "exec",
            "--context",
            "c1,c2",
            "-n",
            "load",
            "--all",
            "-o",
            "json",
            "--",
            "true",
          ]);
          const objs = j.stdout.trim().split("\n").map((l) => JSON.parse(l));
          assertEquals(objs.filter((o) => o.context === "c1").length, 4);
          assertEquals(objs.filter((o) => o.context === "c2").length, 4);

          const g = await k([
            "exec",
            "--context",
            "c1,c2",
            "-n",
            "load",
            "-m",
            "load",
            "--group",
            "--",
            "echo",
            "same",
          ]);
          assertEquals(g.code, 0, g.stderr);
          assertEquals(
            g.stdout,
            "----------------\nc1:load-[000-002],c2:load-[000-002] (6) exit 0\n----------------\nsame\n",
          );

          const one = await k(["exec", "--context", "c1,c2", "-n", "load", "--pod", "talker", "--", "true"]);
          assertEquals(one.code, 2);
          assertStringIncludes(one.stderr, "several contexts need a fan-out");
          const pf = await k(["port-forward", "--context", "c1,c2", "-n", "load", "pod/talker", "8080"]);
          assertEquals(pf.code, 2);
          assertStringIncludes(pf.stderr, "names several contexts");
        },
      );

      await t.step("logs and wait over both contexts", async () => {
        const l = await k(["logs", "--context", "c1,c2", "-n", "load", "--pod", "talker"]);
        assertEquals(l.code, 0, l.stderr);
        assertEquals(l.stdout.split("\n").filter(Boolean).sort(), ["c1:talker | hello", "c2:talker | hello"]);
        const w = await k(["wait", "--context", "c1,c2", "-n", "load", "pod/talker", "--for", "ready", "-q"]);
        assertEquals(w.code, 0, w.stderr);
        assertEquals(w.stdout.split("\n").filter(Boolean).sort(), [
          "c1:pod/talker condition met",
          "c2:pod/talker condition met",
        ]);
      });

      await t.step("a forbidden context is reported; the other's results arrive (exit 4)", async () => {
        const r = await k(["exec", "--context", "c1,c2-dev", "-n", "load", "--all", "--", "hostname"]);
        assertEquals(r.code, 4, r.stderr);
        assertEquals(unpad(r.stdout), pods.map((x) => `c1:${x} | ${x}`));
        assertMatch(
          r.stderr,
          /^4 pods: 4 ok, 0 failed .*; 1 context failed\n {2}c2-dev: forbidden: cannot list pods/,
        );
      });

      await clusters[1].stop();
      await t.step("a stopped server: reported, and the other context still answers (exit 1)", async () => {
        const p = await k(["pods", "--context", "c1,c2", "-n", "load"]);
        assertEquals(p.code, 1);
        assertEquals(p.stdout.trim().split("\n").length, 5); // header + c1's 4 pods
        assertMatch(p.stderr, /error: context c2: cannot reach https:\/\/127\.0\.0\.1:\d+ \(context c2\)/);

        const e = await k(["exec", "--context", "c1,c2", "-n", "load", "--all", "--", "hostname"]);
        assertEquals(e.code, 1);
        assertEquals(unpad(e.stdout), pods.map((x) => `c1:${x} | ${x}`));
        assertMatch(e.stderr, /; 1 context failed\n {2}c2: cannot reach/);

        const w = await k([
          "wait",
          "--context",
          "c1,c2",
          "-n",
          "load",
          "pod/talker",
          "--timeout",
          "10s",
          "-q",
        ]);
        assertEquals(w.code, 1);
        assertEquals(w.stdout, "c1:pod/talker condition met\n");
        assertStringIncludes(w.stderr, "error: context c2: cannot reach");

        const l = await k(["logs", "--context", "c1,c2", "-n", "load", "--pod", "talker"]);
        assertEquals(l.code, 1);
        assertEquals(l.stdout, "c1:talker | hello\n");
      });
    } finally {
      for (const c of clusters) await c.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
