/**
 * Test-server pods see their own filesystem, as real pods do (#27): their volumes at their mount paths, an
 * absolute path in a script means the pod's, `kubectl cp` into a missing directory fails in the pod, and
 * nothing a pod writes lands on this machine outside its directory. On a machine without namespaces the
 * server falls back to rewriting paths; these tests then only run where that fallback holds too.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KODAMA_TEST_IMAGE, kubectl, needsTestServer, startCluster } from "../cluster/harness.ts";
import { hiddenGlobals, podFsInfo } from "../cluster/runtime/podns.ts";
import { DEFAULT_KUBECONFIG } from "../cluster/main.ts";

const namespaced = podFsInfo().mode === "namespace";

Deno.test({
  name: "pod filesystem: volumes at their paths, absolute paths in scripts, cp, nothing written outside",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster({ seed: "none" });
    const ns = `podfs-${crypto.randomUUID().slice(0, 6)}`;
    const marker = `/tmp/kodama-podfs-${crypto.randomUUID().slice(0, 8)}`;
    try {
      assertEquals((await kubectl(c, ["create", "namespace", ns])).code, 0);
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "box", namespace: ns },
        spec: {
          containers: [{
            name: "main",
            image: KODAMA_TEST_IMAGE,
            command: ["sleep", "1d"],
            workingDir: "/workspace",
            volumeMounts: [{ name: "ws", mountPath: "/workspace" }],
          }],
          volumes: [{ name: "ws", emptyDir: {} }],
        },
      };
      const apply = await kubectl(c, ["apply", "-f", "-"], { stdin: JSON.stringify(pod) });
      assertEquals(apply.code, 0, apply.stderr);
      assertEquals(
        (await kubectl(c, ["wait", "-n", ns, "--for=condition=Ready", "pod/box", "--timeout=60s"])).code,
        0,
      );
      const sh = (script: string) => kubectl(c, ["exec", "-n", ns, "box", "--", "sh", "-c", script]);

      await t.step(
        "the working dir and the volume are /workspace; a script's absolute paths are the pod's",
        async () => {
          const r = await sh(
            'pwd; echo hi > /workspace/f; cd /workspace && ls; d=/work; ls "${d}space" 2>/dev/null || true',
          );
          assertEquals(r.code, 0, r.stderr);
          // the fallback rewrites the paths it sees in the script, not one built at run time
          if (namespaced || !needsTestServer(c)) assertEquals(r.stdout, "/workspace\nf\nf\n");
        },
      );

      await t.step("kubectl cp to a missing directory fails in the pod, as on a real node", async () => {
        const dir = await Deno.makeTempDir();
        try {
          await Deno.writeTextFile(join(dir, "x"), "x\n");
          const name = `/nonexistent-${crypto.randomUUID().slice(0, 6)}`;
          const r = await kubectl(c, ["cp", join(dir, "x"), `${ns}/box:${name}/x`]);
          assert(r.code !== 0, "cp into a missing directory must fail");
          if (needsTestServer(c) && namespaced) assert(!existsSync(name), `${name} was made on this machine`);
          const ok = await kubectl(c, ["cp", join(dir, "x"), `${ns}/box:/workspace/x`]);
          assertEquals(ok.code, 0, ok.stderr);
          assertEquals((await sh("cat /workspace/x")).stdout, "x\n");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });

      await t.step({
        name: "what the pod writes to / and /tmp stays in the pod; the host's /usr is read-only",
        ignore: !namespaced && needsTestServer(c),
        fn: async () => {
          const r = await sh(
            `echo pod > ${marker}; cat ${marker}; touch /usr/kodama-x 2>/dev/null && echo rw || echo ro`,
          );
          // the test server's pods see this machine's /usr, read-only; a real container's /usr is its
          // image's, which a root container may write: either way nothing reaches this machine
          if (needsTestServer(c)) assertEquals(r.stdout, "pod\nro\n", r.stderr);
          else assertMatch(r.stdout, /^pod\n(rw|ro)\n$/, r.stderr);
          assert(!existsSync(marker), `${marker} reached this machine`);
          assert(!existsSync("/usr/kodama-x"), "/usr/kodama-x reached this machine");
          const h = await sh("hostname");
          assertEquals(h.stdout.trim(), "box");
        },
      });

      // hermetic: CI installs the real agent CLIs globally (npm -g puts them under /usr), yet an image
      // without them has none, so "claude is not in the image" holds on every machine (issue #53)
      await t.step({
        name: "the host's global agent CLIs are not in an image without them; an agent image has them",
        ignore: !needsTestServer(c) || !namespaced || hiddenGlobals().length === 0,
        fn: async () => {
          const which =
            "for c in claude codex; do command -v $c >/dev/null && echo has $c || echo no $c; done";
          assertEquals((await sh(which)).stdout, "no claude\nno codex\n");
          const agentPod = {
            ...pod,
            metadata: { name: "agents", namespace: ns },
            spec: {
              ...pod.spec,
              containers: [{
                ...pod.spec.containers[0],
                image: "ghcr.io/illumination-k/kodama-claude:latest",
              }],
            },
          };
          const apply = await kubectl(c, ["apply", "-f", "-"], { stdin: JSON.stringify(agentPod) });
          assertEquals(apply.code, 0, apply.stderr);
          const wait = await kubectl(c, [
            "wait",
            "-n",
            ns,
            "--for=condition=Ready",
            "pod/agents",
            "--timeout=60s",
          ]);
          assertEquals(wait.code, 0, wait.stderr);
          const has = await kubectl(c, ["exec", "-n", ns, "agents", "--", "sh", "-c", which]);
          const host = (c: string) =>
            hiddenGlobals().some((p) => p.includes(c === "claude" ? "claude-code" : "codex"));
          assertEquals(
            has.stdout,
            ["claude", "codex"].map((x) => `${host(x) ? "has" : "no"} ${x}\n`).join(""),
          );
        },
      });
    } finally {
      await kubectl(c, ["delete", "namespace", ns, "--wait=false"]);
      await Deno.remove(marker).catch(() => {});
      await c.stop();
    }
  },
});

Deno.test({
  name: "deno task cluster: a second server on the same kubeconfig refuses (exit 2) and names the first",
  ignore: !!Deno.env.get("KODAMA_TEST_KUBECONFIG"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kodama-cluster-twice-" });
    const kc = join(dir, "kubeconfig");
    const main = new URL("../cluster/main.ts", import.meta.url).pathname;
    const first = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--seed", "none", "--kubeconfig", kc],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = first.stdout.getReader();
      const { value } = await reader.read();
      assertStringIncludes(new TextDecoder().decode(value), `ready ${kc}`);
      const second = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "--seed", "none", "--kubeconfig", kc],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(second.code, 2);
      const err = new TextDecoder().decode(second.stderr);
      assertMatch(err, /already running with .*kubeconfig \(pid \d+\)/);
      assertEquals(err.trim().split("\n").length, 1, err);
      // the first one still serves
      const r = await kubectl({ kubeconfig: kc } as never, ["get", "ns", "default", "-o", "name"]);
      assertEquals(r.stdout.trim(), "namespace/default");
      reader.releaseLock();
    } finally {
      first.kill("SIGTERM");
      await first.status;
      await first.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    assert(DEFAULT_KUBECONFIG.endsWith("kubeconfig"));
  },
});
